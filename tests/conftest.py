"""Shared fixtures: a stand-in for torchvision's ImageNet AlexNet weights, loaded the real way.

The real weights (233 MB) cannot be downloaded in the test environment, and tests must never
depend on the network. ``standin_weights`` writes a randomly initialised torchvision AlexNet's
state_dict under the exact file name torchvision caches the ImageNet weights as, inside a
temporary ``TORCH_HOME``; ``imagenet_alexnet`` loads it through ``load_imagenet_alexnet()``,
so the whole cache path is exercised without any download.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision.models import alexnet as torchvision_alexnet

from nets.alexnet import WEIGHTS_ENV, cached_weights_file, load_imagenet_alexnet


def standin_alexnet(seed: int = 0) -> nn.Module:
    """torchvision's AlexNet with He-initialised weights (activations neither vanish nor explode)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = torchvision_alexnet()
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
    return model


def write_standin_weights(torch_home: Path) -> Path:
    """Save ``standin_alexnet()`` where torchvision looks for the ImageNet weights under
    ``torch_home`` (``hub/checkpoints/<the ImageNet file name>``); return ``torch_home``."""
    checkpoints = torch_home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(standin_alexnet().state_dict(), checkpoints / cached_weights_file().name)
    return torch_home


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
    from tests.server import app_process

    log = tmp_path_factory.mktemp("app") / "app.log"
    with app_process({"TORCH_HOME": str(standin_weights)}, log=log) as server:
        yield server


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    return app_server[0]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (skipped, or failed under REQUIRE_BROWSER=1, without it)."""
    from tests.browser import CHROMIUM_ARGS, chromium_path

    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
