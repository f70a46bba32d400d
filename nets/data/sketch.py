"""From whatever a canvas or an API client sends to the 32x32 tensor LeNet reads.

MNIST was made in a particular way (LeCun, Cortes, Burges): each digit was scaled to fit a 20x20
box keeping its aspect ratio, anti-aliased, then placed in a 28x28 field so that its centre of
mass sits in the middle. LeNet only ever saw digits like that, so a drawing must be brought into
the same form before it is classified; otherwise a small digit in a corner of a large canvas
looks like nothing LeNet knows. The steps:

1. find the ink: stroke layers with alpha (the browser's Sketchpad), dark ink on a light image
   (API clients, a photo of paper), or light ink on a dark image (MNIST itself), in either theme;
2. ignore specks (small blobs far lighter than the digit itself);
3. crop to the ink, scale into a 20x20 box keeping the aspect ratio, anti-aliased;
4. centre by centre of mass in 28x28, pad to 32x32 as LeCun did, normalise as in training.

A canvas with no ink, or only a dot or a speck, gives ``None``: no digit, so no guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

# The browser engine reads these from assets/web/lenet_engine_facts.js (nets.models.lenet.engine_facts).
WORK_SIZE = 160  # longest side the ink is analysed at: 8x the 20 px box, plenty for detail
INK_THRESHOLD = 0.3  # ink strength (0..1) that counts as part of a stroke
SPECK_FRACTION = 0.08  # a blob with less than this share of the largest blob's ink is a speck
MIN_DIGIT_EXTENT = 0.08  # the digit must span at least this share of the canvas' longest side
MIN_CONTRAST = 0.12  # ink must differ from the background by this much (0..1) to count at all
BOX, FIELD = 20, 28  # MNIST: each digit scaled into a 20x20 box, centred in a 28x28 field


@dataclass(frozen=True)
class Digit:
    """A drawing in MNIST form: the 28x28 image (ink bright, 0..255) and LeNet's input."""

    mnist: np.ndarray  # (28, 28) uint8, what LeNet sees before padding
    tensor: torch.Tensor  # (1, 1, S, S) float, padded to the weights' input size S, normalised


def sketch_to_mnist(value: Any, mean: float, std: float, input_size: int) -> Digit | None:
    """Turn a Sketchpad value, an image, an array or a file path into LeNet's input.

    ``mean``, ``std`` and ``input_size`` come from the weights' metadata (``LeNetWeights``): the
    normalisation they were trained with and the side of their input (32 for LeNet: MNIST's 28
    padded by 2 on each side, as LeCun did). Returns ``None`` when there is no digit to classify
    (blank canvas, only specks or a dot).
    """
    ink = find_ink(value)
    if ink is None:
        return None
    ink = keep_digit(ink)
    if ink is None:
        return None
    return digit_from_mnist(centre_in_field(scale_into_box(crop_to_ink(ink))), mean, std, input_size)


# --- 1. finding the ink -------------------------------------------------------------------


def find_ink(value: Any) -> np.ndarray | None:
    """Ink strength in [0, 1] as ``(h, w)`` float32 at the working size (at most ``WORK_SIZE``
    a side), or ``None`` if the value holds no image.

    A Sketchpad value is a dict: the browser sends each stroke layer with alpha, which is the
    cleanest source (independent of colour and page theme); API clients usually send only a
    composite. Layers are used when they hold any ink, else the composite, else the background.
    """
    if isinstance(value, dict):
        layers = [as_array(layer) for layer in value.get("layers") or []]
        layer_inks = [to_work_size(a[..., -1].astype(np.float32) / 255.0) for a in layers if has_alpha(a)]
        layer_inks = [ink for ink in layer_inks if ink.max() >= MIN_CONTRAST]
        if layer_inks and all(ink.shape == layer_inks[0].shape for ink in layer_inks):
            return np.maximum.reduce(layer_inks)
        for key in ("composite", "background"):
            if value.get(key) is not None:
                return image_ink(as_array(value[key]))
        return None
    if value is None:
        return None
    return image_ink(as_array(value))


def as_array(image: Any) -> np.ndarray:
    """A PIL image, array or file path as a uint8 array ``(H, W)``, ``(H, W, 2|3|4)``."""
    if isinstance(image, (str, Path)):
        with Image.open(image) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    if isinstance(image, Image.Image):
        if image.mode not in ("L", "LA", "RGB", "RGBA"):
            image = image.convert("RGBA" if "transparency" in image.info or "A" in image.mode else "RGB")
        image = np.asarray(image)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        # Floats in [0, 1] or wider integers: rescale to 0..255 by their own range.
        array = array.astype(np.float32)
        top = 1.0 if array.max() <= 1.0 else (65535.0 if array.max() > 255 else 255.0)
        array = np.clip(array / top * 255.0, 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (2, 3, 4)):
        raise ValueError(f"expected an image, got an array of shape {array.shape}")
    return array


def has_alpha(array: np.ndarray) -> bool:
    return array.ndim == 3 and array.shape[2] in (2, 4)


def image_ink(array: np.ndarray) -> np.ndarray:
    """Ink of one image, whichever way round it is: dark on light, light on dark, or alpha.

    The image is reduced to greys and shrunk to the working size first, with Pillow's C code on
    8-bit pixels: a 400x400 canvas costs well under a millisecond.
    """
    if has_alpha(array):
        alpha = array[..., -1]
        if alpha.min() < 255:
            # Strokes on a transparent canvas: the alpha is the ink (whatever the stroke colour).
            if np.count_nonzero(alpha > 127) < alpha.size / 2:
                return to_work_size(alpha.astype(np.float32) / 255.0)
            # Otherwise the image is mostly opaque: flatten it onto white and read its brightness.
            rgba = Image.fromarray(array if array.shape[2] == 4 else np.dstack([array[..., 0]] * 3 + [alpha]))
            array = np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L"))
        else:  # opaque everywhere: the alpha says nothing (Pillow's "L" ignores it)
            array = np.asarray(Image.fromarray(array).convert("L")) if array.shape[2] == 4 else array[..., 0]
    if array.ndim == 3:
        array = array[..., 0] if array.shape[2] == 1 else np.asarray(Image.fromarray(array).convert("L"))
    grey = Image.fromarray(array)  # "L": ITU-R 601 luma, 0.299 R + 0.587 G + 0.114 B
    scale = WORK_SIZE / max(grey.size)
    if scale < 1:
        grey = grey.resize(
            (max(1, round(grey.width * scale)), max(1, round(grey.height * scale))), Image.Resampling.BOX
        )
    gray = np.asarray(grey, dtype=np.float32) / 255.0  # (h, w) brightness, at most WORK_SIZE a side
    # The background is what most of the image is; ink is whatever departs from it.
    background = float(np.median(gray))
    if background >= 0.5:
        return np.clip((background - gray) / max(background, 1e-6), 0, 1)
    return np.clip((gray - background) / max(1.0 - background, 1e-6), 0, 1)


# --- 2. specks and blank canvases ---------------------------------------------------------


def to_work_size(ink: np.ndarray) -> np.ndarray:
    """Shrink (area-average) so the longest side is at most ``WORK_SIZE``; never enlarge."""
    h, w = ink.shape
    scale = WORK_SIZE / max(h, w)
    if scale >= 1:
        return ink.astype(np.float32)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX))


def keep_digit(ink: np.ndarray) -> np.ndarray | None:
    """Stretch the ink's contrast, drop specks, and return ``None`` if no digit is left."""
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        return None
    strong = ink[ink >= 0.5 * peak]
    ink = np.clip(ink / float(np.percentile(strong, 90)), 0, 1)  # full-strength strokes ~ 1.0
    mask = ink >= INK_THRESHOLD
    labels = connected_components(mask)
    count = int(labels.max())
    if count == 0:
        return None
    mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]
    largest = int(mass.argmax()) + 1
    ys, xs = np.nonzero(labels == largest)
    extent = max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1)
    if extent < MIN_DIGIT_EXTENT * max(ink.shape):
        return None  # only a dot or a speck: no digit to read
    keep = np.isin(labels, 1 + np.flatnonzero(mass >= SPECK_FRACTION * mass.max()))
    # Keep the anti-aliased rim of the kept strokes too (it lies below the threshold).
    near = F.max_pool2d(torch.from_numpy(keep).float()[None, None], 5, stride=1, padding=2)[0, 0].numpy()
    return ink * (near > 0)


def connected_components(mask: np.ndarray) -> np.ndarray:
    """8-connected component labels of a boolean mask (0 = background), numbered 1..n.

    The classic run-based two-pass algorithm: each row's runs of ink are united with the runs of
    the row above that touch them (diagonals included), with a union-find over runs. A drawing
    has a few hundred runs, so this takes about a millisecond in plain Python.
    """
    height, width = mask.shape
    padded = np.zeros((height, width + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)  # +1 where a run starts, -1 just after it ends
    starts_y, starts_x = np.nonzero(edges == 1)
    _, ends_x = np.nonzero(edges == -1)  # same row-major order as the starts
    parent = list(range(len(starts_x)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(starts_y, np.arange(height + 1))  # runs of row y: [first[y], first[y+1])
    for y in range(1, height):
        above, above_end = row_first[y - 1], row_first[y]
        for run in range(row_first[y], row_first[y + 1]):
            x0, x1 = starts_x[run], ends_x[run]  # the run covers x0..x1-1
            while above < above_end and ends_x[above] < x0:  # ends before x0 - 1: cannot touch
                above += 1
            other = above
            while other < above_end and starts_x[other] <= x1:  # starts by x1: touches diagonally
                a, b = root(run), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
                other += 1
    roots = np.array([root(i) for i in range(len(parent))], dtype=np.int64)
    _, numbers = np.unique(roots, return_inverse=True)
    labels = np.zeros((height, width), np.int64)
    for run, number in enumerate(numbers):
        labels[starts_y[run], starts_x[run] : ends_x[run]] = number + 1
    return labels


# --- 3. and 4. MNIST's own normalisation --------------------------------------------------


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(ink > 0)
    return ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def scale_into_box(ink: np.ndarray) -> np.ndarray:
    """Resize so the longest side is 20 px, keeping the aspect ratio, anti-aliased (Lanczos)."""
    h, w = ink.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    boxed = np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS))
    boxed = np.clip(boxed, 0, None)
    return np.clip(boxed / max(float(boxed.max()), 1e-6), 0, 1)


def centre_in_field(boxed: np.ndarray) -> np.ndarray:
    """Place the boxed digit in 28x28 with its centre of mass in the middle (uint8, ink bright)."""
    h, w = boxed.shape
    total = boxed.sum()
    cy = (boxed.sum(1) * np.arange(h)).sum() / total
    cx = (boxed.sum(0) * np.arange(w)).sum() / total
    # MNIST's digits have their centre of mass at pixel (14, 14) on average (measured on the
    # test set: 13.99, 14.01), one half pixel off the geometric centre 13.5.
    top = int(np.clip(round(FIELD / 2 - cy), 0, FIELD - h))
    left = int(np.clip(round(FIELD / 2 - cx), 0, FIELD - w))
    field = np.zeros((FIELD, FIELD), np.float32)
    field[top : top + h, left : left + w] = boxed
    return np.round(field * 255).astype(np.uint8)


# --- why the steps matter: three ways to read the same drawing ----------------------------

# The preprocessing lesson's ways, from naive to MNIST's: the whole canvas squeezed to 28x28; the
# ink cropped and scaled into the 20x20 box but left in the field's top-left corner; the app's
# own MNIST-style reading (cropped, scaled, centred by mass).
WAYS = ("squeezed", "cropped_not_centred", "mnist_style")


def squeeze_canvas(ink: np.ndarray) -> np.ndarray:
    """The whole (cleaned) canvas squeezed to 28x28, ignoring where and how big the digit is.

    Anti-aliased like ``scale_into_box`` (Lanczos), clipped and normalised by its maximum, so only
    the crop and the centring differ from the MNIST way. ``(28, 28)`` uint8, ink bright.
    """
    squeezed = np.asarray(
        Image.fromarray(ink.astype(np.float32), mode="F").resize((FIELD, FIELD), Image.Resampling.LANCZOS)
    )
    squeezed = np.clip(squeezed, 0, None)
    squeezed = np.clip(squeezed / max(float(squeezed.max()), 1e-6), 0, 1)
    return np.round(squeezed * 255).astype(np.uint8)


def place_in_corner(boxed: np.ndarray) -> np.ndarray:
    """Put the boxed digit in the 28x28 field's top-left corner, not centred (uint8, ink bright)."""
    h, w = boxed.shape
    field = np.zeros((FIELD, FIELD), np.float32)
    field[:h, :w] = boxed
    return np.round(field * 255).astype(np.uint8)


def sketch_ways(value: Any) -> dict[str, np.ndarray | None]:
    """The same drawing read the three ways of ``WAYS``: ``{way: (28, 28) uint8 or None}``.

    The ink is found and cleaned once (specks dropped) as ``sketch_to_mnist`` does; every way is
    ``None`` when there is no digit. The ``"mnist_style"`` image is ``sketch_to_mnist``'s.
    """
    ink = find_ink(value)
    ink = None if ink is None else keep_digit(ink)
    if ink is None:
        return dict.fromkeys(WAYS)
    boxed = scale_into_box(crop_to_ink(ink))
    return {
        "squeezed": squeeze_canvas(ink),
        "cropped_not_centred": place_in_corner(boxed),
        "mnist_style": centre_in_field(boxed),
    }


def digit_from_mnist(mnist: np.ndarray, mean: float, std: float, input_size: int) -> Digit:
    """A 28x28 uint8 image (ink bright) as LeNet's input, padded and normalised as in
    ``sketch_to_mnist`` (the same operations, so the same tensor)."""
    pad = (input_size - FIELD) // 2
    if pad < 0 or FIELD + 2 * pad != input_size:
        raise ValueError(f"input_size must be {FIELD} plus an even padding, not {input_size}")
    x = torch.from_numpy(np.ascontiguousarray(mnist)).float().div(255.0)  # (28, 28)
    x = F.pad(x, (pad, pad, pad, pad))  # (S, S)
    x = (x - mean) / std
    return Digit(mnist=mnist, tensor=x.view(1, 1, input_size, input_size))
