"""Spec of "Look inside AlexNet": Grad-CAM at any layer for any class, conv1's filters, a photo's
strongest feature maps (nets/explaining/gradcam.py, photo.py, imagenet_classes.py, alexnet_views.py).

Real photos (scikit-image) through the stand-in ImageNet weights: the classes mean nothing, but
every mechanism is the real one. The oracle for Grad-CAM is the textbook version, with hooks on a
private copy of the model.
"""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from nets.explaining.alexnet_views import first_layer_filters, strongest_feature_maps
from nets.explaining.gradcam import GRADIENT_CLASSES_KEPT, LAYERS, ExplainError
from nets.explaining.imagenet_classes import CATEGORIES, class_index, find_classes, imagenet_class_names
from nets.explaining.photo import analyse_photo, classify, grad_cam, preprocess, seen_region
from nets.models.alexnet import CONV_RELU_END, alexnet2012_two_gpu

MAP_SIZES = {"conv1": 55, "conv2": 27, "conv3": 13, "conv4": 13, "conv5": 13}
CHANNELS = {"conv1": 64, "conv2": 192, "conv3": 384, "conv4": 256, "conv5": 256}


@pytest.fixture(scope="module")
def seen(imagenet_alexnet: nn.Module, chelsea: Image.Image):
    """One analysis of the cat photo, shared by the tests that only read it."""
    return analyse_photo(imagenet_alexnet, chelsea)


def hook_grad_cam(model: nn.Module, image: Image.Image, layer: str, index: int) -> np.ndarray:
    """Textbook Grad-CAM: forward and backward hooks on the layer's ReLU, on a private copy."""
    twin = copy.deepcopy(model)
    relu = twin.features[CONV_RELU_END[layer] - 1]
    relu.inplace = False  # full backward hooks do not allow in-place outputs
    saved = {}
    relu.register_forward_hook(lambda module, args, out: saved.update(maps=out))
    relu.register_full_backward_hook(lambda module, grad_in, grad_out: saved.update(grads=grad_out[0]))
    logits = twin(preprocess(image).requires_grad_(True))  # (1, 1000)
    logits[0, index].backward()
    weights = saved["grads"].mean(dim=(2, 3), keepdim=True)  # (1, C, 1, 1)
    heat = torch.relu((weights * saved["maps"]).sum(dim=1))[0].detach()  # (n, n)
    return (heat / heat.max()).numpy()


# --- any layer ----------------------------------------------------------------------------------


def test_the_five_layers_give_five_different_heatmaps(seen, chelsea: Image.Image) -> None:
    explained = {layer: seen.grad_cam(layer) for layer in LAYERS}
    for layer, explanation in explained.items():
        assert explanation.layer == layer
        assert explanation.cam_cells.shape == (MAP_SIZES[layer],) * 2 and explanation.cells == MAP_SIZES[layer]
        assert explanation.channels == CHANNELS[layer]
        assert explanation.cam.shape == (chelsea.height, chelsea.width)
        assert explanation.peak > 0 and explanation.cam_cells.max() == pytest.approx(1.0)
        assert explanation.cam_cells.std() > 0.05  # a real map, not a flat one
    for number, first in enumerate(LAYERS):
        for second in LAYERS[number + 1 :]:
            difference = np.abs(explained[first].cam - explained[second].cam).mean()
            assert difference > 0.02, (first, second)
    assert len({explanation.class_index for explanation in explained.values()}) == 1  # the top guess


def test_conv5_for_the_top_guess_is_todays_heatmap(imagenet_alexnet: nn.Module, chelsea: Image.Image) -> None:
    today = classify(imagenet_alexnet, chelsea, top=1, cam_size=(226, 150))
    explanation = grad_cam(imagenet_alexnet, chelsea, cam_size=(226, 150))
    assert explanation.class_name == today.cam_class and explanation.rank == 1
    assert np.allclose(explanation.cam_cells, today.cam_cells, atol=1e-6)
    assert np.allclose(explanation.cam, today.cam, atol=1e-6)
    assert explanation.probability == pytest.approx(float(today.probabilities.max()))


@pytest.mark.parametrize("layer, rank", [("conv1", 1), ("conv3", 3), ("conv4", 2)])
def test_any_layer_and_class_matches_hook_based_grad_cam(
    imagenet_alexnet: nn.Module, coffee: Image.Image, layer: str, rank: int
) -> None:
    analysis = analyse_photo(imagenet_alexnet, coffee)
    index = CATEGORIES.index(list(analysis.top(rank))[rank - 1])
    explanation = analysis.grad_cam(layer, index)
    expected = hook_grad_cam(imagenet_alexnet, coffee, layer, index)
    assert np.allclose(explanation.cam_cells, expected, atol=1e-5)


# --- any class ----------------------------------------------------------------------------------


def test_the_third_guess_is_explained_and_named(seen) -> None:
    first, _, third = list(seen.top(3))
    explanation = seen.grad_cam("conv5", third)
    assert explanation.class_name == third and explanation.class_index == CATEGORIES.index(third)
    assert explanation.rank == 3 == seen.rank(third)
    assert explanation.probability == pytest.approx(seen.top(3)[third])
    top = seen.grad_cam("conv5")
    assert top.class_name == first and top.rank == 1
    assert np.abs(explanation.cam_cells - top.cam_cells).mean() > 0.02


def test_a_class_is_named_by_index_or_name_in_any_case(seen) -> None:
    expected = seen.grad_cam("conv2", 281)
    assert expected.class_name == "tabby" == CATEGORIES[281]
    for target in ("tabby", "TABBY", "  Tabby \t"):
        assert np.array_equal(seen.grad_cam("conv2", target).cam_cells, expected.cam_cells)
    assert class_index(np.int64(281)) == 281  # numpy integers are indices too
    assert class_index("Cardigan") == 264 and class_index("cardigan") == 474  # the exact spelling wins
    assert seen.grad_cam(" CONV2 ", 281).layer == "conv2"


def test_ranks_cover_all_thousand_classes(seen) -> None:
    ranks = sorted(seen.rank(index) for index in range(1000))
    assert ranks == list(range(1, 1001))
    worst = int(torch.argmin(seen.probabilities))
    assert seen.rank(worst) == 1000


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["conv6", "fc1", "", None, 5])
def test_an_unknown_layer_is_refused_with_the_choices(
    imagenet_alexnet: nn.Module, chelsea: Image.Image, layer: object
) -> None:
    with pytest.raises(ExplainError) as refused:
        grad_cam(imagenet_alexnet, chelsea, layer=layer)
    assert refused.value.code == "unknown_layer"
    assert refused.value.values == {"value": str(layer), "choices": ["conv1", "conv2", "conv3", "conv4", "conv5"]}


@pytest.mark.parametrize(
    "name, suggested",
    [
        ("golden retriver", "golden retriever"),
        ("tabby cta", "tabby"),
        ("siamese", "Siamese cat"),
        ("persian kat", "Persian cat"),
    ],
)
def test_an_unknown_class_is_refused_with_close_names(seen, name: str, suggested: str) -> None:
    with pytest.raises(ExplainError) as refused:
        seen.grad_cam("conv5", name)
    assert refused.value.code == "unknown_class" and refused.value.values["value"] == name
    suggestions = refused.value.values["suggestions"]
    assert suggested in suggestions and len(suggestions) <= 5
    assert all(suggestion in CATEGORIES for suggestion in suggestions)


def test_other_bad_classes_are_refused(seen) -> None:
    cases = {
        1000: "class_index_out_of_range",
        -1: "class_index_out_of_range",
        True: "unknown_class",
        2.0: "unknown_class",
        "qwzx": "unknown_class",
        "CARDIGAN": "ambiguous_class",
    }
    for target, code in cases.items():
        with pytest.raises(ExplainError) as refused:
            seen.grad_cam("conv5", target)
        assert refused.value.code == code, target
    with pytest.raises(ExplainError) as refused:
        class_index(1000)
    assert refused.value.values == {"value": 1000, "low": 0, "high": 999}
    with pytest.raises(ExplainError) as refused:
        class_index("qwzx")
    assert refused.value.values == {"value": "qwzx", "suggestions": []}
    with pytest.raises(ExplainError) as refused:
        class_index("CARDIGAN")
    assert refused.value.values == {"value": "CARDIGAN", "choices": ["Cardigan", "cardigan"]}


# --- finding a class ----------------------------------------------------------------------------


def test_class_names_are_imagenets_in_index_order() -> None:
    names = imagenet_class_names()
    assert names == CATEGORIES and names is not CATEGORIES and len(names) == 1000


def test_find_classes_puts_the_best_matches_first() -> None:
    cats = find_classes("cat", limit=20)
    assert cats[:5] == ["tiger cat", "Persian cat", "Siamese cat", "Egyptian cat", "Madagascar cat"]
    assert cats.index("catamaran") > cats.index("Madagascar cat")  # the word before the prefix
    assert find_classes("TABBY") == ["tabby"]
    assert find_classes("  ice ", limit=3) == ["ice bear", "ice cream", "ice lolly"]
    assert len(find_classes("e", limit=7)) == 7
    assert all("dog" in name.lower() for name in find_classes("Dog", limit=50))
    assert find_classes("") == find_classes("   ") == find_classes("no such thing") == []


# --- the heatmap on the photo -------------------------------------------------------------------


@pytest.mark.parametrize("layer", LAYERS)
def test_heatmaps_are_in_0_1_and_zero_outside_the_seen_region(
    imagenet_alexnet: nn.Module, coffee: Image.Image, layer: str
) -> None:
    analysis = analyse_photo(imagenet_alexnet, coffee)
    for cam_size in (None, (300, 200)):
        cam = analysis.grad_cam(layer, cam_size=cam_size).cam
        width, height = cam_size or coffee.size
        assert cam.shape == (height, width) and cam.dtype == np.float32
        assert cam.min() >= 0 and cam.max() <= 1
        left, top, right, bottom = seen_region(width, height)
        assert cam[top:bottom, left:right].max() > 0.5
        outside = cam.copy()
        outside[top:bottom, left:right] = 0
        assert not outside.any()


# --- reusing one forward pass -------------------------------------------------------------------


def test_reused_gradients_give_the_same_heatmaps_as_fresh_ones(
    imagenet_alexnet: nn.Module, chelsea: Image.Image
) -> None:
    analysis = analyse_photo(imagenet_alexnet, chelsea)
    second = CATEGORIES.index(list(analysis.top(2))[1])
    order = [
        ("conv5", None),
        ("conv3", None),
        ("conv1", second),
        ("conv4", second),
        ("conv1", None),
        ("conv2", 7),
        ("conv5", 7),
        ("conv2", None),
    ]
    for layer, target in order:  # each answer continues from what the analysis already knows
        reused = analysis.grad_cam(layer, target)
        fresh = grad_cam(imagenet_alexnet, chelsea, layer, target)
        assert np.allclose(reused.cam_cells, fresh.cam_cells, atol=1e-6), (layer, target)
        assert reused.forward_seconds == analysis.forward_seconds > 0 and reused.cam_seconds >= 0
    for target in range(10):
        analysis.grad_cam("conv5", target)
    assert analysis.forward_pass.classes_kept() == list(range(10 - GRADIENT_CLASSES_KEPT, 10))  # older ones let go


def test_an_analysis_has_classifys_probabilities(seen, imagenet_alexnet: nn.Module, chelsea: Image.Image) -> None:
    today = classify(imagenet_alexnet, chelsea, explain=False)
    assert torch.allclose(seen.probabilities, today.probabilities, atol=1e-6)
    assert list(seen.top(5)) == list(today.top)
    assert seen.size == chelsea.size


def test_explaining_works_inside_inference_mode(imagenet_alexnet: nn.Module, chelsea: Image.Image) -> None:
    expected = grad_cam(imagenet_alexnet, chelsea, "conv2", 3)
    with torch.inference_mode():  # an app may wrap every request in it
        got = grad_cam(imagenet_alexnet, chelsea, "conv2", 3)
        analysis = analyse_photo(imagenet_alexnet, chelsea)
    with torch.inference_mode():
        later = analysis.grad_cam("conv2", 3)
    assert np.allclose(got.cam_cells, expected.cam_cells, atol=1e-6)
    assert np.allclose(later.cam_cells, expected.cam_cells, atol=1e-6)


def test_threads_explaining_at_once_agree_with_one_at_a_time(
    imagenet_alexnet: nn.Module, chelsea: Image.Image, coffee: Image.Image
) -> None:
    before = {name: tensor.clone() for name, tensor in imagenet_alexnet.state_dict().items()}
    jobs = [(chelsea, "conv1", None), (coffee, "conv4", 5), (chelsea, "conv3", "tabby"), (coffee, "conv2", None)]
    sequential = [grad_cam(imagenet_alexnet, photo, layer, target) for photo, layer, target in jobs]
    shared = analyse_photo(imagenet_alexnet, chelsea)  # one visitor switching layers quickly
    shared_jobs = [("conv1", None), ("conv5", 9), ("conv2", None), ("conv4", 9)]
    shared_sequential = [grad_cam(imagenet_alexnet, chelsea, layer, target) for layer, target in shared_jobs]

    results: dict[tuple[str, int], object] = {}
    start = threading.Barrier(len(jobs) + len(shared_jobs))

    def fresh(number: int) -> None:
        start.wait()
        results["fresh", number] = grad_cam(imagenet_alexnet, *jobs[number])

    def reused(number: int) -> None:
        start.wait()
        results["shared", number] = shared.grad_cam(*shared_jobs[number])

    threads = [threading.Thread(target=fresh, args=(n,)) for n in range(len(jobs))]
    threads += [threading.Thread(target=reused, args=(n,)) for n in range(len(shared_jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == len(threads)
    for kind, expected in (("fresh", sequential), ("shared", shared_sequential)):
        for number, explanation in enumerate(expected):
            got = results[kind, number]
            assert (got.layer, got.class_index) == (explanation.layer, explanation.class_index)
            assert np.allclose(got.cam_cells, explanation.cam_cells, atol=1e-6), (kind, number)
            assert np.allclose(got.cam, explanation.cam, atol=1e-6), (kind, number)

    after = imagenet_alexnet.state_dict()
    assert all(torch.equal(after[name], before[name]) for name in before)  # bit-identical
    assert not imagenet_alexnet.training
    assert all(not p.requires_grad and p.grad is None for p in imagenet_alexnet.parameters())
    assert all(not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks) for m in imagenet_alexnet.modules())


# --- what the first layer learned, what a layer sees --------------------------------------------


def test_first_layer_filters_are_drawn_as_the_papers_grid(imagenet_alexnet: nn.Module) -> None:
    grid = first_layer_filters(imagenet_alexnet)
    assert grid.mode == "RGB" and grid.size == (8 * 55 + 9 * 2,) * 2  # 8x8 filters of 11x11 at 5x, 2 px gaps
    pixels = np.asarray(grid)
    weights = imagenet_alexnet.features[0].weight.numpy()  # (64, 3, 11, 11)
    for number in (0, 9, 63):
        row, column = divmod(number, 8)
        tile = pixels[2 + row * 57 : 2 + row * 57 + 55, 2 + column * 57 : 2 + column * 57 + 55]  # (55, 55, 3)
        assert np.array_equal(tile, tile[::5, ::5].repeat(5, axis=0).repeat(5, axis=1))  # nearest neighbour
        w = weights[number].transpose(1, 2, 0)  # (11, 11, 3)
        expected = np.round((w - w.min()) / (w.max() - w.min()) * 255)
        assert np.abs(tile[::5, ::5].astype(int) - expected).max() <= 1
        assert tile.min() == 0 and tile.max() == 255  # each filter on its own full range
    assert (pixels[:2] == 255).all() and (pixels[:, 57:59] == 255).all()  # white gaps
    paper = first_layer_filters(alexnet2012_two_gpu())  # the paper's 96 filters: 12 rows of 8
    assert paper.size == (8 * 55 + 9 * 2, 12 * 55 + 13 * 2)


@pytest.mark.parametrize("layer", ["conv1", "conv2", "conv5"])
def test_strongest_feature_maps_are_the_most_active_channels(
    imagenet_alexnet: nn.Module, chelsea: Image.Image, seen, layer: str
) -> None:
    picture, strongest = strongest_feature_maps(imagenet_alexnet, chelsea, layer, count=16)
    with torch.no_grad():
        maps = imagenet_alexnet.features[: CONV_RELU_END[layer]](preprocess(chelsea))[0]  # (C, n, n)
    means = maps.mean(dim=(1, 2))  # (C,)
    channels = [channel for channel, _ in strongest]
    assert len(strongest) == 16 == len(set(channels))
    assert channels == torch.argsort(means, descending=True, stable=True)[:16].tolist()
    assert [mean for _, mean in strongest] == pytest.approx(means[channels].tolist(), rel=1e-5)
    assert all(a >= b for (_, a), (_, b) in zip(strongest, strongest[1:], strict=False))

    n = MAP_SIZES[layer]
    scale = {55: 2, 27: 4, 13: 8}[n]
    side = 4 * n * scale + 5 * 2
    assert picture.mode == "L" and picture.size == (side, side)
    pixels = np.asarray(picture)
    peak = float(maps[channels].max())
    for number in (0, 5, 15):
        row, column = divmod(number, 4)
        top, left = 2 + row * (n * scale + 2), 2 + column * (n * scale + 2)
        tile = pixels[top : top + n * scale : scale, left : left + n * scale : scale]  # (n, n)
        expected = np.round(maps[channels[number]].numpy() / peak * 255)
        assert np.abs(tile.astype(int) - expected).max() <= 1
    assert strongest_feature_maps(None, seen, layer)[1] == pytest.approx(strongest, rel=1e-5)  # reused maps


def test_feature_maps_refuse_bad_counts_and_layers(imagenet_alexnet: nn.Module, chelsea: Image.Image) -> None:
    picture, strongest = strongest_feature_maps(imagenet_alexnet, chelsea, "conv1", count=5)
    assert len(strongest) == 5 and picture.size == (3 * 110 + 4 * 2, 2 * 110 + 3 * 2)  # 3 columns, 2 rows
    for count in (0, 65, 2.5, True):
        with pytest.raises(ExplainError) as refused:
            strongest_feature_maps(imagenet_alexnet, chelsea, "conv1", count=count)
        assert refused.value.code == "feature_count_out_of_range" and refused.value.values["high"] == 64
    with pytest.raises(ExplainError) as refused:
        strongest_feature_maps(imagenet_alexnet, chelsea, "pool5")
    assert refused.value.code == "unknown_layer"
