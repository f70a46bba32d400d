"""One feature-map pixel explained with LeNet's own numbers; why MNIST's preprocessing matters.

The Python reference of the browser engine (``nets/explaining/convolution.py``); ``tests/test_lenet_engine.py``
holds the engine to it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.digit_drawings import Drawing, random_drawing, render
from nets.data.sketch import WAYS, sketch_ways
from nets.explaining.convolution import ConvolutionError, explain_convolution, layer_outputs, preprocessing_lesson
from nets.explaining.digits import DigitReader
from nets.models.lenet import LeNet

POSITIONS = [
    (1, 0, 0, 0),
    (1, 2, 13, 14),
    (1, 5, 27, 27),
    (1, 4, 9, 20),
    (2, 0, 0, 0),
    (2, 7, 4, 5),
    (2, 15, 9, 9),
    (2, 11, 3, 6),
]


@pytest.fixture(scope="module")
def reader() -> DigitReader:
    return DigitReader()


def stroke_layer(drawing: Drawing) -> dict:
    """What the browser's Sketchpad sends: the strokes as a layer whose alpha is the ink."""
    alpha = 255 - np.asarray(render(drawing, ink=0, paper=255))
    return {"background": None, "layers": [np.dstack([np.zeros_like(alpha)] * 3 + [alpha])], "composite": None}


def a_digit(reader: DigitReader, label: int = 3, seed: int = 1) -> torch.Tensor:
    return reader.read(stroke_layer(random_drawing(label, np.random.default_rng(seed)))).digit.tensor


@pytest.mark.parametrize("position", POSITIONS, ids=[f"layer{p[0]}-map{p[1]}-{p[2]},{p[3]}" for p in POSITIONS])
def test_the_explanation_is_lenets_own_arithmetic(reader, position):
    layer, channel, row, col = position
    x = a_digit(reader)
    e = explain_convolution(reader.model, x, layer, channel, row, col)
    conv = reader.model.features[0 if layer == 1 else 3]
    outputs = layer_outputs(reader.model, x)
    source = outputs["input" if layer == 1 else "pool1"]
    assert np.array_equal(np.array(e["kernel"], np.float32), conv.weight[channel].detach().numpy())
    assert e["bias"] == float(conv.bias[channel].detach())
    assert np.array_equal(np.array(e["patch"], np.float32), source[:, row : row + 5, col : col + 5].numpy())
    assert np.allclose(e["products"], np.array(e["patch"]) * np.array(e["kernel"]), rtol=0, atol=1e-12)
    assert e["sum"] == pytest.approx(float(np.sum(e["products"])) + e["bias"], abs=1e-9)
    pre_activation = F.conv2d(source[None], conv.weight[channel : channel + 1], conv.bias[channel : channel + 1])
    assert e["sum"] == pytest.approx(float(pre_activation[0, 0, row, col]), abs=1e-4)
    assert e["relu"] == max(0.0, e["sum"]) == pytest.approx(e["activated"]) and e["activation"] == "relu"
    conv1, conv2 = reader.model.feature_maps(x)
    assert e["value"] == float((conv1 if layer == 1 else conv2)[0, channel, row, col])
    assert e["value"] == pytest.approx(e["relu"], abs=1e-4)
    stride, reach = (1, 5) if layer == 1 else (2, 14)
    assert e["input_box"] == [stride * row, stride * col, stride * row + reach, stride * col + reach]
    fmap = (conv1 if layer == 1 else conv2)[0, channel]
    top, left = e["pool"]["top"], e["pool"]["left"]
    assert (top, left) == (row - row % 2, col - col % 2)
    assert e["pool"]["block"] == fmap[top : top + 2, left : left + 2].tolist()
    assert e["pool"]["value"] == pytest.approx(float(np.mean(e["pool"]["block"])), abs=1e-6)
    assert e["pool"]["value"] == float(F.avg_pool2d(fmap[None], 2)[0, row // 2, col // 2])


def test_the_input_box_is_the_receptive_field(reader):
    """Changing the input outside input_box leaves the pixel alone; inside, it changes it."""
    x = a_digit(reader, 8, seed=2)
    for layer, channel, row, col in [(1, 1, 10, 12), (2, 3, 4, 6)]:
        top, left, bottom, right = explain_convolution(reader.model, x, layer, channel, row, col)["input_box"]
        outside = x.clone() + torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
        outside[..., top:bottom, left:right] = x[..., top:bottom, left:right]
        inside = x.clone()
        inside[..., top:bottom, left:right] += 1.0
        values = [explain_convolution(reader.model, v, layer, channel, row, col)["sum"] for v in (x, outside, inside)]
        assert values[1] == pytest.approx(values[0], abs=1e-4) and abs(values[2] - values[0]) > 1e-3


@pytest.mark.parametrize(("pooling", "activation"), [("max", "tanh"), ("avg", "sigmoid")])
def test_other_lenets_are_explained_with_their_own_pooling_and_activation(pooling, activation):
    torch.manual_seed(0)
    model = LeNet(in_channels=1, pooling=pooling, activation=activation).eval()
    x = torch.randn(1, 1, 32, 32)
    for layer, channel, row, col in [(1, 2, 7, 8), (2, 5, 3, 2)]:
        e = explain_convolution(model, x, layer, channel, row, col)
        squash = torch.tanh if activation == "tanh" else torch.sigmoid
        assert e["activated"] == pytest.approx(float(squash(torch.tensor(e["sum"], dtype=torch.float64))), abs=1e-12)
        assert e["value"] == pytest.approx(e["activated"], abs=1e-5)
        pool = np.max if pooling == "max" else np.mean
        assert e["pool"]["value"] == pytest.approx(float(pool(e["pool"]["block"])), abs=1e-6)
        assert (e["pool"]["pooling"], e["activation"]) == (pooling, activation)


@pytest.mark.parametrize(
    ("position", "code", "values"),
    [
        ((0, 0, 0, 0), "convolution_layer_out_of_range", {"value": 0, "low": 1, "high": 2}),
        ((3, 0, 0, 0), "convolution_layer_out_of_range", {"value": 3, "low": 1, "high": 2}),
        ((1, 6, 0, 0), "convolution_channel_out_of_range", {"value": 6, "low": 0, "high": 5, "layer": 1}),
        ((2, -1, 0, 0), "convolution_channel_out_of_range", {"value": -1, "low": 0, "high": 15, "layer": 2}),
        ((1, 0, 28, 0), "convolution_row_out_of_range", {"value": 28, "low": 0, "high": 27, "layer": 1}),
        ((2, 0, 0, 10), "convolution_col_out_of_range", {"value": 10, "low": 0, "high": 9, "layer": 2}),
        ((1, 0, 2.5, 0), "convolution_row_out_of_range", {"value": 2.5, "low": 0, "high": 27, "layer": 1}),
        ((True, 0, 0, 0), "convolution_layer_out_of_range", {"value": True, "low": 1, "high": 2}),
    ],
)
def test_positions_lenet_does_not_have_are_refused(reader, position, code, values):
    with pytest.raises(ConvolutionError) as refused:
        explain_convolution(reader.model, a_digit(reader), *position)
    assert refused.value.code == code and refused.value.values == values


def test_a_numpy_integer_position_is_fine(reader):
    e = explain_convolution(reader.model, a_digit(reader), np.int64(2), np.int32(3), np.int64(4), 5)
    assert e["input_box"] == [8, 10, 22, 24]


def test_the_lessons_mnist_row_is_the_apps_reading(reader):
    rng = np.random.default_rng(3)
    for label in range(10):
        value = stroke_layer(random_drawing(label, rng))
        lesson = preprocessing_lesson(value, reader.weights, reader.model)
        assert [way for way, _, _ in lesson] == list(WAYS)
        reading = reader.read(value)
        best = int(np.argmax(reading.probabilities))
        assert lesson[-1] == ("mnist_style", best, float(reading.probabilities[best]))


def test_no_digit_no_lesson(reader):
    blank = {"background": None, "layers": [np.zeros((400, 400, 4), np.uint8)], "composite": None}
    assert preprocessing_lesson(blank, reader.weights, reader.model) == [(way, None, None) for way in WAYS]
    assert sketch_ways(blank) == dict.fromkeys(WAYS)


def small_off_centre(label: int, rng: np.random.Generator) -> Drawing:
    """A small digit (10-25% of the canvas' height) in one quadrant of a 400x400 canvas."""
    small = random_drawing(label, rng, canvas=(200, 200), size=(0.2, 0.5))
    dx, dy = 200 * rng.integers(2), 200 * rng.integers(2)
    strokes = [[(x + dx, y + dy) for x, y in stroke] for stroke in small.strokes]
    return Drawing(label=label, strokes=strokes, width=small.width, canvas=(400, 400))


def test_mnist_style_beats_squeezing_the_canvas_on_small_off_centre_digits(reader):
    rng = np.random.default_rng(0)
    right = dict.fromkeys(WAYS, 0)
    total = 100
    for i in range(total):
        drawing = small_off_centre(i % 10, rng)
        for way, digit, _ in preprocessing_lesson(stroke_layer(drawing), reader.weights, reader.model):
            right[way] += digit == drawing.label
    accuracy = {way: 100 * right[way] / total for way in WAYS}
    print(
        "\npreprocessing lesson, 100 small off-centre digits: "
        + ", ".join(f"{way} {accuracy[way]:.0f}%" for way in WAYS)
    )
    assert accuracy["mnist_style"] >= accuracy["squeezed"] + 30
    assert accuracy["mnist_style"] >= accuracy["cropped_not_centred"]
    assert accuracy["mnist_style"] >= 90
