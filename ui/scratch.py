"""The folders this process writes visitors' files to: model downloads and datasets built in the page.

Each is this process's own (a fresh temporary folder), and both are served from where the files are
written (``serve_scratch_folders``, called when the app is built): Gradio would otherwise copy each
file into its cache, twice the disk. What is in them is bounded by the stores of ``ui.stores``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

DOWNLOADS = Path(tempfile.mkdtemp(prefix="classic-cnns-downloads-"))  # model files, a folder each
DRAFTS = Path(tempfile.mkdtemp(prefix="classic-cnns-drafts-"))  # datasets built in the page, a folder each


def serve_scratch_folders() -> None:
    """Let Gradio serve the files in the scratch folders as they are (every file in them is public
    to whoever knows its unguessable path)."""
    gr.set_static_paths([DOWNLOADS, DRAFTS])
