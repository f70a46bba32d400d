"""AlexNet twice: the 2012 paper's network from the study note, and torchvision's ImageNet model.

*The note's AlexNet* (Krizhevsky, Sutskever, Hinton 2012) has 96-256-384-384-256 filters,
local response normalisation after the first two convolutions and overlapping 3x3 max pooling;
its classifier reads 6x6x256 features. 62,378,344 parameters for 1000 classes. The paper really
trained it split over two GPUs (``AlexNet2012TwoGPU``): conv2, conv4 and conv5 saw only their own
GPU's half of the maps, which leaves 60,965,224 parameters.

*torchvision's AlexNet* is the later single-tower variant ("One weird trick", 2014): 64-192-384-
256-256 filters, no LRN, an adaptive 6x6 pooling; 61,100,840 parameters. Its ImageNet weights
are what the photo tab and fine-tuning use. They are loaded the torchvision way: the weights
enum knows the file and its metadata, the file is cached under ``$TORCH_HOME/hub/checkpoints/``
and downloaded when missing (on Hugging Face Spaces). ``ALEXNET_WEIGHTS=/path/to/file.pth``
points at a local copy instead.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import torch
from torch import nn
from torchvision.models import AlexNet, AlexNet_Weights
from torchvision.models import alexnet as torchvision_alexnet

IMAGENET_WEIGHTS = AlexNet_Weights.IMAGENET1K_V1
IMAGENET_TRANSFORM = IMAGENET_WEIGHTS.transforms()  # resize 256 (bilinear, antialiased), crop 224, normalise
# The download's size: 61,100,840 fp32 numbers, 244.4 MB (10^6 bytes), as the compare tab counts them
# (torchvision's own meta says 233 MB because it counts 2^20 bytes).
WEIGHTS_BYTES = IMAGENET_WEIGHTS.meta["num_params"] * 4
WEIGHTS_ENV = "ALEXNET_WEIGHTS"  # a local state_dict file to use instead of the cache/download
INPUT_SIZE_2012 = 227

# torchvision AlexNet's split points, named once (as timm names forward_features / forward_head).
# features: 0 conv1, 1 ReLU, 2 pool, 3 conv2, 4 ReLU, 5 pool, 6 conv3, 7 ReLU, 8 conv4, 9 ReLU,
# 10 conv5, 11 ReLU, 12 pool. features[:end] stops right after that convolution's ReLU.
CONV_RELU_END = {"conv1": 2, "conv2": 5, "conv3": 8, "conv4": 10, "conv5": 12}
HEAD_INDEX = 6  # classifier[6] = Linear(4096, 1000): the layer the note replaces for new classes
PENULTIMATE_FEATURES = 4096  # what classifier[6] reads: the last hidden layer


class AlexNet2012(nn.Module):
    """The 2012 paper's AlexNet (both GPU towers merged), as written in the study note.

    It needs 227x227 input. The paper says 224, but with an 11x11 kernel at stride 4 and no
    padding, 224 gives (224 - 11) / 4 + 1 = 54.25: the maps then shrink 54 -> 26 -> 12 -> 5, and
    the classifier, built for 6x6x256 = 9,216 features, would get 5x5x256 = 6,400. With 227 the
    arithmetic is exact: 55 -> 27 -> 13 -> 6.
    """

    TOWERS = 1  # conv2, conv4 and conv5 use groups=TOWERS: 1 is one tower that sees every map

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        towers = self.TOWERS
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4),  # (B, 3, 227, 227) -> (B, 96, 55, 55)
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2),
            nn.MaxPool2d(kernel_size=3, stride=2),  # -> (B, 96, 27, 27)
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=towers),  # -> (B, 256, 27, 27)
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2),
            nn.MaxPool2d(kernel_size=3, stride=2),  # -> (B, 256, 13, 13)
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # -> (B, 384, 13, 13): across towers
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=towers),  # -> (B, 384, 13, 13)
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=towers),  # -> (B, 256, 13, 13)
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # -> (B, 256, 6, 6)
        )
        self.classifier = nn.Sequential(  # fully connected: every layer reads both towers
            nn.Dropout(p=dropout),
            nn.Linear(6 * 6 * 256, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = tuple(x.shape[-2:])
        x = self.features(x)  # (B, 256, 6, 6) for 227x227 input
        if x.shape[-2:] != (6, 6):
            raise ValueError(
                f"{type(self).__name__} needs {INPUT_SIZE_2012}x{INPUT_SIZE_2012} input: {size[0]}x{size[1]} gives "
                f"{x.shape[-2]}x{x.shape[-1]}x256 features, but the classifier was built for 6x6x256 "
                f"(224x224 gives 5x5). Resize or crop the image to {INPUT_SIZE_2012}x{INPUT_SIZE_2012}."
            )
        x = torch.flatten(x, 1)  # (B, 9216)
        return self.classifier(x)  # (B, num_classes)


class AlexNet2012TwoGPU(AlexNet2012):
    """The 2012 AlexNet as the paper trained it: two towers, one per GPU (its figure 2).

    A GTX 580 had 3 GB of memory, too little to train the whole network on one, so each of two
    GPUs held half of every layer's kernels (48 of conv1's 96, 128 of conv2's 256, ...). The GPUs
    exchanged maps only at some layers: conv3 and the fully connected layers read both towers,
    while conv2, conv4 and conv5 read only their own GPU's half of the maps, i.e. convolutions
    with ``groups=2``. Each of those has half the weights of the merged network's (and does half
    the multiply-adds): 60,965,224 parameters instead of 62,378,344. (The paper's response
    normalisation also stayed within a GPU's maps; it has no parameters and is left as the
    note writes it.)
    """

    TOWERS = 2


def alexnet2012(*, num_classes: int = 1000, dropout: float = 0.5) -> AlexNet2012:
    """The note's 2012 AlexNet, untrained (no public weights exist for this exact layout)."""
    return AlexNet2012(num_classes=num_classes, dropout=dropout)


def alexnet2012_two_gpu(*, num_classes: int = 1000, dropout: float = 0.5) -> AlexNet2012TwoGPU:
    """The paper's two-GPU 2012 AlexNet (conv2, conv4, conv5 grouped in two), untrained."""
    return AlexNet2012TwoGPU(num_classes=num_classes, dropout=dropout)


def forward_features(model: AlexNet, batch: torch.Tensor) -> torch.Tensor:
    """(B, 3, 224, 224) normalised images -> (B, 9216): the convolutions, pooled and flattened."""
    x = model.features(batch.to(device_of(model)))  # (B, 256, 6, 6)
    return torch.flatten(model.avgpool(x), 1)  # (B, 9216)


def forward_head(model: AlexNet, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
    """(B, 9216) -> (B, 1000) scores, or with ``pre_logits`` (B, 4096): what ``classifier[6]`` reads."""
    return model.classifier[:HEAD_INDEX](features) if pre_logits else model.classifier(features)


def penultimate(model: AlexNet, batch: torch.Tensor) -> torch.Tensor:
    """(B, 3, 224, 224) -> (B, 4096), with no gradient: everything before the head, as a new head reads it."""
    with torch.no_grad():
        return forward_head(model, forward_features(model, batch), pre_logits=True)  # eval: no dropout


def new_head(classes: int, generator: torch.Generator | None = None) -> nn.Linear:
    """The note's ``nn.Linear(4096, len(classes))``: small random weights (seeded), zero bias."""
    head = nn.Linear(PENULTIMATE_FEATURES, classes)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 0.01)
        head.bias.zero_()
    return head


class WeightsUnavailable(RuntimeError):
    """The ImageNet weights are neither cached, nor given by ``ALEXNET_WEIGHTS``, nor downloadable."""


def cached_weights_file() -> Path:
    """Where torchvision caches the ImageNet weights: ``$TORCH_HOME/hub/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(IMAGENET_WEIGHTS.url).name


def how_to_provide_weights() -> str:
    return (
        f"Connect the server to the internet (torchvision downloads {Path(IMAGENET_WEIGHTS.url).name}), "
        f"or copy that file to {cached_weights_file()}, or set {WEIGHTS_ENV}=/path/to/the/file.pth."
    )


def best_device() -> torch.device:
    """The GPU when there is one (Spaces GPU hardware, ZeroGPU), else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_of(model: nn.Module) -> torch.device:
    """Where a model's weights live: inputs must be sent there."""
    return next(model.parameters()).device


def load_imagenet_alexnet(device: torch.device | str | None = None) -> AlexNet:
    """torchvision's AlexNet with its ImageNet weights, in eval mode, frozen, on ``device``
    (default: ``best_device()``).

    Raises ``WeightsUnavailable`` (with what to do) when the weights cannot be had.
    """
    local = os.environ.get(WEIGHTS_ENV)
    model = torchvision_alexnet()
    try:
        if local:
            state = torch.load(local, map_location="cpu", weights_only=True)
        else:
            state = IMAGENET_WEIGHTS.get_state_dict(progress=False, check_hash=True)
        model.load_state_dict(state)
    except Exception as error:  # no file, no network, a broken download: all the same to a user
        source = f"{WEIGHTS_ENV}={local}" if local else f"{IMAGENET_WEIGHTS.url}"
        raise WeightsUnavailable(
            f"The ImageNet weights of AlexNet are missing (could not load {source}: {error}). "
            + how_to_provide_weights()
        ) from error
    model.eval()
    model.requires_grad_(False)  # shared by every visitor: nothing may train or change it
    return model.to(device or best_device())


class SharedAlexNet:
    """One ImageNet AlexNet for the whole app, loaded on first use by whichever thread comes first.

    A failed load is remembered (so every request does not retry a missing download) and
    retried by ``get(retry=True)`` or once ``retry_after`` seconds have passed.
    """

    def __init__(self, retry_after: float = 300.0) -> None:
        self._lock = threading.Lock()
        self._model: AlexNet | None = None
        self._error: WeightsUnavailable | None = None
        self._failed_at = 0.0
        self.retry_after = retry_after

    def get(self, retry: bool = False) -> AlexNet:
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                stale = time.monotonic() - self._failed_at > self.retry_after
                if self._error is not None and not (retry or stale):
                    raise self._error
                try:
                    self._model = load_imagenet_alexnet()
                    self._error = None
                except WeightsUnavailable as error:
                    self._error, self._failed_at = error, time.monotonic()
                    raise
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def error(self) -> WeightsUnavailable | None:
        return self._error
