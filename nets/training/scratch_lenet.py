"""The note's 3-channel LeNet trained from scratch on a visitor's own images: the race's answer to "why fine-tune?".

The note's ``LeNet`` (``Conv2d(3, 6, 5)`` first, built by ``nets.models.lenet.lenet``) learns every one of its
61,156 + 85 x classes parameters from the visitor's few images, with no ImageNet behind it. It sees each
image as AlexNet's evaluation does, scaled down: the shorter side resized to 32 px (bilinear, antialiased),
the centre 32 x 32 cropped, normalised with ImageNet's mean and std; no augmentation. Inputs are then
fixed, so they are made once and an epoch over ~100 images takes milliseconds on a CPU.

Training and validation accuracy are measured the same way after every epoch (evaluation mode, the same
un-augmented images), so their gap is the model's, not an artefact of dropout or random crops.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from nets.data.dataset_zip import ImageDataset, LabelledImage
from nets.models.alexnet import IMAGENET_TRANSFORM
from nets.models.lenet import INPUT_SIZE, lenet
from nets.training.events import EpochFinished, Finished
from nets.training.jobs import JobClock

# Adam's usual 1e-3 (with the fine-tunes' weight decay): a network learning from nothing may move fast.
LEARNING_RATE = 1e-3
LENET_TRANSFORM = v2.Compose(
    [
        v2.ToImage(),
        v2.Resize(INPUT_SIZE, antialias=True),  # shorter side -> 32 px, bilinear
        v2.CenterCrop(INPUT_SIZE),  # (3, 32, 32)
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=IMAGENET_TRANSFORM.mean, std=IMAGENET_TRANSFORM.std),
    ]
)


def lenet_parameters(classes: int) -> int:
    """The note's 3-channel LeNet's parameters for ``classes`` outputs: 61,156 + 85 x classes (all trained)."""
    return sum(p.numel() for p in lenet(in_channels=3, num_classes=classes).parameters())


def lenet_inputs(images: list[LabelledImage]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, 32, 32) normalised images and (B,) labels."""
    if not images:
        return torch.empty(0, 3, INPUT_SIZE, INPUT_SIZE), torch.empty(0, dtype=torch.long)
    return torch.stack([LENET_TRANSFORM(item.image) for item in images]), torch.tensor([i.label for i in images])


@dataclass(frozen=True)
class ScratchLeNetFinished(Finished):
    """LeNet from scratch has ended: ``model`` is the best epoch's LeNet; its accuracies at that epoch."""

    best_epoch: int
    train_acc: float  # on the training images, measured as validation is (evaluation mode, no augmentation)
    val_acc: float


def evaluated(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(loss, accuracy) of ``model`` in evaluation mode on fixed inputs."""
    model.eval()
    with torch.no_grad():
        logits = model(x)  # (B, N)
    if not len(y):
        return 0.0, 0.0
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def train_scratch_lenet(
    dataset: ImageDataset,
    epochs: int,
    seed: int = 0,
    lr: float = LEARNING_RATE,
    batch_size: int = 32,
    time_limit: float = 300.0,
    should_stop: Callable[[], bool] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[EpochFinished | ScratchLeNetFinished]:
    """Train a fresh LeNet on ``dataset``; an ``EpochFinished`` per epoch, then ``ScratchLeNetFinished``.

    The best epoch (highest validation accuracy, then lowest validation loss) is kept. Stop and the time
    limit end training between batches, keeping the epochs done; ``cancelled()`` raises ``Cancelled``.
    With no epoch done, the last event's ``best_epoch`` is 0 and its accuracies are NaN.
    """
    clock = JobClock(time_limit, should_stop, cancelled, "LeNet from scratch")
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the seed decides the first weights, the server's RNG is left alone
        torch.manual_seed(seed)
        model = lenet(in_channels=3, num_classes=len(dataset.classes))
    x_train, y_train = lenet_inputs(dataset.train)  # (T, 3, 32, 32), (T,)
    x_val, y_val = lenet_inputs(dataset.val)  # (V, 3, 32, 32), (V,)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    rows, best, best_key = [], None, (-1.0, math.inf)
    for epoch in range(1, int(epochs) + 1):
        if clock.over():
            break
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x_train[index]), y_train[index]).backward()  # (b, N) logits
            optimizer.step()
        train_loss, train_acc = evaluated(model, x_train, y_train)
        val_loss, val_acc = evaluated(model, x_val, y_val)
        rows.append(
            {
                "epoch": epoch,
                "train_loss": round(train_loss, 4),
                "train_acc": round(train_acc, 4),
                "val_loss": round(val_loss, 4),
                "val_acc": round(val_acc, 4),
            }
        )
        if (val_acc, -val_loss) > (best_key[0], -best_key[1]):
            best_key, best = (val_acc, val_loss), (epoch, copy.deepcopy(model.state_dict()), train_acc)
        yield EpochFinished(epoch, int(epochs), pd.DataFrame(rows))
    history = pd.DataFrame(rows, columns=["epoch", "train_loss", "train_acc", "val_loss", "val_acc"])
    if best is None:
        yield ScratchLeNetFinished(model, history, clock.seconds, clock.reason, 0, math.nan, math.nan)
        return
    best_epoch, weights, train_acc = best
    model.load_state_dict(weights)
    yield ScratchLeNetFinished(model.eval(), history, clock.seconds, clock.reason, best_epoch, train_acc, best_key[0])
