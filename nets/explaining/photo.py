"""What torchvision's ImageNet AlexNet sees in a photo, and where it looked (Grad-CAM).

A photo goes through exactly the preprocessing the weights were trained for
(``IMAGENET_WEIGHTS.transforms()``): the shorter side is scaled to 256 pixels (bilinear,
antialiased), the central 224x224 square is cut out and normalised with ImageNet's mean and
standard deviation. The network therefore never sees the edges of a non-square photo, nor a
thin border all round (256 -> 224).

``analyse_photo`` runs the photo through the network once (``nets.explaining.gradcam.GradCam``,
with ImageNet's classifier as the head): its probabilities, its maps at every convolution, and
Grad-CAM at any of the five convolutions (after its ReLU: 55x55, 27x27 or 13x13 cells) for any of
the 1000 classes, each a backward pass only. The photo tab keeps one analysis per visitor, so the
answer, the heatmap and the feature maps of a photo share that one forward pass. The model is
only read.

The heatmap is mapped back onto the photo honestly: it covers only the region of the photo that
became the 224x224 crop (``seen_region``); everywhere else it is 0, because the network did not
see those pixels at all. Inside the region the cells are upsampled bilinearly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from nets.data.images import to_rgb
from nets.explaining.gradcam import GradCam, check_layer
from nets.explaining.imagenet_classes import CATEGORIES, class_index, top_classes
from nets.models.alexnet import IMAGENET_TRANSFORM, device_of, forward_head

TRANSFORM = IMAGENET_TRANSFORM  # resize 256 (bilinear, antialiased), crop 224, normalise
RESIZE = TRANSFORM.resize_size[0]  # 256: the photo's shorter side is scaled to this
CROP = TRANSFORM.crop_size[0]  # 224: the central square the network sees
CAM_CELLS = 13  # conv5's maps A are (1, 256, 13, 13) for a 224x224 crop

# matplotlib's 'inferno' at 0, 0.1, ..., 1: dark (nothing) -> purple -> orange -> pale yellow.
INFERNO = np.array(
    [
        (0, 0, 4),
        (22, 11, 57),
        (66, 10, 104),
        (106, 23, 110),
        (147, 38, 103),
        (188, 55, 84),
        (221, 81, 58),
        (243, 120, 25),
        (252, 165, 10),
        (246, 215, 70),
        (252, 255, 164),
    ],
    dtype=np.float32,
)
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
    """The photo as the ImageNet weights expect it: ``IMAGENET_WEIGHTS.transforms()``, batched.
    The one place a photo that is not RGB yet is made so (``open_rgb`` gives RGB already)."""
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
    """Spread a Grad-CAM of any number of cells (13x13 at conv5, 55x55 at conv1) over the photo's
    crop region, bilinearly, as ``F.interpolate`` stretches a map over the 224x224 crop; 0 outside it."""
    new_width, new_height = resized_size(width, height)
    rows = _interpolation_matrix(height, new_height, cam_cells.shape[0])  # (H, cells)
    columns = _interpolation_matrix(width, new_width, cam_cells.shape[1])  # (W, cells)
    cam = rows @ cam_cells.astype(np.float32) @ columns.T  # (H, W)
    return np.clip(cam, 0.0, 1.0, out=cam)


def imagenet_head(model: nn.Module):
    """ImageNet's classifier as a Grad-CAM head: (1, 256, 6, 6) pooled maps -> (1, 1000) scores."""
    return lambda pooled: forward_head(model, torch.flatten(model.avgpool(pooled), 1))  # (1, 9216) -> (1, 1000)


def classify(
    model: nn.Module, image: Image.Image, top: int = 5, explain: bool = True, cam_size: tuple[int, int] | None = None
) -> Prediction:
    """AlexNet's ``top`` guesses for a photo, with the Grad-CAM of the best one if ``explain``.

    ``model`` is torchvision's AlexNet in eval mode (``load_imagenet_alexnet()``); it is only
    read, so one model can serve many threads at once. Without ``explain`` this is exactly
    torchvision's own inference (no gradient, no heatmap), the cheapest answer. The heatmap has
    the photo's size, or ``cam_size`` (width, height) for a resized copy of the photo (a display
    image: a 50 MP photo's full-size heatmap alone would take 200 MB).
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}.")
    explanation = None
    if explain:
        analysis = analyse_photo(model, image)
        probabilities, seconds = analysis.probabilities, analysis.forward_seconds
        explanation = analysis.grad_cam("conv5", cam_size=cam_size)
    else:
        refuse_training_mode(model)
        start = time.perf_counter()
        with torch.inference_mode():
            probabilities = torch.softmax(model(preprocess(image).to(device_of(model))), dim=1)[0].cpu()  # (1000,)
        seconds = time.perf_counter() - start
    return Prediction(
        top=top_classes(probabilities, top),
        probabilities=probabilities,
        seconds=seconds,
        cam=explanation.cam if explanation else None,
        cam_cells=explanation.cam_cells if explanation else None,
        cam_class=explanation.class_name if explanation else None,
        cam_seconds=explanation.cam_seconds if explanation else 0.0,
    )


def refuse_training_mode(model: nn.Module) -> None:
    """A ``ValueError`` for a model in training mode: its dropout would randomise the guesses."""
    if model.training:
        raise ValueError("AlexNet must be in eval mode to look at a photo (dropout would randomise guesses).")


# --- looking inside: any layer, any class ---------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """Grad-CAM of one class at one layer, for one photo."""

    layer: str  # "conv1".."conv5": the maps A are that convolution's, after its ReLU
    cells: int  # A's size: 55, 27, 13, 13, 13 cells a side for the 224x224 crop
    channels: int  # how many maps A has (64, 192, 384, 256, 256): one Grad-CAM weight each
    class_index: int  # the class explained, 0..999
    class_name: str  # its ImageNet name
    probability: float  # AlexNet's softmax probability for it
    rank: int  # its place among the 1000 guesses: 1 is the top guess
    cam_cells: np.ndarray  # (cells, cells) float32 in [0, 1], over the 224x224 crop
    cam: np.ndarray  # (H, W) float32 in [0, 1], the photo's size or cam_size; 0 outside seen_region
    peak: float  # the heatmap's maximum before scaling to 1; 0: nothing at this layer raised the score
    forward_seconds: float  # the photo's one forward pass (preprocessing included), shared by its explanations
    cam_seconds: float  # this explanation: backward pass, weighting the maps, mapping onto the photo


class PhotoAnalysis:
    """One photo seen by AlexNet once, ready to be explained at any layer for any class.

    Made by ``analyse_photo``. It holds the probabilities and a ``GradCam``: the autograd graph
    from conv1's maps (a leaf of its own) to the 1000 scores, about 3 MB, so each ``grad_cam`` is a
    backward pass only, and the gradients of the last few classes explained (about 2 MB each). The
    shared model is only read (its weights are referenced by the graph, never copied or changed);
    an analysis is for one visitor, and its calls are serialised by a lock.
    """

    def __init__(self, model: nn.Module, image: Image.Image) -> None:
        refuse_training_mode(model)
        self.size: tuple[int, int] = image.size  # (width, height) of the photo
        start = time.perf_counter()
        with torch.inference_mode(False):  # the batch takes part in the graph, even under inference_mode
            batch = preprocess(image).to(device_of(model))  # (1, 3, 224, 224)
            self.forward_pass = GradCam(model.features, imagenet_head(model), batch)  # the one forward pass
        self.probabilities: torch.Tensor = torch.softmax(self.forward_pass.scores, dim=0).cpu()  # (1000,)
        self.forward_seconds = time.perf_counter() - start
        order = torch.argsort(self.probabilities, descending=True, stable=True)  # (1000,) best first
        self._ranks = torch.empty_like(order)
        self._ranks[order] = torch.arange(1, len(order) + 1)  # (1000,): 1 for the top guess

    def top(self, k: int = 5) -> dict[str, float]:
        """The ``k`` best guesses: {class name: probability}, best first."""
        return top_classes(self.probabilities, k)

    def rank(self, target: int | str) -> int:
        """A class's place among the 1000 guesses (1: the top guess)."""
        return int(self._ranks[class_index(target)])

    def activations(self, layer: str) -> torch.Tensor:
        """(C, n, n) a layer's maps for this photo, after its ReLU (a detached copy, on the CPU)."""
        return self.forward_pass.maps[check_layer(layer)].detach()[0].cpu().clone()

    def grad_cam(
        self, layer: str = "conv5", target: int | str | None = None, cam_size: tuple[int, int] | None = None
    ) -> Explanation:
        """Grad-CAM at ``layer`` ("conv1".."conv5") for ``target`` (None: the top guess; a class
        index or name), mapped onto the photo or onto a ``cam_size`` (width, height) copy of it."""
        layer = check_layer(layer)
        index = int(torch.argmax(self.probabilities)) if target is None else class_index(target)
        start = time.perf_counter()
        maps = self.forward_pass.maps[layer]  # (1, C, n, n)
        cam_cells, peak = self.forward_pass.heatmap(index, layer)  # (n, n)
        cam = cam_on_photo(cam_cells, *(cam_size or self.size))  # (H, W)
        return Explanation(
            layer=layer,
            cells=maps.shape[-1],
            channels=maps.shape[1],
            class_index=index,
            class_name=CATEGORIES[index],
            probability=float(self.probabilities[index]),
            rank=int(self._ranks[index]),
            cam_cells=cam_cells,
            cam=cam,
            peak=peak,
            forward_seconds=self.forward_seconds,
            cam_seconds=time.perf_counter() - start,
        )


def analyse_photo(model: nn.Module, image: Image.Image) -> PhotoAnalysis:
    """Run a photo through AlexNet once, ready for ``grad_cam`` at any layer for any class.

    ``model`` is torchvision's AlexNet in eval mode, shared and only read (as in ``classify``).
    """
    return PhotoAnalysis(model, image)


def grad_cam(
    model: nn.Module,
    image: Image.Image,
    layer: str = "conv5",
    target: int | str | None = None,
    cam_size: tuple[int, int] | None = None,
) -> Explanation:
    """Grad-CAM of one photo at ``layer`` ("conv1".."conv5") for ``target`` (None: the top guess;
    a class index or an ImageNet name), in one forward and one backward pass.

    To explain the same photo several ways, keep ``analyse_photo(model, image)`` and call its
    ``grad_cam``: every later explanation is then a backward pass only.
    """
    check_layer(layer)
    if target is not None:
        class_index(target)  # refuse a bad name before the forward pass
    return analyse_photo(model, image).grad_cam(layer, target, cam_size)


# --- the display image ----------------------------------------------------------------------


def inferno(values: np.ndarray) -> np.ndarray:
    """Colours for values in [0, 1] from the 'inferno' colour map: (...,) -> (..., 3) uint8."""
    position = np.clip(np.asarray(values, dtype=np.float32), 0, 1) * (len(INFERNO) - 1)
    low = np.minimum(np.floor(position).astype(np.int64), len(INFERNO) - 2)
    frac = (position - low)[..., None]  # (..., 1)
    colours = INFERNO[low] * (1 - frac) + INFERNO[low + 1] * frac  # (..., 3)
    return np.round(colours).astype(np.uint8)


def cam_overlay(image: Image.Image, cam: np.ndarray, max_side: int = 768, strength: float = 0.55) -> Image.Image:
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
    box = (
        math.floor(left * scale),
        math.floor(top * scale),
        max(math.ceil(right * scale), math.floor(left * scale) + 1),
        max(math.ceil(bottom * scale), math.floor(top * scale) + 1),
    )
    inside = np.zeros(heat.shape, dtype=bool)  # (h, w)
    inside[box[1] : box[3], box[0] : box[2]] = True
    blended = np.where(inside[..., None], coloured, faded)  # (h, w, 3)
    overlay = Image.fromarray(np.clip(np.round(blended), 0, 255).astype(np.uint8), "RGB")

    line = max(1, round(max(size) / 300))
    ImageDraw.Draw(overlay).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), outline=OUTLINE_COLOUR, width=line)
    return overlay
