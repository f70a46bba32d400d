"""Ids, paths and Gradio's private parts are written once, and every part of the app reads them there.

The tabs' ids (``app.py``, a teacher's ``?tab=``), the concurrency ids (the handlers, the guard's
count of training jobs), the assets folder (``nets/``, ``ui/``) and Gradio's undocumented attributes
(``ui/gradio_internals.py``) each have one home; these tests fail when a copy creeps back in.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import gradio as gr
import pytest

from harness.browser import TABS as TAB_NAMES
from harness.server import ROOT
from nets.paths import ASSETS
from ui import ids, links


@pytest.fixture(scope="module")
def demo():
    import app

    return app.demo


def test_the_page_shows_the_tabs_a_link_can_open_in_order(demo):
    page = next(block for block in demo.blocks.values() if isinstance(block, gr.Tabs))  # the outermost, made first
    shown = [tab.id for tab in page.children if isinstance(tab, gr.Tab)]
    assert tuple(shown) == ids.TABS == ("digit", "train", "photo", "finetune", "compare")
    assert links.TABS is ids.TABS  # ?tab=train opens the train tab
    assert tuple(TAB_NAMES) == ids.TABS  # the browser tests click the same tabs


def test_the_training_endpoints_are_the_jobs_the_guard_counts(demo):
    by_name = {fn.api_name: fn.concurrency_id for fn in demo.fns.values() if fn.api_name}
    assert by_name["finetune"] == by_name["race_strategies"] == ids.FINETUNE_QUEUE
    assert by_name["train_lenet"] == ids.LENET_TRAINING_QUEUE
    assert set(ids.TRAINING_QUEUES) == {ids.FINETUNE_QUEUE, ids.LENET_TRAINING_QUEUE}
    # Gradio gives an event without a concurrency id one of its own (a number): the others are named.
    queued = {fn.concurrency_id for fn in demo.fns.values() if not str(fn.concurrency_id).isdigit()}
    named = {value for name, value in vars(ids).items() if name.endswith("_QUEUE")}
    assert queued <= named  # every shared queue the app uses is named in ui/ids.py
    assert {"lenet", "alexnet", "finetune", "lenet-train"} <= queued


def test_importing_the_app_loads_no_model():
    script = (
        "import app\n"
        "from ui.shared_models import ALEXNET, digit_reader\n"
        "print(digit_reader.cache_info().currsize, ALEXNET.loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["0", "False"]


def python_files(*folders: str):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_the_assets_folder_is_worked_out_once():
    assert ASSETS == ROOT / "assets" and (ASSETS / "shapes.zip").exists()
    homes = [
        path.relative_to(ROOT).as_posix()
        for path in python_files("nets", "ui")
        if '"assets"' in path.read_text() or "Path(__file__)" in path.read_text()
    ]
    assert homes == ["nets/paths.py"]


def test_gradio_private_attributes_are_read_only_in_the_adapter():
    readers = set()
    for path in [*python_files("ui"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            private = isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
            if private and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                readers.add(path.relative_to(ROOT).as_posix())
    assert readers == {"ui/gradio_internals.py"}
    assert "gradio 6.31.0" in (ROOT / "ui" / "gradio_internals.py").read_text()
