"""The dataset as the pretrained AlexNet sees it: its 4096 features per image, flattened to 2-D.

A new head is a linear layer on these 4096 numbers. When the classes form separate clouds, a
line (a hyperplane) can cut them apart and the head learns fast; when they overlap, no linear
head can, and fine-tuning more of the network is the way. PCA keeps the two directions along
which the images differ most, which is where separate clouds usually show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from nets.data.dataset_zip import ImageDataset

COLUMNS = ["x", "y", "label", "class", "split", "name", "guess", "mistake"]


@dataclass(frozen=True)
class FeatureMap:
    """Every image of the dataset as a point, and how much of the features' spread the map keeps.

    ``points`` has a row per image (training images first, then validation): ``x`` and ``y``
    (the first two principal components), ``label`` and ``class``, ``split`` ("train" or "val"),
    ``name`` (the path in the zip), ``guess`` (the fine-tuned model's class index for validation
    images, -1 for training images) and ``mistake`` (a validation image it got wrong).
    ``explained`` is the share of the total variance along x and along y.
    """

    points: pd.DataFrame
    explained: tuple[float, float]
    classes: list[str]

    @property
    def mistakes(self) -> int:
        return int(self.points["mistake"].sum())


def principal_components(features: torch.Tensor, count: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) -> the (N, count) coordinates along the top principal components, and each one's
    share of the total variance.

    Exact, through the N x N Gram matrix of the centred features (a dataset has at most 2,000
    images, fewer than AlexNet's 4,096 features: about 2 s of one core at the largest). Each
    axis's sign is fixed (its farthest point on the + side), so the same features always give
    the same map."""
    x = features.float()
    x = x - x.mean(dim=0, keepdim=True)  # (N, D) centred
    n = x.shape[0]
    result, shares = np.zeros((n, count)), np.zeros(count)
    total = float((x.double() ** 2).sum())
    if n < 2 or total == 0.0:
        return result, shares
    values, vectors = torch.linalg.eigh((x @ x.T).double())  # (N,), (N, N), eigenvalues ascending
    found = min(count, n)
    values, vectors = values.flip(0)[:found].clamp(min=0), vectors.flip(1)[:, :found]  # largest first
    coordinates = vectors * values.sqrt()  # (N, found): the projections onto the components
    signs = torch.sign(coordinates[coordinates.abs().argmax(dim=0), torch.arange(found)])
    coordinates = coordinates * torch.where(signs == 0, 1.0, signs)
    result[:, :found] = coordinates.numpy()
    shares[:found] = (values / total).numpy()
    return result, shares


def feature_map(features: torch.Tensor, dataset: ImageDataset, guesses: np.ndarray) -> FeatureMap:
    """The map of ``dataset`` from its (T + V, 4096) features (training images first, as cached),
    with the validation guesses (V,) marking mistakes."""
    coordinates, shares = principal_components(features, 2)  # (T + V, 2)
    items = [*dataset.train, *dataset.val]
    splits = ["train"] * len(dataset.train) + ["val"] * len(dataset.val)
    guess = np.concatenate([np.full(len(dataset.train), -1), np.asarray(guesses, dtype=np.int64)])
    labels = np.array([item.label for item in items], dtype=np.int64)
    points = pd.DataFrame(
        {
            "x": coordinates[:, 0].round(4),
            "y": coordinates[:, 1].round(4),
            "label": labels,
            "class": [dataset.classes[label] for label in labels],
            "split": splits,
            "name": [item.name for item in items],
            "guess": guess,
            "mistake": (guess >= 0) & (guess != labels),
        },
        columns=COLUMNS,
    )
    return FeatureMap(points=points, explained=(float(shares[0]), float(shares[1])), classes=list(dataset.classes))
