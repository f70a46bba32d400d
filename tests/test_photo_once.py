"""A photo is opened and run through AlexNet once: the answer, the heatmap and the feature maps of
the photo tab share that one pass (ui/photo_tab.py's handlers, called as Gradio calls them).

AlexNet's passes are counted with a forward hook on conv1 (every pass starts there), the photo's
conversions to RGB by wrapping ``to_rgb``. The handlers use the stand-in model of the tests.
"""

from __future__ import annotations

import uuid
from collections import Counter

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import ui.photo_tab as photo_tab
from nets.data import images
from nets.explaining import photo


@pytest.fixture
def counted(imagenet_alexnet: nn.Module, monkeypatch: pytest.MonkeyPatch):
    """Counts of AlexNet's forward passes ("forward") and of conversions to RGB ("to_rgb")."""
    counts: Counter[str] = Counter()
    real_to_rgb = images.to_rgb

    def to_rgb(image: Image.Image) -> Image.Image:
        counts["to_rgb"] += 1
        return real_to_rgb(image)

    for module in (images, photo):
        monkeypatch.setattr(module, "to_rgb", to_rgb)
    monkeypatch.setattr(photo_tab, "imagenet_alexnet", lambda request=None: imagenet_alexnet)
    hook = imagenet_alexnet.features[0].register_forward_hook(lambda *_: counts.update(["forward"]))
    yield counts
    hook.remove()


def visitor() -> gr.Request:
    """A new visitor (their own session), in English."""
    return gr.Request(session_hash=uuid.uuid4().hex, headers={})


@pytest.fixture(scope="module", params=["cat.jpg", "coffee_rgba.png"])
def photo_file(request, chelsea: Image.Image, coffee: Image.Image, tmp_path_factory) -> str:
    """A JPEG, and a PNG with transparency (converted to RGB on the way in)."""
    folder = tmp_path_factory.mktemp("once")
    if request.param == "cat.jpg":
        chelsea.save(folder / "cat.jpg", quality=95)
    else:
        rgba = coffee.convert("RGBA")
        rgba.putalpha(128)
        rgba.save(folder / "coffee_rgba.png")
    return str(folder / request.param)


def test_one_classify_photo_request_is_one_pass_and_one_conversion(
    counted: Counter, photo_file: str, imagenet_alexnet: nn.Module
) -> None:
    answer, seen = photo_tab.classify_photo(photo_file, visitor())
    assert counted == {"forward": 1, "to_rgb": 1}
    expected = photo.classify(imagenet_alexnet, images.open_rgb(photo_file), top=5, explain=False).top
    assert list(answer) == list(expected) and seen["top"] == answer
    assert np.allclose(list(answer.values()), list(expected.values()), atol=1e-6)
    assert seen["path"] == photo_file and seen["seconds"] > 0


def test_the_pages_flow_for_a_new_photo_is_one_pass(counted: Counter, photo_file: str) -> None:
    """A new photo: the answer, the classes to explain, the heatmap and the feature maps; then the
    Run button on the same photo, another layer and class, and another layer's maps."""
    request = visitor()
    answer, seen = photo_tab.photo_changed(photo_file, request)
    photo_tab.class_choices(seen, request)
    heatmap, text = photo_tab.explain_seen(seen, "conv5", next(iter(answer)), request)
    maps, caption = photo_tab.feature_maps(seen, "conv1", request)
    assert counted == {"forward": 1, "to_rgb": 1}
    assert isinstance(heatmap, Image.Image) and max(heatmap.size) <= photo_tab.HEATMAP_SIZE
    assert isinstance(maps, Image.Image) and "conv1" in caption and "guess number 1," in text

    again, _ = photo_tab.classify_photo(photo_file, request)  # the Run button, same photo
    third = list(answer)[2]
    _, text = photo_tab.explain_seen(seen, "conv2", third, request)
    photo_tab.feature_maps(seen, "conv4", request)
    assert counted == {"forward": 1, "to_rgb": 1}
    assert again == answer and third in text


def test_explaining_a_classified_photo_by_api_reuses_its_pass(counted: Counter, photo_file: str) -> None:
    request = visitor()
    answer, _ = photo_tab.classify_photo(photo_file, request)
    for layer in ("conv5", "conv1"):
        heatmap, explained = photo_tab.explain_photo(photo_file, layer, "", request)
        assert explained["class"] == next(iter(answer)) and explained["rank"] == 1 and explained["layer"] == layer
        assert isinstance(heatmap, Image.Image)
    assert counted == {"forward": 1, "to_rgb": 1}


def test_each_visitor_has_their_own_pass(counted: Counter, photo_file: str) -> None:
    first, second = visitor(), visitor()
    photo_tab.classify_photo(photo_file, first)
    photo_tab.classify_photo(photo_file, second)
    assert counted["forward"] == 2


def test_a_refused_layer_costs_no_pass(counted: Counter, photo_file: str) -> None:
    with pytest.raises(gr.Error, match="conv6"):
        photo_tab.explain_photo(photo_file, "conv6", "", visitor())
    assert counted["forward"] == 0


def test_the_forward_pass_runs_inside_inference_mode(counted: Counter, photo_file: str) -> None:
    """A Space may wrap every request in ``torch.inference_mode()``: the kept pass still explains."""
    request = visitor()
    with torch.inference_mode():
        _, seen = photo_tab.classify_photo(photo_file, request)
    heatmap, _ = photo_tab.explain_seen(seen, "conv3", None, request)
    assert isinstance(heatmap, Image.Image) and counted["forward"] == 1
