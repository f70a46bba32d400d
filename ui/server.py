"""What the server promises, in one place: how much of it each kind of work may take, for how long,
and the models every visitor shares.

A public Space is shared by strangers: every resource a visitor can make it spend has a budget
here (concurrency, time, upload sizes, queue places, how long a visitor's model is kept), and
the tabs take their limits from this module only.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, fields
from pathlib import Path

import gradio as gr
import torch

from nets.data.dataset_zip import ZipLimits
from nets.data.mnist import MnistData, training_data
from nets.explaining.digits import DigitReader
from nets.models.alexnet import SharedAlexNet, WeightsUnavailable
from nets.training.finetune import FineTuned
from nets.training.jobs import WorkSlots
from ui.text import error

ASSETS = Path(__file__).resolve().parent.parent / "assets"
log = logging.getLogger("classic_cnns")

# --- the work each kind of request may do at once -------------------------------------------------
# How many of each kind of job run at once; the rest wait in the queue with their position shown.
LENET_CONCURRENCY = 12
ALEXNET_CONCURRENCY = 3
FINETUNE_CONCURRENCY = 2  # training jobs at once; more wait in the queue, their position shown
# The work itself holds a slot too: a cancelled job's thread may need a moment to stop, and a new
# job waits for it, so never more than two jobs train at once, however fast strangers cancel.
FINETUNE_SLOTS = WorkSlots(FINETUNE_CONCURRENCY)
FINETUNE_TIME_LIMIT = 300  # seconds per job, reading the zip included
# A training job's handler hands the server a turn at least this often, even when it has nothing
# new to show: Gradio can cancel a generator only between two of its items, so this is how long a
# visitor's cancel (or a closed page) may wait while the job reads a zip or waits for a slot.
BEAT_SECONDS = 0.5


class ServerTurns:
    """A training handler's turns for the server: what to yield after each of the job's events.

    ``due(update)`` is ``update`` when the event changed something on the page, else ``nothing``
    (an update that leaves every output as it is) once ``BEAT_SECONDS`` have passed since the
    last yield, else None (yield nothing)."""

    def __init__(self, nothing) -> None:
        self.nothing = nothing
        self.given = time.monotonic()  # when the server last had a turn

    def due(self, update):
        if update is None and time.monotonic() - self.given >= BEAT_SECONDS:
            update = self.nothing  # nothing new to show; a turn for the server, so a cancel lands now
        if update is not None:
            self.given = time.monotonic()
        return update


QUEUE_SIZE = 256  # beyond this many waiting events, visitors are told the queue is full
MAX_UPLOAD = "100mb"  # the largest file Gradio accepts at all (a zip's own limit is the same)


@dataclass(frozen=True)
class Budgets:
    """What one client address (a class behind a school's one address included), and all visitors
    together, may make the server spend. Enforced by ``ui.guard.Guard`` before Gradio sees a
    request, and by the stores below. An admin may change any of them with an environment
    variable named ``BUDGET_`` and the field in capitals (``BUDGET_FINETUNES_WAITING=8``)."""

    requests_burst: int = 300  # POSTs that do work (joins, uploads, calls) at once...
    requests_per_second: float = 20.0  # ...and sustained: a class of 40 drawing and uploading
    sessions_burst: int = 120  # new sessions at once (each page load is one)...
    sessions_per_second: float = 1.0  # ...and sustained: Gradio keeps each one's state (~200 KB)
    sessions_kept: int = 3000  # Gradio's session store (the oldest dropped first): ~600 MB at most
    json_body_bytes: int = 1 << 20  # an event's JSON: files travel as uploads, a 1 MB body is plenty
    upload_bytes_per_window: int = 500 << 20  # uploaded per address in a window (disk: kept 30 min)
    upload_window_seconds: int = 600
    session_events: int = 8  # events of any kind one session may have queued or running at once
    address_share: float = 0.25  # of the queue's places, queued plus running, per address (a class fits)
    training_jobs: int = 128  # training jobs of each kind queued or running in all: half the queue stays for others
    model_bytes: int = 1_600_000_000  # every visitor's fine-tuned models (a whole classifier: 218 MB)
    lenet_bytes: int = 250_000_000  # every visitor's own LeNets (247 KB each: about a thousand)
    download_bytes: int = 1_000_000_000  # model files written for download, all visitors together
    draft_bytes: int = 1_500_000_000  # datasets being built in the page (their images and zips), on disk
    report_bytes: int = 400_000_000  # fine-tune reports kept to explain a confusion cell (their val images)

    @classmethod
    def from_environment(cls, environ=os.environ) -> Budgets:
        overrides = {}
        for name, kind in ((f.name, type(f.default)) for f in fields(cls)):
            value = environ.get(f"BUDGET_{name.upper()}")
            if value:
                overrides[name] = kind(float(value)) if kind is int else kind(value)
        return cls(**overrides)


BUDGETS = Budgets.from_environment()

# --- what is kept for a visitor, and for how long ----------------------------------------------------
SESSION_TTL = 1800  # a visitor's fine-tuned model is kept half an hour after its last use
DOWNLOAD_TTL = 600  # a download file is deleted ten minutes after it was written
# Files Gradio keeps for visitors (uploads, results) are removed once they are half an hour old,
# checked every ten minutes, so disk use stays bounded over a day.
DELETE_CACHE = (600, 1800)
DOWNLOADS = Path(tempfile.mkdtemp(prefix="classic-cnns-downloads-"))  # this process's own
DRAFTS = Path(tempfile.mkdtemp(prefix="classic-cnns-drafts-"))  # datasets built in the page, a folder each
# Served from where they are written (Gradio would otherwise copy each into its cache: twice the disk).
gr.set_static_paths([DOWNLOADS, DRAFTS])

# --- what an upload may be -----------------------------------------------------------------------------
ZIP_LIMITS = ZipLimits()
CANVAS_MAX_PIXELS = 2048 * 2048  # the canvas is 400x400; an API client's photo of paper fits too

# Many small requests at once are served best one core each: torch's intra-op threads would
# spin against each other (and against the visitors' other requests) on a small server.
torch.set_num_threads(1)

try:  # On Hugging Face ZeroGPU hardware a GPU is attached only inside functions marked like this.
    import spaces

    on_gpu = spaces.GPU
except ImportError:  # anywhere else: the same code, on the GPU if there is one, else the CPU

    def on_gpu(function=None, **_options):
        return function if function is not None else (lambda f: f)


# --- the models every visitor shares (read-only: inference only, never modified) -------------------
DIGITS = DigitReader()
ALEXNET = SharedAlexNet()  # loaded on first use (or by the warm-up thread started at launch)


def imagenet_alexnet(request: gr.Request | None = None):
    """The shared ImageNet AlexNet, or a ``gr.Error`` in the visitor's language saying photos cannot
    be classified here right now. The technical reason (a URL, a path, a network error) is for the
    server's admin: it goes to the log, not to the visitor."""
    try:
        return ALEXNET.get()
    except WeightsUnavailable as missing:
        log.warning("AlexNet's ImageNet weights are unavailable: %s", missing)
        raise error(request, "weights_unavailable", title="weights_unavailable_title") from None


def warm_up(delay: float = 3.0) -> None:
    """Load the ImageNet AlexNet and MNIST in the background shortly after start-up (downloads on
    Spaces).

    The first photo then answers at once, and a missing-weights notice shows from the first page
    load. The delay keeps the load from competing with the server's own start.
    """

    def load() -> None:
        time.sleep(delay)
        try:
            ALEXNET.get()
        except WeightsUnavailable as missing:
            log.warning("Photo tab: %s", missing)
        data = mnist_data(download=True)
        log.info(
            "Train tab: MNIST from %s (%s training images, %s test images)",
            data.where or data.source,
            data.train_count,
            data.test_count,
        )

    threading.Thread(target=load, name="alexnet-warm-up", daemon=True).start()


# --- each visitor's fine-tuned model and download, kept by the app (not by Gradio's sessions) -----


def model_bytes(model: FineTuned) -> int:
    """The memory a fine-tuned model's own weights take (the shared AlexNet is not counted)."""
    module = model.module
    return 0 if module is None else sum(p.numel() * p.element_size() for p in module.state_dict().values())


class ModelStore:
    """Each visitor's trained model, by session id, within ``max_bytes`` in all and ``ttl`` seconds.

    Gradio keeps a few thousand sessions and drops the oldest when strangers open more, so a model
    kept in Gradio's session state could be pushed out by anyone. Here only training adds models
    (at most two jobs of each kind at a time), the oldest are released when the bytes run out, and
    a visitor whose model was released is told so (``released``), not that they never trained one.
    ``size(model)`` counts a model's bytes; ``release(model)`` frees it (default: nothing to do).
    """

    def __init__(
        self,
        max_bytes: int = BUDGETS.model_bytes,
        ttl: float = SESSION_TTL,
        size=lambda model: model_bytes(model),
        release=lambda model: model.release(),
    ) -> None:
        self.max_bytes, self.ttl, self.size, self.free = max_bytes, ttl, size, release
        self._lock = threading.Lock()
        self._models: OrderedDict[str, tuple[FineTuned, int, float]] = OrderedDict()  # oldest use first
        self._released: OrderedDict[str, float] = OrderedDict()

    @property
    def bytes(self) -> int:
        with self._lock:
            return sum(size for _, size, _ in self._models.values())

    def put(self, session: str, model) -> None:
        size = self.size(model)
        with self._lock:
            self._expire()
            self._models.pop(session, None)
            while self._models and sum(s for _, s, _ in self._models.values()) + size > self.max_bytes:
                self._release(next(iter(self._models)))
            self._models[session] = (model, size, time.monotonic())
            self._released.pop(session, None)

    def get(self, session: str):
        """The session's model (its last use renewed), or None."""
        with self._lock:
            self._expire()
            if session not in self._models:
                return None
            model, size, _ = self._models.pop(session)
            self._models[session] = (model, size, time.monotonic())
            return model

    def released(self, session: str) -> bool:
        """True if the session had a model that was released to make room or expired."""
        with self._lock:
            return session in self._released

    def _expire(self) -> None:
        now = time.monotonic()
        for session in [s for s, (_, _, used) in self._models.items() if now - used > self.ttl]:
            self._release(session)

    def _release(self, session: str) -> None:
        model, _, _ = self._models.pop(session)
        self.free(model)
        self._released[session] = time.monotonic()
        while len(self._released) > 10_000:
            self._released.popitem(last=False)


class DownloadStore:
    """Model files written for download: one per session (the next replaces it), within
    ``max_bytes`` in all (the oldest deleted first), each deleted ``ttl`` seconds after writing."""

    def __init__(
        self, folder: Path = DOWNLOADS, max_bytes: int = BUDGETS.download_bytes, ttl: float = DOWNLOAD_TTL
    ) -> None:
        self.folder, self.max_bytes, self.ttl = folder, max_bytes, ttl
        self._lock = threading.Lock()
        self._files: OrderedDict[str, tuple[Path, int, float]] = OrderedDict()  # session -> file, oldest first

    @property
    def bytes(self) -> int:
        with self._lock:
            return sum(size for _, size, _ in self._files.values())

    def write(self, session: str, name: str, size: int, save) -> Path | None:
        """Make room for ``size`` bytes, then ``save(path)``; None if the file could never fit."""
        if size > self.max_bytes:
            return None
        with self._lock:
            self._forget(session)
            now = time.monotonic()
            for old in [s for s, (_, _, made) in self._files.items() if now - made > self.ttl]:
                self._forget(old)
            while self._files and sum(s for _, s, _ in self._files.values()) + size > self.max_bytes:
                self._forget(next(iter(self._files)))
            folder = self.folder / uuid.uuid4().hex  # unguessable: the file is served by its path
            folder.mkdir(parents=True)
            path = folder / name
            self._files[session] = (path, size, now)  # counted before writing: a parallel job waits its turn
        try:
            save(path)
        except BaseException:
            with self._lock:
                self._forget(session)
            raise
        with self._lock:  # the real size
            if session in self._files:
                self._files[session] = (path, path.stat().st_size, now)
        return path

    def _forget(self, session: str) -> None:
        entry = self._files.pop(session, None)
        if entry is not None:
            shutil.rmtree(entry[0].parent, ignore_errors=True)


FINETUNED = ModelStore()
DOWNLOAD_FILES = DownloadStore()


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
        queue = getattr(self.blocks, "_queue", None)
        try:
            waiting = sum(len(events.queue) for events in queue.event_queue_per_concurrency_id.values())
            return queue.get_active_worker_count() > 1 or waiting > 0
        except AttributeError:  # no queue to look at (or Gradio changed): assume others, as before
            return True

    def threads(self) -> int:
        if self._others_in_queue():
            self.seen()
            return 1
        return self.cores if time.monotonic() - self.last_busy >= self.quiet_seconds else 1


IDLE_CORES = IdleCores()


# What a fine-tune found (the validation images and the model's guesses), kept beside the model so a
# click on a confusion-matrix cell can show those images; within a byte budget, oldest released first.
REPORTS = ModelStore(
    max_bytes=BUDGETS.report_bytes,
    size=lambda report: sum(item.image.width * item.image.height * 3 for item in report.val) + 4096,
    release=lambda report: report.val.clear(),
)

# Datasets built in the page: one per session, every draft's images and zip within a disk budget
# (the least recently used deleted first, its owner told), none kept half an hour unused.
DATASET_DRAFTS = ModelStore(
    max_bytes=BUDGETS.draft_bytes, size=lambda draft: 2 * draft.stored_bytes, release=lambda draft: draft.delete()
)


# --- train your own LeNet --------------------------------------------------------------------------
LENET_TRAINING_CONCURRENCY = 2  # runs at once (a few seconds each); more wait in the queue
LENET_TRAINING_SLOTS = WorkSlots(LENET_TRAINING_CONCURRENCY)
LENET_TRAINING_TIME_LIMIT = 120  # seconds per run: 20 epochs on all 20,000 images take about a minute
LENETS = ModelStore(max_bytes=BUDGETS.lenet_bytes, size=lambda reader: 4 * 61_706, release=lambda reader: None)
MNIST_DOWNLOAD = os.environ.get("MNIST_DOWNLOAD", "1") == "1"  # fetch the full MNIST where there is internet


_MNIST_LOCK = threading.Lock()
_MNIST: list[MnistData] = []


def mnist_data(download: bool = False) -> MnistData:
    """The MNIST the visitors train on, read once and shared read-only: the full set where it can be
    had (a cache; downloaded by the warm-up thread on a Space), else the 20,000-image subset shipped
    in assets/. Only the warm-up thread downloads (never an import, never a visitor's request)."""
    with _MNIST_LOCK:
        if not _MNIST or (download and _MNIST[0].source != "full"):
            data = training_data("auto", allow_download=download and MNIST_DOWNLOAD)
            _MNIST[:] = [data]
        return _MNIST[0]


class AnalysisStore:
    """Each visitor's last analysed photo (the Grad-CAM lab's forward pass and its graph, 5 to 11 MB),
    by session: at most ``entries`` of them in all, the longest unused let go first, none kept
    longer than ``ttl`` seconds unused. A photo whose analysis was let go is analysed again."""

    def __init__(self, entries: int = 48, ttl: float = 600.0) -> None:
        self.entries, self.ttl = entries, ttl
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[str, object, float]] = OrderedDict()

    def get(self, session: str, path: str):
        with self._lock:
            entry = self._kept.get(session)
            if entry is None or entry[0] != path or time.monotonic() - entry[2] > self.ttl:
                return None
            self._kept[session] = (path, entry[1], time.monotonic())
            self._kept.move_to_end(session)
            return entry[1]

    def put(self, session: str, path: str, analysis: object) -> None:
        with self._lock:
            self._kept.pop(session, None)
            self._kept[session] = (path, analysis, time.monotonic())
            now = time.monotonic()
            for old in [s for s, (_, _, used) in self._kept.items() if now - used > self.ttl]:
                del self._kept[old]
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)


ANALYSES = AnalysisStore()
