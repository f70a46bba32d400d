"""Predict, then reveal: questions each tab asks before its answer shows.

A student who guesses first remembers the answer, and a wrong guess shows what they believed. Every
answer here is computed from the models themselves (counted on torch's meta device: no weights, no
memory), never typed, so a question stays right if a model changes. The wrong choices are the
mistakes students make: forgetting the biases, counting the input's channels twice, taking the
batch for a feature.

A ``Question`` is facts only: its sentences live in ``assets/i18n/questions.json`` under
``question_<code>`` (asked, with ``values`` filled in) and ``question_<code>_why`` (the answer,
explained); the page (``ui/questions.py``) words them in the visitor's language.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from torch import nn
from torchvision.models import alexnet

from nets.measuring.compare import LENET_DIGITS, models_table, on_meta, parameters
from nets.models.alexnet import HEAD_INDEX, alexnet2012
from nets.models.lenet import lenet
from nets.training.visitor_lenet import LeNetSettings


@dataclass(frozen=True)
class Question:
    """One question: its choices as the page shows them, the right one, and the numbers its
    sentences use."""

    code: str
    choices: tuple[str, ...]
    answer: str
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.answer not in self.choices or len(set(self.choices)) != len(self.choices):
            raise ValueError(f"{self.code}: the answer must be one of distinct choices: {self.choices}")


def number(value: int) -> str:
    return f"{value:,}"


def percent(value: float) -> str:
    return f"{value:.0f}%"


def _question(code: str, answer: str, wrong: list[str], values: dict[str, Any]) -> Question:
    """The answer among the wrong choices, in a fixed order that does not give it away (sorted as
    numbers where they are numbers)."""
    choices = list(dict.fromkeys([answer, *wrong]))

    def as_number(text: str) -> float:
        digits = text.replace(",", "").rstrip("%")
        return float(digits) if digits.replace(".", "", 1).isdigit() else math.inf

    return Question(code, tuple(sorted(choices, key=as_number)), answer, values)


def _meta_alexnet() -> nn.Module:
    return on_meta(alexnet)  # torchvision's, as the photo tab runs it


def train_questions() -> tuple[Question, Question]:
    """The train tab: what pooling costs in parameters, and how many steps the default run takes."""
    average, maximum = (parameters(on_meta(lenet, in_channels=1, pooling=p)) for p in ("avg", "max"))
    assert average == maximum  # pooling has no weights: the question's whole point
    maps = 6 + 16  # the feature maps the two pooling layers read
    pooling = _question(
        "pooling_parameters",
        number(maximum),
        [number(maximum + maps), number(maximum + maps * 2 * 2), number(2 * maximum)],  # a weight per map, per window
        {"parameters": number(average)},
    )
    settings = LeNetSettings()
    steps_per_epoch = math.ceil(settings.train_images / settings.batch_size)
    steps = settings.epochs * steps_per_epoch
    updates = _question(
        "adam_steps",
        number(steps),
        [number(settings.epochs), number(steps_per_epoch), number(settings.epochs * settings.train_images)],
        {
            "epochs": settings.epochs,
            "images": number(settings.train_images),
            "batch": settings.batch_size,
            "per_epoch": number(steps_per_epoch),
            "steps": number(steps),
        },
    )
    return pooling, updates


def photo_questions() -> tuple[Question, Question]:
    """The photo tab: how many answers AlexNet gives, and what conv1's 64 filters cost."""
    model = _meta_alexnet()
    outputs = model.classifier[HEAD_INDEX].out_features
    penultimate = model.classifier[HEAD_INDEX].in_features
    answers = _question(
        "alexnet_outputs",
        number(outputs),
        [number(5), number(penultimate), number(256 * 6 * 6)],
        {"outputs": number(outputs), "penultimate": number(penultimate)},
    )
    conv1 = model.features[0]
    filters, channels, (height, width) = conv1.out_channels, conv1.in_channels, conv1.kernel_size
    weights = filters * channels * height * width
    assert parameters(conv1) == weights + filters
    cost = _question(
        "conv1_parameters",
        number(parameters(conv1)),
        [number(weights), number(filters * height * width + filters), number(filters)],
        {
            "filters": filters,
            "channels": channels,
            "size": f"{height}x{width}",
            "weights": number(weights),
            "parameters": number(parameters(conv1)),
        },
    )
    return answers, cost


def finetune_questions(classes: int) -> tuple[Question, Question]:
    """The fine-tune lab, for a dataset of ``classes`` classes: what learns with "new head only",
    and what stays as ImageNet taught it."""
    model = _meta_alexnet()
    head = nn.Linear(model.classifier[HEAD_INDEX].in_features, classes, device="meta")  # the note's new head
    learning = parameters(head)
    inputs = head.in_features
    frozen = parameters(model) - parameters(model.classifier[HEAD_INDEX])  # every layer but ImageNet's head
    new_head = _question(
        "new_head_parameters",
        number(learning),
        [number(inputs * classes), number(inputs + classes), number(frozen + learning)],  # biases forgotten; all layers
        {"classes": classes, "inputs": number(inputs), "parameters": number(learning)},
    )
    kept = _question(
        "frozen_parameters",
        number(frozen),
        [number(parameters(model)), number(learning), number(parameters(model.classifier))],
        {"frozen": number(frozen), "old_head": number(parameters(model.classifier[HEAD_INDEX]))},
    )
    return new_head, kept


def compare_questions() -> tuple[Question, Question]:
    """The compare tab: where the note's AlexNet keeps its parameters and where it does its work."""
    table = models_table().set_index("model")
    note = table.loc["AlexNet 2012 (note)"]
    first_fc = on_meta(alexnet2012).classifier[1]  # Linear(6*6*256, 4096): most of the note's parameters
    fc_params = float(note["fc_params_pct"])
    conv_work = float(note["conv_mult_adds_pct"])
    where = _question(
        "fc_parameter_share",
        percent(fc_params),
        [percent(100 - fc_params), "50%", percent(float(note["conv_params_pct"]) + 30)],
        {
            "fc": percent(fc_params),
            "conv": percent(100 - fc_params),
            "inputs": number(first_fc.in_features),
            "units": number(first_fc.out_features),
            "weights": number(first_fc.weight.numel()),
        },
    )
    work = _question(
        "conv_work_share",
        percent(conv_work),
        [percent(100 - conv_work), "50%", percent(conv_work - 40)],
        {"conv": percent(conv_work), "lenet": percent(float(table.loc[LENET_DIGITS]["conv_mult_adds_pct"]))},
    )
    return where, work
