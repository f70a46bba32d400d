"""Features of identical images are computed once: a class fine-tuning the same example costs one pass."""

from __future__ import annotations

import io
import zipfile

import torch

from nets.data.dataset_zip import read_image_zip
from nets.models.alexnet import penultimate
from nets.paths import ASSETS
from nets.training.feature_cache import FeatureCache
from nets.training.finetune import EVAL_TRANSFORM, FineTuneSettings, finetune

SHAPES = (ASSETS / "shapes.zip").read_bytes()


def repacked(data: bytes) -> bytes:
    """The same pictures in another zip: other folder order, other file names, other compression."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in reversed(source.infolist()):
            if info.is_dir():
                continue
            folder, _, name = info.filename.rpartition("/")
            target.writestr(f"{folder}/copy_of_{name}", source.read(info))
    return out.getvalue()


class CountingStage:
    """``penultimate`` that counts the images it is given."""

    def __init__(self) -> None:
        self.images = 0
        self.__qualname__ = "penultimate"

    def __call__(self, network, batch: torch.Tensor) -> torch.Tensor:
        self.images += len(batch)
        return penultimate(network, batch)


def test_the_same_images_are_computed_once_even_from_a_repacked_zip(imagenet_alexnet):
    cache, stage = FeatureCache(), CountingStage()
    first = read_image_zip(SHAPES)
    images = [item.image for item in first.train]
    computed = cache.features(imagenet_alexnet, stage, images, EVAL_TRANSFORM)
    assert stage.images == len(images) and computed.shape == (len(images), 4096)

    again = read_image_zip(repacked(SHAPES))
    by_name = {item.name.replace("copy_of_", ""): item.image for item in again.train}
    same_order = [by_name[item.name] for item in first.train]
    known = cache.features(imagenet_alexnet, stage, same_order, EVAL_TRANSFORM)
    assert stage.images == len(images)  # nothing computed the second time
    assert torch.equal(known, computed) and cache.hits == len(images)


def test_another_network_or_another_image_is_computed(imagenet_alexnet):
    cache, stage = FeatureCache(), CountingStage()
    images = [item.image for item in read_image_zip(SHAPES).train[:4]]
    cache.features(imagenet_alexnet, stage, images, EVAL_TRANSFORM)
    other = torch.nn.Sequential()  # a different network: its features are its own
    other.features, other.avgpool, other.classifier = (
        imagenet_alexnet.features,
        imagenet_alexnet.avgpool,
        imagenet_alexnet.classifier,
    )
    cache.features(other, stage, images, EVAL_TRANSFORM)
    changed = images[0].copy()
    changed.putpixel((0, 0), (1, 2, 3))
    cache.features(imagenet_alexnet, stage, [changed], EVAL_TRANSFORM)
    assert stage.images == 4 + 4 + 1


def test_the_cache_is_bounded_in_bytes(imagenet_alexnet):
    cache = FeatureCache(max_bytes=3 * 4096 * 4)  # three rows of 4,096 floats
    images = [item.image for item in read_image_zip(SHAPES).train[:5]]
    cache.features(imagenet_alexnet, CountingStage(), images, EVAL_TRANSFORM)
    assert cache.bytes == 3 * 4096 * 4 and len(cache._rows) == 3


def test_a_fine_tune_from_the_cache_learns_exactly_what_it_learns_without(imagenet_alexnet):
    dataset = read_image_zip(SHAPES)
    settings = FineTuneSettings(epochs=3)
    *_, plain = finetune(imagenet_alexnet, dataset, settings)
    cache = FeatureCache()
    *_, warm = finetune(imagenet_alexnet, dataset, settings, cache=cache)  # fills the cache
    *_, cached = finetune(imagenet_alexnet, read_image_zip(repacked(SHAPES)), settings, cache=cache)
    assert cache.hits >= len(dataset.train) + len(dataset.val)
    for finished in (warm, cached):
        assert finished.history["val_acc"].tolist() == plain.history["val_acc"].tolist()
        assert finished.history["train_loss"].tolist() == plain.history["train_loss"].tolist()
