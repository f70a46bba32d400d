"""LeNet as in the study note on *Mastering PyTorch* (ch. 3, "Deep CNN Architectures"), in torchvision's manner.

Two 5x5 convolutions with ReLU and *average* pooling, then three fully connected layers
(400 -> 120 -> 84 -> 10). Input is 32x32: LeCun padded MNIST's 28x28 digits by 2 pixels so
that strokes near the edge still reach the centre of the first layer's receptive fields.

The note feeds 3-channel images (62,006 parameters); the digit tab uses the 1-channel model
trained on MNIST (61,706 parameters), shipped in ``assets/`` with its metadata.

LeCun's 1998 LeNet-5 squashed with tanh-like units and subsampled by (trainable) averaging; later
CNNs use ReLU and max pooling. Both switches exist (``pooling``, ``activation``) so a visitor can
train the variants and compare them; the defaults are the note's (and the shipped weights').

The same weights also run in the visitor's browser (``ui/static/lenet/``): ``web_weights``
writes them in a small JSON format the engine reads, and ``python -m nets.models.lenet`` writes the
shipped model's to ``assets/web/lenet_mnist.json``, and the engine's other numbers and names
(``engine_facts``: MNIST's box and field, the ink thresholds, the preprocessing ways) to
``assets/web/lenet_engine_facts.js``, so the browser copies none of them by hand.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nets.data import sketch
from nets.paths import ASSETS

INPUT_SIZE = 32  # the architecture's: 32 -> conv 28 -> pool 14 -> conv 10 -> pool 5, and Linear(5*5*16)
POOLINGS = ("avg", "max")  # "avg": the note's and LeNet-5's subsampling; "max": what later CNNs use
ACTIVATIONS = ("relu", "sigmoid", "tanh")  # "relu": the note's; sigmoid and tanh: the 1990s squashing units
WEB_FORMAT = "classic-cnns/lenet-web/1"  # the JSON the browser engine reads (see web_weights)
WEB_WEIGHTS_FILE = ASSETS / "web" / "lenet_mnist.json"  # the shipped model's, written by python -m nets.models.lenet


def _pool(pooling: str) -> nn.Module:
    return nn.AvgPool2d(2) if pooling == "avg" else nn.MaxPool2d(2)


def _activation(activation: str) -> nn.Module:
    if activation == "relu":
        return nn.ReLU(inplace=True)
    return nn.Sigmoid() if activation == "sigmoid" else nn.Tanh()


class LeNet(nn.Module):
    """LeNet-5; ``in_channels`` is 3 in the note, 1 for digits.

    ``pooling`` ("avg" or "max") and ``activation`` ("relu", "sigmoid" or "tanh", used after
    every layer but the last) change the layers' kinds, never their names or parameters, so any
    variant's ``state_dict`` has the same keys and shapes.
    """

    def __init__(
        self, in_channels: int = 3, num_classes: int = 10, pooling: str = "avg", activation: str = "relu"
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, not {activation!r}")
        self.pooling, self.activation = pooling, activation
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),  # (B, C, 32, 32) -> (B, 6, 28, 28)
            _activation(activation),
            _pool(pooling),  # -> (B, 6, 14, 14)
            nn.Conv2d(6, 16, kernel_size=5),  # -> (B, 16, 10, 10)
            _activation(activation),
            _pool(pooling),  # -> (B, 16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Linear(5 * 5 * 16, 120),
            _activation(activation),
            nn.Linear(120, 84),
            _activation(activation),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, 16, 5, 5)
        x = torch.flatten(x, 1)  # (B, 400)
        return self.classifier(x)  # (B, num_classes) logits

    def feature_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The activated outputs (ReLU by default) of both conv layers: ``(B, 6, 28, 28)`` and
        ``(B, 16, 10, 10)``."""
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


def lenet(
    *,
    weights: LeNetWeights | None = None,
    in_channels: int = 3,
    num_classes: int = 10,
    pooling: str = "avg",
    activation: str = "relu",
) -> LeNet:
    """Build LeNet; with ``weights`` the checkpoint decides channels and classes and is loaded.

    ``pooling`` and ``activation`` choose the variant (see ``LeNet``); a checkpoint whose metadata
    names them (``"pooling"``, ``"activation"``) decides them too (the shipped one names neither:
    average pooling and ReLU).
    """
    if weights is not None:
        in_channels = int(weights.meta["in_channels"])
        num_classes = len(weights.meta["categories"])
        pooling = weights.meta.get("pooling", pooling)
        activation = weights.meta.get("activation", activation)
    model = LeNet(in_channels=in_channels, num_classes=num_classes, pooling=pooling, activation=activation)
    if weights is not None:
        model.load_state_dict(weights.get_state_dict())
    return model


# --- the same weights for the browser ------------------------------------------------------


def web_weights(
    state_dict: Mapping[str, torch.Tensor],
    *,
    mean: float,
    std: float,
    input_size: int = INPUT_SIZE,
    pooling: str = "avg",
    activation: str = "relu",
    categories: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A LeNet ``state_dict`` and the facts needed to use it, as JSON-able data for the browser.

    ``{"format": WEB_FORMAT, "mean", "std", "input_size", "pooling", "activation", "categories",
    "tensors": {name: {"shape": [...], "data": base64 of little-endian float32}}}``, with the
    ``state_dict``'s own names (``features.0.weight``, ..., ``classifier.4.bias``). Base64 of the
    raw float32 bytes keeps every weight bit for bit (decimal text would round them) and is a
    third the size of decimals. ``categories`` defaults to "0", "1", ... as many as the last
    layer's outputs. ``read_web_weights`` is the inverse.
    """
    if pooling not in POOLINGS or activation not in ACTIVATIONS:
        raise ValueError(f"pooling must be one of {POOLINGS} and activation one of {ACTIVATIONS}")
    tensors = {}
    for name, tensor in state_dict.items():
        array = tensor.detach().cpu().to(torch.float32).contiguous().numpy().astype("<f4")
        tensors[name] = {"shape": list(array.shape), "data": base64.b64encode(array.tobytes()).decode("ascii")}
    if categories is None:
        categories = [str(i) for i in range(int(state_dict["classifier.4.bias"].shape[0]))]
    return {
        "format": WEB_FORMAT,
        "mean": float(mean),
        "std": float(std),
        "input_size": int(input_size),
        "pooling": pooling,
        "activation": activation,
        "categories": [str(c) for c in categories],
        "tensors": tensors,
    }


def read_web_weights(web: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The ``state_dict`` and the metadata (everything but ``tensors``) of ``web_weights``' output."""
    if web.get("format") != WEB_FORMAT:
        raise ValueError(f"not LeNet web weights ({WEB_FORMAT}): format is {web.get('format')!r}")
    state_dict = {}
    for name, tensor in web["tensors"].items():
        array = np.frombuffer(base64.b64decode(tensor["data"]), dtype="<f4").astype(np.float32)
        state_dict[name] = torch.from_numpy(array.reshape(tensor["shape"]))
    return state_dict, {key: value for key, value in web.items() if key != "tensors"}


@functools.cache
def _mnist_web_weights(assets: Path) -> dict[str, Any]:
    weights = mnist_weights(assets)
    return web_weights(
        weights.get_state_dict(),
        mean=weights.mean,
        std=weights.std,
        input_size=weights.input_size,
        pooling=weights.meta.get("pooling", "avg"),
        activation=weights.meta.get("activation", "relu"),
        categories=weights.meta["categories"],
    )


def mnist_web_weights(assets: Path = ASSETS) -> dict[str, Any]:
    """The digit tab's shipped LeNet (``mnist_weights()``) as ``web_weights``, computed once.

    Served to the browser as ``assets/web/lenet_mnist.json`` (written by ``python -m nets.models.lenet``);
    a test checks that file equals this. Returns a copy: change it freely.
    """
    return copy.deepcopy(_mnist_web_weights(Path(assets)))


def write_web_weights(path: Path = WEB_WEIGHTS_FILE) -> Path:
    """Write ``mnist_web_weights()`` to ``path`` as JSON and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(mnist_web_weights(), indent=1) + "\n")
    return path


# --- the browser engine's other numbers, from the Python that defines them -----------------

ENGINE_FACTS_FILE = WEB_WEIGHTS_FILE.parent / "lenet_engine_facts.js"  # written by python -m nets.models.lenet


def engine_facts() -> dict[str, Any]:
    """The numbers and names the browser engine needs besides a model's weights, as JSON-able data.

    ``format``, ``poolings`` and ``activations``: the web weights it can read (this module's);
    ``sketch``: how a drawing becomes MNIST's 28x28 form (``nets.data.sketch``'s thresholds, the
    20x20 box in the 28x28 field, and the preprocessing lesson's ``ways``, spelled as Python
    spells them). The mean, std and input size travel with each model's weights, and the kernel
    and feature-map sizes follow from the weights' shapes, so they are not repeated here.
    """
    return {
        "format": WEB_FORMAT,
        "poolings": list(POOLINGS),
        "activations": list(ACTIVATIONS),
        "sketch": {
            "work_size": sketch.WORK_SIZE,
            "ink_threshold": sketch.INK_THRESHOLD,
            "speck_fraction": sketch.SPECK_FRACTION,
            "min_digit_extent": sketch.MIN_DIGIT_EXTENT,
            "min_contrast": sketch.MIN_CONTRAST,
            "box": sketch.BOX,
            "field": sketch.FIELD,
            "ways": list(sketch.WAYS),
        },
    }


def facts_script(name: str, facts: Mapping[str, Any], *about: str) -> str:
    """``facts`` as a plain browser script defining one global, ``name``, under a comment whose
    lines are ``about`` (who writes it, who checks it, who reads it)."""
    comment = "".join(f" * {line}\n" for line in about)
    return f"/*\n{comment} */\nconst {name} = {json.dumps(facts, indent=2)};\n"


def engine_facts_script(facts: Mapping[str, Any]) -> str:
    """``facts`` as the plain script the browser loads first: one global, ``LeNetFacts``."""
    return facts_script(
        "LeNetFacts",
        facts,
        "Written by `python -m nets.models.lenet` (engine_facts in nets/models/lenet.py) from",
        "nets/data/sketch.py and nets/models/lenet.py: do not edit by hand. tests/test_lenet_engine.py",
        "checks it agrees with them; the scripts in ui/static/lenet/ read their numbers from here.",
    )


def write_engine_facts(path: Path = ENGINE_FACTS_FILE) -> Path:
    """Write ``engine_facts()`` to ``path`` as ``engine_facts_script`` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(engine_facts_script(engine_facts()))
    return path


if __name__ == "__main__":
    # python -m nets.models.lenet    (writes assets/web/: the browser's weights, the engine's and the trainer's facts)
    print(f"wrote {write_web_weights()}")
    print(f"wrote {write_engine_facts()}")
    from nets.training.visitor_lenet import write_training_facts  # the trainer's numbers (it imports this module)

    print(f"wrote {write_training_facts()}")
