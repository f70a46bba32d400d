"""Pictures of what AlexNet learned and of what it sees in a photo, for the "Look inside" lesson.

- ``first_layer_filters``: conv1's filters (11x11x3 each) as a colour grid, the picture of the
  2012 paper's figure 3 (there 96 filters, 48 learned on each GPU; torchvision's AlexNet has 64).
  Edges at every angle, stripes, blobs of opposite colours: what the first layer looks for.
- ``strongest_feature_maps``: the channels of one layer's maps (after its ReLU) that a photo
  excites most, as small greyscale tiles: how a photo looks to that layer.

Both return PIL images the UI shows as they are, enlarged with nearest neighbour (each weight or
cell stays a crisp square, as it is a single number) and separated by thin white gaps.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image
from torch import nn

from nets.explaining.gradcam import ExplainError, check_layer
from nets.explaining.photo import PhotoAnalysis, preprocess
from nets.models.alexnet import CONV_RELU_END, device_of

FILTER_COLUMNS = 8  # 64 filters -> 8x8 (the paper's 96 -> 12 rows of 8)
FILTER_SCALE = 5  # an 11x11 filter is drawn 55x55 pixels
TILE_PIXELS = 104  # a feature-map tile is about this wide: 13 cells x 8, 27 x 4, 55 x 2
GAP = 2  # pixels between tiles
GAP_VALUE = 255  # white


def _grid(tiles: np.ndarray, columns: int, gap: int = GAP) -> np.ndarray:
    """(N, h, w[, 3]) uint8 tiles -> one image, ``columns`` tiles a row, ``gap`` white pixels
    around and between them; a last row that is not full stays white."""
    count, height, width = tiles.shape[:3]
    rows = math.ceil(count / columns)
    shape = (rows * (height + gap) + gap, columns * (width + gap) + gap, *tiles.shape[3:])
    canvas = np.full(shape, GAP_VALUE, dtype=np.uint8)
    for number, tile in enumerate(tiles):
        top = gap + (number // columns) * (height + gap)
        left = gap + (number % columns) * (width + gap)
        canvas[top : top + height, left : left + width] = tile
    return canvas


def _enlarge(tiles: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement of (N, h, w, ...) tiles by an integer ``scale``."""
    return tiles.repeat(scale, axis=1).repeat(scale, axis=2)


def first_layer_filters(model: nn.Module, columns: int = FILTER_COLUMNS, scale: int = FILTER_SCALE) -> Image.Image:
    """The first convolution's filters as a grid of colour squares (RGB).

    Each filter is scaled to its own range (its smallest weight over the three colours is black,
    its largest is full colour, as ``torchvision.utils.make_grid(normalize=True, scale_each=True)``
    does): the filters' sizes differ a lot, and on one shared scale the small ones would be flat
    grey, while what the lesson shows is each filter's pattern. A filter whose weights are all
    equal is mid grey.
    """
    first = next(module for module in model.modules() if isinstance(module, nn.Conv2d))
    weights = first.weight.detach().float().cpu()  # (N, 3, 11, 11)
    low = weights.amin(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
    span = weights.amax(dim=(1, 2, 3), keepdim=True) - low  # (N, 1, 1, 1)
    scaled = torch.where(span > 0, (weights - low) / span.clamp_min(1e-12), torch.full_like(weights, 0.5))
    pixels = (scaled * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (N, 11, 11, 3)
    return Image.fromarray(_grid(_enlarge(pixels, scale), columns), "RGB")


def layer_activations(model: nn.Module, image: Image.Image, layer: str) -> torch.Tensor:
    """(C, n, n) a photo's maps at ``layer`` ("conv1".."conv5", after its ReLU), on the CPU."""
    layer = check_layer(layer)
    with torch.inference_mode():
        batch = preprocess(image).to(device_of(model))  # (1, 3, 224, 224)
        return model.features[: CONV_RELU_END[layer]](batch)[0].cpu()  # (C, n, n)


def strongest_feature_maps(
    model: nn.Module, image: Image.Image | PhotoAnalysis, layer: str = "conv1", count: int = 16
) -> tuple[Image.Image, list[tuple[int, float]]]:
    """The ``count`` channels of ``layer`` a photo excites most (by mean activation), as a grid of
    greyscale tiles, strongest first, with [(channel, mean activation), ...] in the same order.

    ``image`` may be a ``PhotoAnalysis`` of the photo: its maps are reused, nothing is run again.
    The tiles share one scale (black 0, white the largest value among the shown maps), so a
    brighter tile is a more active map; ties keep channel order. Refuses an unknown layer, or a
    count outside 1..channels (``feature_count_out_of_range``), with an ``ExplainError``.
    """
    layer = check_layer(layer)
    if isinstance(image, PhotoAnalysis):
        maps = image.activations(layer)  # (C, n, n)
    else:
        maps = layer_activations(model, image, layer)  # (C, n, n)
    channels, cells = maps.shape[0], maps.shape[-1]
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= channels:
        raise ExplainError("feature_count_out_of_range", value=repr(count), low=1, high=channels)
    means = maps.mean(dim=(1, 2)).numpy().astype(np.float64)  # (C,)
    strongest = np.lexsort((np.arange(channels), -means))[:count]  # (count,): by mean, then channel
    shown = maps[torch.from_numpy(strongest)].numpy()  # (count, n, n)
    peak = float(shown.max())
    grey = np.zeros(shown.shape, dtype=np.uint8) if peak <= 0 else np.round(shown / peak * 255).astype(np.uint8)
    scale = max(1, round(TILE_PIXELS / cells))
    picture = _grid(_enlarge(grey, scale), math.ceil(math.sqrt(count)))
    return Image.fromarray(picture, "L"), [(int(channel), float(means[channel])) for channel in strongest]
