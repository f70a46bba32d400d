"""What the server promises, in one place: how much of it each kind of work may take, for how long,
and the models every visitor shares.

A public Space is shared by strangers: every resource a visitor can make it spend has a budget
here (concurrency, time, upload sizes, queue places, how long a visitor's model is kept), and
the tabs take their limits from this module only.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr
import torch

from nets import finetune
from nets.alexnet import SharedAlexNet, WeightsUnavailable
from nets.dataset_zip import ZipLimits
from nets.digits import DigitReader
from ui.text import error

ASSETS = Path(__file__).resolve().parent.parent / "assets"
log = logging.getLogger("classic_cnns")

# --- the work each kind of request may do at once -------------------------------------------------
# How many of each kind of job run at once; the rest wait in the queue with their position shown.
LENET_CONCURRENCY = 12
ALEXNET_CONCURRENCY = 3
FINETUNE_CONCURRENCY = 2  # training jobs at once; more wait in the queue, their position shown
FINETUNE_TIME_LIMIT = 300  # seconds of training per job
QUEUE_SIZE = 256  # beyond this many waiting events, visitors are told the queue is full
MAX_UPLOAD = "100mb"  # the largest file Gradio accepts at all (a zip's own limit is the same)

# --- what is kept for a visitor, and for how long ----------------------------------------------------
# A visitor's fine-tuned model is freed half an hour after it was trained (Gradio also drops a
# closed page's state, after up to an hour); large models may go sooner, see BIG_MODELS.
SESSION_TTL = 1800
BIG_MODELS = finetune.Shelf(capacity=6)  # at most ~1.5 GB of whole-classifier / all-layers models
# Files Gradio keeps for visitors (uploads, results, downloads) are removed once they are half an
# hour old, checked every ten minutes, so disk use stays bounded over a day.
DELETE_CACHE = (600, 1800)
DOWNLOADS = Path(tempfile.gettempdir()) / "classic-cnns-downloads"

# --- what an upload may be -----------------------------------------------------------------------------
ZIP_LIMITS = ZipLimits()
CANVAS_MAX_PIXELS = 2048 * 2048  # the canvas is 400x400; an API client's photo of paper fits too
CANVAS_MAX_BYTES = 8 << 20  # one part of a drawing, as sent: a 2048x2048 PNG of a digit is far less
CANVAS_PENDING = 512  # strokes uploaded by browsers and not yet classified, kept at most

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
    """Load the ImageNet AlexNet in the background shortly after start-up (downloads on Spaces).

    The first photo then answers at once, and a missing-weights notice shows from the first page
    load. The delay keeps the load from competing with the server's own start.
    """

    def load() -> None:
        time.sleep(delay)
        try:
            ALEXNET.get()
        except WeightsUnavailable as missing:
            log.warning("Photo tab: %s", missing)

    threading.Thread(target=load, name="alexnet-warm-up", daemon=True).start()
