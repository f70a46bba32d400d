"""What a fine-tuned model got right and wrong on the validation images: the report the tab shows.

After training, the best epoch's validation scores give a confusion matrix, the accuracy of each
class, the misclassified images (with the guess and its probability) and, per confusion-matrix cell,
the images that landed there (``Report.cell``), most confident first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from nets.data.dataset_zip import ImageDataset, LabelledImage
from nets.explaining.feature_map import FeatureMap
from nets.facts import Fact
from nets.training.jobs import JobClock


@dataclass
class Report:
    """How the best epoch does on the validation images."""

    history: pd.DataFrame  # epoch, train_loss, train_acc, val_loss, val_acc (one row per epoch)
    confusion: pd.DataFrame  # rows: true class, columns: predicted class, counts
    per_class: pd.DataFrame  # class, images, correct, accuracy
    wrong: list[tuple[LabelledImage, str, float]] = field(default_factory=list)  # image, guess, p
    stopped: Fact | None = None  # why training ended early (None when it ran all epochs)
    seconds: float = 0.0
    guesses: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (V,) per validation image
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))  # (V,) p of the guess
    feature_map: FeatureMap | None = None  # the dataset in 2-D (PCA of the pretrained 4096 features)
    val: list[LabelledImage] = field(default_factory=list)  # the validation images, in the guesses' order

    def cell(self, true: int, guess: int) -> list[tuple[LabelledImage, float]]:
        """The validation images of class ``true`` that the model called ``guess``, with its
        probability for that guess (one cell of the confusion matrix), most confident first."""
        found = [
            (item, float(self.confidence[i]))
            for i, item in enumerate(self.val)
            if item.label == true and int(self.guesses[i]) == guess
        ]
        return sorted(found, key=lambda pair: -pair[1])


def validation_report(dataset: ImageDataset, logits: torch.Tensor, history: pd.DataFrame, clock: JobClock) -> Report:
    """How the model whose validation ``logits`` (V, N) these are does: confusion matrix, per-class
    accuracy and the misclassified validation images (the feature map is added by the caller)."""
    names = dataset.classes
    truth = np.array([item.label for item in dataset.val])
    probabilities = torch.softmax(logits, 1).cpu().numpy()
    guesses = probabilities.argmax(1)
    counts = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(counts, (truth, guesses), 1)
    confusion = pd.DataFrame(counts, columns=names)
    confusion.insert(0, "true \\ predicted", names)
    images = counts.sum(1)
    per_class = pd.DataFrame(
        {
            "class": names,
            "images": images,
            "correct": np.diag(counts),
            "accuracy": np.round(np.diag(counts) / np.maximum(images, 1), 3),
        }
    )
    confidence = probabilities[np.arange(len(guesses)), guesses].astype(np.float32)  # (V,)
    wrong = [
        (item, names[g], float(confidence[i]))
        for i, (item, g) in enumerate(zip(dataset.val, guesses, strict=True))
        if g != item.label
    ]
    return Report(
        history=history,
        confusion=confusion,
        per_class=per_class,
        wrong=wrong,
        stopped=clock.reason,
        seconds=clock.seconds,
        guesses=guesses.astype(np.int64),
        confidence=confidence,
        val=list(dataset.val),
    )
