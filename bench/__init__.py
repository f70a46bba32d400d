"""Benchmark scripts; each prints the figures the README quotes (run with ``python -m bench.<name>``)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch

from nets.models.alexnet import cached_weights_file


def weights_home(scratch: Path) -> str:
    """A TORCH_HOME that holds AlexNet's ImageNet weights: the real cache if they are there, else
    a folder in ``scratch`` with a stand-in file (He-initialised, same architecture, same cost)."""
    if cached_weights_file().is_file():
        return str(Path(torch.hub.get_dir()).parent)
    from harness.standin import write_standin_weights

    print("(no ImageNet weights cached: using a stand-in file of the same architecture)")
    return str(write_standin_weights(Path(scratch) / "torch_home"))


@contextlib.contextmanager
def app_in_chromium(app: Path | None = None) -> Iterator[tuple[str, object]]:
    """The app of checkout ``app`` (this one by default) running with AlexNet's weights, and a
    headless Chromium to visit it: yields ``(url, browser)``; both end with the block."""
    from playwright.sync_api import sync_playwright

    from harness.browser import CHROMIUM_ARGS
    from harness.server import ROOT, app_process

    with (
        tempfile.TemporaryDirectory() as scratch,
        app_process({"TORCH_HOME": weights_home(Path(scratch))}, cwd=app or ROOT) as (url, _),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            yield url, browser
        finally:
            browser.close()
