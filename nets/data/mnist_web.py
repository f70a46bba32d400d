"""The shipped MNIST subset as one small static file for the browser, where visitors train LeNet.

The train tab trains in the visitor's browser (``ui/static/lenet/training.js``), so the page needs
the images: ``assets/mnist_subset.npz``'s 20,000 training and 2,000 test images, as raw uint8
pixels and labels, gzipped (about 3.5 MB; the browser caches it as any static file and unzips it
with its own ``DecompressionStream``). Written by

    python -m nets.data.mnist_web          # assets/mnist_subset.npz -> assets/web/mnist_subset.bin.gz

The format (all little-endian, then gzip with no name or time, so the same subset gives the same bytes):

    8 bytes  b"MNISTWEB"          what this is (FORMAT_MAGIC)
    uint32   version (1)
    uint32   N training images, uint32 M test images, uint32 side (28)
    N x 28 x 28 uint8  training images, ink bright (as MNIST)     N uint8  their labels
    M x 28 x 28 uint8  test images                               M uint8  their labels

The training images come in an order whose every prefix keeps the classes' shares (within one
image per class): the browser trains on the first ``train_images`` of them, as the server's
``stratified_choice`` keeps MNIST's class balance. The first ``LeNetSettings().train_images``
(10,000) are exactly the images the server's default run chooses (``stratified_choice`` with the
default seed), so the tab's default run trains on the same images in the browser as on the server.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from nets.data.mnist import SUBSET_FILE, stratified_choice
from nets.paths import ASSETS

WEB_DATA_FILE = ASSETS / "web" / "mnist_subset.bin.gz"
FORMAT_MAGIC = b"MNISTWEB"
VERSION = 1
HEADER = struct.Struct("<8sIIII")  # magic, version, train count, test count, side
DEFAULT_TRAIN_IMAGES = 10_000  # LeNetSettings().train_images (a test checks they agree)
DEFAULT_SEED = 0  # LeNetSettings().seed


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """Positions of ``labels`` in an order whose every prefix keeps the classes' shares of the whole
    (within one image per class): each class's positions shuffled (``seed``), its k-th of n placed
    at (k + 0.5) / n of the way, and the classes merged by those places (ties: the smaller class)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    positions, places = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        positions.append(members)
        places.append((np.arange(len(members)) + 0.5) / len(members))
    positions, places = np.concatenate(positions), np.concatenate(places)
    return positions[np.argsort(places, kind="stable")].astype(np.int64)


def training_order(labels: np.ndarray, first: int = DEFAULT_TRAIN_IMAGES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """The order of the training images in the file: the ``first`` images the server would choose
    (``stratified_choice(labels, first, seed)``), then all the others, each part in ``stratified_order``."""
    chosen = stratified_choice(labels, first, seed)  # sorted positions
    rest = np.setdiff1d(np.arange(len(labels)), chosen)
    return np.concatenate([chosen[stratified_order(labels[chosen], seed)], rest[stratified_order(labels[rest], seed)]])


def web_data_bytes(subset: Path = SUBSET_FILE) -> bytes:
    """The subset in the browser's format (gzipped), training images in ``training_order``."""
    with np.load(subset) as data:
        train_images, train_labels = data["train_images"], data["train_labels"]
        test_images, test_labels = data["test_images"], data["test_labels"]
    order = training_order(train_labels)
    side = int(train_images.shape[1])
    raw = b"".join(
        [
            HEADER.pack(FORMAT_MAGIC, VERSION, len(train_labels), len(test_labels), side),
            np.ascontiguousarray(train_images[order], np.uint8).tobytes(),  # (N, 28, 28)
            np.ascontiguousarray(train_labels[order], np.uint8).tobytes(),  # (N,)
            np.ascontiguousarray(test_images, np.uint8).tobytes(),  # (M, 28, 28)
            np.ascontiguousarray(test_labels, np.uint8).tobytes(),  # (M,)
        ]
    )
    return gzip.compress(raw, compresslevel=9, mtime=0)


def read_web_data(blob: bytes) -> dict[str, np.ndarray]:
    """``web_data_bytes``' output back as arrays: ``train_images`` (N, 28, 28), ``train_labels``,
    ``test_images``, ``test_labels`` (uint8)."""
    raw = gzip.decompress(blob)
    magic, version, train, test, side = HEADER.unpack_from(raw)
    if magic != FORMAT_MAGIC or version != VERSION:
        raise ValueError(f"not the browser's MNIST file ({FORMAT_MAGIC!r} version {VERSION})")
    arrays, at = {}, HEADER.size
    for name, shape in [
        ("train_images", (train, side, side)),
        ("train_labels", (train,)),
        ("test_images", (test, side, side)),
        ("test_labels", (test,)),
    ]:
        size = int(np.prod(shape))
        arrays[name] = np.frombuffer(raw, np.uint8, size, at).reshape(shape)
        at += size
    if at != len(raw):
        raise ValueError(f"the browser's MNIST file has {len(raw) - at} bytes too many")
    return arrays


def write_web_data(path: Path = WEB_DATA_FILE, subset: Path = SUBSET_FILE) -> Path:
    """Write ``web_data_bytes(subset)`` to ``path`` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(web_data_bytes(subset))
    return path


if __name__ == "__main__":
    written = write_web_data()
    print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")
