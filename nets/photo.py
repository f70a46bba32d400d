"""What torchvision's ImageNet AlexNet sees in a photo, and where it looked (Grad-CAM).

A photo goes through exactly the preprocessing the weights were trained for
(``IMAGENET_WEIGHTS.transforms()``): the shorter side is scaled to 256 pixels (bilinear,
antialiased), the central 224x224 square is cut out and normalised with ImageNet's mean and
standard deviation. The network therefore never sees the edges of a non-square photo, nor a
thin border all round (256 -> 224).

Grad-CAM (Selvaraju et al., 2017) answers "which part of the picture made AlexNet say this?".
Take A, the 256 maps after the last convolution's ReLU (13x13 cells over the 224x224 crop), and
the gradient of the top class's score with respect to A. Averaging that gradient over each map
gives one weight per map (how much that map pushes the score up); the weighted sum of the maps,
with negative evidence cut off (ReLU), is the heatmap. It is computed *functionally*: the shared
model is run layer by layer and the gradient is taken with ``torch.autograd.grad`` with respect
to A alone, so the model (shared by every visitor and every thread) is never touched: no hooks,
no ``.train()``, no gradients stored on its parameters. One forward pass serves both the
probabilities and the heatmap.

The heatmap is mapped back onto the photo honestly: it covers only the region of the photo that
became the 224x224 crop (``seen_region``); everywhere else it is 0, because the network did not
see those pixels at all. Inside the region the 13x13 cells are upsampled bilinearly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from nets.alexnet import CONV_RELU_END, IMAGENET_TRANSFORM, IMAGENET_WEIGHTS, device_of, forward_head
from nets.images import to_rgb

CATEGORIES: list[str] = list(IMAGENET_WEIGHTS.meta["categories"])  # 1000 ImageNet class names
TRANSFORM = IMAGENET_TRANSFORM  # resize 256 (bilinear, antialiased), crop 224, normalise
RESIZE = TRANSFORM.resize_size[0]  # 256: the photo's shorter side is scaled to this
CROP = TRANSFORM.crop_size[0]  # 224: the central square the network sees
LAST_CONV_RELU = CONV_RELU_END["conv5"]  # model.features[:12] ends with the last convolution's ReLU
CAM_CELLS = 13  # the activation map A is (1, 256, 13, 13) for a 224x224 crop

# matplotlib's 'inferno' at 0, 0.1, ..., 1: dark (nothing) -> purple -> orange -> pale yellow.
INFERNO = np.array([
    (0, 0, 4), (22, 11, 57), (66, 10, 104), (106, 23, 110), (147, 38, 103), (188, 55, 84),
    (221, 81, 58), (243, 120, 25), (252, 165, 10), (246, 215, 70), (252, 255, 164),
], dtype=np.float32)
OUTLINE_COLOUR = (64, 224, 255)  # cyan: stands out against every inferno colour


@dataclass(frozen=True)
class Prediction:
    """AlexNet's answer for one photo: the best guesses, all probabilities and the heatmap."""

    top: dict[str, float]  # class name -> softmax probability, the best first
    probabilities: torch.Tensor  # (1000,) softmax over all ImageNet classes
    seconds: float  # wall time of preprocessing + forward pass (what "inference time" means here)
    # The heatmap, when asked for (``explain=True``); None otherwise:
    cam: np.ndarray | None  # (H, W) float32 in [0, 1], the photo's size; 0 outside seen_region
    cam_cells: np.ndarray | None  # (13, 13) float32 in [0, 1], Grad-CAM over the 224x224 crop
    cam_class: str | None  # the class the heatmap explains (the top-1 guess)
    cam_seconds: float  # wall time of the Grad-CAM backward pass and the mapping onto the photo


def preprocess(image: Image.Image) -> torch.Tensor:
    """The photo as the ImageNet weights expect it: ``IMAGENET_WEIGHTS.transforms()``, batched."""
    if image.mode != "RGB":
        image = to_rgb(image)
    return TRANSFORM(image).unsqueeze(0)  # (1, 3, 224, 224)


def resized_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the photo after its shorter side is scaled to 256, as torchvision does."""
    if width <= height:
        return RESIZE, int(RESIZE * height / width)
    return int(RESIZE * width / height), RESIZE


def _crop_coordinates(photo: int, resized: int) -> np.ndarray:
    """Each photo pixel's centre along one axis, in pixels of the 224 crop (seen: 0 <= u < 224)."""
    offset = int(round((resized - CROP) / 2.0))  # torchvision's centre crop offset
    return (np.arange(photo, dtype=np.float64) + 0.5) * (resized / photo) - offset  # (photo,)


def seen_region(width: int, height: int) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom; right/bottom exclusive) of the photo the network saw.

    These are the photo's pixels whose centres fall inside the 224x224 centre crop.
    """
    new_width, new_height = resized_size(width, height)
    box = []
    for photo, resized in ((width, new_width), (height, new_height)):
        u = _crop_coordinates(photo, resized)  # (photo,)
        inside = np.flatnonzero((u >= 0) & (u < CROP))
        box.append((int(inside[0]), int(inside[-1]) + 1))
    (left, right), (top, bottom) = box
    return left, top, right, bottom


def _interpolation_matrix(photo: int, resized: int, cells: int = CAM_CELLS) -> np.ndarray:
    """(photo, cells) bilinear weights from the crop's cells to photo pixels; zero rows outside."""
    u = _crop_coordinates(photo, resized)  # (photo,)
    inside = (u >= 0) & (u < CROP)
    g = np.clip(u * cells / CROP - 0.5, 0, cells - 1)  # position in cell units, centres at 0..12
    low = np.floor(g).astype(np.int64)
    high = np.minimum(low + 1, cells - 1)
    frac = (g - low).astype(np.float32)
    weights = np.zeros((photo, cells), dtype=np.float32)
    rows = np.arange(photo)
    np.add.at(weights, (rows, low), 1.0 - frac)
    np.add.at(weights, (rows, high), frac)
    weights[~inside] = 0.0
    return weights


def cam_on_photo(cam_cells: np.ndarray, width: int, height: int) -> np.ndarray:
    """Spread the 13x13 Grad-CAM over the photo's crop region (bilinear); 0 outside it."""
    new_width, new_height = resized_size(width, height)
    rows = _interpolation_matrix(height, new_height, cam_cells.shape[0])  # (H, 13)
    columns = _interpolation_matrix(width, new_width, cam_cells.shape[1])  # (W, 13)
    cam = rows @ cam_cells.astype(np.float32) @ columns.T  # (H, W)
    return np.clip(cam, 0.0, 1.0, out=cam)


def _forward(model: nn.Module, image: Image.Image, top: int):
    """One forward pass that keeps A, the last conv's ReLU maps, as the leaf Grad-CAM needs."""
    start = time.perf_counter()
    with torch.no_grad():
        batch = preprocess(image).to(device_of(model))  # (1, 3, 224, 224)
        maps = model.features[:LAST_CONV_RELU](batch)  # (1, 256, 13, 13): A, last conv's ReLU
    maps = maps.detach().requires_grad_(True)  # a leaf of our own; the model's weights stay frozen
    with torch.enable_grad():
        x = model.features[LAST_CONV_RELU:](maps)  # (1, 256, 6, 6): the last max pooling
        x = model.avgpool(x)  # (1, 256, 6, 6)
        x = torch.flatten(x, 1)  # (1, 9216)
        logits = forward_head(model, x)  # (1, 1000)
    probabilities = torch.softmax(logits.detach(), dim=1)[0].cpu()  # (1000,)
    best = torch.topk(probabilities, k=min(top, probabilities.numel()))
    return logits, maps, probabilities, best, time.perf_counter() - start


def _grad_cam(score: torch.Tensor, maps: torch.Tensor) -> np.ndarray:
    """Grad-CAM of one class score over A: ReLU(sum_k mean(dscore/dA_k) * A_k), peak scaled to 1."""
    (gradients,) = torch.autograd.grad(score, maps)  # (1, 256, 13, 13); nothing lands on .grad
    with torch.no_grad():
        channel_weights = gradients.mean(dim=(2, 3), keepdim=True)  # (1, 256, 1, 1)
        heat = torch.relu((channel_weights * maps).sum(dim=1))[0]  # (13, 13)
        peak = float(heat.max())
        heat = heat / peak if peak > 0 else torch.zeros_like(heat)  # (13, 13) in [0, 1]
    return heat.cpu().numpy().astype(np.float32)


def classify(model: nn.Module, image: Image.Image, top: int = 5, explain: bool = True,
             cam_size: tuple[int, int] | None = None) -> Prediction:
    """AlexNet's ``top`` guesses for a photo, with the Grad-CAM of the best one if ``explain``.

    ``model`` is torchvision's AlexNet in eval mode (``load_imagenet_alexnet()``); it is only
    read, so one model can serve many threads at once. Without ``explain`` this is exactly
    torchvision's own inference (no gradient, no heatmap), the cheapest answer. The heatmap has
    the photo's size, or ``cam_size`` (width, height) for a resized copy of the photo (a display
    image: a 50 MP photo's full-size heatmap alone would take 200 MB).
    """
    if model.training:
        raise ValueError("classify needs the model in eval mode (dropout would randomise guesses).")
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}.")
    if image.mode != "RGB":
        image = to_rgb(image)
    if not explain:
        start = time.perf_counter()
        with torch.inference_mode():
            probabilities = torch.softmax(model(preprocess(image).to(device_of(model))), dim=1)[0].cpu()  # (1000,)
        seconds = time.perf_counter() - start
        best = torch.topk(probabilities, k=min(top, probabilities.numel()))
        return Prediction(top=_named(best), probabilities=probabilities, seconds=seconds, cam=None,
                          cam_cells=None, cam_class=None, cam_seconds=0.0)
    width, height = image.size
    # Grad-CAM needs autograd even if the caller runs under torch.inference_mode() (whose tensors
    # cannot take part in a backward pass); grad mode is per thread, so this affects only us.
    with torch.inference_mode(False):
        logits, maps, probabilities, best, seconds = _forward(model, image, top)
        start = time.perf_counter()
        winner = int(best.indices[0])
        cam_cells = _grad_cam(logits[0, winner], maps)  # (13, 13)
        cam = cam_on_photo(cam_cells, *(cam_size or (width, height)))  # (H, W)
        cam_seconds = time.perf_counter() - start

    return Prediction(top=_named(best), probabilities=probabilities, seconds=seconds, cam=cam,
                      cam_cells=cam_cells, cam_class=CATEGORIES[winner], cam_seconds=cam_seconds)


def _named(best) -> dict[str, float]:
    """``torch.topk`` of the probabilities as {ImageNet class name: probability}, best first."""
    return {CATEGORIES[int(i)]: float(p) for p, i in zip(best.values, best.indices, strict=True)}


def inferno(values: np.ndarray) -> np.ndarray:
    """Colours for values in [0, 1] from the 'inferno' colour map: (...,) -> (..., 3) uint8."""
    position = np.clip(np.asarray(values, dtype=np.float32), 0, 1) * (len(INFERNO) - 1)
    low = np.minimum(np.floor(position).astype(np.int64), len(INFERNO) - 2)
    frac = (position - low)[..., None]  # (..., 1)
    colours = INFERNO[low] * (1 - frac) + INFERNO[low + 1] * frac  # (..., 3)
    return np.round(colours).astype(np.uint8)


def cam_overlay(image: Image.Image, cam: np.ndarray, max_side: int = 768,
                strength: float = 0.55) -> Image.Image:
    """A display image: the photo (at most ``max_side`` px) with the heatmap and the seen region.

    Inside the region the network saw, the photo is blended with the inferno colours of the
    heatmap (``strength`` of colour); outside it the photo is faded to grey, since the network
    never saw those pixels; a thin cyan line marks the border.
    """
    if image.mode != "RGB":
        image = to_rgb(image)
    width, height = image.size
    if cam.shape != (height, width):
        raise ValueError(f"cam has shape {cam.shape}, but the photo is {height} x {width} (H x W).")
    scale = min(1.0, max_side / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    photo = image.resize(size, Image.Resampling.BILINEAR) if scale < 1 else image
    heat = Image.fromarray(np.ascontiguousarray(cam, dtype=np.float32), mode="F")
    heat = np.asarray(heat.resize(size, Image.Resampling.BILINEAR) if scale < 1 else heat)  # (h, w)

    pixels = np.asarray(photo, dtype=np.float32)  # (h, w, 3)
    coloured = pixels * (1 - strength) + inferno(heat).astype(np.float32) * strength  # (h, w, 3)
    grey = pixels.mean(axis=2, keepdims=True)  # (h, w, 1)
    faded = np.repeat(0.5 * grey + 64.0, 3, axis=2)  # (h, w, 3): washed-out grey

    left, top, right, bottom = seen_region(width, height)
    box = (math.floor(left * scale), math.floor(top * scale),
           max(math.ceil(right * scale), math.floor(left * scale) + 1),
           max(math.ceil(bottom * scale), math.floor(top * scale) + 1))
    inside = np.zeros(heat.shape, dtype=bool)  # (h, w)
    inside[box[1]:box[3], box[0]:box[2]] = True
    blended = np.where(inside[..., None], coloured, faded)  # (h, w, 3)
    overlay = Image.fromarray(np.clip(np.round(blended), 0, 255).astype(np.uint8), "RGB")

    line = max(1, round(max(size) / 300))
    ImageDraw.Draw(overlay).rectangle((box[0], box[1], box[2] - 1, box[3] - 1),
                                      outline=OUTLINE_COLOUR, width=line)
    return overlay
