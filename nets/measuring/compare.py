"""The "Compare" tab's logic: parameters, memory and compute of LeNet, AlexNet and later classics.

The study note makes round claims ("LeNet has about 60K parameters", "AlexNet about 60M", "its FC
layers hold the parameters, its conv layers do the work"). This module puts exact numbers beside
them:

- ``models_table``: one row per model (parameters, trainable/frozen, fp32 size, multiply-adds, and
  how parameters and compute split between convolutions and fully connected layers);
- ``layer_table``: one model layer by layer, in the manner of d2l's ``layer_summary`` / torchinfo;
- ``shares_table``: the conv / fully connected / other split of each model, for the charts;
- ``note_claims``: the note's claims beside the exact counts (as facts the UI words);
- ``two_gpu_split``: why the 2012 network was split over two GPUs, and what the split saved.

Every model is built on PyTorch's ``meta`` device: tensors there have shapes but no storage, so
VGG-16's 138M parameters cost no memory, no initialisation time and no download, and a forward
pass only propagates shapes. Compute is counted by ``torch.utils.flop_counter.FlopCounterMode``
during that forward pass, not by hand-written formulas.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision import models as tv

from nets.facts import Fact, Refusal, fact
from nets.models.alexnet import INPUT_SIZE_2012, PENULTIMATE_FEATURES, alexnet2012, alexnet2012_two_gpu
from nets.models.lenet import lenet, mnist_weights

LENET_NOTE = "LeNet (note, 3 channels)"
LENET_DIGITS = "LeNet (digit tab, 1 channel)"
ALEXNET_2012 = "AlexNet 2012 (note)"
ALEXNET_2012_TWO_GPU = "AlexNet 2012 (paper, 2 GPUs)"  # conv2, conv4, conv5 grouped in two
ALEXNET_TORCHVISION = "AlexNet (torchvision)"
ALEXNET_FINETUNED = "AlexNet + new head (N classes)"  # the table shows N as a number

MODELS: tuple[str, ...] = (
    LENET_NOTE,
    LENET_DIGITS,
    ALEXNET_2012,
    ALEXNET_2012_TWO_GPU,
    ALEXNET_TORCHVISION,
    ALEXNET_FINETUNED,
)
"""The models the tab always shows, in table order."""

EXTRA_MODELS: tuple[str, ...] = (
    "VGG-16",
    "GoogLeNet",
    "ResNet-18",
    "ResNet-50",
    "SqueezeNet 1.0",
    "MobileNetV3-Small",
    "MobileNetV3-Large",
)
"""Later classics from torchvision the visitor may add to the table, in menu order."""

MODELS_TABLE_COLUMNS = (
    "model", "parameters", "trainable", "frozen", "size_mb", "mult_adds", "input_size",
    "conv_params_pct", "fc_params_pct", "conv_mult_adds_pct", "fc_mult_adds_pct",
)  # fmt: skip
LAYER_TABLE_COLUMNS = ("layer", "type", "output_shape", "parameters", "mult_adds")

MIN_CLASSES, MAX_CLASSES = 2, 1000  # a classifier needs two classes; ImageNet's 1000 is the top
BYTES_PER_PARAMETER = 4  # fp32, as the weights are stored and run here
LEFTOVER = "(outside layers)"  # row for work or parameters no leaf layer owns (none for these models)

IMAGENET_INPUT = (3, 224, 224)
LENET_SIZE = mnist_weights().input_size  # 32: MNIST's 28x28 digits padded by 2 pixels, as LeCun did


def parameters(module: nn.Module) -> int:
    """How many numbers ``module`` learns or keeps (every parameter, trainable or frozen)."""
    return sum(p.numel() for p in module.parameters())


def on_meta(build: Callable[..., nn.Module], **options: object) -> nn.Module:
    """``build(**options)`` on torch's meta device: shapes and counts, no weights, no memory."""
    with torch.device("meta"):
        return build(**options)


def _alexnet_with_new_head(classes: int) -> nn.Module:
    """torchvision's AlexNet, frozen, with a fresh trainable ``Linear(4096, classes)`` as its last layer."""
    model = tv.alexnet()
    model.requires_grad_(False)
    model.classifier[6] = nn.Linear(PENULTIMATE_FEATURES, classes)  # new layers are trainable by default
    return model


# name -> (builder taking the number of fine-tuning classes, input shape without batch)
_BUILDERS: dict[str, tuple[Callable[[int], nn.Module], tuple[int, int, int]]] = {
    LENET_NOTE: (lambda _: lenet(in_channels=3), (3, LENET_SIZE, LENET_SIZE)),
    LENET_DIGITS: (lambda _: lenet(in_channels=1), (1, LENET_SIZE, LENET_SIZE)),
    ALEXNET_2012: (lambda _: alexnet2012(), (3, INPUT_SIZE_2012, INPUT_SIZE_2012)),
    ALEXNET_2012_TWO_GPU: (lambda _: alexnet2012_two_gpu(), (3, INPUT_SIZE_2012, INPUT_SIZE_2012)),
    ALEXNET_TORCHVISION: (lambda _: tv.alexnet(), IMAGENET_INPUT),
    ALEXNET_FINETUNED: (_alexnet_with_new_head, IMAGENET_INPUT),
    "VGG-16": (lambda _: tv.vgg16(), IMAGENET_INPUT),
    # without the two auxiliary classifiers (used only in training; the ImageNet weights drop them
    # too, hence 6.6M parameters, not 13.0M); init_weights=False silences torchvision's warning
    # about its default initialisation, which a meta model never runs anyway
    "GoogLeNet": (lambda _: tv.googlenet(aux_logits=False, init_weights=False), IMAGENET_INPUT),
    "ResNet-18": (lambda _: tv.resnet18(), IMAGENET_INPUT),
    "ResNet-50": (lambda _: tv.resnet50(), IMAGENET_INPUT),
    # SqueezeNet's paper title: "AlexNet-level accuracy with 50x fewer parameters"
    "SqueezeNet 1.0": (lambda _: tv.squeezenet1_0(), IMAGENET_INPUT),
    "MobileNetV3-Small": (lambda _: tv.mobilenet_v3_small(), IMAGENET_INPUT),
    "MobileNetV3-Large": (lambda _: tv.mobilenet_v3_large(), IMAGENET_INPUT),
}

_FINETUNED_NAME = re.compile(r"AlexNet \+ new head \((\d+) classes\)")


def finetuned_name(classes: int) -> str:
    """The fine-tuned AlexNet's name as the table shows it, e.g. "AlexNet + new head (5 classes)"."""
    return f"AlexNet + new head ({classes} classes)"


class CompareError(Refusal):
    """A request the tables cannot answer: ``classes_not_whole``, ``classes_out_of_range``,
    ``unknown_model`` or ``unknown_extras``, with the value and what is allowed."""


def _class_count(finetune_classes: object) -> int:
    """``finetune_classes`` as an int in 2..1000, or a ``CompareError`` saying what is allowed."""
    if isinstance(finetune_classes, bool) or not isinstance(finetune_classes, (int, float)):
        raise CompareError("classes_not_whole", value=repr(finetune_classes))
    if finetune_classes != int(finetune_classes):  # a UI number box may send 5.0: fine; 5.5 is not
        raise CompareError("classes_not_whole", value=repr(finetune_classes))
    classes = int(finetune_classes)
    if not MIN_CLASSES <= classes <= MAX_CLASSES:
        raise CompareError("classes_out_of_range", value=classes, low=MIN_CLASSES, high=MAX_CLASSES)
    return classes


def _resolve(name: object, finetune_classes: object) -> tuple[str, int]:
    """The model's menu name and its number of classes (0 for models without a new head)."""
    classes = _class_count(finetune_classes)
    if isinstance(name, str):
        match = _FINETUNED_NAME.fullmatch(name.strip())
        if match:  # the name a row of the models table shows: its number of classes wins
            return ALEXNET_FINETUNED, _class_count(int(match.group(1)))
        if name.strip() in _BUILDERS:
            name = name.strip()
            return name, (classes if name == ALEXNET_FINETUNED else 0)  # 0: one cache entry
    raise CompareError("unknown_model", name=str(name), choices=list(MODELS + EXTRA_MODELS))


def build_model(
    name: str, finetune_classes: int = 5, device: str | torch.device = "meta"
) -> tuple[nn.Module, tuple[int, int, int]]:
    """Build a model of the tab, untrained and in eval mode, with its input shape (C, H, W)."""
    name, classes = _resolve(name, finetune_classes)
    builder, input_shape = _BUILDERS[name]
    with torch.device(device):  # on "meta" nothing is allocated and nothing is initialised
        model = builder(classes)
    return model.eval(), input_shape


@dataclass(frozen=True)
class _Layer:
    layer: str
    type: str
    output_shape: str
    parameters: int
    mult_adds: int


@dataclass(frozen=True)
class _Summary:
    """Everything the tables say about one model, counted once."""

    model: str
    input_size: str
    parameters: int
    trainable: int
    conv_params: int
    fc_params: int
    mult_adds: int
    conv_mult_adds: int
    fc_mult_adds: int
    layers: tuple[_Layer, ...]


def _shape_text(output: object) -> str:
    """A layer output's shape without the batch dimension: "64x55x55", "4096"."""
    if isinstance(output, (tuple, list)):
        output = next((item for item in output if isinstance(item, torch.Tensor)), None)
    if not isinstance(output, torch.Tensor):
        return ""
    return "x".join(str(size) for size in output.shape[1:])


def _is_leaf(module: nn.Module) -> bool:
    # nn.Identity is a placeholder torchvision puts where a layer is switched off: it does no work
    return next(module.children(), None) is None and not isinstance(module, nn.Identity)


# FlopCounterMode tracks modules with hooks that are global to the process; one count at a time
# keeps two visitors' first requests (Gradio runs handlers in threads) from mixing their counts.
_COUNTING = threading.Lock()


@functools.cache  # pure: the same numbers for every visitor
def _summarize(name: str, classes: int) -> _Summary:
    """Count one model's parameters and, layer by layer, the multiply-adds of a batch-1 forward pass."""
    model, input_shape = build_model(name, classes or 5, device="meta")
    layers: list[_Layer] = []
    counted: set[int] = set()  # parameters already given to a layer (a layer may run twice)
    started: dict[nn.Module, int] = {}
    names = {module: qualified for qualified, module in model.named_modules()}
    counter = FlopCounterMode(display=False)

    def before(module: nn.Module, args: object) -> None:
        started[module] = counter.get_total_flops()

    def after(module: nn.Module, args: object, output: object) -> None:
        # FlopCounterMode counts 2 FLOPs per multiply-add (the formulas for aten.convolution and
        # aten.mm/addmm/bmm are 2*M*N*K), so halving is exact. It counts only those matrix
        # products: bias additions, ReLU, pooling, normalisation, residual additions and softmax
        # cost 0, as in torchinfo and the papers' "multiply-adds".
        flops = counter.get_total_flops() - started.pop(module)
        own = [p for p in module.parameters(recurse=False) if id(p) not in counted]
        counted.update(id(p) for p in own)
        layers.append(
            _Layer(
                layer=names[module],
                type=type(module).__name__,
                output_shape=_shape_text(output),
                parameters=sum(p.numel() for p in own),
                mult_adds=flops // 2,
            )
        )

    leaves = [module for module in model.modules() if _is_leaf(module)]
    hooks = [module.register_forward_pre_hook(before) for module in leaves]
    hooks += [module.register_forward_hook(after) for module in leaves]
    try:
        with _COUNTING, counter, torch.no_grad():
            model(torch.empty(1, *input_shape, device="meta"))  # (1, C, H, W): only shapes flow
    finally:
        for hook in hooks:
            hook.remove()

    parameters = sum(p.numel() for p in model.parameters())
    mult_adds = counter.get_total_flops() // 2
    leftover_params = parameters - sum(layer.parameters for layer in layers)
    leftover_mult_adds = mult_adds - sum(layer.mult_adds for layer in layers)
    if leftover_params or leftover_mult_adds:  # so that the columns always sum to the totals
        layers.append(_Layer(LEFTOVER, "", "", leftover_params, leftover_mult_adds))

    def params_of(kind: type[nn.Module]) -> int:
        return sum(p.numel() for m in model.modules() if isinstance(m, kind) for p in m.parameters())

    def mult_adds_of(kind: type[nn.Module]) -> int:
        kinds = {type(m).__name__ for m in model.modules() if isinstance(m, kind)}
        return sum(layer.mult_adds for layer in layers if layer.type in kinds)

    return _Summary(
        model=finetuned_name(classes) if name == ALEXNET_FINETUNED else name,
        input_size="x".join(str(size) for size in input_shape),
        parameters=parameters,
        trainable=sum(p.numel() for p in model.parameters() if p.requires_grad),
        conv_params=params_of(nn.Conv2d),
        fc_params=params_of(nn.Linear),
        mult_adds=mult_adds,
        conv_mult_adds=mult_adds_of(nn.Conv2d),
        fc_mult_adds=mult_adds_of(nn.Linear),
        layers=tuple(layers),
    )


def _summary(name: str, finetune_classes: object = 5) -> _Summary:
    return _summarize(*_resolve(name, finetune_classes))


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _extras(extras: Sequence[str] | str | None) -> list[str]:
    """The chosen extra models in menu order, or a ``CompareError`` naming the unknown ones."""
    if extras is None:
        return []
    chosen = [extras] if isinstance(extras, str) else list(extras)
    unknown = [str(name) for name in chosen if name not in EXTRA_MODELS]
    if unknown:
        raise CompareError("unknown_extras", names=unknown, choices=list(EXTRA_MODELS))
    return [name for name in EXTRA_MODELS if name in chosen]


def models_table(finetune_classes: int = 5, extras: Sequence[str] = ()) -> pd.DataFrame:
    """One row per model: parameters, trainable/frozen, fp32 MB, multiply-adds, conv vs FC shares."""
    classes = _class_count(finetune_classes)
    rows = []
    for name in [*MODELS, *_extras(extras)]:
        s = _summary(name, classes)
        rows.append(
            {
                "model": s.model,
                "parameters": s.parameters,
                "trainable": s.trainable,
                "frozen": s.parameters - s.trainable,
                "size_mb": round(s.parameters * BYTES_PER_PARAMETER / 1e6, 2),  # MB = 10^6 bytes
                "mult_adds": s.mult_adds,
                "input_size": s.input_size,
                "conv_params_pct": _percent(s.conv_params, s.parameters),
                "fc_params_pct": _percent(s.fc_params, s.parameters),
                "conv_mult_adds_pct": _percent(s.conv_mult_adds, s.mult_adds),
                "fc_mult_adds_pct": _percent(s.fc_mult_adds, s.mult_adds),
            }
        )
    return pd.DataFrame(rows, columns=list(MODELS_TABLE_COLUMNS))


SHARES_TABLE_COLUMNS = ("model", "measure", "part", "percent")
PARTS = ("conv", "fully connected", "other")


def shares_table(models: pd.DataFrame) -> pd.DataFrame:
    """Where each model of a ``models_table`` keeps its parameters and does its compute, in long form.

    One row per (model, measure, part): measure is "parameters" or "compute", part is "conv",
    "fully connected" or "other" (normalisation, attention, whatever is neither), and the three
    parts of a measure add up to 100 (to rounding).
    """
    rows = []
    for _, row in models.iterrows():
        for measure, conv, fc in (
            ("parameters", "conv_params_pct", "fc_params_pct"),
            ("compute", "conv_mult_adds_pct", "fc_mult_adds_pct"),
        ):
            other = max(0.0, round(100 - row[conv] - row[fc], 1))
            rows += [
                {"model": row["model"], "measure": measure, "part": part, "percent": float(value)}
                for part, value in zip(PARTS, (row[conv], row[fc], other), strict=True)
            ]
    return pd.DataFrame(rows, columns=list(SHARES_TABLE_COLUMNS))


def layer_table(name: str, finetune_classes: int = 5) -> pd.DataFrame:
    """One model layer by layer, in forward order: output shape, parameters, multiply-adds."""
    layers = _summary(name, finetune_classes).layers
    return pd.DataFrame([vars(layer) for layer in layers], columns=list(LAYER_TABLE_COLUMNS))


def layer_counts(name: str) -> dict[str, int]:
    """What a model is made of, counted from its leaf modules (ReLU and dropout left out), in order
    of first appearance: {"Conv2d": 5, "MaxPool2d": 3, ..., "Linear": 3}."""
    model, _ = build_model(name)
    kinds: dict[str, int] = {}
    for module in model.modules():
        if _is_leaf(module) and not isinstance(module, (nn.ReLU, nn.Dropout)):
            kinds[type(module).__name__] = kinds.get(type(module).__name__, 0) + 1
    return kinds


# The paper's hardware (Krizhevsky et al. 2012, section 3.2): "a single GTX 580 GPU has only 3GB of
# memory, which limits the maximum size of the networks that can be trained on it".
GPU_2012, GPU_2012_MEMORY_GB, GPUS_2012 = "GTX 580", 3, 2
GROUPED_LAYERS_2012 = ("conv2", "conv4", "conv5")  # the layers that read only their own GPU's maps


def two_gpu_split() -> Fact:
    """Why the 2012 AlexNet was split over two GPUs, and what the split cost, as one fact.

    ``alexnet_two_gpu``: the GPUs (``gpus``, ``gpu``, ``gpu_memory_gb``), the layers that read only
    their own GPU's half of the maps (``grouped_layers``), the parameters of the two-GPU network
    and of the same network as one tower (``two_gpu``, ``one_tower``, ``fewer_parameters``,
    ``fewer_parameters_pct``) and their multiply-adds at 227x227 (``two_gpu_mult_adds``,
    ``one_tower_mult_adds``, ``fewer_mult_adds_pct``).
    """
    two, one = _summary(ALEXNET_2012_TWO_GPU), _summary(ALEXNET_2012)
    return fact(
        "alexnet_two_gpu",
        gpus=GPUS_2012,
        gpu=GPU_2012,
        gpu_memory_gb=GPU_2012_MEMORY_GB,
        grouped_layers=list(GROUPED_LAYERS_2012),
        two_gpu=two.parameters,
        one_tower=one.parameters,
        fewer_parameters=one.parameters - two.parameters,
        fewer_parameters_pct=_percent(one.parameters - two.parameters, one.parameters),
        two_gpu_mult_adds=two.mult_adds,
        one_tower_mult_adds=one.mult_adds,
        fewer_mult_adds_pct=_percent(one.mult_adds - two.mult_adds, one.mult_adds),
    )
