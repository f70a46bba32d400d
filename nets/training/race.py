"""Race the ways to fine-tune AlexNet on one dataset: overfitting seen, and the note's cure.

The note says AlexNet fights overfitting with dropout and data augmentation. A race makes that
visible: the same split, the same seed and the same number of epochs for each way, one after the
other, then per way the trainable parameters, the seconds it took, its best training and best
validation accuracy, and the gap between them (a network that learns its training images by heart
has a large gap). The ways:

- ``head``: the note's new last layer only (4,097 x classes parameters), on cached features;
- ``classifier``: the whole classifier (54.5M + the head) with dropout and augmentation;
- ``classifier_plain``: the same without dropout or augmentation (its inputs are then fixed, so
  they are cached too: it is fast, and free to memorise);
- ``all``: every layer, with dropout and augmentation, as the book does (optional: the slowest).

``race`` is a generator of typed events, like ``nets.training.finetune.finetune`` (whose events it passes
on, tagged with the way), so a page can draw every way's validation curve as it grows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pandas as pd
from torch import nn

from nets.data.dataset_zip import ImageDataset
from nets.facts import Fact
from nets.measuring.compare import ALEXNET_FINETUNED, layer_table
from nets.models.alexnet import HEAD_INDEX
from nets.training import finetune as ft
from nets.training.feature_cache import FeatureCache
from nets.training.jobs import Cancelled


@dataclass(frozen=True)
class Way:
    """One way to fine-tune: the strategy, whether dropout and augmentation are on, its learning rate."""

    strategy: str
    regularise: bool
    lr: float


WAYS = {
    "head": Way("head", False, ft.SUGGESTED_LR["head"]),
    "classifier": Way("classifier", True, ft.SUGGESTED_LR["classifier"]),
    "classifier_plain": Way("classifier", False, ft.SUGGESTED_LR["classifier"]),
    "all": Way("all", True, ft.SUGGESTED_LR["all"]),
}
DEFAULT_WAYS = ("head", "classifier", "classifier_plain")
COLUMNS = [
    "way",
    "trainable_parameters",
    "seconds",
    "best_train_acc",
    "best_val_acc",
    "gap",
    "best_epoch",
    "epochs_done",
]


# The layers each strategy trains, as named in torchvision's AlexNet (every layer: "all").
TRAINED_LAYERS = {"head": f"classifier.{HEAD_INDEX}", "classifier": "classifier.", "all": ""}


def trainable_parameters(way: str, classes: int) -> int:
    """How many numbers the way trains, for ``classes`` new classes: the parameters of the layers it
    trains, as the compare tab measures them (``nets.measuring.compare.layer_table``)."""
    layers = layer_table(ALEXNET_FINETUNED, classes)
    trained = layers["layer"].str.startswith(TRAINED_LAYERS[WAYS[way].strategy])
    return int(layers.loc[trained, "parameters"].sum())


@dataclass(frozen=True)
class WayStarted:
    """Way ``way`` (the ``number``-th of ``count``) starts training."""

    way: str
    number: int
    count: int


@dataclass(frozen=True)
class WayProgress:
    """An event of the way being trained (``nets.training.finetune``'s own)."""

    way: str
    event: ft.FineTuneEvent


@dataclass(frozen=True)
class WayFinished:
    """A way is done: its row of the table and its history (one row per epoch)."""

    way: str
    row: dict
    history: pd.DataFrame
    stopped: Fact | None  # why it ended early (None: all epochs ran)


@dataclass(frozen=True)
class RaceFinished:
    """Every way ran (or was stopped): the table, one row per way, in the order they ran."""

    table: pd.DataFrame
    histories: dict[str, pd.DataFrame]


RaceEvent = WayStarted | WayProgress | WayFinished | RaceFinished


def row(way: str, classes: int, history: pd.DataFrame, seconds: float, best_epoch: int) -> dict:
    best_train = float(history["train_acc"].max()) if len(history) else 0.0
    best_val = float(history["val_acc"].max()) if len(history) else 0.0
    return {
        "way": way,
        "trainable_parameters": trainable_parameters(way, classes),
        "seconds": round(seconds, 2),
        "best_train_acc": round(best_train, 4),
        "best_val_acc": round(best_val, 4),
        "gap": round(best_train - best_val, 4),
        "best_epoch": best_epoch,
        "epochs_done": len(history),
    }


def race(
    backbone: nn.Module,
    dataset: ImageDataset,
    epochs: int = 8,
    ways: tuple[str, ...] = DEFAULT_WAYS,
    seed: int = 0,
    time_limit: float = 300.0,
    batch_size: int = 32,
    should_stop: Callable[[], bool] | None = None,
    cancelled: Callable[[], bool] | None = None,
    cache: FeatureCache | None = None,
) -> Iterator[RaceEvent]:
    """Fine-tune ``dataset`` each way in ``ways``, in turn, on the same split with the same seed.

    The time limit is shared fairly: each way may use an equal part of what is left, so every way
    runs even when the first ones are slow. ``should_stop()`` (the visitor's Stop) ends the way
    being trained (keeping its epochs so far) and skips the rest; ``cancelled()`` raises
    ``Cancelled``. The shared backbone is only read.
    """
    unknown = [way for way in ways if way not in WAYS]
    if unknown or not ways or len(set(ways)) != len(ways):
        raise ft.SettingsError("unknown_way", ways=list(ways), choices=list(WAYS))
    ft.FineTuneSettings(epochs=epochs, batch_size=batch_size, time_limit=time_limit).check()  # the ranges, once
    started = time.monotonic()
    rows, histories = [], {}
    stop = should_stop or (lambda: False)
    for number, way in enumerate(ways, start=1):
        if stop():
            break
        if cancelled is not None and cancelled():
            raise Cancelled("race cancelled")
        left = time_limit - (time.monotonic() - started)
        share = max(1.0, left / (len(ways) - number + 1))
        settings = replace(
            ft.FineTuneSettings(),
            strategy=WAYS[way].strategy,
            regularise=WAYS[way].regularise,
            lr=WAYS[way].lr,
            epochs=int(epochs),
            batch_size=batch_size,
            seed=seed,
            time_limit=share,
        )
        yield WayStarted(way, number, len(ways))
        way_started = time.monotonic()
        history, stopped, best_epoch = (
            pd.DataFrame(columns=["epoch", "train_loss", "train_acc", "val_loss", "val_acc"]),
            None,
            0,
        )
        try:
            for event in ft.finetune(backbone, dataset, settings, stop, cancelled, cache):
                if isinstance(event, ft.FineTuneFinished):
                    history, stopped = event.report.history, event.report.stopped
                    best_epoch = event.model.best_epoch
                    event.model.release()  # a race keeps figures, not models
                else:
                    yield WayProgress(way, event)
        except ft.Stopped as early:
            stopped = early.reason
        seconds = time.monotonic() - way_started
        rows.append(row(way, len(dataset.classes), history, seconds, best_epoch))
        histories[way] = history
        yield WayFinished(way, rows[-1], history, stopped)
        if stopped is not None and stopped.code == "stopped_by_request":
            break
    yield RaceFinished(pd.DataFrame(rows, columns=COLUMNS), histories)
