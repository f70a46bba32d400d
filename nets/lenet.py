"""LeNet as in the study note on *Mastering PyTorch* ch. 2, in torchvision's manner.

Two 5x5 convolutions with ReLU and *average* pooling, then three fully connected layers
(400 -> 120 -> 84 -> 10). Input is 32x32: LeCun padded MNIST's 28x28 digits by 2 pixels so
that strokes near the edge still reach the centre of the first layer's receptive fields.

The note feeds 3-channel images (62,006 parameters); the digit tab uses the 1-channel model
trained on MNIST (61,706 parameters), shipped in ``assets/`` with its metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

ASSETS = Path(__file__).resolve().parent.parent / "assets"
INPUT_SIZE = 32  # the architecture's: 32 -> conv 28 -> pool 14 -> conv 10 -> pool 5, and Linear(5*5*16)


class LeNet(nn.Module):
    """LeNet-5 with ReLU and average pooling; ``in_channels`` is 3 in the note, 1 for digits."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),  # (B, C, 32, 32) -> (B, 6, 28, 28)
            nn.ReLU(inplace=True),
            nn.AvgPool2d(2),  # -> (B, 6, 14, 14)
            nn.Conv2d(6, 16, kernel_size=5),  # -> (B, 16, 10, 10)
            nn.ReLU(inplace=True),
            nn.AvgPool2d(2),  # -> (B, 16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Linear(5 * 5 * 16, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, 16, 5, 5)
        x = torch.flatten(x, 1)  # (B, 400)
        return self.classifier(x)  # (B, num_classes) logits

    def feature_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The ReLU outputs of both conv layers: ``(B, 6, 28, 28)`` and ``(B, 16, 10, 10)``."""
        conv1 = self.features[1](self.features[0](x))
        conv2 = self.features[4](self.features[3](self.features[2](conv1)))
        return conv1, conv2


@dataclass(frozen=True)
class LeNetWeights:
    """A trained LeNet checkpoint and the facts needed to use it (torchvision's ``Weights`` idea)."""

    file: Path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(self.meta["normalization"]["mean"])

    @property
    def std(self) -> float:
        return float(self.meta["normalization"]["std"])

    @property
    def input_size(self) -> int:
        """The side of the square input the weights were trained on (32: MNIST's 28 padded by 2)."""
        height, width = self.meta["input_size"]
        if height != width:
            raise ValueError(f"LeNet weights for non-square input {height}x{width} are not supported")
        return int(height)

    def get_state_dict(self) -> dict[str, torch.Tensor]:
        return torch.load(self.file, map_location="cpu", weights_only=True)


def mnist_weights(assets: Path = ASSETS) -> LeNetWeights:
    """The digit tab's checkpoint: ``assets/lenet_mnist.pth`` plus ``assets/lenet_mnist.json``."""
    meta = json.loads((assets / "lenet_mnist.json").read_text())
    return LeNetWeights(file=assets / "lenet_mnist.pth", meta=meta)


def lenet(*, weights: LeNetWeights | None = None, in_channels: int = 3, num_classes: int = 10) -> LeNet:
    """Build LeNet; with ``weights`` the checkpoint decides channels and classes and is loaded."""
    if weights is not None:
        in_channels = int(weights.meta["in_channels"])
        num_classes = len(weights.meta["categories"])
    model = LeNet(in_channels=in_channels, num_classes=num_classes)
    if weights is not None:
        model.load_state_dict(weights.get_state_dict())
    return model
