"""One number of a feature map, explained; and why MNIST's preprocessing matters.

The Python reference for the digit tab's browser engine (``ui/static/lenet/``), which
computes the same things in the visitor's browser; the tests hold the two to the same numbers.

``explain_convolution`` opens one pixel of a conv layer's feature map: the 5x5 patch of the layer's
input it reads (every input channel), the kernel, their products, the bias, the sum, the
activation, and the 2x2 pooling block the pixel falls in. CNN Explainer's idea: show the real
numbers of the real model, so a learner can check the arithmetic by hand.

``preprocessing_lesson`` reads the same drawing three ways (``nets.data.sketch.WAYS``) and asks LeNet
about each: squeezing the whole canvas, cropping without centring, and MNIST's own way.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from nets.data.sketch import WAYS, digit_from_mnist, sketch_to_mnist, sketch_ways
from nets.facts import Refusal
from nets.models.lenet import LeNet, LeNetWeights

# The browser engine finds both from the weights' shapes; tests/test_lenet_engine.py checks they agree.
KERNEL = 5  # both conv layers' kernels are 5x5
LAYERS = {1: (6, 28), 2: (16, 10)}  # conv layer -> (feature maps, side of each map)


class ConvolutionError(Refusal):
    """A layer, feature map (channel), row or column that LeNet does not have.

    Codes: ``convolution_layer_out_of_range`` (values ``value``, ``low``, ``high``) and
    ``convolution_{channel,row,col}_out_of_range`` (also ``layer``); ``high`` is included.
    """


def _in_range(value: Any, low: int, high: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value <= high


def check_position(layer: Any, channel: Any, row: Any, col: Any) -> None:
    """Raise ``ConvolutionError`` unless (layer, channel, row, col) is a pixel of LeNet's maps."""
    if not _in_range(layer, 1, 2):
        raise ConvolutionError("convolution_layer_out_of_range", value=layer, low=1, high=2)
    channels, side = LAYERS[int(layer)]
    if not _in_range(channel, 0, channels - 1):
        raise ConvolutionError("convolution_channel_out_of_range", value=channel, low=0, high=channels - 1, layer=layer)
    if not _in_range(row, 0, side - 1):
        raise ConvolutionError("convolution_row_out_of_range", value=row, low=0, high=side - 1, layer=layer)
    if not _in_range(col, 0, side - 1):
        raise ConvolutionError("convolution_col_out_of_range", value=col, low=0, high=side - 1, layer=layer)


def layer_outputs(model: LeNet, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every stage of LeNet's feature extractor for one input ``(1, C, 32, 32)``, batch dropped."""
    f = model.features
    with torch.inference_mode():
        conv1 = f[1](f[0](x))  # (1, 6, 28, 28), activated
        pool1 = f[2](conv1)  # (1, 6, 14, 14)
        conv2 = f[4](f[3](pool1))  # (1, 16, 10, 10), activated
        pool2 = f[5](conv2)  # (1, 16, 5, 5)
    return {"input": x[0], "conv1": conv1[0], "pool1": pool1[0], "conv2": conv2[0], "pool2": pool2[0]}


def explain_convolution(
    model: LeNet, digit_tensor: torch.Tensor, layer: int, channel: int, row: int, col: int
) -> dict[str, Any]:
    """How LeNet computed feature map ``channel`` of conv ``layer`` (1 or 2) at ``(row, col)``.

    ``digit_tensor`` is LeNet's input ``(1, C, 32, 32)`` (``Digit.tensor``). Returns plain Python:

    - ``patch``, ``kernel``, ``products``: lists shaped ``in_channels x 5 x 5``: the part of the
      layer's input the pixel reads (the 32x32 input for layer 1, the pooled layer 1 for layer 2),
      the kernel's weights, and their products;
    - ``bias``; ``sum`` = sum of the products + bias; ``relu`` = max(0, sum);
      ``activated`` = the model's activation of ``sum`` (``activation`` names it: "relu" for the
      shipped model, where it equals ``relu``); ``value`` = the feature map's own value there;
    - ``input_box``: ``[top, left, bottom, right)`` of the pixels of the 32x32 input it depends on
      (its receptive field: 5x5 for layer 1, 14x14 for layer 2);
    - ``pool``: ``{"block", "top", "left", "value", "pooling"}``: the 2x2 block of the feature
      map holding the pixel (at ``top``, ``left`` on the map), and the pooled map's value for it
      (their average, or their maximum for a max-pooling model).

    A position LeNet does not have raises ``ConvolutionError``.
    """
    check_position(layer, channel, row, col)
    layer, channel, row, col = int(layer), int(channel), int(row), int(col)
    outputs = layer_outputs(model, digit_tensor)
    conv = model.features[0 if layer == 1 else 3]
    source = outputs["input" if layer == 1 else "pool1"]  # (C_in, H, W)
    fmap = outputs[f"conv{layer}"][channel]  # (side, side)
    pooled = outputs[f"pool{layer}"][channel]  # (side / 2, side / 2)

    patch = source[:, row : row + KERNEL, col : col + KERNEL].double()  # (C_in, 5, 5)
    kernel = conv.weight[channel].detach().double()  # (C_in, 5, 5)
    products = patch * kernel
    bias = float(conv.bias[channel].detach())
    total = float(products.sum()) + bias
    activated = float(model.features[1](torch.tensor(total, dtype=torch.float64)))
    if layer == 1:
        input_box = [row, col, row + KERNEL, col + KERNEL]  # the patch itself
    else:  # 5 pooled pixels = 10 conv1 pixels, and 10 conv1 pixels read 10 + 4 input pixels
        input_box = [2 * row, 2 * col, 2 * row + 14, 2 * col + 14]
    top, left = 2 * (row // 2), 2 * (col // 2)
    return {
        "patch": patch.tolist(),
        "kernel": kernel.tolist(),
        "products": products.tolist(),
        "bias": bias,
        "sum": total,
        "relu": max(0.0, total),
        "activated": activated,
        "activation": model.activation,
        "value": float(fmap[row, col]),
        "input_box": input_box,
        "pool": {
            "block": fmap[top : top + 2, left : left + 2].tolist(),
            "top": top,
            "left": left,
            "value": float(pooled[row // 2, col // 2]),
            "pooling": model.pooling,
        },
    }


def preprocessing_lesson(value: Any, weights: LeNetWeights, model: LeNet) -> list[tuple[str, int | None, float | None]]:
    """LeNet's answer for the same drawing read the three ways of ``WAYS``, in that order.

    ``[(way, digit, confidence), ...]``: the top digit and its probability, or ``(way, None, None)``
    when there is no digit to read. The ``"mnist_style"`` row is what ``DigitReader.read`` answers.
    """
    images = sketch_ways(value)
    lesson = []
    for way in WAYS:
        if images[way] is None:
            lesson.append((way, None, None))
            continue
        if way == "mnist_style":  # exactly the app's reading, not a copy of it
            digit = sketch_to_mnist(value, weights.mean, weights.std, weights.input_size)
        else:
            digit = digit_from_mnist(images[way], weights.mean, weights.std, weights.input_size)
        with torch.inference_mode():
            probabilities = torch.softmax(model(digit.tensor), 1)[0].numpy()  # (10,)
        best = int(np.argmax(probabilities))
        lesson.append((way, best, float(probabilities[best])))
    return lesson
