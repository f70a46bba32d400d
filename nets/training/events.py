"""What a training job reports while it runs: the events both trainers share.

A visitor's LeNet (``nets.training.visitor_lenet``), a fine-tuned AlexNet (``nets.training.finetune``)
and the race of fine-tuning ways (``nets.training.race``, which passes the fine-tune's events on) are
generators of typed events, read by the page between steps. The steps they have in common are
defined here once: a batch trained, an epoch finished, the job finished. Each trainer adds only what
is its own (LeNet's ``Started``, the fine-tune's ``FeaturesCached``; what each one's ``Finished`` holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nets.facts import Fact


@dataclass(frozen=True)
class InLine:
    """The job waits for a work slot: ``place`` of ``waiting`` jobs in line, in the fair order
    between addresses (``fair_slots``), which the web server's first-come order no longer tells."""

    place: int
    waiting: int


@dataclass(frozen=True)
class BatchTrained:
    """``done`` of ``total`` training images of epoch ``epoch`` (of ``epochs``) are trained on."""

    epoch: int
    epochs: int
    done: int
    total: int
    loss: float  # mean training loss over this epoch's batches so far

    @property
    def progress(self) -> float:
        """The share of the whole job's training done, 0..1 (for a progress bar)."""
        return (self.epoch - 1 + self.done / self.total) / self.epochs


@dataclass(frozen=True)
class EpochFinished:
    """Epoch ``epoch`` of ``epochs`` is trained and measured; ``history`` has a row per epoch so far.

    The history's columns are the trainer's own: epoch, train_loss, train_acc, then the held-out
    images' loss and accuracy (test_* for LeNet on MNIST's test images, val_* for a fine-tune).
    """

    epoch: int
    epochs: int
    history: pd.DataFrame
    conv1_kernels: np.ndarray | None = None  # (6, 5, 5) float32: a visitor's LeNet shows them as they are now


@dataclass(frozen=True)
class Finished:
    """A job's last event: the model it keeps and how its training went.

    A job stopped by the visitor or by its time limit finishes too, keeping what it learned
    (``stopped`` says why); a cancelled job raises ``nets.training.jobs.Cancelled`` instead and
    finishes nothing. Each trainer's own ``Finished`` adds what it measured.
    """

    model: Any  # the trainer's model: a LeNet, or the visitor's ``FineTuned`` AlexNet part
    history: pd.DataFrame  # one row per complete epoch
    seconds: float  # wall-clock time from start to finish
    stopped: Fact | None  # stopped_by_request, stopped_at_time_limit {seconds}; None: all epochs ran
