"""Reading a drawn digit with the trained LeNet: the server's reader, for programs (the API).

``DigitReader`` holds one LeNet (loaded once from ``assets/``, frozen, eval mode) and answers
for any Sketchpad value: the top classes with their probabilities and the 28x28 image it actually
classified. The page reads drawings in the browser with the same weights and the same steps
(``ui/static/lenet/``); this is the reference it is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nets.data.sketch import Digit, sketch_to_mnist
from nets.models.lenet import LeNet, LeNetWeights, lenet, mnist_weights


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

    def __init__(self, weights: LeNetWeights | None = None, model: LeNet | None = None) -> None:
        """The shipped LeNet, or ``model`` (a visitor's own, trained with the shipped normalisation)."""
        self.weights = weights or mnist_weights()
        self.model = (model if model is not None else lenet(weights=self.weights)).eval().requires_grad_(False)

    def digit(self, value: Any) -> Digit | None:
        """A Sketchpad value (or image) in MNIST form, as this LeNet reads it; ``None`` if no digit."""
        return sketch_to_mnist(value, self.weights.mean, self.weights.std, self.weights.input_size)

    def read(self, value: Any) -> DigitReading | None:
        """Classify a Sketchpad value (or image); ``None`` when there is no digit to read."""
        digit = self.digit(value)
        if digit is None:
            return None
        with torch.inference_mode():
            logits = self.model(digit.tensor)  # (1, 10)
        return DigitReading(digit=digit, probabilities=torch.softmax(logits, 1)[0].numpy())
