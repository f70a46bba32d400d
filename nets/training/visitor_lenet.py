"""Train your own LeNet on MNIST in seconds, as a generator of typed events ("Train LeNet yourself").

A visitor picks the variant (average pooling, as in the study note, or max; ReLU, or sigmoid or
tanh as in 1998), the epochs and how many training images to use, then watches it learn: loss
and accuracy per epoch on the training images and on MNIST *test* images it never trains on,
and conv1's six 5x5 kernels as they change. The trained model then runs in the visitor's browser
(``browser_weights``), read through the same preprocessing as the shipped LeNet.

Why it is fast and still good: the images stay in memory as uint8 and each batch is padded to
32x32 and normalised as it is used (nothing is copied per epoch); small batches (32) give many
updates per epoch, and a one-cycle learning-rate schedule (warm up, then anneal to almost zero)
lets Adam take large steps early and settle at the end. Average pooling + ReLU on 10,000 images
for 2 epochs reaches about 97% test accuracy in a few seconds on one CPU thread (a plain Adam
loop at a constant rate: about 95%; see ``python -m bench.train_lenet``).

The normalisation is the shipped model's (``assets/lenet_mnist.json``), so the browser engine and
``nets/data/sketch.py`` preprocess drawings for a visitor's LeNet exactly as for the shipped one.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from nets.data import mnist_web
from nets.data.mnist import MnistData, stratified_choice
from nets.facts import Fact, Refusal
from nets.models.lenet import (
    ACTIVATIONS,
    ENGINE_FACTS_FILE,
    INPUT_SIZE,
    POOLINGS,
    LeNet,
    facts_script,
    mnist_weights,
    web_weights,
)
from nets.training.events import BatchTrained, EpochFinished, Finished
from nets.training.jobs import Cancelled, JobClock

EPOCHS = (1, 20)  # the range a visitor may choose
MIN_TRAIN_IMAGES = 1_000  # fewer would make a poor model; up to every image available
BATCH_SIZES = (8, 512)
LRS = (1e-5, 0.1)
PAD = (INPUT_SIZE - 28) // 2  # 28x28 -> 32x32, as LeCun fed LeNet-5 (and nets/data/sketch.py does)
WARMUP = 0.25  # share of all steps over which one-cycle raises the rate to its peak (then anneals)
EVAL_BATCH = 500  # test images per forward pass: about 20 ms, a cancel check between passes
PROGRESS_STEPS = 20  # BatchTrained events per epoch: a progress bar moves every 5%
HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"]


@functools.cache
def normalization() -> tuple[float, float]:
    """``(mean, std)`` of the shipped LeNet's inputs: every visitor's LeNet uses the same, so the
    browser engine and ``sketch_to_mnist`` need no other numbers."""
    weights = mnist_weights()
    return weights.mean, weights.std


class TrainingSettingsError(Refusal):
    """A choice that cannot be trained: ``unknown_pooling``, ``unknown_activation`` {value, choices},
    ``epochs_out_of_range``, ``train_images_out_of_range`` {value, low, high}, or
    ``setting_out_of_range`` {setting, value, low, high} (batch size, learning rate)."""


def _whole(value: Any) -> int | None:
    """``value`` as an int if it is a whole number (2, 2.0, "2"), else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


@dataclass(frozen=True)
class LeNetSettings:
    """What the visitor chooses; the defaults train a 97% LeNet in a few seconds."""

    pooling: str = "avg"  # "avg": the note's and LeNet-5's; "max": what later CNNs use
    activation: str = "relu"  # "relu": the note's; "sigmoid", "tanh": the 1990s squashing units
    epochs: int = 2
    train_images: int = 10_000  # chosen class by class in MNIST's proportions (seeded)
    batch_size: int = 32  # small batches: many updates per epoch, which is what a short budget needs
    lr: float = 5e-3  # one-cycle's peak learning rate for Adam
    seed: int = 0  # the same seed gives the same images, order, initial weights and model
    time_limit: float = 300.0  # seconds of wall-clock time a job may take, then it stops as if asked

    def check(self, available: int | None = None) -> LeNetSettings:
        """These settings with whole numbers as ints, or a ``TrainingSettingsError``;
        ``available`` is how many training images there are (the upper bound of ``train_images``)."""
        if self.pooling not in POOLINGS:
            raise TrainingSettingsError("unknown_pooling", value=self.pooling, choices=list(POOLINGS))
        if self.activation not in ACTIVATIONS:
            raise TrainingSettingsError("unknown_activation", value=self.activation, choices=list(ACTIVATIONS))
        epochs = _whole(self.epochs)
        if epochs is None or not EPOCHS[0] <= epochs <= EPOCHS[1]:
            raise TrainingSettingsError("epochs_out_of_range", value=self.epochs, low=EPOCHS[0], high=EPOCHS[1])
        images = _whole(self.train_images)
        high = available if available is not None else images
        if images is None or not MIN_TRAIN_IMAGES <= images <= (high or 0):
            raise TrainingSettingsError(
                "train_images_out_of_range",
                value=self.train_images,
                low=MIN_TRAIN_IMAGES,
                high=high if high is not None else MIN_TRAIN_IMAGES,
            )
        batch_size = _whole(self.batch_size)
        if batch_size is None or not BATCH_SIZES[0] <= batch_size <= BATCH_SIZES[1]:
            raise TrainingSettingsError(
                "setting_out_of_range",
                setting="batch_size",
                value=self.batch_size,
                low=BATCH_SIZES[0],
                high=BATCH_SIZES[1],
            )
        try:
            lr = float(self.lr)
        except (TypeError, ValueError):
            lr = math.nan
        if not LRS[0] <= lr <= LRS[1]:
            raise TrainingSettingsError("setting_out_of_range", setting="lr", value=self.lr, low=LRS[0], high=LRS[1])
        return LeNetSettings(
            self.pooling, self.activation, epochs, images, batch_size, lr, int(self.seed), float(self.time_limit)
        )


# --- what a job reports, in order: Started, (BatchTrained..., EpochFinished)..., LeNetFinished ---


@dataclass(frozen=True)
class Started:
    """Training begins: what it will do, and conv1's kernels before learning (random)."""

    epochs: int
    train_images: int
    test_images: int
    steps_per_epoch: int  # batches per epoch
    data: Fact  # which MNIST is in use: training_data_full or training_data_subset {train, test}
    conv1_kernels: np.ndarray  # (6, 5, 5) float32


@dataclass(frozen=True)
class LeNetFinished(Finished):
    """A visitor's LeNet training has ended: the model and how it does on the test images.

    ``model`` has the weights as they are when training ended (stopped or not), in eval mode;
    ``test_loss`` and ``test_acc`` are that model's own, measured on every test image.
    ``history`` has complete epochs only; after a stop in the middle of an epoch, the last
    row is older than the model (``images_seen`` says how much it trained).
    """

    test_loss: float
    test_acc: float
    images_seen: int  # training images trained on, counting each epoch's again (epochs x train_images if not stopped)
    epochs_done: float  # images_seen / train_images: 1.4 means one epoch and 40% of the next
    settings: LeNetSettings

    def web_weights(self) -> dict[str, Any]:
        """The model in the browser engine's format (``nets.models.lenet.web_weights``)."""
        return browser_weights(self.model)


LeNetEvent = Started | BatchTrained | EpochFinished | LeNetFinished


# --- helpers ------------------------------------------------------------------------------------


def to_input(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 ``(B, 28, 28)`` MNIST images -> LeNet's normalised ``(B, 1, 32, 32)`` input, with the
    operations of ``nets.data.sketch.digit_from_mnist`` (scale to [0, 1], pad with black, normalise)."""
    x = images.unsqueeze(1).float().div(255.0)  # (B, 1, 28, 28)
    x = F.pad(x, (PAD, PAD, PAD, PAD))  # (B, 1, 32, 32)
    return (x - mean) / std


def new_lenet(pooling: str, activation: str, seed: int) -> LeNet:
    """A 1-channel LeNet initialised as PyTorch does, from its own seeded generator (the global
    random state, shared with every other thread of the server, is neither used nor changed)."""
    with torch.device("meta"):
        model = LeNet(in_channels=1, num_classes=10, pooling=pooling, activation=activation)
    model = model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            # nn.Conv2d's and nn.Linear's own reset_parameters, with a generator
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            bound = 1 / math.sqrt(layer.weight[0].numel())  # 1 / sqrt(fan_in)
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return model


def conv1_kernels(model: LeNet) -> np.ndarray:
    """A copy of the first layer's six 5x5 kernels, ``(6, 5, 5)`` float32."""
    return model.features[0].weight.detach()[:, 0].clone().numpy()  # (6, 1, 5, 5) -> (6, 5, 5)


def browser_weights(model: LeNet) -> dict[str, Any]:
    """A visitor's trained LeNet in the browser engine's format, with the normalisation and the
    variant (pooling, activation) the engine needs to run it."""
    mean, std = normalization()
    return web_weights(
        model.state_dict(),
        mean=mean,
        std=std,
        input_size=INPUT_SIZE,
        pooling=model.pooling,
        activation=model.activation,
    )


@torch.inference_mode()
def evaluate(
    model: LeNet, images: torch.Tensor, labels: torch.Tensor, cancelled: Callable[[], bool] = lambda: False
) -> tuple[float, float]:
    """``(mean cross-entropy, accuracy)`` of ``model`` on uint8 ``images`` (N, 28, 28)."""
    mean, std = normalization()
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(labels), EVAL_BATCH):
        if cancelled():
            raise Cancelled("LeNet training cancelled")
        y = labels[start : start + EVAL_BATCH]
        logits = model(to_input(images[start : start + EVAL_BATCH], mean, std))  # (b, 10)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train(was_training)
    return total_loss / len(labels), correct / len(labels)


# --- training -----------------------------------------------------------------------------------


def train(
    settings: LeNetSettings,
    data: MnistData,
    should_stop: Callable[[], bool] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[LeNetEvent]:
    """Train a LeNet on ``data`` as ``settings`` say, reporting as it goes; the last event is ``LeNetFinished``.

    ``settings.train_images`` images are chosen from ``data``'s training images class by class
    (seeded); every epoch shuffles them, trains in batches with Adam and a one-cycle rate, then
    tests the model on all of ``data``'s test images. ``should_stop()`` (the visitor's Stop) and
    the time limit end training after the batch in progress: every batch trained counts, and the
    model is kept as it is then, tested once more if it changed since the last test (so the
    numbers are its own), and returned in ``LeNetFinished``, even when stopped before its first batch
    (a random model, about 10%). ``cancelled()`` (nobody waits any more) raises ``Cancelled``
    within a batch or a test pass (milliseconds).
    """
    settings = settings.check(data.train_count)
    clock = JobClock(settings.time_limit, should_stop, cancelled, "LeNet training")
    mean, std = normalization()
    chosen = stratified_choice(data.train_labels.numpy(), settings.train_images, settings.seed)
    x_train = data.train_images[torch.from_numpy(chosen)]  # (N, 28, 28) uint8, a private copy
    y_train = data.train_labels[torch.from_numpy(chosen)]  # (N,)
    count, batch_size, epochs = len(y_train), settings.batch_size, settings.epochs
    steps_per_epoch = math.ceil(count / batch_size)

    model = new_lenet(settings.pooling, settings.activation, settings.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=settings.lr, total_steps=epochs * steps_per_epoch, pct_start=WARMUP
    )
    order_generator = torch.Generator().manual_seed(settings.seed)
    report_every = max(1, steps_per_epoch // PROGRESS_STEPS)
    yield Started(epochs, count, data.test_count, steps_per_epoch, data.fact(), conv1_kernels(model))

    rows: list[dict[str, float]] = []
    seen = 0  # images trained on, over all epochs
    tested = None  # (seen, test_loss, test_acc) of the last test
    for epoch in range(1, epochs + 1):
        if clock.over():
            break
        model.train()
        order = torch.randperm(count, generator=order_generator)
        epoch_loss, epoch_correct, done = 0.0, 0, 0
        for step, start in enumerate(range(0, count, batch_size), 1):
            index = order[start : start + batch_size]
            y = y_train[index]  # (B,)
            logits = model(to_input(x_train[index], mean, std))  # (B, 1, 32, 32) -> (B, 10)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            epoch_loss += loss.item() * len(index)
            epoch_correct += (logits.argmax(1) == y).sum().item()
            done += len(index)
            seen += len(index)
            if step % report_every == 0 and done < count:
                yield BatchTrained(epoch, epochs, done, count, epoch_loss / done)
            if clock.over():
                break
        if done < count:  # stopped in the middle of the epoch: the history keeps complete epochs
            break
        test_loss, test_acc = evaluate(model, data.test_images, data.test_labels, clock.cancelled)
        tested = (seen, test_loss, test_acc)
        rows.append(
            {
                "epoch": epoch,
                "train_loss": epoch_loss / count,
                "train_acc": epoch_correct / count,
                "test_loss": test_loss,
                "test_acc": test_acc,
                "seconds": clock.seconds,
            }
        )
        yield EpochFinished(
            epoch, epochs, pd.DataFrame(rows, columns=HISTORY_COLUMNS), conv1_kernels=conv1_kernels(model)
        )

    if tested is None or tested[0] != seen:  # the model changed since its last test (or never had one)
        tested = (seen, *evaluate(model, data.test_images, data.test_labels, clock.cancelled))
    model.eval().requires_grad_(False)
    stopped = clock.reason if seen < epochs * count else None  # a stop after the last batch changed nothing
    yield LeNetFinished(
        model=model,
        history=pd.DataFrame(rows, columns=HISTORY_COLUMNS),
        test_loss=tested[1],
        test_acc=tested[2],
        seconds=clock.seconds,
        stopped=stopped,
        images_seen=seen,
        epochs_done=seen / count,
        settings=settings,
    )


# --- the same training in the visitor's browser ---------------------------------------------------

TRAINING_FACTS_FILE = ENGINE_FACTS_FILE.parent / "lenet_training_facts.js"  # written by python -m nets.models.lenet


def _defaults(function: Callable[..., Any], *names: str) -> dict[str, Any]:
    """The default values of ``function``'s parameters ``names`` (PyTorch's own, read, not copied)."""
    parameters = inspect.signature(function).parameters
    return {name: parameters[name].default for name in names}


def training_facts() -> dict[str, Any]:
    """What the browser's trainer (``ui/static/lenet/training.js``) needs to train as ``train`` does.

    The visitor's defaults and ranges (``LeNetSettings``, ``EPOCHS``, ``MIN_TRAIN_IMAGES``), the
    normalisation and padding of ``to_input``, the one-cycle schedule's warm-up share and PyTorch's
    ``OneCycleLR`` defaults (cosine annealing, ``div_factor``, ``final_div_factor`` and beta1
    cycled between ``base_momentum`` and ``max_momentum``), ``Adam``'s ``beta2`` and ``eps``, how
    often progress is reported, the history's columns and the images file's header
    (``nets.data.mnist_web``).
    """
    defaults = LeNetSettings()
    mean, std = normalization()
    one_cycle = _defaults(
        torch.optim.lr_scheduler.OneCycleLR,
        "anneal_strategy",
        "cycle_momentum",
        "base_momentum",
        "max_momentum",
        "div_factor",
        "final_div_factor",
        "three_phase",
    )
    adam = _defaults(torch.optim.Adam, "betas", "eps", "weight_decay", "amsgrad")
    return {
        "defaults": {
            "pooling": defaults.pooling,
            "activation": defaults.activation,
            "epochs": defaults.epochs,
            "train_images": defaults.train_images,
            "batch_size": defaults.batch_size,
            "lr": defaults.lr,
            "seed": defaults.seed,
        },
        "epochs_range": list(EPOCHS),
        "min_train_images": MIN_TRAIN_IMAGES,
        "mean": mean,
        "std": std,
        "input_size": INPUT_SIZE,
        "pad": PAD,
        "warmup": WARMUP,
        "one_cycle": {**one_cycle, "pct_start": WARMUP},
        "adam": {"beta2": adam["betas"][1], "eps": adam["eps"], "weight_decay": adam["weight_decay"]},
        "amsgrad": adam["amsgrad"],
        "progress_steps": PROGRESS_STEPS,
        "history_columns": HISTORY_COLUMNS,
        "data_file": {  # nets/data/mnist_web.py's format: the images the browser trains on
            "magic": mnist_web.FORMAT_MAGIC.decode("ascii"),
            "version": mnist_web.VERSION,
            "header_bytes": mnist_web.HEADER.size,
        },
    }


def training_facts_script(facts: dict[str, Any]) -> str:
    """``facts`` as the plain script the browser's trainer loads: one global, ``LeNetTrainingFacts``."""
    return facts_script(
        "LeNetTrainingFacts",
        facts,
        "Written by `python -m nets.models.lenet` (training_facts in nets/training/visitor_lenet.py):",
        "do not edit by hand. tests/test_lenet_training_engine.py checks it agrees with the Python;",
        "ui/static/lenet/training.js reads its numbers from here.",
    )


def write_training_facts(path: Path = TRAINING_FACTS_FILE) -> Path:
    """Write ``training_facts()`` to ``path`` as ``training_facts_script`` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(training_facts_script(training_facts()))
    return path
