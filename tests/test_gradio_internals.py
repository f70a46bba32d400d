"""Gradio's private parts, read in ui/gradio_internals.py: a skipped output costs nothing.

A training job yields a row of ``gr.skip()`` every beat while it waits in line (so a cancel can
land); Gradio used to rebuild every output component for each, and forty waiting jobs starved
other visitors. The page must get exactly what it got before, and no component may be rebuilt.
"""

from __future__ import annotations

import asyncio
import functools

import gradio as gr
import pandas as pd
import pytest
from gradio.blocks import Blocks

from ui import gradio_internals


@pytest.fixture(scope="module")
def page():
    with gr.Blocks() as demo:
        html = gr.HTML("<p>chart</p>")
        table = gr.Dataframe(pd.DataFrame({"epoch": [1]}))
        words = gr.Markdown("status")
        switch = gr.State(0)
        button = gr.Button()
        button.click(lambda: None, None, [html, table, words, switch])
    return demo, demo.fns[0]


def postprocess(demo, block_fn, predictions):
    return asyncio.run(demo.postprocess_data(block_fn, predictions, None))


def no_change_said_once(output: list) -> list:
    """Gradio's HTML also sent a bare skip as empty ``props``: the same "no change" said twice."""
    return [
        {"__type__": "update"} if value == {"props": {"__type__": "update"}, "__type__": "update"} else value
        for value in output
    ]


def test_skipped_outputs_reach_the_page_as_before_and_rebuild_nothing(page, monkeypatch):
    demo, block_fn = page
    patched = Blocks.postprocess_data
    monkeypatch.setattr(Blocks, "postprocess_data", getattr(patched, "__wrapped__", patched))
    rows = [
        (gr.skip(), gr.skip(), gr.skip(), gr.skip()),  # a beat: nothing changes
        ("<p>new</p>", gr.skip(), "epoch 2", gr.skip()),  # some change, some are skipped
        (gr.update(visible=False), gr.skip(), gr.skip(), 3),  # a real update beside skips
    ]
    before = [postprocess(demo, block_fn, row) for row in rows]
    gradio_internals.skip_updates_cheaply()
    built: list[str] = []
    original_init = gr.HTML.__init__

    @functools.wraps(original_init)  # Gradio reads HTML's signature
    def counting_init(self, *args, **kwargs):
        built.append("html")
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(gr.HTML, "__init__", counting_init)
    after = [postprocess(demo, block_fn, row) for row in rows]
    assert after == [no_change_said_once(output) for output in before]
    assert after[0] == [{"__type__": "update"}] * 3 + [None]
    assert built == ["html"]  # only the row that really updates the HTML rebuilds it
