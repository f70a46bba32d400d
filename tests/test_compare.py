"""Spec of the Compare tab's numbers (nets/measuring/compare.py), checked against oracles.

The oracles: the same models built for real on the CPU and counted with ``sum(p.numel())``, a
real forward pass with hooks for output shapes, and torchvision's weights metadata
(``meta["num_params"]``, and ``meta["_ops"]``: torchvision's own GFLOPS figure, which is in fact
billions of multiply-adds, e.g. 0.714 for AlexNet). The metadata is part of the installed
package, so nothing is downloaded.
"""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn
from torchvision.models import (
    AlexNet_Weights,
    GoogLeNet_Weights,
    MobileNet_V3_Large_Weights,
    MobileNet_V3_Small_Weights,
    ResNet18_Weights,
    ResNet50_Weights,
    SqueezeNet1_0_Weights,
    VGG16_Weights,
)

from nets.explaining.the_note import note_claims
from nets.measuring.compare import (
    ALEXNET_2012,
    ALEXNET_2012_TWO_GPU,
    ALEXNET_FINETUNED,
    ALEXNET_TORCHVISION,
    EXTRA_MODELS,
    LAYER_TABLE_COLUMNS,
    LENET_DIGITS,
    LENET_NOTE,
    MODELS,
    MODELS_TABLE_COLUMNS,
    CompareError,
    build_model,
    finetuned_name,
    layer_table,
    models_table,
    shares_table,
    two_gpu_split,
)

WEIGHTS_OF_EXTRAS = {
    "VGG-16": VGG16_Weights.IMAGENET1K_V1,
    "GoogLeNet": GoogLeNet_Weights.IMAGENET1K_V1,
    "ResNet-18": ResNet18_Weights.IMAGENET1K_V1,
    "ResNet-50": ResNet50_Weights.IMAGENET1K_V2,
    "SqueezeNet 1.0": SqueezeNet1_0_Weights.IMAGENET1K_V1,
    "MobileNetV3-Small": MobileNet_V3_Small_Weights.IMAGENET1K_V1,
    "MobileNetV3-Large": MobileNet_V3_Large_Weights.IMAGENET1K_V1,
}
ALEXNET_MULT_ADDS = 714_188_480  # torchvision's AlexNet at 224x224, batch 1 (meta["_ops"] = 0.714)


@functools.cache
def real_model(name: str, classes: int = 5) -> tuple[nn.Module, tuple[int, int, int]]:
    """The model built for real on the CPU, once per test session (AlexNet takes a second)."""
    torch.manual_seed(0)
    return build_model(name, classes, device="cpu")


def row(table, model: str):
    (found,) = table.index[table["model"] == model]
    return table.loc[found]


def test_note_counts_are_exact():
    table = models_table()
    assert row(table, LENET_NOTE)["parameters"] == 62_006
    assert row(table, LENET_DIGITS)["parameters"] == 61_706
    assert row(table, ALEXNET_2012)["parameters"] == 62_378_344
    assert row(table, ALEXNET_TORCHVISION)["parameters"] == 61_100_840
    assert row(table, ALEXNET_TORCHVISION)["parameters"] == AlexNet_Weights.IMAGENET1K_V1.meta["num_params"]


@pytest.mark.parametrize("name", [LENET_NOTE, LENET_DIGITS, ALEXNET_TORCHVISION, finetuned_name(3)])
def test_counts_match_the_model_built_for_real(name):
    model, _ = real_model(name, 3)
    table = models_table(finetune_classes=3)
    counted = row(table, name)
    assert counted["parameters"] == sum(p.numel() for p in model.parameters())
    assert counted["trainable"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert counted["frozen"] == sum(p.numel() for p in model.parameters() if not p.requires_grad)


@pytest.mark.parametrize("name", EXTRA_MODELS)
def test_extras_match_torchvision_metadata(name):
    weights = WEIGHTS_OF_EXTRAS[name]
    counted = row(models_table(extras=[name]), name)
    assert counted["parameters"] == weights.meta["num_params"]
    # torchvision's "_ops" (GFLOPS in its docs) counts multiply-adds, rounded to 3 decimals
    assert counted["mult_adds"] / 1e9 == pytest.approx(weights.meta["_ops"], rel=0.01, abs=0.001)


def test_every_extra_has_an_oracle():
    assert set(WEIGHTS_OF_EXTRAS) == set(EXTRA_MODELS)


def test_extra_counts_are_known_values():
    table = models_table(extras=EXTRA_MODELS)
    assert row(table, "ResNet-18")["parameters"] == 11_689_512
    assert row(table, "VGG-16")["parameters"] == 138_357_544
    assert row(table, "GoogLeNet")["parameters"] == 6_624_904  # without the auxiliary classifiers


@pytest.mark.parametrize("classes", [2, 5, 102, 1000])
def test_finetuned_head_trains_only_the_new_layer(classes):
    counted = row(models_table(finetune_classes=classes), finetuned_name(classes))
    assert counted["trainable"] == 4096 * classes + classes
    assert counted["parameters"] == counted["frozen"] + counted["trainable"]
    assert counted["frozen"] == 61_100_840 - (4096 * 1000 + 1000)  # AlexNet minus its old head


def test_finetuned_model_freezes_everything_but_the_head():
    model, _ = build_model(ALEXNET_FINETUNED, finetune_classes=7)
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["classifier.6.weight", "classifier.6.bias"]
    assert model.classifier[6].out_features == 7


def test_table_row_name_selects_the_finetuned_model():
    name = finetuned_name(10)
    assert layer_table(name)["layer"].iloc[-1] == "classifier.6"
    assert layer_table(name)["output_shape"].iloc[-1] == "10"


def test_alexnet_compute_matches_torchvision():
    alexnet = row(models_table(), ALEXNET_TORCHVISION)
    assert alexnet["mult_adds"] == pytest.approx(ALEXNET_MULT_ADDS, rel=0.01)
    assert alexnet["input_size"] == "3x224x224"


def test_alexnet_parameters_are_in_fc_layers_and_compute_in_conv_layers():
    alexnet = row(models_table(), ALEXNET_TORCHVISION)
    assert alexnet["conv_params_pct"] < 10
    assert alexnet["fc_params_pct"] >= 95
    assert alexnet["conv_mult_adds_pct"] >= 90
    # AlexNet has no other layers with parameters or multiply-adds: the shares add up to 100
    assert alexnet["conv_params_pct"] + alexnet["fc_params_pct"] == pytest.approx(100, abs=0.11)
    assert alexnet["conv_mult_adds_pct"] + alexnet["fc_mult_adds_pct"] == pytest.approx(100, abs=0.11)


def test_models_table_has_the_promised_columns_and_types():
    table = models_table(extras=EXTRA_MODELS)
    assert list(table.columns) == list(MODELS_TABLE_COLUMNS) == [
        "model", "parameters", "trainable", "frozen", "size_mb", "mult_adds", "input_size",
        "conv_params_pct", "fc_params_pct", "conv_mult_adds_pct", "fc_mult_adds_pct",
    ]  # fmt: skip
    assert list(table["model"]) == [*MODELS[:5], finetuned_name(5), *EXTRA_MODELS]
    for column in ["parameters", "trainable", "frozen", "mult_adds"]:
        assert table[column].dtype.kind == "i", column
    alexnet = row(table, ALEXNET_TORCHVISION)
    assert alexnet["size_mb"] == 244.40  # 61,100,840 fp32 numbers * 4 bytes / 10^6
    assert row(table, ALEXNET_2012)["input_size"] == "3x227x227"
    assert row(table, LENET_DIGITS)["input_size"] == "1x32x32"


def test_extras_appear_in_menu_order_once():
    table = models_table(extras=["ResNet-50", "VGG-16", "ResNet-50"])
    assert list(table["model"])[len(MODELS) :] == ["VGG-16", "ResNet-50"]


def real_layer_shapes(name: str) -> list[tuple[str, str]]:
    """(layer, output shape) of every leaf layer, in the order a real CPU forward pass runs them."""
    model, input_shape = real_model(name)
    names = {module: qualified for qualified, module in model.named_modules()}
    seen: list[tuple[str, str]] = []

    def record(module, args, output):
        seen.append((names[module], "x".join(map(str, output.shape[1:]))))

    hooks = [m.register_forward_hook(record) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(torch.rand(1, *input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    return seen


@pytest.mark.parametrize("name", [LENET_NOTE, ALEXNET_TORCHVISION])
def test_layer_shapes_match_a_real_forward_pass(name):
    table = layer_table(name)
    assert list(table.columns) == list(LAYER_TABLE_COLUMNS)
    assert list(zip(table["layer"], table["output_shape"], strict=True)) == real_layer_shapes(name)


def test_alexnet_layers_read_like_the_paper():
    table = layer_table(ALEXNET_TORCHVISION).set_index("layer")
    assert table.loc["features.0", "output_shape"] == "64x55x55"
    assert table.loc["features.0", "type"] == "Conv2d"
    assert table.loc["features.0", "mult_adds"] == 64 * 55 * 55 * (3 * 11 * 11)
    assert table.loc["classifier.1", "mult_adds"] == 9216 * 4096
    assert table.loc["classifier.1", "parameters"] == 9216 * 4096 + 4096
    assert table.loc["features.1", "mult_adds"] == 0  # ReLU and pooling are not multiply-adds
    assert table.loc["classifier.6", "output_shape"] == "1000"
    assert layer_table(ALEXNET_2012).set_index("layer").loc["features.11", "output_shape"] == "384x13x13"


@pytest.mark.parametrize("name", MODELS + EXTRA_MODELS)
def test_layer_table_sums_to_model_totals(name):
    table = layer_table(name)
    model, _ = build_model(name)
    shown = finetuned_name(5) if name == ALEXNET_FINETUNED else name
    totals = row(models_table(extras=[name] if name in EXTRA_MODELS else ()), shown)
    assert table["parameters"].sum() == totals["parameters"]
    assert table["mult_adds"].sum() == totals["mult_adds"]
    # every row is a real layer of the model: nothing is lumped into a catch-all row
    assert set(table["layer"]) <= {qualified for qualified, _ in model.named_modules()}
    assert table["parameters"].dtype.kind == table["mult_adds"].dtype.kind == "i"


@pytest.mark.parametrize("name", MODELS + EXTRA_MODELS)
def test_models_on_meta_allocate_nothing(name):
    model, _ = build_model(name)
    assert all(p.is_meta for p in model.parameters())
    assert all(b.is_meta for b in model.buffers())


def test_every_point_of_the_note_is_checked_in_its_order_with_the_models_numbers():
    claims = {claim.code: claim.values for claim in note_claims()}
    assert list(claims) == [
        "claim_lenet_layers",
        "claim_lenet_parameters",
        "claim_mnist_size",
        "claim_lenet_channels",
        "claim_lenet_pooling",
        "claim_flatten_question",
        "claim_alexnet_scale",
        "claim_alexnet_layers",
        "claim_alexnet_parameters",
        "claim_imagenet_size",
        "claim_svm",
        "claim_overfitting",
        "claim_two_gpus",
        "claim_six_by_six",
        "claim_alexnet_split",
        "claim_new_head",
    ]
    assert claims["claim_lenet_parameters"] == {"note": 60_000, "three_channels": 62_006, "one_channel": 61_706}
    assert claims["claim_alexnet_parameters"] == {"note": 60_000_000, "y2012": 62_378_344, "torchvision": 61_100_840}
    assert claims["claim_lenet_layers"]["layers"] == {"Conv2d": 2, "AvgPool2d": 2, "Linear": 3}
    assert claims["claim_alexnet_layers"]["y2012"] == {"Conv2d": 5, "LocalResponseNorm": 2, "MaxPool2d": 3, "Linear": 3}
    assert claims["claim_alexnet_layers"]["torchvision"]["Conv2d"] == 5
    split = claims["claim_alexnet_split"]["torchvision"]
    assert split == {
        "fc_params_pct": 96.0,
        "conv_mult_adds_pct": 91.8,
        "mult_adds": 714_188_480,
        "input_size": "3x224x224",
    }
    # "nMB": MNIST's 70,000 grey 28x28 digits are 55 MB as bytes; the app ships 22,000 of them
    assert claims["claim_mnist_size"]["megabytes"] == 55.0 and claims["claim_mnist_size"]["subset_train"] == 20_000
    # 3 channels: conv1 has 3 x 6 x 5 x 5 + 6 parameters instead of 1 x 6 x 5 x 5 + 6
    assert claims["claim_lenet_channels"] == {"conv1_colour": 456, "conv1_grey": 156, "colour": 62_006, "grey": 61_706}
    assert claims["claim_lenet_pooling"] == {"average": 2, "maximum": 0, "pooling_parameters": 0}
    # "why leave out the first dimension?": traced, and refused by fc1 when the batch is counted in
    assert claims["claim_flatten_question"] == {
        "batch": 4,
        "features": 400,
        "shape": [4, 400],
        "counted": 1600,
        "counted_shape": [1, 1600],
        "refused_at": "fc1",
    }
    assert claims["claim_alexnet_scale"]["parameters_ratio"] == 1006  # 62,378,344 / 62,006
    assert claims["claim_overfitting"] == {"dropouts": 2, "p": 0.5}
    # "6x6 because of the max pooling before": at 227 only; at 224 the first FC layer refuses 6,400 numbers
    six = claims["claim_six_by_six"]
    assert (
        six["at_size"] == [256, 6, 6] and six["at224"] == [256, 5, 5] and (six["expects"], six["got"]) == (9216, 6400)
    )
    assert claims["claim_new_head"] == {"index": 6, "old": 4_097_000, "classes": 5, "new": 20_485}


def test_shares_table_has_every_model_and_adds_up():
    models = models_table(extras=["MobileNetV3-Large", "VGG-16"])
    shares = shares_table(models)
    assert list(shares.columns) == ["model", "measure", "part", "percent"]
    assert list(dict.fromkeys(shares["model"])) == list(models["model"])  # every model, in table order
    totals = shares.groupby(["model", "measure"])["percent"].sum()
    assert ((totals - 100).abs() <= 0.2).all()
    alexnet = shares[shares["model"] == ALEXNET_TORCHVISION].set_index(["measure", "part"])["percent"]
    assert alexnet[("parameters", "fully connected")] == 96.0 and alexnet[("compute", "conv")] == 91.8


@pytest.mark.parametrize(
    "call",
    [
        lambda: models_table(finetune_classes=1),
        lambda: models_table(finetune_classes=1001),
        lambda: models_table(finetune_classes=2.5),
        lambda: models_table(finetune_classes="5"),
        lambda: models_table(extras=["VGG-17"]),
        lambda: layer_table("ResNet-1000"),
        lambda: layer_table(ALEXNET_FINETUNED, finetune_classes=0),
        lambda: layer_table(finetuned_name(1)),
        lambda: build_model("LeNet-6"),
    ],
)
def test_bad_arguments_are_refused(call):
    with pytest.raises(CompareError):
        call()


def test_unknown_model_error_lists_the_choices():
    with pytest.raises(CompareError) as refused:
        layer_table("AlexNet 2013")
    assert refused.value.code == "unknown_model" and refused.value.values["choices"][0] == LENET_NOTE
    with pytest.raises(CompareError) as refused:
        models_table(finetune_classes=1)
    assert refused.value.code == "classes_out_of_range"
    assert refused.value.values == {"value": 1, "low": 2, "high": 1000}


# --- the paper's two-GPU AlexNet -------------------------------------------------------------------

TWO_GPU_PARAMETERS = 60_965_224  # the 2012 network with conv2, conv4, conv5 grouped in two
GROUPED = {"conv2": "features.4", "conv4": "features.10", "conv5": "features.12"}  # in AlexNet2012's layout


def test_two_gpu_alexnet_is_in_the_table_with_its_real_count():
    model, input_shape = real_model(ALEXNET_2012_TWO_GPU)
    counted = row(models_table(), ALEXNET_2012_TWO_GPU)
    assert counted["parameters"] == sum(p.numel() for p in model.parameters()) == TWO_GPU_PARAMETERS
    assert counted["input_size"] == "3x227x227" and input_shape == (3, 227, 227)
    assert MODELS.index(ALEXNET_2012_TWO_GPU) == MODELS.index(ALEXNET_2012) + 1
    with torch.no_grad():
        assert model(torch.rand(1, *input_shape)).shape == (1, 1000)  # a real forward pass works


def test_grouped_convolutions_halve_weights_and_multiply_adds():
    one = layer_table(ALEXNET_2012).set_index("layer")
    two = layer_table(ALEXNET_2012_TWO_GPU).set_index("layer")
    model, _ = real_model(ALEXNET_2012_TWO_GPU)
    modules = dict(model.named_modules())
    for layer in GROUPED.values():
        assert modules[layer].groups == 2
        assert two.loc[layer, "mult_adds"] * 2 == one.loc[layer, "mult_adds"]
        bias = modules[layer].out_channels
        assert (two.loc[layer, "parameters"] - bias) * 2 == one.loc[layer, "parameters"] - bias
    for layer in one.index.difference(list(GROUPED.values())):  # conv1, conv3 and the FC layers read both GPUs
        counts = ["parameters", "mult_adds"]
        assert two.loc[layer, counts].tolist() == one.loc[layer, counts].tolist()
    assert list(two["output_shape"]) == list(one["output_shape"])
    assert one["parameters"].sum() - two["parameters"].sum() == 62_378_344 - TWO_GPU_PARAMETERS == 1_413_120


def test_two_gpu_split_gives_the_numbers_for_its_sentence():
    split = two_gpu_split()
    assert split.code == "alexnet_two_gpu"
    two, one = row(models_table(), ALEXNET_2012_TWO_GPU), row(models_table(), ALEXNET_2012)
    assert split.values == {
        "gpus": 2,
        "gpu": "GTX 580",
        "gpu_memory_gb": 3,
        "grouped_layers": ["conv2", "conv4", "conv5"],
        "two_gpu": TWO_GPU_PARAMETERS,
        "one_tower": 62_378_344,
        "fewer_parameters": 1_413_120,
        "fewer_parameters_pct": 2.3,
        "two_gpu_mult_adds": two["mult_adds"],
        "one_tower_mult_adds": one["mult_adds"],
        "fewer_mult_adds_pct": round(100 * (one["mult_adds"] - two["mult_adds"]) / one["mult_adds"], 1),
    }
    assert (split.values["one_tower_mult_adds"], split.values["two_gpu_mult_adds"]) == (1_135_256_096, 724_406_816)
