"""What the server promises, in one place: how much of it each kind of work may take, and for how long.

A public Space is shared by strangers: every resource a visitor can make it spend has a budget
here (concurrency, time, upload sizes, queue places, how long a visitor's things are kept), and the
tabs, the guard and the stores take their limits from this module only. These are the numbers the
README's "Limits" section quotes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from nets.data.dataset_zip import ZipLimits

# --- the work each kind of request may do at once -------------------------------------------------
# How many of each kind of job run at once; the rest wait in the queue with their position shown.
LENET_CONCURRENCY = 12
ALEXNET_CONCURRENCY = 3
FINETUNE_CONCURRENCY = 2  # fine-tunes and races working at once; more wait their turn, their place shown
FINETUNE_TIME_LIMIT = 300  # seconds per job, reading the zip included
LENET_TRAINING_CONCURRENCY = 2  # runs at once (a few seconds each); more wait their turn
LENET_TRAINING_TIME_LIMIT = 120  # seconds per run: 20 epochs on all 20,000 images take about a minute
# A training job's handler hands the server a turn at least this often, even when it has nothing
# new to show: Gradio can cancel a generator only between two of its items, so this is how long a
# visitor's cancel (or a closed page) may wait while the job reads a zip or waits for a slot.
BEAT_SECONDS = 0.5
# While a training job only waits for its slot, a turn this often is enough (its cancel leaves the
# line within it): a class of forty waiting must not flood the server with empty updates.
WAITING_BEAT_SECONDS = 2.0

QUEUE_SIZE = 256  # beyond this many waiting events, visitors are told the queue is full
MAX_UPLOAD = "100mb"  # the largest file Gradio accepts at all (a zip's own limit is the same)


@dataclass(frozen=True)
class Budgets:
    """What one client address (a class behind a school's one address included), and all visitors
    together, may make the server spend. Enforced by ``ui.guard.Guard`` before Gradio sees a
    request, and by the stores of ``ui.stores``. An admin may change any of them with an environment
    variable named ``BUDGET_`` and the field in capitals (``BUDGET_FINETUNES_WAITING=8``)."""

    requests_burst: int = 300  # POSTs that do work (joins, uploads, calls) at once...
    requests_per_second: float = 20.0  # ...and sustained: a class of 40 drawing and uploading
    sessions_burst: int = 120  # new sessions at once (each page load is one)...
    sessions_per_second: float = 1.0  # ...and sustained: Gradio keeps each one's state (~200 KB)
    sessions_kept: int = 3000  # Gradio's session store (the oldest dropped first): ~600 MB at most
    json_body_bytes: int = 1 << 20  # an event's JSON: files travel as uploads, a 1 MB body is plenty
    upload_bytes_per_window: int = 500 << 20  # uploaded per address in a window (disk: kept 30 min)
    upload_window_seconds: int = 600
    upload_files_per_window: int = 5000  # files uploaded per address in a window (the zip's entry limit)
    session_events: int = 8  # events of any kind one session may have queued or running at once
    address_share: float = 0.25  # of the queue's places, queued plus running, per address (a class fits)
    training_jobs: int = 128  # training jobs of each kind queued or running in all: half the queue stays for others
    model_bytes: int = 1_600_000_000  # every visitor's fine-tuned models (a whole classifier: 218 MB)
    lenet_bytes: int = 250_000_000  # every visitor's own LeNets (247 KB each: about a thousand)
    download_bytes: int = 1_000_000_000  # model files written for download, all visitors together
    draft_bytes: int = 1_500_000_000  # datasets being built in the page, on disk: a quarter per address
    report_bytes: int = 400_000_000  # fine-tune reports kept to explain a confusion cell (their val images)
    feature_bytes: int = 256_000_000  # frozen features of images seen before, shared by content (a class's example)

    @classmethod
    def from_environment(cls, environ=os.environ) -> Budgets:
        overrides = {}
        for name, kind in ((f.name, type(f.default)) for f in fields(cls)):
            value = environ.get(f"BUDGET_{name.upper()}")
            if value:
                overrides[name] = kind(float(value)) if kind is int else kind(value)
        return cls(**overrides)


BUDGETS = Budgets.from_environment()
# Gradio starts every admitted training event at once: each handler waits for its work slot
# (FINETUNE_CONCURRENCY, LENET_TRAINING_CONCURRENCY) in the fair order between addresses
# (nets.training.fair_slots) and tells its place in line; the guard bounds how many there are.
TRAINING_EVENTS = BUDGETS.training_jobs
# Gradio's worker threads: a training handler waiting for its slot holds one; the rest serve photos.
MAX_THREADS = 40 + 2 * BUDGETS.training_jobs

# --- what is kept for a visitor, and for how long ----------------------------------------------------
SESSION_TTL = 1800  # a visitor's fine-tuned model (or draft, or LeNet) is kept half an hour after its last use
DOWNLOAD_TTL = 600  # a download file is deleted ten minutes after it was written
# Files Gradio keeps for visitors (uploads, results) are removed once they are half an hour old,
# checked every ten minutes, so disk use stays bounded over a day.
DELETE_CACHE = (600, 1800)
# Disk an uploaded file takes at least, besides its bytes: Gradio stores each in a folder of its own
# (named by its hash), so a file costs a block for its folder and up to a block for its last bytes.
# The guard charges this much more per file (1,000 one-byte files made 791 MB of disk and 200,000
# inodes while their bytes counted 11.4 MB); Gradio's sweep removes old files but not their folders,
# so ``ui.uploads_sweep`` removes the emptied folders (and parts of cut uploads) as old.
UPLOAD_FILE_CHARGE = 8192
# Who uploaded each file (its addresses) is remembered for as long as Gradio keeps uploads, for this
# many files at most: another address's upload, or another session's scratch file, is refused as an
# input (``ui.file_owners``).
UPLOAD_OWNERS_KEPT = 200_000

# --- what an upload may be -----------------------------------------------------------------------------
ZIP_LIMITS = ZipLimits()  # a dataset built in the page too; a builder add decodes each file it names once
CANVAS_MAX_PIXELS = 2048 * 2048  # the canvas is 400x400; an API client's photo of paper fits too
