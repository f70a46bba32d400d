"""How fast "Look inside AlexNet" answers a visitor, against today's heatmap.

    python -m bench.gradcam [--repeats 7]     # prints a Markdown table

Today's heatmap is what the photo tab does for its Grad-CAM: open the photo (``open_rgb``), make a
display copy of at most 768 pixels, ``classify(..., top=1, explain=True, cam_size=display.size)``
and ``cam_overlay``. Each other row is one visitor's request, until the overlay image is made:

- the first explanation of a photo: open it, ``analyse_photo`` (the one forward pass) and
  ``grad_cam`` at conv5 for the top guess, the overlay;
- a new layer, the photo's analysis kept (in the visitor's session) from the conv5 answer: only a
  backward pass, from conv5's gradient down to that layer, and the overlay;
- a new class: a backward pass from the new class's score (to conv5, and all the way down to
  conv1 for the worst case), and the overlay;
- a new layer without a kept analysis: ``grad_cam(model, photo, layer)`` from the file again.

Each is the median over ``--repeats`` runs per photo (assets/photos/*.jpg; the requests take
turns in every round), divided by today's for the same photo; the table gives the median of those
ratios and the worst photo's. One torch thread, as the server runs. Uses stand-in weights (same
architecture, same cost) when no ImageNet weights are cached.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image

from bench import weights_home
from nets.data.images import open_rgb
from nets.explaining.gradcam import LAYERS
from nets.explaining.photo import analyse_photo, cam_overlay, classify, grad_cam
from nets.models.alexnet import load_imagenet_alexnet

PHOTOS = sorted((Path(__file__).resolve().parent.parent / "assets" / "photos").glob("*.jpg"))
DISPLAY = 768  # the photo tab's HEATMAP_SIZE: the heatmap is made at the display copy's size


def display_copy(picture: Image.Image) -> Image.Image:
    """The photo tab's display image: at most 768 pixels a side."""
    display = picture.copy()
    display.thumbnail((DISPLAY, DISPLAY), Image.Resampling.BILINEAR)
    return display


def median_ms(rows: dict[str, tuple[Callable, Callable | None]], repeats: int) -> dict[str, float]:
    """Median wall time of each row's call (its preparation untimed before each run), the rows taken
    in turn in every round, so that a burst of load from elsewhere falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(repeats):
        for name, (run, prepare) in rows.items():
            state = prepare() if prepare else None
            start = time.perf_counter()
            run(state) if prepare else run()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(values) for name, values in times.items()}


def scenarios(model, path: Path) -> dict[str, tuple[Callable, Callable | None]]:
    """What one visitor asks, as (timed call, untimed preparation giving its state)."""
    picture = open_rgb(path)
    display = display_copy(picture)
    third = list(classify(model, picture, top=3, explain=False).top)[2]

    def today() -> None:
        opened = open_rgb(path)
        shown = display_copy(opened)
        answer = classify(model, opened, top=1, explain=True, cam_size=shown.size)
        cam_overlay(shown, answer.cam)

    def first() -> None:
        opened = open_rgb(path)
        shown = display_copy(opened)
        cam_overlay(shown, analyse_photo(model, opened).grad_cam("conv5", cam_size=shown.size).cam)

    def after_conv5():  # the analysis a visitor's session keeps after the first answer
        analysis = analyse_photo(model, picture)
        analysis.grad_cam("conv5", cam_size=display.size)
        return analysis

    def explain(layer: str, target: str | None) -> Callable:
        return lambda analysis: cam_overlay(display, analysis.grad_cam(layer, target, cam_size=display.size).cam)

    def from_file(layer: str) -> Callable:
        def run() -> None:
            opened = open_rgb(path)
            shown = display_copy(opened)
            cam_overlay(shown, grad_cam(model, opened, layer, cam_size=shown.size).cam)

        return run

    rows = {
        "today's heatmap (conv5, top guess)": (today, None),
        "first explanation of a photo (conv5, top guess)": (first, None),
    }
    for layer in reversed(LAYERS[:-1]):
        rows[f"new layer, analysis kept: {layer}"] = (explain(layer, None), after_conv5)
    rows["new class, analysis kept: conv5 (3rd guess)"] = (explain("conv5", third), after_conv5)
    rows["new class, analysis kept: conv1 (3rd guess)"] = (explain("conv1", third), after_conv5)
    rows["new layer from the file, no analysis kept: conv1"] = (from_file("conv1"), None)
    return rows


def resident_mb() -> float:
    """This process's resident memory (Linux), in MB."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    repeats = parser.parse_args().repeats
    torch.set_num_threads(1)  # as the server runs
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["TORCH_HOME"] = weights_home(Path(scratch))
        model = load_imagenet_alexnet("cpu")

    timings: dict[str, list[float]] = {}
    for path in PHOTOS:
        rows = scenarios(model, path)
        for run, prepare in rows.values():  # warm up every path once
            run(prepare()) if prepare else run()
        for name, value in median_ms(rows, repeats).items():
            timings.setdefault(name, []).append(value)

    today = timings["today's heatmap (conv5, top guess)"]
    print(
        f"{len(PHOTOS)} photos ({', '.join(path.name for path in PHOTOS)}), median of {repeats} runs each, "
        f"heatmap and overlay at {DISPLAY} px, 1 torch thread\n"
    )
    print("| request | median ms | ratio to today's (median photo) | worst photo |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in timings.items():
        ratios = [value / base for value, base in zip(values, today, strict=True)]
        print(f"| {name} | {statistics.median(values):.0f} | {statistics.median(ratios):.2f}x | {max(ratios):.2f}x |")

    picture = open_rgb(PHOTOS[0])
    before = resident_mb()
    kept = [analyse_photo(model, picture) for _ in range(20)]
    for analysis in kept:
        analysis.grad_cam("conv1")  # the gradients of every layer for one class
    print(
        f"\nmemory per kept analysis (graph + one class's gradients at all layers): "
        f"{(resident_mb() - before) / len(kept):.1f} MB"
    )


if __name__ == "__main__":
    main()
