"""The note's 2012 AlexNet, and loading torchvision's ImageNet AlexNet without any network."""

from __future__ import annotations

import threading
import time
import urllib.error
from pathlib import Path

import pytest
import torch
from torch import nn

import nets.models.alexnet as alexnet_module
from nets.models.alexnet import (
    WEIGHTS_ENV,
    SharedAlexNet,
    WeightsUnavailable,
    alexnet2012,
    cached_weights_file,
    load_imagenet_alexnet,
)


@pytest.fixture(scope="module")
def model2012() -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return alexnet2012().eval()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any download attempt fail at once, as on a machine without internet."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network (blocked by the test)")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr("urllib.request.urlopen", refuse)


# --- the 2012 network of the note ---------------------------------------------------------


def test_2012_parameter_count(model2012: nn.Module) -> None:
    assert sum(p.numel() for p in model2012.parameters()) == 62_378_344


def test_2012_takes_227_pixels(model2012: nn.Module) -> None:
    with torch.no_grad():
        logits = model2012(torch.randn(2, 3, 227, 227))  # (2, 1000)
    assert logits.shape == (2, 1000)


def test_2012_refuses_224_pixels_and_says_227(model2012: nn.Module) -> None:
    with pytest.raises(ValueError, match="227"), torch.no_grad():
        model2012(torch.randn(1, 3, 224, 224))


# --- torchvision's ImageNet AlexNet, through the stand-in weights ---------------------------


def test_loaded_from_torch_home_equals_the_saved_file(standin_weights: Path, imagenet_alexnet: nn.Module) -> None:
    saved = torch.load(
        standin_weights / "hub" / "checkpoints" / cached_weights_file().name, map_location="cpu", weights_only=True
    )
    loaded = imagenet_alexnet.state_dict()
    assert loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[name], saved[name]) for name in saved)


def test_loaded_model_is_frozen_and_in_eval_mode(imagenet_alexnet: nn.Module) -> None:
    assert not imagenet_alexnet.training
    assert not any(module.training for module in imagenet_alexnet.modules())
    assert not any(p.requires_grad for p in imagenet_alexnet.parameters())


def test_weights_env_var_points_at_a_local_file(
    standin_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network
) -> None:
    file = standin_weights / "hub" / "checkpoints" / cached_weights_file().name
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))  # nothing cached there
    monkeypatch.setenv(WEIGHTS_ENV, str(file))
    model = load_imagenet_alexnet()
    saved = torch.load(file, map_location="cpu", weights_only=True)
    assert torch.equal(model.features[0].weight, saved["features.0.weight"])
    assert torch.equal(model.classifier[6].bias, saved["classifier.6.bias"])


def test_missing_weights_without_network_say_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailable) as raised:
        load_imagenet_alexnet()
    assert time.perf_counter() - start < 5
    message = str(raised.value)
    assert "missing" in message
    assert str(cached_weights_file()) in message  # where to copy the file
    assert WEIGHTS_ENV in message  # or which variable to set
    assert "internet" in message


def test_missing_local_file_named_by_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "nowhere.pth"))
    with pytest.raises(WeightsUnavailable, match="nowhere.pth"):
        load_imagenet_alexnet()


def test_shared_model_remembers_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = []

    def failing_load():
        attempts.append(1)
        raise WeightsUnavailable("The ImageNet weights of AlexNet are missing (test).")

    monkeypatch.setattr(alexnet_module, "load_imagenet_alexnet", failing_load)
    shared = SharedAlexNet()
    with pytest.raises(WeightsUnavailable):
        shared.get()
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailable, match="missing"):
        shared.get()  # remembered: no second attempt
    assert time.perf_counter() - start < 0.1
    assert len(attempts) == 1
    assert not shared.loaded and shared.error is not None
    with pytest.raises(WeightsUnavailable):
        shared.get(retry=True)  # asked to retry: tries again
    assert len(attempts) == 2

    stale = SharedAlexNet(retry_after=0.0)
    for _ in range(2):
        with pytest.raises(WeightsUnavailable):
            stale.get()
    assert len(attempts) == 4  # the failure was already stale: each call retried


def test_shared_model_loads_once_for_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = []

    def slow_load():
        attempts.append(1)
        time.sleep(0.2)  # long enough for every thread to arrive while loading
        return nn.Linear(1, 1)

    monkeypatch.setattr(alexnet_module, "load_imagenet_alexnet", slow_load)
    shared = SharedAlexNet()
    start = threading.Barrier(6)
    results: list[nn.Module] = []

    def visitor() -> None:
        start.wait()
        results.append(shared.get())

    threads = [threading.Thread(target=visitor) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(attempts) == 1
    assert len(results) == 6 and all(model is results[0] for model in results)
    assert shared.loaded and shared.get() is results[0]


def test_shared_model_with_the_standin_weights(
    standin_weights: Path, monkeypatch: pytest.MonkeyPatch, no_network
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(standin_weights))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    shared = SharedAlexNet()
    model = shared.get()
    assert shared.get() is model and not model.training
