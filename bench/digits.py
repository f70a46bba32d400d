"""How well the digit tab reads digits it was never trained on, and how fast.

    python -m bench.digits            # prints a table the README quotes

Data sets (none used in training):
- MNIST test set (10,000), through the app's own preprocessing (needs the files: --mnist DIR);
- hand-drawn-style digits from harness/digit_drawings.py sent as API composites (dark ink on a
  white 400x400 canvas), and the same drawings as light ink on dark;
- MNIST test digits upscaled 10x onto a 400x400 canvas at a random place;
- another writer population: the UCI/scikit-learn digits (1,797 digits by 43 writers, 8x8
  pixels), upscaled onto a 400x400 canvas off-centre (needs scikit-learn);
- blank and near-blank canvases: must give no guess at all.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from harness.digit_drawings import dataset
from nets.data import mnist
from nets.explaining.digits import DigitReader

DEFAULT_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def accuracy(reader: DigitReader, images, labels) -> tuple[float, int]:
    right = unread = 0
    for image, label in zip(images, labels, strict=True):
        reading = reader.read(image)
        if reading is None:
            unread += 1
        else:
            right += int(reading.probabilities.argmax()) == int(label)
    return right / len(labels), unread


def composite(grey: np.ndarray) -> dict:
    """The Sketchpad value an API client sends: an opaque RGBA composite, no layers."""
    return {"background": None, "layers": [], "composite": np.dstack([grey, grey, grey, np.full_like(grey, 255)])}


def on_canvas(digit: np.ndarray, rng: np.random.Generator, size: int = 400, scale: int = 10) -> np.ndarray:
    """A small light-on-dark digit enlarged ``scale`` times, dark on a white canvas at a random place."""
    enlarged = (digit.shape[1] * scale, digit.shape[0] * scale)
    big = np.asarray(Image.fromarray(digit).resize(enlarged, Image.Resampling.BICUBIC))
    canvas = np.zeros((size, size), np.uint8)
    y, x = rng.integers(0, size - big.shape[0] + 1), rng.integers(0, size - big.shape[1] + 1)
    canvas[y : y + big.shape[0], x : x + big.shape[1]] = big
    return 255 - canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default=str(DEFAULT_MNIST), help="folder with the MNIST files")
    parser.add_argument("--drawings", type=int, default=100, help="hand-drawn digits per class")
    args = parser.parse_args()
    reader = DigitReader()
    rng = np.random.default_rng(0)
    rows = []

    drawings = dataset(args.drawings, seed=2026)
    greys = [np.asarray(image) for image, _ in drawings]
    labels = [label for _, label in drawings]
    rows.append(
        (
            "hand-drawn style, dark on light composites",
            len(labels),
            *accuracy(reader, [composite(g) for g in greys], labels),
        )
    )
    rows.append(
        ("hand-drawn style, light ink on dark", len(labels), *accuracy(reader, [255 - g for g in greys], labels))
    )

    folder = Path(args.mnist)
    if folder.is_dir():
        images, targets = mnist.load_split(folder, "test")
        rows.append(
            (
                "MNIST test set (28x28, through the app's preprocessing)",
                len(targets),
                *accuracy(reader, [im.numpy() for im in images], targets.tolist()),
            )
        )
        picks = rng.choice(len(targets), 2000, replace=False)
        rows.append(
            (
                "MNIST test digits upscaled 10x onto a 400x400 canvas",
                len(picks),
                *accuracy(
                    reader,
                    [composite(on_canvas(images[i].numpy(), rng)) for i in picks],
                    [int(targets[i]) for i in picks],
                ),
            )
        )
    else:
        print(f"(no MNIST files in {folder}: MNIST rows skipped)")
    try:
        from sklearn.datasets import load_digits

        uci = load_digits()
        small = [(im / 16 * 255).astype(np.uint8) for im in uci.images]
        rows.append(
            (
                "UCI digits (43 other writers, 8x8), upscaled 20x off-centre",
                len(small),
                *accuracy(reader, [composite(on_canvas(im, rng, scale=20)) for im in small], uci.target.tolist()),
            )
        )
    except ImportError:
        print("(scikit-learn not installed: the UCI digits row is skipped)")

    blanks = [np.full((400, 400), 255, np.uint8), np.zeros((400, 400), np.uint8)]
    dot = np.full((400, 400), 255, np.uint8)
    dot[190:210, 190:210] = 0
    noise = rng.normal(250, 3, (400, 400)).clip(0, 255).astype(np.uint8)
    guesses = sum(reader.read(composite(b)) is not None for b in [*blanks, dot, noise])

    sample = composite(greys[0])
    times = []
    for _ in range(200):
        started = time.perf_counter()
        reader.read(sample)
        times.append(time.perf_counter() - started)

    print("| data set | digits | accuracy | not read |")
    print("| --- | ---: | ---: | ---: |")
    for name, n, acc, unread in rows:
        print(f"| {name} | {n:,} | {acc:.2%} | {unread} |")
    print(f"\nblank, black, dot-only and noise canvases given a guess: {guesses} of 4")
    print(f"preprocessing + LeNet per 400x400 sketch: median {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
