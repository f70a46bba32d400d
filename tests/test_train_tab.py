"""Train LeNet yourself: the note's switches, live curves, Stop, and drawing on your own model.

Through gradio_client (one Client is one visitor: the model stays in its session) and in Chromium.
MNIST comes from the subset shipped in assets/ (no internet here).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError
from PIL import Image

from harness.browser import open_tab, ready
from nets.data.mnist import training_data


def history_rows(table: dict) -> list[dict]:
    return [dict(zip(table["headers"], row, strict=True)) for row in table["data"]]


def mnist_digit_on_canvas(image, path) -> dict:
    """An MNIST test digit (light on dark, 28x28) enlarged 10x onto a white 400x400 canvas."""
    big = Image.fromarray(255 - np.asarray(image)).resize((280, 280), Image.Resampling.BICUBIC)
    canvas = Image.new("L", (400, 400), 255)
    canvas.paste(big, (60, 60))
    canvas.save(path)
    return {"background": None, "layers": [], "composite": handle_file(str(path))}


@pytest.fixture(scope="module")
def trained(app_url):
    """A visitor who trained the note's LeNet (average pooling, ReLU) for 2 epochs on 10,000 images."""
    client = Client(app_url, verbose=False)
    status, loss, accuracy, kernels, history, weights = client.predict(
        "avg", "relu", 2, 10_000, api_name="/train_lenet"
    )
    assert "<svg" in loss and "<svg" in accuracy and "<svg" in kernels  # the curves and conv1's kernels
    assert weights["pooling"] == "avg" and weights["activation"] == "relu"  # what the page's engine loads
    return client, status, history_rows(history)


def test_the_notes_lenet_trains_to_96_percent_in_two_epochs(trained):
    _, status, rows = trained
    assert [row["epoch"] for row in rows] == [1, 2]
    assert rows[-1]["test_acc"] >= 0.96, rows  # MNIST test images it never trained on
    assert f"{rows[-1]['test_acc']:.1%}" in status and "2,000 MNIST test images" in status


def test_your_own_lenet_reads_mnist_test_digits_drawn_on_the_canvas(trained, tmp_path):
    client, _, rows = trained
    data = training_data("subset")
    rng = np.random.default_rng(0)
    picks = rng.choice(data.test_count, 40, replace=False)
    right = 0
    for i in picks:
        answer = client.predict(
            mnist_digit_on_canvas(data.test_images[i], tmp_path / f"{i}.png"), api_name="/predict_my_lenet"
        )
        right += answer["label"] == str(int(data.test_labels[i]))
    assert right / len(picks) >= rows[-1]["test_acc"] - 0.08, (right, rows[-1]["test_acc"])


def test_another_session_cannot_reach_your_lenet(trained, app_url, tmp_path):
    path = tmp_path / "blank.png"
    Image.new("L", (400, 400), 255).save(path)
    value = {"background": None, "layers": [], "composite": handle_file(str(path))}
    with pytest.raises(AppError, match="train one first"):
        Client(app_url, verbose=False).predict(value, api_name="/predict_my_lenet")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("median", "relu", 2, 10_000), r"'median' .* not in the list of choices: \['avg', 'max'\]"),
        (("avg", "softmax", 2, 10_000), r"'softmax' .* not in the list of choices: \['relu', 'sigmoid', 'tanh'\]"),
        (("avg", "relu", 0, 10_000), r'"epochs" must be between 1 and 20; 0 is not'),
        (("avg", "relu", 2.5, 10_000), "Epochs must be a whole number from 1 to 20, not 2.5"),
        (("avg", "relu", 2, 60_000), r'"train_images" must be between 1,000 and 20,000; 60,000 is not'),
        (("avg", "relu", 2, 1500.5), "training images must be a whole number from 1,000 to 20,000, not 1500.5"),
    ],
    ids=["pooling", "activation", "zero epochs", "half an epoch", "more images than allowed", "half an image"],
)
def test_settings_that_cannot_be_trained_are_refused(client, arguments, message):
    with pytest.raises((AppError, ValidationError), match=message):
        client.predict(*arguments, api_name="/train_lenet")


def test_the_curves_grow_while_it_trains_and_stop_keeps_what_was_learned(browser, app_url):
    page = open_tab(browser, app_url, "train")
    # nothing empty before the first run: no blank plots, no tables with placeholder headings
    assert not page.locator("#train-history").is_visible() and not page.locator("#train-runs").is_visible()
    assert not page.locator("#train-accuracy").is_visible()
    page.locator("#train-epochs input[type=number]").fill("20")
    page.locator("#train-epochs input[type=number]").press("Enter")
    page.locator("#train-images input[type=number]").fill("20000")
    page.locator("#train-images input[type=number]").press("Enter")
    page.get_by_label("sigmoid").check()
    page.locator("#train-start").click()
    points = []
    for _ in range(3):
        seen = max(points, default=0)
        page.wait_for_function(
            f"document.querySelectorAll('#train-accuracy svg circle').length > {seen}", timeout=60_000
        )
        points.append(page.locator("#train-accuracy svg circle").count())
    assert points == sorted(points) and points[-1] > points[0]  # one more point per epoch, in sight
    page.locator("#train-stop").click()
    page.wait_for_function(
        "document.querySelector('#train-status').innerText.includes('stopped at your request')", timeout=30_000
    )
    status = page.locator("#train-status").inner_text()
    page.wait_for_function("document.querySelector('#train-runs')?.innerText.includes('sigmoid')", timeout=10_000)
    runs = page.locator("#train-runs").inner_text()
    assert "sigmoid" in runs and "avg" in runs
    page.locator("#train-draw").click()
    ready(page)
    page.locator("#digit-lab .dl-example[data-digit='7']").click()
    page.wait_for_function(
        "document.querySelector('#digit-mine') && !document.querySelector('#digit-mine').hidden", timeout=10_000
    )
    mine = page.locator("#digit-mine").inner_text()
    assert "Your LeNet" in mine and "sigmoid" in mine  # the visitor's own LeNet answers beside the shipped one
    accuracy = float(status.split("Done: ")[1].split("%")[0]) / 100
    assert 0.5 < accuracy < 1.0  # a model that learned something before it was stopped
    assert not page.console_errors, page.console_errors
    page.close()
    time.sleep(0.5)
