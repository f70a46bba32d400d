"""The MNIST the visitors train their LeNets on, read once and shared read-only by every visitor."""

from __future__ import annotations

import os
import threading

from nets.data.mnist import MnistData, training_data

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
