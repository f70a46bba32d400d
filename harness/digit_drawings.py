"""Hand-drawn-style digits that no model was trained on: a second data set for LeNet.

Each digit has a few stroke templates (people write 1, 4, 7 and 9 in different ways), given as
polylines in a unit box (x right, y down). A random drawing slants, rotates, stretches and wobbles
a template, then places it at a random size and position on a canvas and renders thick round
strokes, the way a finger or a mouse with a round brush draws. The same strokes drive the mouse
in the browser tests, so the images and the real-browser drawings come from one source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

Stroke = list[tuple[float, float]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 24) -> Stroke:
    """Points on an elliptic arc; angles in degrees, counter-clockwise as on paper (y down)."""
    angles = np.radians(np.linspace(start, end, steps))
    return [(cx + rx * math.cos(t), cy - ry * math.sin(t)) for t in angles]


def line(*points: tuple[float, float], steps: int = 8) -> Stroke:
    """A polyline through ``points`` with intermediate points (so wobble bends it smoothly)."""
    out: Stroke = []
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        for i in range(steps):
            t = i / steps
            out.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0)))
    out.append(points[-1])
    return out


# Templates: digit -> variants -> strokes -> points in a box about 0.7 wide and 1.0 tall.
TEMPLATES: dict[int, list[list[Stroke]]] = {
    0: [[arc(0.35, 0.5, 0.3, 0.48, 95, 455, 40)]],
    1: [
        [line((0.35, 0.0), (0.35, 1.0))],
        [line((0.15, 0.22), (0.38, 0.0), (0.38, 1.0))],
        [line((0.15, 0.2), (0.38, 0.0), (0.38, 1.0)), line((0.15, 1.0), (0.6, 1.0))],
    ],
    2: [
        [arc(0.35, 0.3, 0.3, 0.28, 160, -25) + line((0.6, 0.45), (0.03, 1.0), (0.72, 1.0))],
        [arc(0.35, 0.3, 0.3, 0.28, 150, -40) + line((0.55, 0.5), (0.05, 0.98), (0.35, 0.9), (0.72, 0.98))],
    ],
    3: [
        [arc(0.33, 0.26, 0.28, 0.24, 150, -90) + arc(0.33, 0.74, 0.32, 0.26, 90, -150)],
        [line((0.05, 0.0), (0.65, 0.0), (0.3, 0.42)) + arc(0.33, 0.7, 0.33, 0.29, 80, -150)],
    ],
    4: [
        [line((0.48, 0.0), (0.04, 0.66), (0.72, 0.66)), line((0.52, 0.3), (0.52, 1.0))],
        [line((0.1, 0.0), (0.08, 0.55), (0.68, 0.55)), line((0.56, 0.0), (0.56, 1.0))],
    ],
    5: [
        [line((0.68, 0.0), (0.15, 0.0), (0.1, 0.45)) + arc(0.36, 0.7, 0.32, 0.3, 125, -155)],
        [line((0.15, 0.0), (0.1, 0.45)) + arc(0.36, 0.7, 0.32, 0.3, 125, -155), line((0.15, 0.0), (0.7, 0.0))],
    ],
    6: [
        [line((0.62, 0.0), (0.3, 0.2), (0.1, 0.5), (0.07, 0.7)) + arc(0.36, 0.72, 0.29, 0.27, 180, 530)],
    ],
    7: [
        [line((0.03, 0.0), (0.7, 0.0), (0.25, 1.0))],
        [line((0.03, 0.05), (0.7, 0.0), (0.28, 1.0)), line((0.18, 0.5), (0.62, 0.5))],
    ],
    8: [
        [arc(0.35, 0.25, 0.24, 0.23, -90, 270, 32), arc(0.35, 0.72, 0.3, 0.27, 90, 450, 36)],
        [
            arc(0.35, 0.25, 0.25, 0.24, 0, 270, 28)
            + arc(0.35, 0.73, 0.3, 0.26, 90, -270, 36)
            + arc(0.35, 0.25, 0.25, 0.24, 270, 360, 8)
        ],
    ],
    9: [
        [arc(0.35, 0.28, 0.29, 0.27, 0, 360, 36) + line((0.64, 0.28), (0.58, 1.0))],
        [arc(0.35, 0.28, 0.29, 0.27, 10, 370, 36) + line((0.63, 0.35), (0.6, 0.7), (0.35, 1.0))],
    ],
}


@dataclass
class Drawing:
    """One random drawing: its strokes in canvas pixels, its label and how thick it is drawn."""

    label: int
    strokes: list[Stroke]
    width: float  # stroke width in canvas pixels
    canvas: tuple[int, int]  # (width, height)


def random_drawing(
    label: int,
    rng: np.random.Generator,
    canvas: tuple[int, int] = (400, 400),
    size: tuple[float, float] = (0.35, 0.85),
    width: tuple[float, float] = (0.07, 0.15),
) -> Drawing:
    """A random hand-drawn-style ``label``: slanted, rotated, stretched, wobbly, placed anywhere.

    ``size`` is the digit's height as a share of the canvas height, ``width`` the stroke width as
    a share of the digit's height.
    """
    variants = TEMPLATES[label]
    strokes = [np.array(s, dtype=np.float64) for s in variants[rng.integers(len(variants))]]
    slant = rng.uniform(-0.3, 0.3)
    angle = math.radians(rng.uniform(-10, 10))
    stretch = rng.uniform(0.8, 1.2)
    # Smooth wobble: a random low-frequency displacement along each stroke.
    wobbly = []
    for s in strokes:
        t = np.linspace(0, 1, len(s))[:, None]
        phase = rng.uniform(0, 2 * math.pi, size=(1, 2))
        s = s + rng.uniform(0, 0.025) * np.sin(2 * math.pi * rng.uniform(0.5, 2.0) * t + phase)
        x, y = s[:, 0] * stretch, s[:, 1]
        x = x - slant * (y - 0.5)  # italic slant leans the top to the right
        cx, cy = x - 0.35 * stretch, y - 0.5
        wobbly.append(
            np.stack([cx * math.cos(angle) - cy * math.sin(angle), cx * math.sin(angle) + cy * math.cos(angle)], 1)
        )
    w, h = canvas
    height = rng.uniform(*size) * h
    pts = np.concatenate(wobbly) * height
    lo, hi = pts.min(0), pts.max(0)
    stroke_width = max(2.0, rng.uniform(*width) * height)
    margin = stroke_width
    offset_x = rng.uniform(margin - lo[0], max(margin - lo[0], w - margin - hi[0]))
    offset_y = rng.uniform(margin - lo[1], max(margin - lo[1], h - margin - hi[1]))
    placed = [[(float(px + offset_x), float(py + offset_y)) for px, py in s * height] for s in wobbly]
    return Drawing(label=label, strokes=placed, width=stroke_width, canvas=canvas)


def render(drawing: Drawing, ink: int = 0, paper: int = 255, supersample: int = 3) -> Image.Image:
    """Render thick round strokes (ink on paper, greyscale ``L``), anti-aliased by supersampling."""
    w, h = drawing.canvas
    big = Image.new("L", (w * supersample, h * supersample), paper)
    pen = ImageDraw.Draw(big)
    r = drawing.width * supersample / 2
    for stroke in drawing.strokes:
        pts = [(x * supersample, y * supersample) for x, y in stroke]
        pen.line(pts, fill=ink, width=max(1, round(2 * r)), joint="curve")
        for x, y in (pts[0], pts[-1]):
            pen.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return big.resize((w, h), Image.Resampling.LANCZOS)


def dataset(n_per_digit: int, seed: int = 0, **kwargs) -> list[tuple[Image.Image, int]]:
    """``n_per_digit`` rendered drawings of each digit 0-9 (dark ink on white), seeded."""
    rng = np.random.default_rng(seed)
    return [(render(random_drawing(d, rng, **kwargs)), d) for d in range(10) for _ in range(n_per_digit)]


def write_examples(folder: str, digits: tuple[int, ...] = (2, 3, 5, 7, 9), seed: int = 7) -> None:
    """Write a few example drawings (PNG, 400x400, dark ink on white) for the digit tab."""
    from pathlib import Path

    rng = np.random.default_rng(seed)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for d in digits:
        drawing = random_drawing(d, rng, size=(0.6, 0.75), width=(0.09, 0.11))
        render(drawing).save(out / f"digit_{d}.png", optimize=True)


if __name__ == "__main__":
    # python -m harness.digit_drawings assets/examples   (the digit tab's example drawings)
    import sys

    write_examples(sys.argv[1] if len(sys.argv) > 1 else "assets/examples")
