"""How a long job shares the server with everyone else: its slot, its turns, its cores.

Fine-tunes, races and LeNet trainings run for minutes in a background thread while strangers draw
digits and show photos. Each holds a work slot (never more than two of a kind train at once), hands
the server a turn every ``BEAT_SECONDS`` (so a Stop or a closed page lands at once), and uses every
core only while nobody else wants one (``IdleCores``).
"""

from __future__ import annotations

import os
import time

from nets.training.fair_slots import FairSlots
from ui import gradio_internals
from ui.budgets import BEAT_SECONDS, FINETUNE_CONCURRENCY, LENET_TRAINING_CONCURRENCY

# The work itself holds a slot too: a cancelled job's thread may need a moment to stop, and a new
# job waits for it, so never more than two jobs train at once, however fast strangers cancel.
FINETUNE_SLOTS = FairSlots(FINETUNE_CONCURRENCY)
LENET_TRAINING_SLOTS = FairSlots(LENET_TRAINING_CONCURRENCY)


class ServerTurns:
    """A training handler's turns for the server: what to yield after each of the job's events.

    ``due(update)`` is ``update`` when the event changed something on the page, else ``nothing``
    (an update that leaves every output as it is) once ``BEAT_SECONDS`` have passed since the
    last yield, else None (yield nothing)."""

    def __init__(self, nothing) -> None:
        self.nothing = nothing
        self.given = time.monotonic()  # when the server last had a turn

    def due(self, update, beat: float = BEAT_SECONDS):
        if update is None and time.monotonic() - self.given >= beat:
            update = self.nothing  # nothing new to show; a turn for the server, so a cancel lands now
        if update is not None:
            self.given = time.monotonic()
        return update


class IdleCores:
    """How many torch threads a background job may use right now: every core while the server has
    had nothing else to do for ``quiet_seconds``, one as soon as anyone else wants work done.

    "Anything else" is a request that does work arriving (``seen()``, called by the guard for every
    POST but a Stop) or another event running or waiting in Gradio's queue. A job asks after each
    of its steps (about every half second), so a photo arriving during a fine-tune finds the job
    back on one thread within a step; the job's threads run at low priority meanwhile anyway.
    """

    def __init__(self, quiet_seconds: float = 2.0, cores: int | None = None) -> None:
        self.quiet_seconds = quiet_seconds
        available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.cores = cores or available
        self.last_busy = time.monotonic()
        self.blocks = None  # the app, whose queue tells what else runs (set by app.py)

    def watch(self, blocks) -> None:
        self.blocks = blocks

    def seen(self) -> None:
        self.last_busy = time.monotonic()

    def _others_in_queue(self) -> bool:
        try:
            return gradio_internals.running_count(self.blocks) > 1 or gradio_internals.waiting_count(self.blocks) > 0
        except AttributeError:  # no queue to look at (or Gradio changed): assume others, as before
            return True

    def threads(self) -> int:
        if self._others_in_queue():
            self.seen()
            return 1
        return self.cores if time.monotonic() - self.last_busy >= self.quiet_seconds else 1


IDLE_CORES = IdleCores()
