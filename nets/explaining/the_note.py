"""The study note, point by point, each met with the models' own numbers.

The note (a Korean blog post on *Mastering PyTorch*'s deep CNN chapter) makes round claims: "about
60 thousand parameters", "over 100 GB", "6x6 because of the max pooling before". Each becomes a
``Fact`` here, in the note's order, whose values are counted from the modules the app runs (or
traced through them on the meta device), so a claim and its check cannot drift apart. The few
figures that are history, not models (MNIST's and ImageNet's sizes, the 2012 contest's errors),
are constants with their source beside them.

Fact codes: ``claim_<point>``; the UI words ``claim_<point>_title``, ``_note`` (what the note
says) and ``_exact`` (the check) in the visitor's language.
"""

from __future__ import annotations

import functools

import numpy as np
from torch import nn

from nets.explaining.shapes import trace_shapes
from nets.facts import Fact, fact
from nets.measuring import compare
from nets.measuring.compare import on_meta, parameters
from nets.models.alexnet import HEAD_INDEX, INPUT_SIZE_2012, PENULTIMATE_FEATURES, alexnet2012
from nets.models.lenet import lenet
from nets.paths import ASSETS

# LeCun, Cortes and Burges, "The MNIST database": 60,000 training and 10,000 test digits of 28x28.
MNIST_TRAIN, MNIST_TEST, MNIST_SIDE = 60_000, 10_000, 28
# ILSVRC-2012 (Russakovsky et al. 2015, table 2): 1,281,167 training images of 1,000 classes, 50,000
# for validation; ILSVRC2012_img_train.tar is about 138 GB.
IMAGENET_TRAIN, IMAGENET_CLASSES, IMAGENET_VALIDATION, IMAGENET_TRAIN_GB = 1_281_167, 1000, 50_000, 138
# Krizhevsky, Sutskever and Hinton 2012, section 6: top-5 test error 15.3%, against 26.2% for the
# second-best entry (classic hand-made features, Fisher vectors, with linear classifiers).
TOP5_ALEXNET, TOP5_RUNNER_UP = 15.3, 26.2
FLATTEN_BATCH = 4  # the batch the flatten claim traces
NEW_HEAD_CLASSES = 5  # as the compare tab's own default


def _row(table, name: str) -> dict:
    return table.loc[name].to_dict()


def _split(row: dict) -> dict[str, object]:
    return {
        "fc_params_pct": float(row["fc_params_pct"]),
        "conv_mult_adds_pct": float(row["conv_mult_adds_pct"]),
        "mult_adds": int(row["mult_adds"]),
        "input_size": str(row["input_size"]),
    }


def _mnist_claim() -> Fact:
    pixels = (MNIST_TRAIN + MNIST_TEST) * MNIST_SIDE * MNIST_SIDE  # one byte a grey pixel
    labels = MNIST_TRAIN + MNIST_TEST  # one byte a label
    subset = np.load(ASSETS / "mnist_subset.npz")
    return fact(
        "claim_mnist_size",
        train=MNIST_TRAIN,
        test=MNIST_TEST,
        side=MNIST_SIDE,
        megabytes=round((pixels + labels) / 1e6, 1),
        subset_train=len(subset["train_labels"]),
        subset_test=len(subset["test_labels"]),
        subset_megabytes=round((ASSETS / "mnist_subset.npz").stat().st_size / 1e6, 1),
    )


def _channels_claim() -> Fact:
    colour, grey = (on_meta(lenet, in_channels=channels) for channels in (3, 1))
    return fact(
        "claim_lenet_channels",
        conv1_colour=parameters(colour.features[0]),
        conv1_grey=parameters(grey.features[0]),
        colour=parameters(colour),
        grey=parameters(grey),
    )


def _pooling_claim() -> Fact:
    kinds = compare.layer_counts(compare.LENET_NOTE)
    pools = [m for m in on_meta(lenet).modules() if isinstance(m, (nn.AvgPool2d, nn.MaxPool2d))]
    return fact(
        "claim_lenet_pooling",
        average=kinds.get("AvgPool2d", 0),
        maximum=kinds.get("MaxPool2d", 0),
        pooling_parameters=sum(parameters(m) for m in pools),
    )


def _flatten_claim() -> Fact:
    """The note's own question: why ``size()[1:]``? Traced with the batch left out, and counted in."""
    note = trace_shapes("lenet", FLATTEN_BATCH, 3, 32, "note")
    counted = trace_shapes("lenet", FLATTEN_BATCH, 3, 32, "with_batch")
    flat = dict((step.layer, step.shape) for step in note.steps)["flatten"]  # (B, 400)
    wrong = dict((step.layer, step.shape) for step in counted.steps)["flatten"]  # (1, B * 400)
    assert note.refused_at is None and counted.refused_at is not None
    return fact(
        "claim_flatten_question",
        batch=FLATTEN_BATCH,
        features=flat[1],
        shape=list(flat),
        counted=wrong[1],
        counted_shape=list(wrong),
        refused_at=counted.refused_at,
    )


def _scale_claim(table) -> Fact:
    lenet_row, alexnet_row = _row(table, compare.LENET_NOTE), _row(table, compare.ALEXNET_2012)
    return fact(
        "claim_alexnet_scale",
        lenet=int(lenet_row["parameters"]),
        alexnet=int(alexnet_row["parameters"]),
        parameters_ratio=int(round(alexnet_row["parameters"] / lenet_row["parameters"])),
        work_ratio=int(round(alexnet_row["mult_adds"] / lenet_row["mult_adds"])),
    )


def _dropout_claim() -> Fact:
    model = on_meta(alexnet2012)
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    return fact("claim_overfitting", dropouts=len(dropouts), p=dropouts[0].p if dropouts else 0.0)


def _six_claim() -> Fact:
    """ "6x6 because of the max pooling before": true for the 2012 input (227) only."""
    shapes = {}
    for size in (INPUT_SIZE_2012, 224):
        trace = trace_shapes("alexnet", 1, 3, size, "note")
        last_pool = [step.shape for step in trace.steps if step.layer == "convnet[14]"][0]  # (1, 256, s, s)
        shapes[size] = (list(last_pool[1:]), trace.refused_at, trace.why.values if trace.why else {})
    (at227, refused227, _), (at224, refused224, why224) = shapes[INPUT_SIZE_2012], shapes[224]
    assert refused227 is None and refused224 is not None
    return fact(
        "claim_six_by_six",
        size=INPUT_SIZE_2012,
        at_size=at227,
        at224=at224,
        expects=why224.get("expects"),
        got=why224.get("got"),
    )


def _new_head_claim() -> Fact:
    old = on_meta(lambda: nn.Linear(PENULTIMATE_FEATURES, IMAGENET_CLASSES))
    new = on_meta(lambda: nn.Linear(PENULTIMATE_FEATURES, NEW_HEAD_CLASSES))
    return fact(
        "claim_new_head",
        index=HEAD_INDEX,
        old=parameters(old),
        classes=NEW_HEAD_CLASSES,
        new=parameters(new),
    )


@functools.cache  # the same for every visitor: counted once, not at every opening of the compare tab
def note_claims() -> tuple[Fact, ...]:
    """Every point of the note, in its order, with the exact numbers of the models it describes."""
    table = compare.models_table().set_index("model")
    counts = {name: int(parameters) for name, parameters in table["parameters"].items()}
    two_gpus = compare.two_gpu_split().values
    return (
        # LeNet
        fact("claim_lenet_layers", note=(2, 3), layers=compare.layer_counts(compare.LENET_NOTE)),
        fact(
            "claim_lenet_parameters",
            note=60_000,
            three_channels=counts[compare.LENET_NOTE],
            one_channel=counts[compare.LENET_DIGITS],
        ),
        _mnist_claim(),
        _channels_claim(),
        _pooling_claim(),
        _flatten_claim(),
        # AlexNet
        _scale_claim(table),
        fact(
            "claim_alexnet_layers",
            note=(5, 3),
            y2012=compare.layer_counts(compare.ALEXNET_2012),
            torchvision=compare.layer_counts(compare.ALEXNET_TORCHVISION),
        ),
        fact(
            "claim_alexnet_parameters",
            note=60_000_000,
            y2012=counts[compare.ALEXNET_2012],
            torchvision=counts[compare.ALEXNET_TORCHVISION],
        ),
        fact(
            "claim_imagenet_size",
            train=IMAGENET_TRAIN,
            classes=IMAGENET_CLASSES,
            validation=IMAGENET_VALIDATION,
            gigabytes=IMAGENET_TRAIN_GB,
        ),
        fact("claim_svm", alexnet=TOP5_ALEXNET, runner_up=TOP5_RUNNER_UP),
        _dropout_claim(),
        fact(
            "claim_two_gpus",
            gpus=two_gpus["gpus"],
            gpu=two_gpus["gpu"],
            gpu_memory_gb=two_gpus["gpu_memory_gb"],
            two_gpu=two_gpus["two_gpu"],
            one_tower=two_gpus["one_tower"],
        ),
        _six_claim(),
        fact(
            "claim_alexnet_split",
            torchvision=_split(_row(table, compare.ALEXNET_TORCHVISION)),
            y2012=_split(_row(table, compare.ALEXNET_2012)),
        ),
        # Fine-tuning
        _new_head_claim(),
    )
