"""MNIST as uint8 tensors, read from the four standard IDX files (gzipped or not).

The files are the ones Yann LeCun published and torchvision downloads. Reading them directly keeps
training independent of the network: point ``--data`` at a folder holding them, or let
torchvision download them where the internet is reachable.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (``.gz`` or plain) into a numpy array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def find_file(folder: Path, name: str) -> Path | None:
    """The IDX file ``name`` in ``folder`` or torchvision's ``MNIST/raw`` below it, gzipped or not."""
    for base in (folder, folder / "MNIST" / "raw"):
        for candidate in (base / name, base / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def load_split(folder: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images (N, 28, 28) uint8, labels (N,) int64)`` of ``split`` ("train" or "test")."""
    paths = {kind: find_file(folder, FILES[(split, kind)]) for kind in ("images", "labels")}
    missing = [FILES[(split, kind)] for kind, path in paths.items() if path is None]
    if missing:
        raise FileNotFoundError(f"{folder} lacks the MNIST files {missing}")
    images = torch.from_numpy(read_idx(paths["images"]).copy())
    labels = torch.from_numpy(read_idx(paths["labels"]).astype(np.int64))
    return images, labels


def download(root: Path) -> Path:
    """Fetch MNIST with torchvision (needs the internet) and return the folder holding the files."""
    from torchvision.datasets import MNIST

    for train in (True, False):
        MNIST(str(root), train=train, download=True)
    return root
