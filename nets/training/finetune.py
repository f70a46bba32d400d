"""Fine-tuning ImageNet AlexNet on a visitor's own classes: the note's new last layer, made fast.

The study note fine-tunes by replacing the last layer, ``model.classifier[6] = nn.Linear(4096,
len(classes))``, and training on a small dataset. Three ways to do that, from fastest to slowest:

- ``"head"`` (default): only the new ``Linear(4096, N)`` learns. Everything before it is frozen,
  so each image's 4096 features are computed *once* and cached; an epoch over the cache then
  costs milliseconds (Teachable Machine works the same way). No augmentation: the features of a
  fixed crop are fixed.
- ``"classifier"``: the three fully connected layers learn (54.5M + 4,097 x N parameters, with
  dropout), the
  convolutions stay frozen; augmentation (random resized crop, flip) means the conv part runs on
  every batch of every epoch.
- ``"all"``: every layer learns, as in the book: the slowest, and the one that can most easily
  overfit a small dataset.

``FineTuneSettings.regularise`` (on by default) is the note's cure for overfitting in the two slow ways:
dropout in the classifier and augmentation of the training images. Off, both are gone, and for
"classifier" the frozen convolutions' output of each image is fixed, so it is computed once and
cached too (``nets.training.race`` races the ways against each other to show the difference).

The shared pretrained AlexNet is never modified: the head is new, and the other strategies train
their own copies. ``finetune`` is a generator of typed events (``FeaturesCached``,
``BatchTrained``, ``EpochFinished``, then ``FineTuneFinished``): it checks a stop request and a time limit
between batches, validates after every epoch and keeps the best epoch's weights. ``SNIPPET`` is
how a visitor loads the downloaded ``checkpoint()`` with plain torchvision.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision.transforms import v2

from nets.data.dataset_zip import ImageDataset, LabelledImage
from nets.explaining.feature_map import feature_map
from nets.explaining.gradcam import GradCam
from nets.facts import Fact, Refusal
from nets.models.alexnet import (
    HEAD_INDEX,
    IMAGENET_TRANSFORM,
    device_of,
    forward_features,
    forward_head,
    new_head,
    penultimate,
)
from nets.models.alexnet import (
    PENULTIMATE_FEATURES as PENULTIMATE,
)
from nets.training.events import BatchTrained, EpochFinished, Finished
from nets.training.feature_cache import FeatureCache
from nets.training.finetune_report import Report, validation_report
from nets.training.jobs import JobClock

STRATEGIES = {
    "head": "new head only (features computed once: seconds)",
    "classifier": "whole classifier, with augmentation (slower)",
    "all": "all layers, as in the book, with augmentation (slowest)",
}
# A learning rate that suits each strategy with Adam: a fresh head can learn fast; pretrained
# layers must move gently or they forget what ImageNet taught them.
SUGGESTED_LR = {"head": 1e-3, "classifier": 1e-4, "all": 3e-5}
EVAL_TRANSFORM = IMAGENET_TRANSFORM  # resize 256, centre crop 224, ImageNet mean/std
# Work between two stop checks is kept under about half a second on one CPU thread, so a Stop or a
# closed page ends the job within a second in every stage: features are computed 16 images at a
# time, and when the convolutions run on every batch, a batch is split into micro-batches of 8
# whose gradients add up (AlexNet has no batch norm, so this is exactly the same step).
FEATURE_BATCH = 16
MICRO_BATCH = 8
TRAIN_TRANSFORM = v2.Compose(
    [
        v2.ToImage(),
        v2.RandomResizedCrop(EVAL_TRANSFORM.crop_size[0], scale=(0.5, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=EVAL_TRANSFORM.mean, std=EVAL_TRANSFORM.std),
    ]
)
FORMAT = "classic-cnns/alexnet-finetune/1"


@dataclass(frozen=True)
class FineTuneSettings:
    """What the visitor chooses in the tab; the defaults train the head in seconds."""

    strategy: str = "head"
    epochs: int = 20
    lr: float = 1e-3
    batch_size: int = 32
    seed: int = 0
    time_limit: float = 300.0  # seconds of wall-clock time a job may take, then it stops
    regularise: bool = True  # dropout and augmentation ("classifier" and "all"; the head has neither)

    def check(self) -> FineTuneSettings:
        """These settings, or a ``SettingsError`` naming the one out of range."""
        if self.strategy not in STRATEGIES:
            raise SettingsError("unknown_strategy", strategy=self.strategy, choices=list(STRATEGIES))
        for name, value, low, high in (
            ("epochs", self.epochs, 1, 200),
            ("lr", self.lr, 1e-6, 1.0),
            ("batch_size", self.batch_size, 1, 256),
        ):
            if not low <= float(value) <= high:
                raise SettingsError("setting_out_of_range", setting=name, value=value, low=low, high=high)
        return self


class SettingsError(Refusal):
    """A setting out of range: ``unknown_strategy`` or ``setting_out_of_range``."""


class Stopped(RuntimeError):
    """The job stopped before a single epoch finished; ``reason`` says why (a stop Fact)."""

    def __init__(self, reason: Fact, stage: str) -> None:
        super().__init__(f"{reason} during {stage}")
        self.reason, self.stage = reason, stage  # stage: "features" or "training"


class Released(RuntimeError):
    """The fine-tuned model was freed to make room for newer ones (the server keeps a byte budget)."""


# --- what the job reports, in order --------------------------------------------------------


@dataclass(frozen=True)
class FeaturesCached:
    """``done`` of ``total`` images have their frozen features cached (every strategy starts so)."""

    done: int
    total: int


@dataclass
class FineTuned:
    """A visitor's fine-tuned model: their classes and the part of AlexNet they trained.

    ``module`` is the new ``Linear(4096, N)`` for "head", a copy of ``classifier`` (its last layer
    replaced) for "classifier", and a whole copy of AlexNet for "all". The frozen rest comes from
    the shared pretrained model at prediction time.
    """

    classes: list[str]
    strategy: str
    module: nn.Module | None  # None once released
    best_epoch: int
    val_acc: float

    def release(self) -> None:
        """Free the trained weights (the model can no longer predict)."""
        self.module = None

    def _trained(self) -> nn.Module:
        if self.module is None:
            raise Released(self.strategy)
        return self.module

    @torch.inference_mode()
    def logits(self, backbone: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        """(B, 3, 224, 224) normalised images -> (B, N) scores over the visitor's classes."""
        module = self._trained()
        module.eval()
        batch = batch.to(device_of(module))
        if self.strategy == "head":
            return module(penultimate(backbone, batch))
        if self.strategy == "classifier":
            return module(forward_features(backbone, batch))
        return module(batch)

    def grad_cam(self, backbone: nn.Module, image: Image.Image, target: int) -> tuple[np.ndarray, float]:
        """Where this model looked to score class ``target``: Grad-CAM at conv5's ReLU, as the photo
        tab computes it for ImageNet classes (``nets.explaining.gradcam``), here through the visitor's
        own layers. Returns the (13, 13) cells scaled to peak 1 (``nets.explaining.photo.cam_on_photo``
        lays them on the image) and the model's probability for ``target``. The shared backbone is
        only read."""
        module = self._trained()
        module.eval()
        convolutions = module.features if self.strategy == "all" else backbone.features
        batch = EVAL_TRANSFORM(image.convert("RGB")).unsqueeze(0).to(device_of(module))  # (1, 3, 224, 224)

        def scores(pooled: torch.Tensor) -> torch.Tensor:
            x = torch.flatten(backbone.avgpool(pooled), 1)  # (1, 256, 6, 6) -> (1, 9216)
            if self.strategy == "head":
                return module(backbone.classifier[:HEAD_INDEX](x))  # (1, N)
            return module(x) if self.strategy == "classifier" else module.classifier(x)  # (1, N)

        seen = GradCam(convolutions, scores, batch, layers=("conv5",))
        cells, _ = seen.heatmap(target, "conv5")  # (13, 13)
        return cells, float(torch.softmax(seen.scores, 0)[target])

    def predict(self, backbone: nn.Module, image: Image.Image) -> dict[str, float]:
        """Probabilities over the visitor's classes for one photo, best first."""
        scores = self.logits(backbone, EVAL_TRANSFORM(image.convert("RGB")).unsqueeze(0))[0].cpu()  # (N,)
        probabilities = torch.softmax(scores, 0)
        order = torch.argsort(probabilities, descending=True)
        return {self.classes[int(i)]: float(probabilities[i]) for i in order}

    def checkpoint(self) -> dict:
        """What the download holds: the trained weights under torchvision AlexNet's own names,
        the class names and the preprocessing (``torch.load(..., weights_only=True)`` reads it)."""
        prefix = {"head": f"classifier.{HEAD_INDEX}.", "classifier": "classifier.", "all": ""}[self.strategy]
        return {
            "format": FORMAT,
            "base_weights": "torchvision.models.AlexNet_Weights.IMAGENET1K_V1",
            "strategy": self.strategy,
            "classes": list(self.classes),
            "state_dict": {prefix + k: v.detach().cpu().clone() for k, v in self._trained().state_dict().items()},
            "preprocessing": {
                "resize": EVAL_TRANSFORM.resize_size[0],
                "crop": EVAL_TRANSFORM.crop_size[0],
                "mean": list(EVAL_TRANSFORM.mean),
                "std": list(EVAL_TRANSFORM.std),
            },
            "best_epoch": self.best_epoch,
            "val_acc": self.val_acc,
        }


SNIPPET = """\
# Load your fine-tuned AlexNet with torchvision and classify a photo.
import torch
from PIL import Image
from torchvision.models import AlexNet_Weights, alexnet

checkpoint = torch.load("{file}", weights_only=True)
weights = AlexNet_Weights.IMAGENET1K_V1            # the pretrained network you started from
model = alexnet(weights=weights)
model.classifier[6] = torch.nn.Linear(4096, len(checkpoint["classes"]))   # the note's new head
model.load_state_dict(checkpoint["state_dict"], strict=False)           # your trained layers
model.eval()

image = Image.open("photo.jpg").convert("RGB")
x = weights.transforms()(image).unsqueeze(0)       # resize 256, centre crop 224, normalise
with torch.inference_mode():
    probabilities = model(x).softmax(dim=1)[0]
best = int(probabilities.argmax())
print(checkpoint["classes"][best], f"{{float(probabilities[best]):.1%}}")
"""
"""How to use ``FineTuned.checkpoint()`` saved as ``{file}``: the download's own instructions."""


@dataclass(frozen=True)
class FineTuneFinished(Finished):
    """A fine-tune has ended: the best epoch's model (``model``) and how it does (``report``)."""

    report: Report


# --- the frozen, shared parts of AlexNet ------------------------------------------------------


def conv_features(backbone: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """(B, 3, 224, 224) -> (B, 9216), with no gradient: the frozen convolutions."""
    with torch.no_grad():
        return forward_features(backbone, batch)


def batches(images: list[LabelledImage], size: int, transform: Callable) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(B, 3, 224, 224) images and (B,) labels, in the given order (on the CPU)."""
    for start in range(0, len(images), size):
        chunk = images[start : start + size]
        yield torch.stack([transform(item.image) for item in chunk]), torch.tensor([item.label for item in chunk])


# --- training ---------------------------------------------------------------------------------


FineTuneEvent = FeaturesCached | BatchTrained | EpochFinished | FineTuneFinished


def finetune(
    backbone: nn.Module,
    dataset: ImageDataset,
    settings: FineTuneSettings = FineTuneSettings(),
    should_stop: Callable[[], bool] | None = None,
    cancelled: Callable[[], bool] | None = None,
    cache: FeatureCache | None = None,
) -> Iterator[FineTuneEvent]:
    """Train a new head (or more) on ``dataset``, reporting as it goes; the last event is ``FineTuneFinished``.

    ``EpochFinished`` carries the growing history after every epoch; ``Finished`` holds the best
    epoch's model (highest validation accuracy, then lowest validation loss) and its report, with
    the dataset's feature map. ``should_stop()`` (the visitor's Stop) ends training and keeps the
    best epoch so far; raises ``Stopped`` if stopped before any epoch finished. ``cancelled()``
    (nobody waits any more) raises ``Cancelled`` at the next check, within a second. With ``cache``,
    the frozen features of images it has seen before (from anyone) are not computed again.
    """
    settings = settings.check()
    clock = JobClock(settings.time_limit, should_stop, cancelled, "fine-tuning")
    generator = torch.Generator().manual_seed(settings.seed)
    device = device_of(backbone)  # the GPU when the shared model is on one
    classes = len(dataset.classes)
    train, val = dataset.train, dataset.val
    y_train = torch.tensor([item.label for item in train], device=device)
    y_val = torch.tensor([item.label for item in val], device=device)
    augment = settings.regularise and settings.strategy != "head"

    # Every image's frozen features, computed once (eval transform): the convolutions' (9216) or,
    # for the new head, everything before it (4096). The head trains on them; the feature map is
    # drawn from the 4096; "classifier" without augmentation trains on the 9216.
    stage = penultimate if settings.strategy == "head" else conv_features
    cached = []
    done, total = 0, len(train) + len(val)
    for part in (train, val):
        feats = []
        for start in range(0, len(part), FEATURE_BATCH):
            chunk = [item.image for item in part[start : start + FEATURE_BATCH]]
            if cache is not None:
                feats.append(cache.features(backbone, stage, chunk, EVAL_TRANSFORM))  # (B, 4096) or (B, 9216)
            else:
                feats.append(stage(backbone, torch.stack([EVAL_TRANSFORM(image) for image in chunk])))
            done += len(chunk)
            yield FeaturesCached(done, total)
            if clock.over():
                raise Stopped(clock.reason, "features")
        width = PENULTIMATE if stage is penultimate else feats[0].shape[1] if feats else 0
        cached.append(torch.cat(feats) if feats else torch.empty(0, width, device=device))
    x_train, x_val = cached
    with torch.no_grad():
        pretrained = (
            torch.cat(cached) if stage is penultimate else forward_head(backbone, torch.cat(cached), pre_logits=True)
        )  # (T + V, 4096)

    if settings.strategy == "head":
        model: nn.Module = new_head(classes, generator).to(device)
    elif settings.strategy == "classifier":
        model = copy.deepcopy(backbone.classifier)
        model[HEAD_INDEX] = new_head(classes, generator).to(device)
    else:
        model = copy.deepcopy(backbone)
        model.classifier[HEAD_INDEX] = new_head(classes, generator).to(device)
        del x_train, x_val  # every layer learns: the images go through the convolutions every time
    if not settings.regularise:
        for layer in model.modules():
            if isinstance(layer, nn.Dropout):
                layer.p = 0.0  # the same network, without its dropout
    model.requires_grad_(True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(settings.lr), weight_decay=1e-4)
    # Inputs come from the cache unless the images change every epoch (augmentation) or the
    # convolutions themselves learn ("all").
    from_cache = settings.strategy == "head" or (settings.strategy == "classifier" and not augment)
    train_transform = TRAIN_TRANSFORM if augment else EVAL_TRANSFORM

    def evaluate() -> tuple[float, float, torch.Tensor] | None:
        """(loss, accuracy, logits) on the validation images; None if stopped on the way."""
        model.eval()
        with torch.no_grad():
            if settings.strategy == "all":
                logits = []
                for x, _ in batches(val, FEATURE_BATCH, EVAL_TRANSFORM):
                    logits.append(model(x.to(device)))  # (B, N)
                    if clock.over():
                        return None
                logits = torch.cat(logits)
            else:
                logits = model(x_val)
        return F.cross_entropy(logits, y_val).item(), (logits.argmax(1) == y_val).float().mean().item(), logits

    rows, best, best_key = [], None, (-1.0, math.inf)
    epochs = int(settings.epochs)
    for epoch in range(1, epochs + 1):
        if clock.over():
            break
        model.train()
        order = torch.randperm(len(train), generator=generator).to(device)
        seen = correct = 0
        total_loss = 0.0
        for start in range(0, len(train), int(settings.batch_size)):
            index = order[start : start + int(settings.batch_size)]
            optimizer.zero_grad(set_to_none=True)
            if from_cache:
                logits = model(x_train[index])  # (B, N)
                loss = F.cross_entropy(logits, y_train[index])
                loss.backward()
                batch_loss, batch_correct = loss.item() * len(index), (logits.argmax(1) == y_train[index]).sum().item()
            else:  # the convolutions run on every image: micro-batches, a stop check between them
                batch_loss = batch_correct = 0.0
                for part in index.split(MICRO_BATCH):
                    x = torch.stack([train_transform(train[int(i)].image) for i in part]).to(device)  # (b, 3, 224, 224)
                    if settings.strategy == "classifier":
                        x = conv_features(backbone, x)  # (b, 9216), frozen
                    logits = model(x)  # (b, N)
                    loss = F.cross_entropy(logits, y_train[part], reduction="sum")
                    (loss / len(index)).backward()  # the batch's mean loss, gathered part by part
                    batch_loss += loss.item()
                    batch_correct += (logits.argmax(1) == y_train[part]).sum().item()
                    if clock.over():
                        break
                if clock.reason is not None:
                    break  # a half-trained batch is not applied
            optimizer.step()
            seen += len(index)
            total_loss += batch_loss
            correct += batch_correct
            if settings.strategy != "head":  # slower batches: report each, and stop between them
                done = min(start + int(settings.batch_size), len(train))
                yield BatchTrained(epoch, epochs, done, len(train), loss=total_loss / seen)
                if clock.over():
                    break
        if seen < len(train):  # stopped in the middle of an epoch: it does not count
            break
        validation = evaluate()
        if validation is None:  # stopped while validating: the epoch does not count either
            break
        val_loss, val_acc, logits = validation
        rows.append(
            {
                "epoch": epoch,
                "train_loss": round(total_loss / seen, 4),
                "train_acc": round(correct / seen, 4),
                "val_loss": round(val_loss, 4),
                "val_acc": round(val_acc, 4),
            }
        )
        if (val_acc, -val_loss) > (best_key[0], -best_key[1]):
            # the best epoch's weights and its validation scores (the report needs no second pass)
            best_key, best = (val_acc, val_loss), (epoch, copy.deepcopy(model.state_dict()), logits)
        yield EpochFinished(epoch, epochs, pd.DataFrame(rows))

    if best is None:
        raise Stopped(clock.reason, "training")
    best_epoch, weights, logits = best
    model.load_state_dict(weights)
    history = pd.DataFrame(rows, columns=["epoch", "train_loss", "train_acc", "val_loss", "val_acc"])
    result = FineTuned(
        classes=list(dataset.classes),
        strategy=settings.strategy,
        module=model.eval(),
        best_epoch=best_epoch,
        val_acc=best_key[0],
    )
    report = validation_report(dataset, logits, history, clock)
    report.feature_map = feature_map(pretrained.cpu(), dataset, report.guesses)
    yield FineTuneFinished(result, history, report.seconds, report.stopped, report)
