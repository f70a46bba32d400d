"""The models every visitor shares (read-only: inference only, never modified), and where they run.

Nothing loads when this module is imported: the shipped LeNet loads on first use, and the ImageNet
AlexNet and MNIST load in the background once the server has started (``warm_up``, from
``app.main``), so the first photo answers at once and a missing-weights notice shows from the
first page load.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

import gradio as gr

from nets.explaining.digits import DigitReader
from nets.models.alexnet import SharedAlexNet, WeightsUnavailable
from ui.shared_mnist import mnist_data
from ui.text import error

log = logging.getLogger("classic_cnns")

try:  # On Hugging Face ZeroGPU hardware a GPU is attached only inside functions marked like this.
    import spaces

    on_gpu = spaces.GPU
except ImportError:  # anywhere else: the same code, on the GPU if there is one, else the CPU

    def on_gpu(function=None, **_options):
        return function if function is not None else (lambda f: f)


ALEXNET = SharedAlexNet()  # nothing loads until its first use (or the warm-up thread)


@functools.cache
def digit_reader() -> DigitReader:
    """The digit tab's shipped LeNet, loaded once (at start-up by ``warm_up``, else on first use)."""
    return DigitReader()


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
    """Load the shipped LeNet now, and the ImageNet AlexNet and MNIST in the background shortly
    after start-up (downloads on Spaces).

    The first photo then answers at once, and a missing-weights notice shows from the first page
    load. The delay keeps the load from competing with the server's own start.
    """
    digit_reader()

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
