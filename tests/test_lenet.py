"""The note's LeNet, the shipped digit weights, and the script that trains them."""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nets.data import mnist
from nets.explaining.digits import DigitReader
from nets.models.lenet import ASSETS, LeNet, lenet, mnist_weights

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
ROOT = Path(__file__).resolve().parents[1]


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_note_lenet_has_62006_parameters():
    assert count(lenet(in_channels=3)) == 62_006


def test_digit_lenet_has_61706_parameters():
    assert count(lenet(in_channels=1)) == 61_706


def test_lenet_layers_are_the_notes():
    model = LeNet(in_channels=3)
    kinds = [type(m).__name__ for m in model.modules() if not isinstance(m, (torch.nn.Sequential, LeNet))]
    assert kinds == [
        "Conv2d",
        "ReLU",
        "AvgPool2d",
        "Conv2d",
        "ReLU",
        "AvgPool2d",
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert model.classifier[0].in_features == 5 * 5 * 16


def test_shapes_through_lenet():
    model = LeNet(in_channels=3).eval()
    x = torch.randn(4, 3, 32, 32)
    assert model(x).shape == (4, 10)
    conv1, conv2 = model.feature_maps(x)
    assert conv1.shape == (4, 6, 28, 28) and conv2.shape == (4, 16, 10, 10)
    assert (conv1 >= 0).all() and (conv2 >= 0).all()  # ReLU outputs


def test_shipped_weights_and_metadata():
    weights = mnist_weights()
    assert weights.file.stat().st_size < 1_000_000
    assert weights.meta["test_accuracy"] >= 0.993
    assert weights.meta["test_images"] == 10_000
    assert weights.meta["num_params"] == 61_706
    model = lenet(weights=weights)
    assert count(model) == 61_706
    assert 0 < weights.mean < 1 and 0 < weights.std < 1


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"MNIST files not found in {SHARED_MNIST}")
def test_shipped_weights_read_real_mnist_test_digits():
    images, labels = mnist.load_split(SHARED_MNIST, "test")
    reader = DigitReader()
    picks = np.random.default_rng(0).choice(len(images), 500, replace=False)
    right = sum(reader.read(images[i].numpy()).top(1).popitem()[0] == str(int(labels[i])) for i in picks)
    assert right / len(picks) >= 0.99


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_files_are_read_back(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7, dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    x, y = mnist.load_split(tmp_path, "test")
    assert np.array_equal(x.numpy(), images) and np.array_equal(y.numpy(), labels)
    with pytest.raises(FileNotFoundError, match="train-images"):
        mnist.load_split(tmp_path, "train")


def test_training_script_dry_run(tmp_path):
    """The real training script runs end to end (on synthetic IDX files) and reports accuracy."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 2048), ("t10k", 1000)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "nets.training.shipped_lenet",
            "--data",
            str(tmp_path),
            "--dry-run",
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "epoch  1/1" in out.stdout and "test acc" in out.stdout
    assert not (tmp_path / "out").exists()  # a dry run saves nothing
    assert json.loads((ASSETS / "lenet_mnist.json").read_text())["epochs"] >= 1
