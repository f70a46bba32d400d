"""Uploads cost the disk what they take: a tiny file still takes a folder and a block of its own.

A stranger sent 1,000 one-byte files per upload: the guard counted their bytes (11.4 MB in all)
while the disk filled with 791 MB and 200,000 inodes, Gradio's hash folders never removed. Here a
real server is attacked so: files are counted per address as the upload streams, each charged
``UPLOAD_FILE_CHARGE`` besides its bytes, and the folders Gradio leaves are swept.
"""

from __future__ import annotations

import os
import time

import pytest

from harness.attacks import disk_use, many_files, upload_many
from harness.server import app_process
from ui.budgets import UPLOAD_FILE_CHARGE, Budgets
from ui.guard import Guard, PartCounter
from ui.upload_sweep import sweep

STRANGER, OTHER = "198.18.9.9", "192.0.2.77"
FILES_PER_WINDOW = 2000  # 5,000 on the Space; smaller here so the test stays quick


@pytest.fixture(scope="module")
def server(standin_weights, tmp_path_factory):
    temp = tmp_path_factory.mktemp("uploads")
    env = {
        "TORCH_HOME": str(standin_weights),
        "TMPDIR": str(temp),
        "GRADIO_TEMP_DIR": str(temp / "gradio"),
        "BUDGET_UPLOAD_FILES_PER_WINDOW": str(FILES_PER_WINDOW),
    }
    with app_process(env, log=temp / "app.log") as (url, process):
        yield url, temp / "gradio"


def test_a_thousand_tiny_files_per_upload_are_counted_as_files(server):
    """Six uploads of 1,000 tiny files from one address: two pass (2,000 files, the budget), the
    rest are refused in the visitor's language, and the disk holds no more than those two; the
    charge covers what the disk really took. Before: all six taken (6,000 folders)."""
    url, folder = server
    answers = [upload_many(url, 1000, f"s{n}", STRANGER, "ko" if n == 5 else "en") for n in range(6)]
    assert [status for status, _ in answers] == [200, 200, 429, 429, 429, 429]
    assert len(answers[0][1]) == 1000
    assert "too many files" in answers[2][1]["detail"] and "2,000 files" in answers[2][1]["detail"]
    assert "파일을 너무 많이" in answers[5][1]["detail"]
    time.sleep(1.0)  # Gradio moves the files into their folders after answering
    used, inodes = disk_use(folder)
    assert inodes <= 2 * FILES_PER_WINDOW + 50, inodes  # a folder and a file each
    one_file_bytes = len(b"s0-999")
    assert used <= FILES_PER_WINDOW * (UPLOAD_FILE_CHARGE + one_file_bytes) + (1 << 20), used
    assert used >= FILES_PER_WINDOW * 4096  # what the bytes alone (12 KB) would have hidden
    status, _ = upload_many(url, 3, "other", OTHER)
    assert status == 200  # another address uploads as before


def test_an_upload_that_passes_the_file_budget_midway_is_cut_and_refused(server):
    """One address's budget nearly spent, then an upload of 1,000 files: Gradio stops reading it
    where it passes the budget, the visitor gets the refusal (not Gradio's error), the server lives."""
    url, folder = server
    address = "198.18.9.10"
    assert upload_many(url, 1000, "a", address)[0] == 200
    assert upload_many(url, 900, "b", address)[0] == 200
    status, answer = upload_many(url, 1000, "c", address)  # passes 2,000 at its 101st file
    assert status == 429 and answer["error"] == "guard_upload_files", answer
    assert upload_many(url, 2, "d", OTHER)[0] == 200


def test_each_file_is_charged_the_disk_it_takes_against_the_byte_budget():
    """With a 4 MB byte budget, 500 one-byte files (4 MB of disk with their folders) pass it."""
    guard = Guard(app=None, budgets=Budgets(upload_bytes_per_window=4 << 20))
    assert guard.admit_request("a", 1000, True) is None
    assert guard.charge_files("a", 400) is None
    key, status, _ = guard.charge_files("a", 200)
    assert (key, status) == ("guard_upload_budget", 429)


def test_a_part_marker_split_between_chunks_is_counted_once():
    body, boundary = many_files(50, "x")
    counter = PartCounter(f"multipart/form-data; boundary={boundary}")
    assert sum(counter.count(body[i : i + 7]) for i in range(0, len(body), 7)) == 50


def test_the_sweep_removes_old_empty_folders_and_loose_files_only(tmp_path):
    """Gradio's own sweep removes old uploads but leaves their folders: those go once old, with the
    loose parts of cut uploads; a folder still holding a file, or a young one, stays."""
    now = time.time()
    old = now - 4000
    (tmp_path / "emptied").mkdir()
    (tmp_path / "holds").mkdir()
    (tmp_path / "holds" / "cat.jpg").write_bytes(b"x")
    (tmp_path / "young").mkdir()
    (tmp_path / "tmpcut").write_bytes(b"part")
    for name in ("emptied", "holds", "tmpcut"):
        os.utime(tmp_path / name, (old, old))
    assert sweep(tmp_path, age=1800, now=now) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holds", "young"]
