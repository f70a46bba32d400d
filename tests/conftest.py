"""Shared fixtures: the real app on a free port with stand-in ImageNet weights, a visitor's API client,
Chromium, and the stand-in weights loaded the real way (see ``harness/standin.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gradio_client import Client
from PIL import Image
from skimage import data
from torch import nn

from harness.server import running_app
from harness.standin import write_standin_weights
from nets.models.alexnet import WEIGHTS_ENV, cached_weights_file, load_imagenet_alexnet


@pytest.fixture(scope="session")
def standin_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TORCH_HOME whose hub cache holds stand-in AlexNet weights under the ImageNet file name."""
    return write_standin_weights(tmp_path_factory.mktemp("standin") / "torch_home")


@pytest.fixture(scope="session")
def imagenet_alexnet(standin_weights: Path) -> nn.Module:
    """The stand-in loaded by ``load_imagenet_alexnet()`` from the temporary TORCH_HOME, no network.

    TORCH_HOME (and ALEXNET_WEIGHTS) are set only while loading and restored right after.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(standin_weights))
        patch.delenv(WEIGHTS_ENV, raising=False)
        expected = standin_weights / "hub" / "checkpoints" / cached_weights_file().name
        assert cached_weights_file() == expected, "torch.hub.set_dir() overrides TORCH_HOME here"
        model = load_imagenet_alexnet()
    assert os.environ.get("TORCH_HOME") != str(standin_weights)
    return model


@pytest.fixture(scope="session")
def app_server(standin_weights: Path, tmp_path_factory: pytest.TempPathFactory):
    """The real app (``python app.py``) on a free port, with stand-in ImageNet weights cached:
    ``(url, process)``."""
    from harness.server import app_process

    log = tmp_path_factory.mktemp("app") / "app.log"
    with app_process({"TORCH_HOME": str(standin_weights)}, log=log) as server:
        yield server


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    return app_server[0]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (skipped, or failed under REQUIRE_BROWSER=1, without it)."""
    from harness.browser import CHROMIUM_ARGS, chromium_path

    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def client(app_url: str) -> Client:
    """One visitor calling the API through gradio_client, in English (no Accept-Language)."""
    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def korean_client(app_url: str) -> Client:
    """A visitor whose browser asks for Korean (``Accept-Language: ko``)."""
    return Client(app_url, verbose=False, headers={"Accept-Language": "ko-KR,ko;q=0.9"})


# Two of scikit-image's licence-clean photos, for the photo and Grad-CAM tests.
@pytest.fixture(scope="module")  # a test may change its copy: fresh per module, as before
def chelsea() -> Image.Image:
    return Image.fromarray(data.chelsea())  # 451 x 300, a cat


@pytest.fixture(scope="module")
def coffee() -> Image.Image:
    return Image.fromarray(data.coffee())  # 600 x 400


@pytest.fixture(scope="module")  # a test may bring the weights in: fresh per module
def app_without_weights(tmp_path_factory):
    """The app offline with no ImageNet weights; yields (url, its TORCH_HOME) so a test can bring them."""
    home = tmp_path_factory.mktemp("no_weights")
    env = {
        "TORCH_HOME": str(home),
        WEIGHTS_ENV: "",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    with running_app(env) as url:
        yield url, home


@pytest.fixture(scope="session")
def bare_findings(browser):
    """``bare_findings(tab, size, theme)``: axe-core's serious findings on a bare Gradio page with that
    tab's kinds of components (tests/bare_blocks.py; audited once per tab and size, then kept)."""
    from harness.server import running_app
    from tests.test_accessibility import bare_page_findings

    found: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
    with running_app(script="tests/bare_blocks.py") as url:

        def findings(tab: str, size: str, theme: str) -> dict[str, int]:
            if (tab, size) not in found:
                found[tab, size] = bare_page_findings(browser, url, tab, size)
            return found[tab, size][theme]

        yield findings
