"""MNIST as uint8 tensors, read from the four standard IDX files (gzipped or not), or from a subset.

The files are the ones Yann LeCun published and torchvision downloads. Reading them directly keeps
training independent of the network: point ``--data`` at a folder holding them, or let
torchvision download them where the internet is reachable.

Visitors train their own LeNet in the app, which must work without the internet too. So the app
ships ``assets/mnist_subset.npz``: 20,000 training and 2,000 test images chosen from the standard
files, class by class in MNIST's own proportions, with a seed (3.6 MB compressed). It is written by

    python -m nets.data.mnist --subset --data ../shared/data/mnist     # or --download

and ``training_data()`` gives the whole MNIST when its files are on the machine, else the subset.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nets.facts import Fact, Refusal, fact
from nets.paths import ASSETS

log = logging.getLogger(__name__)

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


# --- the subset the app ships, and the training data it uses ------------------------------------

SUBSET_FILE = ASSETS / "mnist_subset.npz"
SUBSET_SIZES = {"train": 20_000, "test": 2_000}  # 22,000 of MNIST's 70,000 images: 3.6 MB compressed
SUBSET_SEED = 0
SOURCE_NOTE = (
    "MNIST (Yann LeCun, Corinna Cortes, Christopher J.C. Burges), CC BY-SA 3.0: "
    "a class-stratified, seeded choice from the standard files; *_indices are their positions there"
)
SOURCES = ("auto", "full", "subset")


def stratified_choice(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Sorted positions of ``count`` items of ``labels``, each class in its share of the whole.

    Each class gets ``count * share`` items, rounded by largest remainder so the total is exact,
    picked at random (``seed``) within the class. 20,000 of MNIST's 60,000 training images thus
    keep its class balance (5923 zeros -> 1974, 6742 ones -> 2247, ...).
    """
    labels = np.asarray(labels)
    if not 0 <= count <= len(labels):
        raise ValueError(f"cannot choose {count} of {len(labels)} items")
    classes, sizes = np.unique(labels, return_counts=True)
    exact = sizes * count / len(labels)
    quota = np.floor(exact).astype(np.int64)
    # the items left over go to the classes with the largest remainders (ties: the smaller class label)
    quota[np.argsort(-(exact - quota), kind="stable")[: count - int(quota.sum())]] += 1
    rng = np.random.default_rng(seed)
    picks = [
        rng.choice(np.flatnonzero(labels == c), size=int(q), replace=False) for c, q in zip(classes, quota, strict=True)
    ]
    return np.sort(np.concatenate(picks)).astype(np.int64)


def write_subset(
    folder: Path, path: Path = SUBSET_FILE, sizes: dict[str, int] | None = None, seed: int = SUBSET_SEED
) -> Path:
    """Write the app's MNIST subset, chosen from the four standard files in ``folder``, to ``path``.

    The ``.npz`` holds ``train_images`` (N, 28, 28) and ``test_images`` uint8 (ink bright, as in
    MNIST), ``train_labels`` and ``test_labels`` uint8, ``train_indices`` and ``test_indices`` (their
    positions in the standard files, so anyone can check them), ``seed`` and ``source`` (where the
    images come from and their licence). The same files and seed always give the same bytes of data.
    """
    sizes = sizes or SUBSET_SIZES
    arrays: dict[str, np.ndarray] = {"seed": np.array(seed, dtype=np.int64), "source": np.array(SOURCE_NOTE)}
    for split in ("train", "test"):
        images, labels = load_split(folder, split)
        chosen = stratified_choice(labels.numpy(), sizes[split], seed)
        arrays[f"{split}_images"] = images.numpy()[chosen]  # (n, 28, 28) uint8
        arrays[f"{split}_labels"] = labels.numpy()[chosen].astype(np.uint8)  # (n,)
        arrays[f"{split}_indices"] = chosen.astype(np.int32)  # (n,)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


@dataclass(frozen=True)
class MnistData:
    """MNIST images for training a LeNet, and where they come from.

    ``source`` is ``"full"`` (the standard files: 60,000 + 10,000 images) or ``"subset"`` (the
    app's ``assets/mnist_subset.npz``: 20,000 + 2,000); ``where`` is the folder or the file read.
    The tensors are shared by every job of the process: read them, never write into them.
    """

    train_images: torch.Tensor  # (N, 28, 28) uint8, ink bright on black
    train_labels: torch.Tensor  # (N,) int64
    test_images: torch.Tensor  # (M, 28, 28) uint8
    test_labels: torch.Tensor  # (M,) int64
    source: str  # "full" or "subset"
    where: Path

    @property
    def train_count(self) -> int:
        return len(self.train_labels)

    @property
    def test_count(self) -> int:
        return len(self.test_labels)

    def fact(self) -> Fact:
        """Which images are in use, for the page: ``training_data_full`` or ``training_data_subset``."""
        if self.source == "full":
            return fact("training_data_full", train=self.train_count, test=self.test_count)
        return fact("training_data_subset", train=self.train_count, test=self.test_count)


class MnistNotFoundError(Refusal):
    """The whole MNIST was asked for (``source="full"``) but its files are nowhere it looks."""


def cache_dir() -> Path:
    """Where a download puts MNIST: ``$MNIST_DIR`` if set, else ``$XDG_CACHE_HOME/classic-cnns/mnist``
    (``~/.cache/classic-cnns/mnist``)."""
    if os.environ.get("MNIST_DIR"):
        return Path(os.environ["MNIST_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "classic-cnns" / "mnist"


def full_mnist_places() -> list[Path]:
    """The folders searched for the four standard files, in order: ``$MNIST_DIR`` when set, the
    cache folder (see ``cache_dir``), and the project's ``data/`` (where ``python -m
    nets.training.shipped_lenet --download`` puts them). Each may hold the files themselves (``.gz`` or not)
    or torchvision's ``MNIST/raw/``."""
    places = [Path(os.environ["MNIST_DIR"])] if os.environ.get("MNIST_DIR") else []
    default_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "classic-cnns" / "mnist"
    return [*places, default_cache, ASSETS.parent / "data"]


def has_full_mnist(folder: Path) -> bool:
    """True when ``folder`` (or its ``MNIST/raw``) holds all four standard files."""
    return all(find_file(folder, name) is not None for name in FILES.values())


@functools.cache
def _read_full(folder: Path) -> MnistData:
    train_images, train_labels = load_split(folder, "train")
    test_images, test_labels = load_split(folder, "test")
    return MnistData(train_images, train_labels, test_images, test_labels, "full", folder)


@functools.cache
def _read_subset(path: Path) -> MnistData:
    with np.load(path) as subset:
        arrays = {
            split: (
                torch.from_numpy(subset[f"{split}_images"]),
                torch.from_numpy(subset[f"{split}_labels"].astype(np.int64)),
            )
            for split in ("train", "test")
        }
    return MnistData(*arrays["train"], *arrays["test"], "subset", path)


def training_data(source: str = "auto", *, allow_download: bool = False, subset: Path = SUBSET_FILE) -> MnistData:
    """The images a visitor's LeNet trains and is tested on, read once per process.

    ``"auto"``: the whole MNIST if its four files are in one of ``full_mnist_places()`` (a check
    of a few paths, no network), else the subset ``assets/mnist_subset.npz``. ``"full"``: the whole
    MNIST or ``MnistNotFoundError``; ``"subset"``: the subset. With ``allow_download=True`` (the only
    way this touches the network) a missing MNIST is first downloaded by torchvision into
    ``cache_dir()``; if that fails, ``"auto"`` falls back to the subset (the log says why).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    if source != "subset":
        places = full_mnist_places()
        for folder in places:
            if has_full_mnist(folder):
                return _read_full(folder.resolve())
        if allow_download:
            try:
                return _read_full(download(cache_dir()).resolve())
            except Exception as error:  # no network, a full disk...: the subset still works
                if source == "full":
                    raise
                log.warning("could not download MNIST into %s (%s): using the subset %s", cache_dir(), error, subset)
        if source == "full":
            raise MnistNotFoundError("mnist_not_found", places=[str(folder) for folder in places])
    return _read_subset(Path(subset).resolve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", action="store_true", required=True, help="write the app's MNIST subset")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="folder with the four MNIST IDX files (.gz or not)")
    source.add_argument("--download", action="store_true", help="download MNIST with torchvision first")
    parser.add_argument("--download-root", default="data", help="where --download puts the files")
    parser.add_argument("--out", default=str(SUBSET_FILE), help="the .npz to write")
    parser.add_argument("--seed", type=int, default=SUBSET_SEED)
    args = parser.parse_args()
    folder = download(Path(args.download_root)) if args.download else Path(args.data)
    path = write_subset(folder, Path(args.out), seed=args.seed)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
