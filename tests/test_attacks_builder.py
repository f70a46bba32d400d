"""The dataset builder decodes each file once per add, however many times it is named.

A stranger added one 49-megapixel PNG, named 40 times, from four sessions: 100 CPU-s of decoding,
another visitor's Start waiting 20 s. Here a real server is attacked so, through the queue as the
page does (the builder's events are not in the API).
"""

from __future__ import annotations

import pytest

from harness.attacks import flat_png
from harness.light_client import Visitor
from harness.server import app_process, cpu_seconds

STRANGER = "198.18.11.11"


@pytest.fixture(scope="module")
def server(standin_weights, tmp_path_factory):
    temp = tmp_path_factory.mktemp("builder")
    env = {"TORCH_HOME": str(standin_weights), "TMPDIR": str(temp), "GRADIO_TEMP_DIR": str(temp / "gradio")}
    with app_process(env, log=temp / "app.log") as (url, process):
        yield url, process


def test_one_upload_named_forty_times_is_decoded_once(server):
    """One add naming the same 49 MP upload 40 times: one image added, one decode's CPU (under 3
    CPU-s; before, 40 decodes: about 25 CPU-s), and the visitor is told why."""
    url, process = server
    stranger = Visitor(url, STRANGER)
    assert stranger.join("set_classes", ["apples, pears", None]).kind == "complete"
    photo = stranger.upload("flat.png", flat_png())
    cpu = cpu_seconds(process)
    outcome = stranger.join("add_images", [[photo] * 40, "apples"])
    spent = cpu_seconds(process) - cpu
    assert outcome.kind == "complete", outcome
    assert spent < 3.0, f"{spent:.1f} CPU-s for one add"
    assert "apples: 1<" in outcome.data[1], outcome.data[1]
    assert any("39 of the files you chose were a file chosen already" in text for _, text in outcome.messages)
    again = stranger.join("add_images", [[photo], "pears"])  # the same file, in another add: added
    assert again.kind == "complete"
