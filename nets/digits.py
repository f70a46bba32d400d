"""Reading a drawn digit with the trained LeNet, and showing what LeNet sees.

``DigitReader`` holds one LeNet (loaded once from ``assets/``, frozen, eval mode) and answers
for any Sketchpad value: the top classes with their probabilities, the 28x28 image it actually
classified, and the feature maps of both conv layers, rendered as small image grids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from nets.lenet import LeNetWeights, lenet, mnist_weights
from nets.sketch import Digit, sketch_to_mnist


@dataclass(frozen=True)
class DigitReading:
    """LeNet's answer for one drawing."""

    digit: Digit
    probabilities: np.ndarray  # (10,) softmax over the digits 0-9

    def top(self, k: int = 3) -> dict[str, float]:
        """The ``k`` most likely digits with their probabilities, best first."""
        best = np.argsort(-self.probabilities)[:k]
        return {str(int(i)): float(self.probabilities[i]) for i in best}


class DigitReader:
    """The digit tab's LeNet: safe to share between threads (inference only, never modified)."""

    def __init__(self, weights: LeNetWeights | None = None) -> None:
        self.weights = weights or mnist_weights()
        self.model = lenet(weights=self.weights).eval().requires_grad_(False)

    def read(self, value: Any) -> DigitReading | None:
        """Classify a Sketchpad value (or image); ``None`` when there is no digit to read."""
        digit = sketch_to_mnist(value, self.weights.mean, self.weights.std, self.weights.input_size)
        if digit is None:
            return None
        with torch.inference_mode():
            logits = self.model(digit.tensor)  # (1, 10)
        return DigitReading(digit=digit, probabilities=torch.softmax(logits, 1)[0].numpy())

    def feature_maps(self, digit: Digit) -> tuple[np.ndarray, np.ndarray]:
        """ReLU outputs of conv1 ``(6, 28, 28)`` and conv2 ``(16, 10, 10)`` for ``digit``."""
        with torch.inference_mode():
            conv1, conv2 = self.model.feature_maps(digit.tensor)
        return conv1[0].numpy(), conv2[0].numpy()


def enlarge(image: np.ndarray, factor: int) -> Image.Image:
    """A small greyscale array shown big with sharp pixels (nearest neighbour), as LeNet sees it."""
    return Image.fromarray(image).resize((image.shape[1] * factor, image.shape[0] * factor), Image.Resampling.NEAREST)


def feature_grid(maps: np.ndarray, columns: int, cell: int = 64, gap: int = 4) -> Image.Image:
    """Tile ``(C, H, W)`` feature maps into one image, ``columns`` per row, bright = active.

    All maps share one scale (the layer's strongest activation), so a dark tile really is a
    feature that did not fire for this drawing.
    """
    count = maps.shape[0]
    rows = -(-count // columns)
    peak = float(maps.max()) or 1.0
    sheet = Image.new("L", (columns * cell + (columns - 1) * gap, rows * cell + (rows - 1) * gap), 128)
    for i, fmap in enumerate(maps):
        tile = Image.fromarray(np.uint8(np.clip(fmap / peak, 0, 1) * 255))
        tile = tile.resize((cell, cell), Image.Resampling.NEAREST)
        sheet.paste(tile, ((i % columns) * (cell + gap), (i // columns) * (cell + gap)))
    return sheet
