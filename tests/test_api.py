"""The app's API, called through gradio_client against the real server, as programs call it."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError, ValidationError
from PIL import Image

from harness.digit_drawings import random_drawing, render


def composite(path) -> dict:
    """The Sketchpad value an API client sends when it has only an image."""
    return {"background": None, "layers": [], "composite": handle_file(str(path))}


def top_label(result: dict) -> str | None:
    return result.get("label")


def test_predict_digit_reads_hand_drawn_digits(client, tmp_path):
    rng = np.random.default_rng(11)
    right = 0
    for digit in range(10):
        path = tmp_path / f"{digit}.png"
        render(random_drawing(digit, rng)).save(path)
        result = client.predict(composite(path), api_name="/predict_digit")
        assert len(result["confidences"]) == 3
        confidences = [c["confidence"] for c in result["confidences"]]
        assert confidences == sorted(confidences, reverse=True) and sum(confidences) <= 1.0001
        right += top_label(result) == str(digit)
    assert right >= 9


def test_predict_digit_reads_light_ink_on_dark(client, tmp_path):
    path = tmp_path / "seven.png"
    Image.eval(render(random_drawing(7, np.random.default_rng(3))), lambda v: 255 - v).save(path)
    assert top_label(client.predict(composite(path), api_name="/predict_digit")) == "7"


def test_blank_canvas_gives_an_empty_label(client, tmp_path):
    path = tmp_path / "blank.png"
    Image.new("RGB", (400, 400), "white").save(path)
    result = client.predict(composite(path), api_name="/predict_digit")
    assert not result or not result.get("confidences")


def test_a_file_that_is_not_an_image_gets_a_clear_error(client, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture")
    with pytest.raises(AppError, match="not an image"):
        client.predict(composite(path), api_name="/predict_digit")
    # ...and the server keeps serving.
    good = tmp_path / "three.png"
    render(random_drawing(3, np.random.default_rng(5))).save(good)
    assert top_label(client.predict(composite(good), api_name="/predict_digit")) == "3"


def test_compare_models_returns_the_exact_counts(client):
    table = client.predict(api_name="/compare_models")
    rows = {row[0]: dict(zip(table["headers"], row, strict=True)) for row in table["data"]}
    assert rows["LeNet (note, 3 channels)"]["parameters"] == 62_006
    assert rows["LeNet (digit tab, 1 channel)"]["parameters"] == 61_706
    assert rows["AlexNet 2012 (note)"]["parameters"] == 62_378_344
    assert rows["AlexNet (torchvision)"]["parameters"] == 61_100_840
    assert rows["AlexNet (torchvision)"]["mult_adds"] == 714_188_480
    assert rows["AlexNet + new head (5 classes)"]["trainable"] == 4096 * 5 + 5


def test_compare_models_with_extras_and_bad_input(client):
    table = client.predict(10, ["ResNet-18"], api_name="/compare_models")
    rows = {row[0]: dict(zip(table["headers"], row, strict=True)) for row in table["data"]}
    assert rows["ResNet-18"]["parameters"] == 11_689_512
    assert rows["AlexNet + new head (10 classes)"]["trainable"] == 4096 * 10 + 10
    with pytest.raises(ValidationError, match='"finetune_classes" must be between 2 and 1,000; 1 is not'):
        client.predict(1, [], api_name="/compare_models")
