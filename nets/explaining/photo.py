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

*Looking inside* (``analyse_photo``, ``grad_cam``): the same Grad-CAM at any of the five
convolutions (after its ReLU: 55x55, 27x27 or 13x13 cells) and for any of the 1000 classes, not
only the top guess. ``analyse_photo`` runs the photo through the network once, keeping the
autograd graph from conv1's maps to the scores; every explanation of that photo is then a
backward pass only (from the class's score down to the chosen layer), and the gradients already
found for a class are reused when a lower layer is asked for. The model is still only read.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from nets.data.images import to_rgb
from nets.facts import Refusal
from nets.models.alexnet import CONV_RELU_END, IMAGENET_TRANSFORM, IMAGENET_WEIGHTS, device_of, forward_head

CATEGORIES: list[str] = list(IMAGENET_WEIGHTS.meta["categories"])  # 1000 ImageNet class names
TRANSFORM = IMAGENET_TRANSFORM  # resize 256 (bilinear, antialiased), crop 224, normalise
RESIZE = TRANSFORM.resize_size[0]  # 256: the photo's shorter side is scaled to this
CROP = TRANSFORM.crop_size[0]  # 224: the central square the network sees
LAST_CONV_RELU = CONV_RELU_END["conv5"]  # model.features[:12] ends with the last convolution's ReLU
CAM_CELLS = 13  # the activation map A is (1, 256, 13, 13) for a 224x224 crop
LAYERS: tuple[str, ...] = tuple(CONV_RELU_END)  # "conv1".."conv5": where Grad-CAM can cut the network
GRADIENT_CLASSES_KEPT = 4  # a PhotoAnalysis keeps the gradients of this many classes (up to 2 MB each)

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
    """Spread a Grad-CAM of any number of cells (13x13 at conv5, 55x55 at conv1) over the photo's
    crop region, bilinearly, as ``F.interpolate`` stretches a map over the 224x224 crop; 0 outside it."""
    new_width, new_height = resized_size(width, height)
    rows = _interpolation_matrix(height, new_height, cam_cells.shape[0])  # (H, cells)
    columns = _interpolation_matrix(width, new_width, cam_cells.shape[1])  # (W, cells)
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
    return weighted_maps(gradients, maps)[0]


def weighted_maps(gradients: torch.Tensor, maps: torch.Tensor) -> tuple[np.ndarray, float]:
    """Grad-CAM from A and dscore/dA, both (1, C, n, n): the (n, n) heatmap scaled to peak 1, and
    that peak (0 when nothing in A raises the score: the heatmap is then all 0)."""
    with torch.no_grad():
        channel_weights = gradients.mean(dim=(2, 3), keepdim=True)  # (1, C, 1, 1)
        heat = torch.relu((channel_weights * maps).sum(dim=1))[0]  # (n, n)
        peak = float(heat.max())
        heat = heat / peak if peak > 0 else torch.zeros_like(heat)  # (n, n) in [0, 1]
    return heat.cpu().numpy().astype(np.float32), peak


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
        return Prediction(
            top=_named(best),
            probabilities=probabilities,
            seconds=seconds,
            cam=None,
            cam_cells=None,
            cam_class=None,
            cam_seconds=0.0,
        )
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

    return Prediction(
        top=_named(best),
        probabilities=probabilities,
        seconds=seconds,
        cam=cam,
        cam_cells=cam_cells,
        cam_class=CATEGORIES[winner],
        cam_seconds=cam_seconds,
    )


def _named(best) -> dict[str, float]:
    """``torch.topk`` of the probabilities as {ImageNet class name: probability}, best first."""
    return {CATEGORIES[int(i)]: float(p) for p, i in zip(best.values, best.indices, strict=True)}


# --- looking inside: any layer, any class ---------------------------------------------------


class ExplainError(Refusal):
    """A layer or class Grad-CAM cannot explain. Codes: ``unknown_layer`` (value, choices),
    ``unknown_class`` (value, suggestions: up to 5 close ImageNet names), ``ambiguous_class``
    (value, choices: names differing only in case, e.g. 'Cardigan' the corgi, 'cardigan' the
    jumper), ``class_index_out_of_range`` (value, low, high), ``feature_count_out_of_range``
    (value, low, high)."""


def class_names() -> list[str]:
    """ImageNet's 1000 class names, in class-index order (a copy: the caller may change it)."""
    return list(CATEGORIES)


def find_classes(query: str, limit: int = 10) -> list[str]:
    """ImageNet class names containing ``query`` (case-insensitive), best matches first, for
    autocomplete: the exact name; then names where it is a whole word ("ice bear", "tiger cat" for
    "ice", "cat"), at the start first; then names or words starting with it ("catamaran"); then the
    rest ("police van"); shorter names first within each. An empty query finds nothing."""
    wanted = str(query).strip().lower()
    if not wanted or limit < 1:
        return []
    word = re.compile(rf"(?<!\w){re.escape(wanted)}(?!\w)")  # the query as whole word(s)
    word_start = re.compile(rf"(?<!\w){re.escape(wanted)}")
    found = []
    for index, name in enumerate(CATEGORIES):
        lower = name.lower()
        if wanted not in lower:
            continue
        whole, starts = word.search(lower), word_start.search(lower)
        if lower == wanted:
            tier = 0
        elif whole:
            tier = 1 if whole.start() == 0 else 2
        elif starts:
            tier = 3 if starts.start() == 0 else 4
        else:
            tier = 5
        found.append((tier, len(name), index))
    return [CATEGORIES[index] for _, _, index in sorted(found)[:limit]]


def _suggestions(value: str, count: int = 5) -> list[str]:
    """Up to ``count`` class names a person may have meant: containing it first, then look-alikes."""
    lowered: dict[str, list[str]] = {}
    for name in CATEGORIES:
        lowered.setdefault(name.lower(), []).append(name)
    close = difflib.get_close_matches(value.strip().lower(), list(lowered), n=count, cutoff=0.6)
    names = find_classes(value, count) + [name for match in close for name in lowered[match]]
    return list(dict.fromkeys(names))[:count]


def class_index(target: int | str) -> int:
    """The ImageNet class index of ``target``: an index 0..999 or a class name (exactly as in
    ``class_names()``, any case, surrounding spaces ignored). Raises ``ExplainError``."""
    if isinstance(target, Integral) and not isinstance(target, bool):
        if not 0 <= int(target) < len(CATEGORIES):
            raise ExplainError("class_index_out_of_range", value=int(target), low=0, high=len(CATEGORIES) - 1)
        return int(target)
    if not isinstance(target, str):
        raise ExplainError("unknown_class", value=repr(target), suggestions=[])
    name = target.strip()
    if name in CATEGORIES:  # the exact spelling wins ('Cardigan' the dog, 'cardigan' the jumper)
        return CATEGORIES.index(name)
    matches = [index for index, known in enumerate(CATEGORIES) if known.lower() == name.lower()]
    if len(matches) > 1:
        raise ExplainError("ambiguous_class", value=name, choices=[CATEGORIES[index] for index in matches])
    if not matches:
        raise ExplainError("unknown_class", value=name, suggestions=_suggestions(name))
    return matches[0]


def check_layer(layer: object) -> str:
    """``layer`` as one of ``LAYERS`` (any case, spaces ignored), or an ``unknown_layer`` refusal."""
    name = layer.strip().lower() if isinstance(layer, str) else None
    if name not in CONV_RELU_END:
        raise ExplainError("unknown_layer", value=str(layer), choices=list(LAYERS))
    return name


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

    Made by ``analyse_photo``. It holds the probabilities and the autograd graph from conv1's maps
    (a leaf of its own) to the 1000 scores, about 3 MB: each ``grad_cam`` is then a backward pass
    only. Gradients found for a class (about 2 MB for all five layers) are kept for the last
    ``GRADIENT_CLASSES_KEPT`` classes explained, so a lower layer for the same class continues
    from the lowest layer already reached. The shared model is only read (its weights are
    referenced by the graph, never copied or changed); an analysis is for one visitor, and its
    calls are serialised by a lock.
    """

    def __init__(self, model: nn.Module, image: Image.Image) -> None:
        if model.training:
            raise ValueError("analyse_photo needs the model in eval mode (dropout would randomise guesses).")
        if image.mode != "RGB":
            image = to_rgb(image)
        self.size: tuple[int, int] = image.size  # (width, height) of the photo
        self._lock = threading.Lock()
        self._gradients: OrderedDict[int, dict[str, torch.Tensor]] = OrderedDict()  # class -> layer -> dscore/dA
        start = time.perf_counter()
        # Autograd even if the caller runs under torch.inference_mode(); grad mode is per thread.
        with torch.inference_mode(False), torch.enable_grad():
            batch = preprocess(image).to(device_of(model))  # (1, 3, 224, 224)
            with torch.no_grad():
                x = model.features[: CONV_RELU_END[LAYERS[0]]](batch)  # (1, 64, 55, 55): conv1 after ReLU
            x.requires_grad_(True)  # a leaf of our own: the graph starts here, the weights stay frozen
            self._maps: dict[str, torch.Tensor] = {LAYERS[0]: x}
            cut = CONV_RELU_END[LAYERS[0]]
            for layer in LAYERS[1:]:  # conv2 (1, 192, 27, 27), conv3 (1, 384, 13, 13), conv4, conv5 (.., 256, 13, 13)
                x = model.features[cut : CONV_RELU_END[layer]](x)
                self._maps[layer], cut = x, CONV_RELU_END[layer]
            x = model.features[cut:](x)  # (1, 256, 6, 6): the last max pooling
            x = torch.flatten(model.avgpool(x), 1)  # (1, 9216)
            self._logits = forward_head(model, x)[0]  # (1000,)
        self.probabilities: torch.Tensor = torch.softmax(self._logits.detach(), dim=0).cpu()  # (1000,)
        self.forward_seconds = time.perf_counter() - start
        order = torch.argsort(self.probabilities, descending=True, stable=True)  # (1000,) best first
        self._ranks = torch.empty_like(order)
        self._ranks[order] = torch.arange(1, len(order) + 1)  # (1000,): 1 for the top guess

    def top(self, k: int = 5) -> dict[str, float]:
        """The ``k`` best guesses: {class name: probability}, best first."""
        return _named(torch.topk(self.probabilities, k=max(1, min(k, self.probabilities.numel()))))

    def rank(self, target: int | str) -> int:
        """A class's place among the 1000 guesses (1: the top guess)."""
        return int(self._ranks[class_index(target)])

    def activations(self, layer: str) -> torch.Tensor:
        """(C, n, n) a layer's maps for this photo, after its ReLU (a detached copy, on the CPU)."""
        return self._maps[check_layer(layer)].detach()[0].cpu().clone()

    def grad_cam(
        self, layer: str = "conv5", target: int | str | None = None, cam_size: tuple[int, int] | None = None
    ) -> Explanation:
        """Grad-CAM at ``layer`` ("conv1".."conv5") for ``target`` (None: the top guess; a class
        index or name), mapped onto the photo or onto a ``cam_size`` (width, height) copy of it."""
        layer = check_layer(layer)
        index = int(torch.argmax(self.probabilities)) if target is None else class_index(target)
        start = time.perf_counter()
        maps = self._maps[layer]  # (1, C, n, n)
        with torch.inference_mode(False):
            cam_cells, peak = weighted_maps(self._gradient(index, layer), maps)  # (n, n)
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

    def _gradient(self, index: int, layer: str) -> torch.Tensor:
        """dscore/dA at ``layer`` for class ``index``: (1, C, n, n), from the nearest layer above
        whose gradient is already known (or from the score), keeping every layer passed on the way."""
        with self._lock:
            known = self._gradients.pop(index, {})
            self._gradients[index] = known  # the most recently used class last
            while len(self._gradients) > GRADIENT_CLASSES_KEPT:
                self._gradients.popitem(last=False)
            if layer not in known:
                below = LAYERS.index(layer)
                above = next((LAYERS[i] for i in range(below + 1, len(LAYERS)) if LAYERS[i] in known), None)
                wanted = LAYERS[below : LAYERS.index(above)] if above else LAYERS[below:]
                source, seed = (self._maps[above], known[above]) if above else (self._logits[index], None)
                gradients = torch.autograd.grad(
                    source, [self._maps[name] for name in wanted], grad_outputs=seed, retain_graph=True
                )  # nothing lands on any .grad
                known.update(zip(wanted, gradients, strict=True))
            return known[layer]


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
