"""Grad-CAM (Selvaraju et al., 2017), once for the whole app: which part of the picture made AlexNet
give this class its score?

Take A, a convolution's maps after its ReLU (conv5: 256 maps of 13x13 cells over the 224x224
crop), and the gradient of one class's score with respect to A. Averaging that gradient over each
map gives one weight per map (how much that map pushes the score up); the weighted sum of the maps,
with negative evidence cut off (ReLU), is the heatmap (``weighted_maps``).

``GradCam`` runs one picture through AlexNet's convolutions and a head once, keeping the autograd
graph from the first asked layer's maps (a leaf of its own) to the scores. Every heatmap of that
picture is then a backward pass only (``torch.autograd.grad``, from one class's score down to the
chosen layer), and the gradients found for a class are reused when a lower layer is asked for.
The network is only read: no hooks, no ``.train()``, no gradient lands on a weight, so one model
can serve every visitor and every thread. The photo tab uses it with ImageNet's classifier
(``nets.explaining.photo``), the fine-tune lab with a visitor's own head (``nets.training.finetune``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from nets.facts import Refusal
from nets.models.alexnet import CONV_RELU_END

LAYERS: tuple[str, ...] = tuple(CONV_RELU_END)  # "conv1".."conv5": where Grad-CAM can cut the network
GRADIENT_CLASSES_KEPT = 4  # a GradCam keeps the gradients of this many classes (up to 2 MB each)


class ExplainError(Refusal):
    """A layer or class Grad-CAM cannot explain. Codes: ``unknown_layer`` (value, choices),
    ``unknown_class`` (value, suggestions: up to 5 close ImageNet names), ``ambiguous_class``
    (value, choices: names differing only in case, e.g. 'Cardigan' the corgi, 'cardigan' the
    jumper), ``imagenet_class_name_too_long`` (length, limit), ``class_index_out_of_range`` (value, low, high),
    ``feature_count_out_of_range`` (value, low, high)."""


def check_layer(layer: object) -> str:
    """``layer`` as one of ``LAYERS`` (any case, spaces ignored), or an ``unknown_layer`` refusal."""
    name = layer.strip().lower() if isinstance(layer, str) else None
    if name not in CONV_RELU_END:
        raise ExplainError("unknown_layer", value=str(layer), choices=list(LAYERS))
    return name


def weighted_maps(gradients: torch.Tensor, maps: torch.Tensor) -> tuple[np.ndarray, float]:
    """Grad-CAM from A and dscore/dA, both (1, C, n, n): ReLU(sum_k mean(dscore/dA_k) * A_k), the
    (n, n) heatmap scaled to peak 1, and that peak (0 when nothing in A raises the score: the
    heatmap is then all 0)."""
    with torch.no_grad():
        channel_weights = gradients.mean(dim=(2, 3), keepdim=True)  # (1, C, 1, 1)
        heat = torch.relu((channel_weights * maps).sum(dim=1))[0]  # (n, n)
        peak = float(heat.max())
        heat = heat / peak if peak > 0 else torch.zeros_like(heat)  # (n, n) in [0, 1]
    return heat.cpu().numpy().astype(np.float32), peak


class GradCam:
    """One picture seen by AlexNet's convolutions and a head once, ready for Grad-CAM at any of
    ``layers`` for any class.

    ``convolutions`` is an AlexNet's ``features``; ``head`` turns their output, (1, 256, 6, 6)
    after the last max pooling, into (1, N) scores; ``batch`` is the picture, (1, 3, 224, 224),
    already where the weights are. The graph starts at the first of ``layers`` (the convolutions
    below it run without one), so ``layers=("conv5",)`` is the cheapest when only conv5 is asked
    for. Gradients found for a class are kept for the last ``GRADIENT_CLASSES_KEPT`` classes;
    calls are serialised by a lock.
    """

    def __init__(
        self,
        convolutions: nn.Sequential,
        head: Callable[[torch.Tensor], torch.Tensor],
        batch: torch.Tensor,
        layers: tuple[str, ...] = LAYERS,
    ) -> None:
        self.layers = tuple(sorted({check_layer(layer) for layer in layers}, key=LAYERS.index))
        self._lock = threading.Lock()
        self._gradients: OrderedDict[int, dict[str, torch.Tensor]] = OrderedDict()  # class -> layer -> dscore/dA
        # Autograd even if the caller runs under torch.inference_mode() (whose tensors cannot take
        # part in a backward pass); grad mode is per thread, so this affects only us.
        with torch.inference_mode(False), torch.enable_grad():
            cut = CONV_RELU_END[self.layers[0]]
            with torch.no_grad():
                x = convolutions[:cut](batch)  # (1, C, n, n): the first layer's maps, after its ReLU
            x.requires_grad_(True)  # a leaf of our own: the graph starts here, the weights stay frozen
            self.maps: dict[str, torch.Tensor] = {self.layers[0]: x}  # layer -> (1, C, n, n)
            for layer in self.layers[
                1:
            ]:  # conv2 (1, 192, 27, 27), conv3 (1, 384, 13, 13), conv4, conv5 (.., 256, 13, 13)
                x = convolutions[cut : CONV_RELU_END[layer]](x)
                self.maps[layer], cut = x, CONV_RELU_END[layer]
            self._scores = head(convolutions[cut:](x))[0]  # (N,); the last max pooling gives (1, 256, 6, 6)
        self.scores: torch.Tensor = self._scores.detach()  # (N,) the class scores (logits)

    def classes_kept(self) -> list[int]:
        """The classes whose gradients are kept, the least recently explained first."""
        with self._lock:
            return list(self._gradients)

    def heatmap(self, index: int, layer: str) -> tuple[np.ndarray, float]:
        """Grad-CAM of class ``index`` at ``layer``: (n, n) cells scaled to peak 1, and the peak."""
        with torch.inference_mode(False):
            return weighted_maps(self.gradient(index, layer), self.maps[layer])

    def gradient(self, index: int, layer: str) -> torch.Tensor:
        """dscore/dA at ``layer`` for class ``index``: (1, C, n, n), from the nearest layer above
        whose gradient is already known (or from the score), keeping every layer passed on the way."""
        layers = self.layers
        with self._lock, torch.inference_mode(False):
            known = self._gradients.pop(index, {})
            self._gradients[index] = known  # the most recently used class last
            while len(self._gradients) > GRADIENT_CLASSES_KEPT:
                self._gradients.popitem(last=False)
            if layer not in known:
                below = layers.index(layer)
                above = next((layers[i] for i in range(below + 1, len(layers)) if layers[i] in known), None)
                wanted = layers[below : layers.index(above)] if above else layers[below:]
                source, seed = (self.maps[above], known[above]) if above else (self._scores[index], None)
                gradients = torch.autograd.grad(
                    source, [self.maps[name] for name in wanted], grad_outputs=seed, retain_graph=True
                )  # nothing lands on any .grad
                known.update(zip(wanted, gradients, strict=True))
            return known[layer]
