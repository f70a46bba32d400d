"""Race the ways to fine-tune AlexNet on one dataset, and the note's LeNet from scratch: overfitting seen, and the cure.

The note says AlexNet fights overfitting with dropout and data augmentation. A race makes that
visible: the same split, the same seed and the same number of epochs for each way, one after the
other, then per way the trainable parameters, the seconds it took, the training and validation
accuracy of its best epoch, and the gap between them (a network that learns its training images by
heart has a large gap). The ways:

- ``head``: the note's new last layer only (4,097 x classes parameters), on cached features;
- ``lenet_scratch``: the note's 3-channel LeNet learning everything from the visitor's images alone
  (61,156 + 85 x classes parameters, 32 x 32 inputs: ``nets.training.scratch_lenet``), which answers
  "why fine-tune?" by measurement;
- ``classifier``: the whole classifier (54.5M + the head) with dropout and augmentation;
- ``classifier_plain``: the same without dropout or augmentation (its inputs are then fixed, so
  they are cached too: it is fast, and free to memorise);
- ``all``: every layer, with dropout and augmentation, as the book does (optional: the slowest).

Honest measurements: a way's training accuracy is its best epoch's model measured as validation is
(evaluation mode, un-augmented images), not the running accuracy of training mode (dropout on,
random crops), which would flatter the cure. The best epoch is chosen on the validation images its
accuracy is reported on, which flatters every way a little (no third, untouched set is held out).
When the time limit allows, every way runs with three seeds (the same split, other first weights,
orders and crops): the table gives their mean and the spread of the validation accuracy; otherwise
``RaceFinished.seeds`` says how many ran. A way stopped before its last epoch is ``stopped``, one
never started ``not run``, and neither is compared with the ways that finished (``finished_ways``).

``race`` is a generator of typed events, like ``nets.training.finetune.finetune`` (whose events it passes
on, tagged with the way), so a page can draw every way's validation curve as it grows.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pandas as pd
import torch
from torch import nn

from nets.data.dataset_zip import ImageDataset, LabelledImage
from nets.facts import Fact
from nets.measuring.compare import ALEXNET_FINETUNED, layer_table
from nets.models.alexnet import HEAD_INDEX, penultimate
from nets.training import finetune as ft
from nets.training import scratch_lenet
from nets.training.feature_cache import FeatureCache
from nets.training.jobs import Cancelled


@dataclass(frozen=True)
class Way:
    """One way to train: the strategy ("lenet": the note's LeNet from scratch), whether dropout and
    augmentation are on, its learning rate."""

    strategy: str
    regularise: bool
    lr: float


WAYS = {
    "head": Way("head", False, ft.SUGGESTED_LR["head"]),
    "lenet_scratch": Way("lenet", False, scratch_lenet.LEARNING_RATE),
    "classifier": Way("classifier", True, ft.SUGGESTED_LR["classifier"]),
    "classifier_plain": Way("classifier", False, ft.SUGGESTED_LR["classifier"]),
    "all": Way("all", True, ft.SUGGESTED_LR["all"]),
}
DEFAULT_WAYS = ("head", "lenet_scratch", "classifier", "classifier_plain")
SEEDS = 3  # runs of every way when the time limit allows: their spread shows how much one run tells
STATUSES = ("finished", "stopped", "not run")
COLUMNS = [
    "way",
    "status",
    "trainable_parameters",
    "seconds",
    "best_train_acc",
    "best_val_acc",
    "gap",
    "val_acc_spread",
    "seeds",
    "best_epoch",
    "epochs_done",
]
HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc"]


# The layers each strategy trains, as named in torchvision's AlexNet (every layer: "all").
TRAINED_LAYERS = {"head": f"classifier.{HEAD_INDEX}", "classifier": "classifier.", "all": ""}


def trainable_parameters(way: str, classes: int) -> int:
    """How many numbers the way trains, for ``classes`` new classes: the parameters of the layers it
    trains, as the compare tab measures them (``nets.measuring.compare.layer_table``); LeNet trains all its own."""
    if WAYS[way].strategy == "lenet":
        return scratch_lenet.lenet_parameters(classes)
    layers = layer_table(ALEXNET_FINETUNED, classes)
    trained = layers["layer"].str.startswith(TRAINED_LAYERS[WAYS[way].strategy])
    return int(layers.loc[trained, "parameters"].sum())


@dataclass(frozen=True)
class WayStarted:
    """Way ``way`` (the ``number``-th of ``count``) starts training with seed ``seed`` (a round per seed)."""

    way: str
    number: int
    count: int
    seed: int = 0


@dataclass(frozen=True)
class WayProgress:
    """An event of the way being trained (its trainer's own)."""

    way: str
    event: object


@dataclass(frozen=True)
class WayFinished:
    """A run of a way is done: its figures (``run``), its history (one row per epoch), and the race's table so far."""

    way: str
    run: dict
    history: pd.DataFrame
    stopped: Fact | None  # why it ended early (None: all epochs ran)
    table: pd.DataFrame


@dataclass(frozen=True)
class RaceFinished:
    """The race is over: the table (a row per way, in the order asked, unfinished ways said so), the first
    seed's histories, and how many seeds every way ran (1: a single run, no spread)."""

    table: pd.DataFrame
    histories: dict[str, pd.DataFrame]
    seeds: int = 1


RaceEvent = WayStarted | WayProgress | WayFinished | RaceFinished


def measured_accuracy(
    backbone: nn.Module,
    tuned: ft.FineTuned,
    images: list[LabelledImage],
    cancelled: Callable[[], bool] | None = None,
    cache: FeatureCache | None = None,
) -> float:
    """The fine-tuned model's accuracy on ``images`` measured as validation is: evaluation mode (no
    dropout), the evaluation transform (no random crop or flip). Frozen features come from ``cache``."""
    correct = 0
    for start in range(0, len(images), ft.FEATURE_BATCH):
        if cancelled is not None and cancelled():
            raise Cancelled("race cancelled")
        chunk = images[start : start + ft.FEATURE_BATCH]
        pictures = [item.image for item in chunk]
        stage = penultimate if tuned.strategy == "head" else ft.conv_features
        if cache is not None and tuned.strategy != "all":
            module = tuned.module.eval()
            with torch.no_grad():
                logits = module(cache.features(backbone, stage, pictures, ft.EVAL_TRANSFORM))  # (B, N)
        else:
            logits = tuned.logits(backbone, torch.stack([ft.EVAL_TRANSFORM(p) for p in pictures]))  # (B, N)
        labels = torch.tensor([item.label for item in chunk], device=logits.device)
        correct += int((logits.argmax(1) == labels).sum())
    return correct / len(images) if images else math.nan


def run_figures(history: pd.DataFrame, seconds: float, best_epoch: int, train_acc: float, epochs: int) -> dict:
    """One run's figures: its best epoch's training and validation accuracy (both measured alike) and their gap."""
    best = history[history["epoch"] == best_epoch]
    val = float(best["val_acc"].iloc[0]) if len(best) else math.nan
    return {
        "seconds": round(seconds, 2),
        "train_acc": round(train_acc, 4),
        "val_acc": round(val, 4),
        "gap": round(train_acc - val, 4),
        "best_epoch": best_epoch,
        "epochs_done": len(history),
        "finished": len(history) == epochs,
    }


def way_row(way: str, classes: int, runs: list[dict]) -> dict:
    """A way's row: the mean of its finished runs (or, stopped, its only run's figures; not run: no figures)."""
    finished = [run for run in runs if run["finished"]]
    counted = finished or runs[:1]
    status = "finished" if finished else "stopped" if runs else "not run"

    def mean(key: str) -> float:
        values = [run[key] for run in counted if not math.isnan(run[key])]
        return round(statistics.fmean(values), 4) if values else math.nan

    vals = [run["val_acc"] for run in counted if not math.isnan(run["val_acc"])]
    return {
        "way": way,
        "status": status,
        "trainable_parameters": trainable_parameters(way, classes),
        "seconds": mean("seconds") if counted else math.nan,
        "best_train_acc": mean("train_acc"),
        "best_val_acc": mean("val_acc"),
        "gap": mean("gap"),
        "val_acc_spread": round(max(vals) - min(vals), 4) if vals else math.nan,
        "seeds": len(finished),
        "best_epoch": int(statistics.median_low([run["best_epoch"] for run in counted])) if counted else 0,
        "epochs_done": min((run["epochs_done"] for run in counted), default=0),
    }


def ways_table(ways: tuple[str, ...], classes: int, runs: dict[str, list[dict]]) -> pd.DataFrame:
    """A row per way, in the order asked."""
    return pd.DataFrame([way_row(way, classes, runs[way]) for way in ways], columns=COLUMNS)


def finished_ways(table: pd.DataFrame) -> pd.DataFrame:
    """The rows a comparison may use: the ways whose runs all ran every epoch at least once."""
    return table[table["status"] == "finished"]


def train_way(
    backbone: nn.Module,
    dataset: ImageDataset,
    way: str,
    settings: ft.FineTuneSettings,
    stop: Callable[[], bool],
    cancelled: Callable[[], bool] | None,
    cache: FeatureCache | None,
) -> Iterator[WayProgress | tuple[pd.DataFrame, Fact | None, int, float, float]]:
    """Train one run of ``way``, passing its events on; the last item is (history, stopped, best epoch,
    training accuracy of the best epoch measured as validation is, seconds of training: that measurement
    is not counted)."""
    history, stopped, best_epoch, train_acc = pd.DataFrame(columns=HISTORY_COLUMNS), None, 0, math.nan
    started = time.monotonic()
    seconds = None
    try:
        if WAYS[way].strategy == "lenet":
            trainer = scratch_lenet.train_scratch_lenet(
                dataset,
                settings.epochs,
                settings.seed,
                settings.lr,
                settings.batch_size,
                settings.time_limit,
                stop,
                cancelled,
            )
        else:
            trainer = ft.finetune(backbone, dataset, settings, stop, cancelled, cache)
        for event in trainer:
            if isinstance(event, scratch_lenet.ScratchLeNetFinished):
                history, stopped, train_acc = event.history, event.stopped, event.train_acc
                best_epoch, seconds = event.best_epoch, event.seconds
            elif isinstance(event, ft.FineTuneFinished):
                history, stopped, best_epoch = event.report.history, event.report.stopped, event.model.best_epoch
                seconds = event.seconds
                train_acc = measured_accuracy(backbone, event.model, dataset.train, cancelled, cache)
                event.model.release()  # a race keeps figures, not models
            else:
                yield WayProgress(way, event)
    except ft.Stopped as early:
        stopped = early.reason
    yield history, stopped, best_epoch, train_acc, time.monotonic() - started if seconds is None else seconds


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
    seeds: int = SEEDS,
) -> Iterator[RaceEvent]:
    """Train ``dataset`` each way in ``ways``, in turn, on the same split: seed ``seed``, then up to
    ``seeds`` - 1 more rounds (seeds ``seed`` + 1, ...) while the time limit allows another round.

    The time limit is shared fairly: in the first round each way may use an equal part of what is
    left, so every way runs even when the first ones are slow; a further round starts only if the
    first round's time fits in an equal part of what is left for the rounds to come. ``should_stop()``
    (the visitor's Stop) ends the way being trained (keeping its epochs so far) and skips the rest;
    ``cancelled()`` raises ``Cancelled``. The shared backbone is only read.
    """
    unknown = [way for way in ways if way not in WAYS]
    if unknown or not ways or len(set(ways)) != len(ways):
        raise ft.SettingsError("unknown_way", ways=list(ways), choices=list(WAYS))
    ft.FineTuneSettings(epochs=epochs, batch_size=batch_size, time_limit=time_limit).check()  # the ranges, once
    started = time.monotonic()
    runs: dict[str, list[dict]] = {way: [] for way in ways}
    histories: dict[str, pd.DataFrame] = {}
    stop = should_stop or (lambda: False)
    classes, rounds, first_round = len(dataset.classes), max(1, int(seeds)), 0.0
    for round_number in range(rounds):
        left = time_limit - (time.monotonic() - started)
        if round_number and first_round > left / (rounds - round_number):
            break  # no time for another seed of every way
        round_started, stopped_by_request = time.monotonic(), False
        for place, way in enumerate(ways):
            if stop():
                stopped_by_request = True
                break
            if cancelled is not None and cancelled():
                raise Cancelled("race cancelled")
            left = time_limit - (time.monotonic() - started)
            settings = replace(
                ft.FineTuneSettings(),
                strategy=WAYS[way].strategy if WAYS[way].strategy != "lenet" else "head",  # LeNet reads the rest
                regularise=WAYS[way].regularise,
                lr=WAYS[way].lr,
                epochs=int(epochs),
                batch_size=batch_size,
                seed=seed + round_number,
                time_limit=max(1.0, left / (len(ways) - place)),
            )
            yield WayStarted(way, place + 1, len(ways), seed + round_number)
            for item in train_way(backbone, dataset, way, settings, stop, cancelled, cache):
                if isinstance(item, WayProgress):
                    yield item
                else:
                    history, stopped, best_epoch, train_acc, seconds = item
            run = run_figures(history, seconds, best_epoch, train_acc, int(epochs))
            runs[way].append(run)
            histories.setdefault(way, history)
            yield WayFinished(way, run, history, stopped, ways_table(ways, classes, runs))
            if stopped is not None and stopped.code == "stopped_by_request":
                stopped_by_request = True
                break
        first_round = first_round or time.monotonic() - round_started
        if stopped_by_request:
            break
    table = ways_table(ways, classes, runs)
    yield RaceFinished(table, histories, int(table["seeds"].min()) if len(table) else 0)
