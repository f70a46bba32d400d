"""Look inside AlexNet: Grad-CAM at any layer for any class, the first layer's filters, a photo's
feature maps (through gradio_client and in Chromium), and the 2012 two-GPU network in the compare tab.

The ImageNet weights cannot be downloaded here: the server runs on stand-in weights of the same
architecture, so the classes are meaningless but every mechanism is the real one.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from harness.browser import open_tab
from harness.server import ROOT

CAT = str(ROOT / "assets" / "photos" / "cat.jpg")


def heatmap_pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_five_layers_give_five_different_heatmaps(client):
    maps = {}
    for layer, cells in (("conv1", 55), ("conv2", 27), ("conv3", 13), ("conv4", 13), ("conv5", 13)):
        heatmap, explained = client.predict(handle_file(CAT), layer, "", api_name="/explain_photo")
        assert explained["layer"] == layer and explained["cells"] == cells and explained["rank"] == 1
        maps[layer] = heatmap_pixels(heatmap)
    layers = list(maps)
    for i, a in enumerate(layers):
        for b in layers[i + 1 :]:
            assert np.abs(maps[a] - maps[b]).mean() > 1.0, f"{a} and {b} give the same heatmap"


def test_explaining_the_third_guess_names_it_and_differs_from_the_first(client):
    top = client.predict(handle_file(CAT), api_name="/classify_photo")
    third = top["confidences"][2]["label"]
    first_map, first = client.predict(handle_file(CAT), "conv5", "", api_name="/explain_photo")
    third_map, explained = client.predict(handle_file(CAT), "conv5", third, api_name="/explain_photo")
    assert first["class"] == top["label"] and explained["class"] == third and explained["rank"] == 3
    assert explained["probability"] == pytest.approx(top["confidences"][2]["confidence"], abs=1e-4)
    assert np.abs(heatmap_pixels(first_map) - heatmap_pixels(third_map)).mean() > 1.0


@pytest.mark.parametrize(
    "layer, target, message",
    [
        ("conv6", "", "no layer 'conv6'.*'conv1', 'conv2', 'conv3', 'conv4', 'conv5'"),
        ("fc7", "", "no layer 'fc7'"),
        ("conv5", "tabby cta", "No ImageNet class is called 'tabby cta'. Close names: 'tabby"),
        ("conv5", "unicorn", "No ImageNet class is called 'unicorn'"),
    ],
    ids=["conv6", "fc7", "a typo", "not a class"],
)
def test_bad_layers_and_classes_are_refused_saying_what_is_accepted(client, layer, target, message):
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(CAT), layer, target, api_name="/explain_photo")


def test_a_class_name_is_found_whatever_its_case(client):
    _, explained = client.predict(handle_file(CAT), "conv4", "  Tabby  ", api_name="/explain_photo")
    assert explained["class"] == "tabby" and explained["layer"] == "conv4"


def test_the_lab_in_the_page_explains_another_layer_and_class(browser, app_url):
    page = open_tab(browser, app_url, "photo")
    page.locator("#photo-input input[type=file]").set_input_files(CAT)
    page.locator("#photo-cam img").wait_for(timeout=30_000)
    page.wait_for_function("document.querySelector('#photo-timing').innerText.includes('conv5')", timeout=30_000)
    before = page.locator("#photo-cam img").get_attribute("src")
    page.locator("#photo-layer").get_by_text("conv2").click()
    page.wait_for_function("document.querySelector('#photo-timing').innerText.includes('conv2 (27x27')", timeout=30_000)
    assert page.locator("#photo-cam img").get_attribute("src") != before
    third = (
        page.locator("#photo-prediction .confidence-set .label").nth(2).inner_text()
        if page.locator("#photo-prediction .confidence-set .label").count() > 2
        else None
    )
    target = page.locator("#photo-target input")
    target.click()
    target.fill("goldfish")
    page.get_by_role("option", name="goldfish", exact=True).click()
    page.wait_for_function(
        "document.querySelector('#photo-timing').innerText.includes('explains goldfish')", timeout=30_000
    )
    assert third is None or third != "goldfish"
    page.get_by_text("Inside AlexNet").click()
    page.locator("#photo-filters img").wait_for(timeout=30_000)  # conv1's 64 filters
    page.locator("#photo-maps img").wait_for(timeout=30_000)
    caption = page.locator("#photo-maps-caption").inner_text()
    assert caption.count("(") >= 16 and "conv1" in caption  # 16 maps, each with its mean activation
    assert not page.console_errors, page.console_errors
    page.close()


def test_the_compare_tab_counts_the_two_gpu_network(client, browser, app_url):
    table = client.predict(api_name="/compare_models")
    rows = {row[0]: dict(zip(table["headers"], row, strict=True)) for row in table["data"]}
    two = rows["AlexNet 2012 (paper, 2 GPUs)"]
    assert two["parameters"] == 60_965_224 and two["mult_adds"] == 724_406_816
    assert rows["AlexNet 2012 (note)"]["parameters"] - two["parameters"] == 1_413_120
    page = open_tab(browser, app_url, "compare")
    page.wait_for_function("document.querySelector('#two-gpus')?.innerText.includes('3 GB')", timeout=30_000)
    text = page.locator("#two-gpus").inner_text()
    assert "1,413,120" in text and "60,965,224" in text and "'conv2', 'conv4', 'conv5'" in text
    page.close()
