"""A small drawn data set of shapes for trying fine-tuning with one click: ``assets/shapes.zip``.

Every image is drawn here from a seed, so the example has no licence questions and can be rebuilt
byte for byte. Each picture is one shape (circle, square, triangle; star, hexagon and cross are
there for bigger experiments) at a random size, position, rotation and colour, filled or drawn as
an outline, on a random background: a gradient, soft stripes, a checkerboard or blotches. The
backgrounds vary as much as the shapes, so a model has to look at the outline, not the colours.

``python -m nets.data.example_data`` (re)writes ``assets/shapes.zip``; tests reuse ``make_shapes_zip``
to build zips of any layout in memory.
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from nets.paths import ASSETS

SHAPES_ZIP = ASSETS / "shapes.zip"
SHAPES = ("circle", "square", "triangle", "star", "hexagon", "cross")
SUPERSAMPLE = 3  # draw 3x larger and shrink: smooth edges without anti-aliasing support in ImageDraw
JPEG_QUALITY = 85  # 24 images x 3 classes stay near 4 KB each, well under the 400 KB budget
ZIP_DATE = (2024, 1, 1, 0, 0, 0)  # a fixed timestamp, so the zip's bytes depend only on the seed
VAL_SHARE = 0.2  # the split layout puts this share of each class in val/


def make_shapes_zip(
    path_or_none: str | Path | None,
    *,
    classes: tuple[str, ...] = SHAPES[:3],
    per_class: int = 24,
    layout: str = "flat",
    seed: int = 0,
    size: tuple[int, int] = (128, 160),
) -> bytes:
    """A zip of drawn shapes, "flat" (<class>/) or "split" (train/, val/); also saved if given a path."""
    unknown = [name for name in classes if name not in SHAPES]
    if unknown or layout not in ("flat", "split") or per_class < 1:
        raise ValueError(
            f"classes must come from {SHAPES} (not {unknown}), layout 'flat' or "
            f"'split' (not {layout!r}), per_class at least 1 (not {per_class})"
        )
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for kind in classes:
            n_val = max(1, round(per_class * VAL_SHARE)) if layout == "split" else 0
            for i in range(per_class):
                image = draw_shape(kind, rng, size=size)
                jpeg = io.BytesIO()
                image.save(jpeg, "JPEG", quality=JPEG_QUALITY, optimize=True)
                folder = "" if layout == "flat" else ("val/" if i < n_val else "train/")
                info = zipfile.ZipInfo(f"{folder}{kind}/{kind}_{i:03d}.jpg", date_time=ZIP_DATE)
                info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
                zf.writestr(info, jpeg.getvalue(), compress_type=zipfile.ZIP_STORED)  # JPEG won't shrink
    data = buffer.getvalue()
    if path_or_none is not None:
        Path(path_or_none).parent.mkdir(parents=True, exist_ok=True)
        Path(path_or_none).write_bytes(data)
    return data


def draw_shape(kind: str, rng: np.random.Generator, size: tuple[int, int] = (128, 160)) -> Image.Image:
    """One RGB picture of a ``kind`` shape on a random background, each side in ``size`` px."""
    width, height = (int(rng.integers(size[0], size[1] + 1)) for _ in range(2))
    background = _background(rng, width * SUPERSAMPLE, height * SUPERSAMPLE)
    colour = _contrasting_colour(rng, np.asarray(background).reshape(-1, 3).mean(axis=0))
    short = min(width, height) * SUPERSAMPLE
    radius = short * rng.uniform(0.22, 0.42)  # the shape spans 44-84% of the shorter side
    # keep the centre far enough in that at least most of the shape is visible
    cx = rng.uniform(radius * 0.8, width * SUPERSAMPLE - radius * 0.8)
    cy = rng.uniform(radius * 0.8, height * SUPERSAMPLE - radius * 0.8)
    angle = rng.uniform(0, 2 * math.pi)
    draw = ImageDraw.Draw(background)
    outline_only = rng.random() < 0.25
    line = max(2, int(short * rng.uniform(0.04, 0.07)))
    fill, outline = (None, colour) if outline_only else (colour, None)
    if kind == "circle":
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        draw.ellipse(box, fill=fill, outline=outline, width=line if outline_only else 0)
    else:
        points = _polygon(kind, rng, cx, cy, radius, angle)
        if outline_only:
            draw.line(points + points[:2], fill=colour, width=line, joint="curve")
        else:
            draw.polygon(points, fill=colour)
    image = background.resize((width, height), Image.Resampling.LANCZOS)
    return image


def _polygon(
    kind: str, rng: np.random.Generator, cx: float, cy: float, radius: float, angle: float
) -> list[tuple[float, float]]:
    """The corners of a regular-ish polygon shape around (cx, cy), rotated by ``angle``."""
    if kind == "square":
        radii, corners = [radius] * 4, 4
    elif kind == "triangle":
        radii, corners = [radius * 1.15] * 3, 3  # a triangle looks smaller at the same radius
    elif kind == "hexagon":
        radii, corners = [radius] * 6, 6
    elif kind == "star":
        radii, corners = [radius, radius * 0.45] * 5, 10
    else:  # cross: a plus sign, 12 corners at two radii
        arm = 0.35
        offsets = [
            (arm, 1),
            (arm, arm),
            (1, arm),
            (1, -arm),
            (arm, -arm),
            (arm, -1),
            (-arm, -1),
            (-arm, -arm),
            (-1, -arm),
            (-1, arm),
            (-arm, arm),
            (-arm, 1),
        ]
        cos, sin = math.cos(angle), math.sin(angle)
        return [(cx + radius * (x * cos - y * sin), cy + radius * (x * sin + y * cos)) for x, y in offsets]
    # a little jitter per corner (up to 6% of the radius) so no two shapes are exactly regular
    jitter = rng.uniform(-0.06, 0.06, size=(corners, 2)) * radius
    return [
        (
            cx + r * math.cos(angle + 2 * math.pi * k / corners) + jitter[k, 0],
            cy + r * math.sin(angle + 2 * math.pi * k / corners) + jitter[k, 1],
        )
        for k, r in enumerate(radii)
    ]


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A random smooth background: gradient, stripes, checkerboard or blotches."""
    a, b = rng.integers(0, 256, size=(2, 3)).astype(np.float64)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    style = rng.integers(4)
    if style == 0:  # linear gradient in a random direction
        theta = rng.uniform(0, 2 * math.pi)
        t = x * math.cos(theta) + y * math.sin(theta)
        t = (t - t.min()) / max(np.ptp(t), 1e-9)
    elif style == 1:  # soft stripes
        theta, period = rng.uniform(0, math.pi), rng.uniform(0.15, 0.4) * min(width, height)
        t = 0.5 + 0.5 * np.sin(2 * math.pi * (x * math.cos(theta) + y * math.sin(theta)) / period)
        b = a + (b - a) * 0.5  # stripes at half contrast, so they do not look like shapes
    elif style == 2:  # checkerboard of large, low-contrast cells
        cell = rng.uniform(0.2, 0.35) * min(width, height)
        t = ((x // cell + y // cell) % 2) * 0.35
    else:  # blotches: a few random values, smoothly enlarged
        coarse = Image.fromarray((rng.random((4, 4)) * 255).astype(np.uint8), "L")
        t = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float64) / 255
    pixels = a + (b - a) * t[..., None]
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    return image.filter(ImageFilter.GaussianBlur(2)) if style == 2 else image


def _contrasting_colour(rng: np.random.Generator, background: np.ndarray) -> tuple[int, int, int]:
    """A random colour far enough from the background's mean colour to stand out."""
    for _ in range(100):
        colour = rng.integers(0, 256, size=3)
        if np.linalg.norm(colour - background) > 150:
            break
    else:  # a mid-grey background that nothing random stands out from: black or white
        colour = np.zeros(3) if background.mean() > 127 else np.full(3, 255)
    return int(colour[0]), int(colour[1]), int(colour[2])


if __name__ == "__main__":
    written = make_shapes_zip(SHAPES_ZIP)
    print(f"wrote {SHAPES_ZIP} ({len(written):,} bytes)")
