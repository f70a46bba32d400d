"""From sketch to what LeNet sees: the preprocessing behaves the way MNIST was made."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from harness.digit_drawings import Drawing, random_drawing, render
from nets.data.sketch import sketch_to_mnist

MEAN, STD, SIZE = 0.1, 0.275, 32  # a fixed normalisation, LeNet's input: the tests look at the 28x28 image


def drawing_of(label: int, seed: int = 0, canvas=(400, 400), **kwargs) -> Drawing:
    return random_drawing(label, np.random.default_rng(seed), canvas=canvas, **kwargs)


def dark_on_light(drawing: Drawing) -> np.ndarray:
    """What an API client sends: an opaque RGBA composite, dark ink on white."""
    grey = np.asarray(render(drawing, ink=0, paper=255))
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


def browser_value(drawing: Drawing) -> dict:
    """What the browser sends: white background, an opaque composite and a stroke layer with alpha."""
    ink = 255 - np.asarray(render(drawing, ink=0, paper=255))
    layer = np.dstack([np.zeros_like(ink)] * 3 + [ink])
    white = np.full((*ink.shape, 4), 255, np.uint8)
    return {"background": white, "layers": [layer], "composite": dark_on_light(drawing)}


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(image.shape)
    total = image.sum()
    return float((ys * image).sum() / total), float((xs * image).sum() / total)


def ink_box(image: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(image)
    return ys.max() - ys.min() + 1, xs.max() - xs.min() + 1


def test_small_digit_in_a_corner_is_scaled_into_20px_and_centred_by_mass():
    drawing = drawing_of(3, size=(0.2, 0.2))
    # Move the small digit into the top-left corner of a large canvas.
    drawing.strokes = [[(x * 0.3 + 5, y * 0.3 + 5) for x, y in s] for s in drawing.strokes]
    digit = sketch_to_mnist(dark_on_light(drawing), MEAN, STD, SIZE)
    assert digit is not None
    assert max(ink_box(digit.mnist)) == 20
    cy, cx = centre_of_mass(digit.mnist.astype(float))
    assert abs(cy - 14) < 0.75 and abs(cx - 14) < 0.75
    assert digit.tensor.shape == (1, 1, 32, 32)
    # Padding by 2 around the 28x28 field: the border of the tensor is background.
    background = (0 - MEAN) / STD
    assert np.allclose(digit.tensor[0, 0, :2].numpy(), background)


def test_tall_digit_keeps_its_aspect_ratio():
    digit = sketch_to_mnist(dark_on_light(drawing_of(1, seed=3)), MEAN, STD, SIZE)
    height, width = ink_box(digit.mnist)
    assert height == 20 and width <= 12


def test_ink_is_found_whatever_the_polarity_or_source():
    drawing = drawing_of(5, seed=1)
    reference = sketch_to_mnist(browser_value(drawing), MEAN, STD, SIZE).mnist.astype(int)
    grey = np.asarray(render(drawing, ink=0, paper=255))
    variants = {
        "api composite, dark on light": {"background": None, "layers": [], "composite": dark_on_light(drawing)},
        "light ink on dark, MNIST style": 255 - grey,
        "dark-theme-like grey paper": np.clip(grey * 0.5 + 30, 0, 255).astype(np.uint8),
        "RGB photo-like, blue ink on cream": np.dstack([grey * 0.9 + 20, grey * 0.85 + 25, grey * 0.6 + 90]).astype(
            np.uint8
        ),
        "transparent PNG with strokes": np.dstack([np.zeros_like(grey)] * 3 + [255 - grey]),
        "PIL image": Image.fromarray(grey),
    }
    for name, value in variants.items():
        digit = sketch_to_mnist(value, MEAN, STD, SIZE)
        assert digit is not None, name
        assert np.abs(digit.mnist.astype(int) - reference).mean() < 6, name


def test_file_paths_are_read(tmp_path):
    drawing = drawing_of(8, seed=2)
    path = tmp_path / "eight.png"
    render(drawing).save(path)
    from_path = sketch_to_mnist({"background": None, "layers": [], "composite": str(path)}, MEAN, STD, SIZE)
    from_array = sketch_to_mnist(dark_on_light(drawing), MEAN, STD, SIZE)
    assert np.array_equal(from_path.mnist, from_array.mnist)


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        {"background": None, "layers": [], "composite": None},
        {
            "background": np.full((400, 400, 4), 255, np.uint8),
            "layers": [np.zeros((400, 400, 4), np.uint8)],
            "composite": np.full((400, 400, 4), 255, np.uint8),
        },
        np.full((400, 400), 255, np.uint8),
        np.zeros((28, 28), np.uint8),
        np.full((300, 300, 3), 128, np.uint8),
    ],
    ids=["none", "empty dict", "all none", "white canvas and empty layer", "white", "black", "flat grey"],
)
def test_blank_canvas_is_not_a_guess(value):
    assert sketch_to_mnist(value, MEAN, STD, SIZE) is None


def test_a_dot_or_faint_noise_is_not_a_digit():
    canvas = np.full((400, 400), 255, np.uint8)
    canvas[200:214, 200:214] = 0  # one click with the brush
    assert sketch_to_mnist(canvas, MEAN, STD, SIZE) is None
    noise = np.random.default_rng(0).normal(250, 2, (400, 400)).clip(0, 255).astype(np.uint8)
    assert sketch_to_mnist(noise, MEAN, STD, SIZE) is None


def test_specks_around_a_digit_are_ignored():
    drawing = drawing_of(2, seed=4, size=(0.5, 0.5))
    clean = dark_on_light(drawing)
    speckled = clean.copy()
    for y, x in [(10, 10), (380, 20), (15, 370), (385, 385)]:
        speckled[y : y + 4, x : x + 4, :3] = 0
    a = sketch_to_mnist(clean, MEAN, STD, SIZE).mnist
    b = sketch_to_mnist(speckled, MEAN, STD, SIZE).mnist
    assert np.array_equal(a, b)


def test_mnist_digit_is_left_almost_unchanged():
    """An MNIST-style 28x28 digit is already in MNIST form: the pipeline must not distort it."""
    drawing = drawing_of(6, seed=5, canvas=(28, 28), size=(0.7, 0.7), width=(0.12, 0.12))
    once = sketch_to_mnist(255 - np.asarray(render(drawing)), MEAN, STD, SIZE).mnist
    twice = sketch_to_mnist(once, MEAN, STD, SIZE).mnist
    assert np.abs(once.astype(int) - twice.astype(int)).mean() < 3


def test_other_array_types_are_accepted():
    grey = np.asarray(render(drawing_of(4, seed=6)))
    reference = sketch_to_mnist(grey, MEAN, STD, SIZE).mnist.astype(int)
    for value in (grey.astype(np.float32) / 255, grey.astype(np.uint16) * 257, grey[..., None]):
        assert np.abs(sketch_to_mnist(value, MEAN, STD, SIZE).mnist.astype(int) - reference).mean() < 2
    with pytest.raises(ValueError, match="expected an image"):
        sketch_to_mnist(np.zeros((4, 4, 7), np.uint8), MEAN, STD, SIZE)
