"""The shape lab: the study note's LeNet and AlexNet, traced layer by layer, and broken on purpose.

The note asks in its own code "왜 첫번째 차원 제외?" ("why leave out the first dimension?") in
``flattened_features``, and writes "6x6 because of the max pooling before" beside AlexNet's
``nn.Linear(6*6*256, 4096)``, which holds for a 227x227 input only. Both are answered by trying:
a visitor chooses the batch, the input's channels and size, the flatten line (the note's
``x.size()[1:]`` or every dimension), and may remove a pooling layer; ``trace_shapes`` then runs
the real modules (``nets.models``: the note's 3-channel LeNet and its 2012 AlexNet) line by line,
as the note's ``forward`` does, and reports each line's output shape, or where PyTorch refuses.

Shapes come from PyTorch's ``meta`` device: tensors there have a shape and no storage, so even a
batch of 64 images of 512x512 costs no memory and microseconds. The meta device words its
refusals differently from the CPU ("Invalid channel dimensions"), so the message quoted is the
CPU's own for the failing layer alone, run on zero-stride tensors (``expand``: no memory either;
PyTorch checks the shapes before it computes anything). The visitor's choices are values, never
code: nothing a visitor types is executed.

The note's code itself, quoted word for word, and which of its lines makes which layer's output,
is ``nets.explaining.note_code``. Results are facts (``nets.facts``): the UI words them in the
visitor's language.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from nets.explaining.note_code import pool_layer
from nets.facts import Fact, Refusal, fact
from nets.models.alexnet import INPUT_SIZE_2012, alexnet2012
from nets.models.lenet import INPUT_SIZE, lenet

NETWORKS = ("lenet", "alexnet")
FLATTENS = ("note", "with_batch")  # "note": x.size()[1:]; "with_batch": x.size(), the batch counted too
POOLS = {"lenet": ("pool1", "pool2"), "alexnet": ("pool1", "pool2", "pool3")}
LIMITS = {"batch": (1, 64), "channels": (1, 4), "size": (8, 512)}  # a class's worth; grey to RGBA; tiny to big
NOTE_INPUT = {"lenet": INPUT_SIZE, "alexnet": INPUT_SIZE_2012}  # the size each network is built for


class ShapeChoiceError(Refusal):
    """A choice the lab does not offer: ``shape_not_whole``, ``shape_out_of_range``,
    ``shape_unknown_choice`` or ``shape_pool3_lenet``, with the value and what is allowed."""


def _checked_number(name: str, value: object) -> int:
    """``value`` as a whole number in ``LIMITS[name]``, or a ``ShapeChoiceError`` saying what is allowed."""
    low, high = LIMITS[name]
    if isinstance(value, str):  # an API client may send "8"; "x" is refused below
        try:
            value = float(value.strip())
        except ValueError:
            raise ShapeChoiceError("shape_not_whole", choice=name, value=repr(value)[:40]) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ShapeChoiceError("shape_not_whole", choice=name, value=repr(value)[:40])
    if value != int(value):  # a slider may send 8.0: fine; 8.5 is not a number of images
        raise ShapeChoiceError("shape_not_whole", choice=name, value=repr(value)[:40])
    if not low <= int(value) <= high:
        raise ShapeChoiceError("shape_out_of_range", choice=name, value=int(value), low=low, high=high)
    return int(value)


def _one_of(name: str, value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ShapeChoiceError("shape_unknown_choice", choice=name, value=repr(value)[:40], choices=list(choices))
    return value


@dataclass(frozen=True)
class Choices:
    """What a visitor chose, checked: the network, the input batch (B, C, H, W) and the edits."""

    network: str
    batch: int
    channels: int
    size: int
    flatten: str = "note"
    remove_pool: str = ""

    @classmethod
    def checked(
        cls, network: object, batch: object, channels: object, size: object, flatten: object, remove_pool: object
    ) -> Choices:
        """The choices if the lab offers them, else a ``ShapeChoiceError`` naming the first that it does not."""
        network = _one_of("network", network, NETWORKS)
        remove_pool = "" if remove_pool is None else remove_pool
        if network == "lenet" and remove_pool == "pool3":
            raise ShapeChoiceError("shape_pool3_lenet")
        return cls(
            network=network,
            batch=_checked_number("batch", batch),
            channels=_checked_number("channels", channels),
            size=_checked_number("size", size),
            flatten=_one_of("flatten", flatten, FLATTENS),
            remove_pool=_one_of("remove_pool", remove_pool, ("", *POOLS[network])),
        )


@dataclass(frozen=True)
class Step:
    """One line of the note's forward that ran, and the shape of x after it, (B, C, H, W) or (B, F)."""

    layer: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Trace:
    """Every line that ran, in order; and, when PyTorch refused a line, which line, PyTorch's own
    CPU message and a fact explaining it (``shape_fc_mismatch``, ``shape_fc_batch_counted``,
    ``shape_channels_mismatch``, ``shape_kernel_too_big``, ``shape_pool_too_small`` or ``shape_refused``)."""

    choices: Choices
    steps: tuple[Step, ...]
    refused_at: str | None = None
    message: str | None = None
    why: Fact | None = None

    def shape_of(self, layer: str) -> tuple[int, ...] | None:
        return next((step.shape for step in self.steps if step.layer == layer), None)


@functools.cache  # shared by every visitor: meta modules hold no data, and a forward pass changes nothing
def _note_model(network: str) -> nn.Module:
    with torch.device("meta"):
        model = lenet(in_channels=3) if network == "lenet" else alexnet2012(num_classes=1000)
    return model.eval()


def _layers(network: str) -> list[tuple[str, tuple[nn.Module, ...]]]:
    """The note's forward as (layer, the modules of ``nets.models`` that run that line), in order.

    ``nets.models.lenet.LeNet`` keeps the note's layers in two Sequentials: features = cn1, ReLU,
    pool1, cn2, ReLU, pool2; classifier = fc1, ReLU, fc2, ReLU, fc3. ``AlexNet2012``'s features and
    classifier are the note's convnet and fcnet, entry for entry. "flatten" has no module.
    """
    model = _note_model(network)
    f, c = model.features, model.classifier
    if network == "lenet":
        return [
            ("cn1", (f[0], f[1])),  # x = F.relu(self.cn1(x))
            ("pool1", (f[2],)),  # x = F.avg_pool2d(x, (2, 2))
            ("cn2", (f[3], f[4])),
            ("pool2", (f[5],)),
            ("flatten", ()),  # x = x.view(-1, self.flattened_features(x))
            ("fc1", (c[0], c[1])),  # x = F.relu(self.fc1(x))
            ("fc2", (c[2], c[3])),
            ("fc3", (c[4],)),
        ]
    return [
        *((f"convnet[{i}]", (module,)) for i, module in enumerate(f)),
        ("flatten", ()),  # x = torch.flatten(x, 1)
        *((f"fcnet[{i}]", (module,)) for i, module in enumerate(c)),
    ]


def _flatten(x: torch.Tensor, choices: Choices) -> torch.Tensor:
    """The note's flatten line, or the visitor's edit of it."""
    if choices.network == "alexnet":
        return torch.flatten(x, 1)  # (B, C, H, W) -> (B, C*H*W)
    counted = x.size() if choices.flatten == "with_batch" else x.size()[1:]  # the note: leave out B
    return x.view(-1, math.prod(counted))  # (B, C*H*W), or (1, B*C*H*W) when B is counted


def _zeros(shape: Sequence[int]) -> torch.Tensor:
    return torch.zeros(()).expand(*shape)  # any shape, one float of memory: every element is the same zero


def cpu_message(module: nn.Module, input_shape: Sequence[int], fallback: str) -> str:
    """PyTorch's own CPU message when ``module`` alone refuses an input of ``input_shape``.

    The module's parameters and the input are zero-stride zeros on the CPU, so nothing is
    allocated; ``fallback`` (the meta device's message) if the CPU unexpectedly accepts it.
    """
    parameters = {name: _zeros(p.shape) for name, p in module.named_parameters()}
    try:
        with torch.no_grad():
            functional_call(module, parameters, (_zeros(input_shape),))
    except RuntimeError as refusal:
        return str(refusal).strip()
    return fallback


def _maps_text(shape: Sequence[int]) -> str:
    return " × ".join(str(n) for n in shape)


@functools.cache
def _note_maps(network: str) -> tuple[int, ...]:
    """(C, H, W) of the maps the note's flatten line gets at the input size the network is built for."""
    trace = trace_shapes(network, 1, 3, NOTE_INPUT[network])
    return next(step.shape for step in reversed(trace.steps) if len(step.shape) == 4)[1:]


def _why(layer: str, module: nn.Module, x: torch.Tensor, steps: Sequence[Step], choices: Choices) -> Fact:
    """Why ``module`` refused ``x``, with the numbers that disagree."""
    if isinstance(module, nn.Linear):
        before = next(step.shape for step in reversed(steps) if len(step.shape) == 4)  # what flatten got
        batch_counted = int(x.shape[0]) != choices.batch  # (1, B*C*H*W): the edited flatten line, B > 1
        return fact(
            "shape_fc_batch_counted" if batch_counted else "shape_fc_mismatch",
            layer=layer,
            expects=module.in_features,
            got=int(x.shape[-1]),
            made_of=_maps_text(before if batch_counted else before[1:]),
            built_for=_maps_text(_note_maps(choices.network)),
            note_size=NOTE_INPUT[choices.network],
            batch=choices.batch,
        )
    side = int(x.shape[-1])
    if isinstance(module, nn.Conv2d) and x.shape[1] != module.in_channels:
        return fact("shape_channels_mismatch", layer=layer, expects=module.in_channels, got=int(x.shape[1]))
    if isinstance(module, nn.Conv2d):
        kernel, padding = module.kernel_size[0], module.padding[0]
        return fact("shape_kernel_too_big", layer=layer, kernel=kernel, size=side, needs=kernel - 2 * padding)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        window = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        return fact("shape_pool_too_small", layer=layer, window=window, size=side)
    return fact("shape_refused", layer=layer)


def trace_shapes(
    network: object,
    batch: object,
    channels: object,
    size: object,
    flatten: object = "note",
    remove_pool: object = "",
) -> Trace:
    """Run the note's ``network`` on a (batch, channels, size, size) input, line by line, with the
    chosen flatten line and without the chosen pooling layer.

    Raises ``ShapeChoiceError`` for choices the lab does not offer.
    """
    choices = Choices.checked(network, batch, channels, size, flatten, remove_pool)
    removed = pool_layer(choices.network, choices.remove_pool) if choices.remove_pool else None
    x = torch.empty(choices.batch, choices.channels, choices.size, choices.size, device="meta")  # (B, C, H, W)
    steps: list[Step] = []
    with torch.no_grad():
        for layer, modules in _layers(choices.network):
            if layer == removed:
                continue  # the visitor deleted this line
            if not modules:
                x = _flatten(x, choices)
            for module in modules:
                try:
                    x = module(x)
                except RuntimeError as refusal:  # PyTorch refuses this line: say where and why
                    message = cpu_message(module, x.shape, str(refusal))
                    return Trace(choices, tuple(steps), layer, message, _why(layer, module, x, steps, choices))
            steps.append(Step(layer, tuple(x.shape)))
    return Trace(choices, tuple(steps))


# --- predict, then reveal ------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """A question asked before the lab shows the answer: the ``prompt`` and ``options`` (facts the UI
    words), the index of the right one, the choices that show it in the lab, and a fact explaining
    the answer."""

    prompt: Fact
    setting: Choices
    options: tuple[Fact, ...]
    answer: int
    explanation: Fact


def _written_shape(shape: Sequence[int]) -> str:
    """A shape as Python prints a tuple: "(8, 400)", "(400,)"."""
    return str(tuple(int(n) for n in shape))


def _shape_option(shape: Sequence[int]) -> Fact:
    return fact("shape_option_shape", shape=_written_shape(shape))


def _outcome(trace: Trace) -> Fact:
    """What a trace ends in, as an option: its output shape, or the fully connected layer that refuses it."""
    if trace.why is None:
        shape, note_size = _written_shape(trace.steps[-1].shape), NOTE_INPUT[trace.choices.network]
        return fact("shape_option_runs", shape=shape, note_size=note_size)
    return fact("shape_option_refuses", **{key: trace.why.values[key] for key in ("layer", "expects", "got")})


def _fc1_question() -> Question:
    """The note's LeNet on a batch of 8 colour 32x32 images: what reaches fc1? (the flatten line's output)"""
    setting = Choices("lenet", batch=8, channels=3, size=32)
    note = trace_shapes(**vars(setting))
    with_batch = trace_shapes(**{**vars(setting), "flatten": "with_batch"})
    reaches = note.shape_of("flatten")  # (8, 400)
    options = (
        _shape_option(note.shape_of("pool2")),  # not flattened yet: (8, 16, 5, 5)
        _shape_option(reaches),
        _shape_option(with_batch.shape_of("flatten")),  # the batch counted too: (1, 3200)
        _shape_option(reaches[1:]),  # one image's features, no batch: (400,)
    )
    pool2 = note.shape_of("pool2")
    explanation = fact(
        "shape_explain_fc1",
        batch=setting.batch,
        maps=_maps_text(pool2[1:]),
        features=reaches[1],
        shape=options[1].values["shape"],
        wrong=options[2].values["shape"],
        total=math.prod(pool2),
    )
    prompt = fact(
        "shape_question_fc1",
        batch=setting.batch,
        size=setting.size,
        input=_written_shape((setting.batch, setting.channels, setting.size, setting.size)),
    )
    return Question(prompt, setting, options, 1, explanation)


def _alexnet_224_question() -> Question:
    """The note's AlexNet at 224x224 (the paper's size) instead of 227: what happens?"""
    setting = Choices("alexnet", batch=1, channels=3, size=224)
    at_224, at_227 = trace_shapes(**vars(setting)), trace_shapes(**{**vars(setting), "size": INPUT_SIZE_2012})
    first, (conv,) = _layers("alexnet")[0]  # convnet[0], Conv2d(3, 96, 11, 4, 0)
    kernel, stride = conv.kernel_size[0], conv.stride[0]
    options = (
        _outcome(at_227),  # it runs, as at 227
        fact("shape_option_refuses_first", layer=first, size=setting.size, kernel=kernel, stride=stride),
        _outcome(at_224),
    )

    def sides(trace: Trace) -> str:  # the map's side after each max pooling: 27 → 13 → 6
        return " → ".join(str(trace.shape_of(pool_layer("alexnet", pool))[-1]) for pool in POOLS["alexnet"])

    explanation = fact(
        "shape_explain_224",
        size=setting.size,
        kernel=kernel,
        stride=stride,
        exact=(setting.size - kernel) / stride + 1,  # 54.25: PyTorch rounds down
        note_size=INPUT_SIZE_2012,
        first_224=at_224.shape_of(first)[-1],
        first_227=at_227.shape_of(first)[-1],
        sides_224=sides(at_224),
        sides_227=sides(at_227),
        **{key: at_224.why.values[key] for key in ("layer", "expects", "got")},
    )
    prompt = fact("shape_question_224", size=setting.size, note_size=INPUT_SIZE_2012)
    return Question(prompt, setting, options, 2, explanation)


QUESTIONS: tuple[Callable[[], Question], ...] = (_fc1_question, _alexnet_224_question)


@functools.cache
def questions() -> tuple[Question, ...]:
    """The lab's predict-then-reveal questions, their answers computed from the models."""
    return tuple(make() for make in QUESTIONS)
