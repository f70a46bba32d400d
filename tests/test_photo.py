"""The photo tab's logic: awkward real uploads, guesses, Grad-CAM, and a model left intact.

Every awkward input is made for real (a file written with PIL) and read back through
``open_rgb``, then compared with torchvision's reference pipeline applied to what a person would
see: the upright, 8-bit RGB picture, transparency on white.
"""

from __future__ import annotations

import copy
import io
import struct
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from PIL import Image
from skimage import data
from torch import nn

from nets.data.images import ImageError, open_rgb
from nets.explaining.imagenet_classes import CATEGORIES
from nets.explaining.photo import (
    CROP,
    INFERNO,
    cam_on_photo,
    cam_overlay,
    classify,
    inferno,
    preprocess,
    resized_size,
    seen_region,
)
from nets.models.alexnet import IMAGENET_WEIGHTS

REFERENCE = IMAGENET_WEIGHTS.transforms()


def reference(image: Image.Image) -> torch.Tensor:
    """torchvision's own pipeline on an upright RGB image."""
    return REFERENCE(image.convert("RGB")).unsqueeze(0)  # (1, 3, 224, 224)


def on_white(rgba: Image.Image) -> Image.Image:
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba.convert("RGBA")).convert("RGB")


# --- preprocessing of awkward uploads -------------------------------------------------------


def test_preprocess_is_torchvisions_pipeline(chelsea: Image.Image) -> None:
    batch = preprocess(chelsea)
    assert batch.shape == (1, 3, 224, 224) and batch.dtype == torch.float32
    assert torch.equal(batch, reference(chelsea))


def test_rgba_png_is_flattened_onto_white(chelsea: Image.Image, tmp_path: Path) -> None:
    alpha = np.tile(np.linspace(0, 255, chelsea.width, dtype=np.uint8), (chelsea.height, 1))
    rgba = chelsea.copy()
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(tmp_path / "cat.png")
    assert torch.equal(preprocess(open_rgb(tmp_path / "cat.png")), reference(on_white(rgba)))


def test_grayscale_png(coffee: Image.Image, tmp_path: Path) -> None:
    grey = coffee.convert("L")
    grey.save(tmp_path / "grey.png")
    assert torch.equal(preprocess(open_rgb(tmp_path / "grey.png")), reference(grey))


def test_16_bit_grayscale_png(coffee: Image.Image, tmp_path: Path) -> None:
    grey = np.asarray(coffee.convert("L"))
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "grey16.png")  # 0..65535
    assert Image.open(tmp_path / "grey16.png").mode.startswith("I")
    expected = reference(Image.fromarray(grey))
    assert torch.equal(preprocess(open_rgb(tmp_path / "grey16.png")), expected)


def test_palette_png_with_transparency(chelsea: Image.Image, tmp_path: Path) -> None:
    palette = chelsea.quantize(64)
    palette.save(tmp_path / "palette.png", transparency=0)
    expected = on_white(Image.open(tmp_path / "palette.png").convert("RGBA"))
    assert np.asarray(expected).min(axis=2).max() == 255  # some pixels really are transparent
    assert torch.equal(preprocess(open_rgb(tmp_path / "palette.png")), reference(expected))


def test_cmyk_jpeg(chelsea: Image.Image, tmp_path: Path, imagenet_alexnet: nn.Module) -> None:
    chelsea.convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    decoded = open_rgb(tmp_path / "cmyk.jpg")
    assert decoded.mode == "RGB" and decoded.size == chelsea.size
    assert (preprocess(decoded) - reference(chelsea)).abs().mean() < 0.05  # JPEG is lossy
    got, expected = classify(imagenet_alexnet, decoded), classify(imagenet_alexnet, chelsea)
    assert next(iter(got.top)) == next(iter(expected.top))
    assert (got.probabilities - expected.probabilities).abs().max() < 0.02


@pytest.mark.parametrize(
    "orientation, stored_as",
    [
        (6, Image.Transpose.ROTATE_90),  # 6: turn the stored pixels 90 degrees clockwise to view
        (8, Image.Transpose.ROTATE_270),  # 8: turn them 90 degrees counter-clockwise to view
    ],
)
def test_exif_rotated_jpeg_is_seen_upright(orientation: int, stored_as: Image.Transpose, tmp_path: Path) -> None:
    upright = Image.fromarray(data.rocket())  # 640 x 427, landscape
    exif = Image.Exif()
    exif[0x0112] = orientation
    upright.transpose(stored_as).save(tmp_path / "phone.jpg", quality=95, exif=exif)

    decoded = open_rgb(tmp_path / "phone.jpg")
    assert decoded.size == upright.size
    stored = Image.open(tmp_path / "phone.jpg").convert("RGB")  # the same JPEG pixels, not turned
    undo = {
        Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
        Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
    }[stored_as]
    turned_back = stored.transpose(undo)
    assert torch.equal(preprocess(decoded), reference(turned_back))
    assert (preprocess(decoded) - reference(upright)).abs().mean() < 0.05


def test_animated_gif_uses_the_first_frame(chelsea: Image.Image, coffee: Image.Image, tmp_path: Path) -> None:
    first = chelsea.quantize(256)
    second = coffee.resize(chelsea.size).quantize(256)
    first.save(tmp_path / "anim.gif", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(tmp_path / "anim.gif").n_frames == 2
    batch = preprocess(open_rgb(tmp_path / "anim.gif"))
    assert torch.equal(batch, reference(first.convert("RGB")))
    assert not torch.equal(batch, reference(second.convert("RGB")))


def test_very_large_photo(tmp_path: Path) -> None:
    big = Image.fromarray(data.astronaut()).resize((4000, 3500), Image.Resampling.BILINEAR)
    big.save(tmp_path / "big.jpg", quality=85)
    decoded = open_rgb(tmp_path / "big.jpg")
    assert decoded.size == (4000, 3500)
    assert torch.equal(preprocess(decoded), reference(Image.open(tmp_path / "big.jpg")))


def test_tiny_photo(chelsea: Image.Image, tmp_path: Path) -> None:
    tiny = chelsea.resize((24, 16), Image.Resampling.BILINEAR)
    tiny.save(tmp_path / "tiny.png")
    batch = preprocess(open_rgb(tmp_path / "tiny.png"))
    assert batch.shape == (1, 3, 224, 224)
    assert torch.equal(batch, reference(tiny))


# --- refusals -------------------------------------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (valid CRC, little data)."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "PNG")
    png = bytearray(buffer.getvalue())
    assert png[12:16] == b"IHDR"
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png)


@pytest.mark.parametrize("make", ["text", "truncated", "bomb", "over_limit", "empty"])
def test_unusable_files_are_refused_quickly(make: str, chelsea: Image.Image, tmp_path: Path) -> None:
    path = tmp_path / "upload.jpg"
    if make == "text":
        path.write_text("Dear visitor, this is not a photo.\n" * 20)
    elif make == "truncated":
        buffer = io.BytesIO()
        chelsea.save(buffer, "JPEG", quality=90)
        path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    elif make == "bomb":
        path = tmp_path / "bomb.png"
        path.write_bytes(png_claiming(40_000, 40_000))  # 1.6 gigapixels from ~70 bytes
    elif make == "over_limit":
        path = tmp_path / "big.png"
        path.write_bytes(png_claiming(8_000, 8_000))  # 64 MP: under Pillow's limit, over ours
    else:
        path.write_bytes(b"")
    start = time.perf_counter()
    with pytest.raises(ImageError):
        open_rgb(path)
    assert time.perf_counter() - start < 1.0


# --- guesses and Grad-CAM -------------------------------------------------------------------


def test_categories() -> None:
    assert len(CATEGORIES) == 1000 and len(set(CATEGORIES)) == 1000
    assert list(IMAGENET_WEIGHTS.meta["categories"]) == CATEGORIES


def test_classify_gives_five_sorted_imagenet_guesses(chelsea: Image.Image, imagenet_alexnet: nn.Module) -> None:
    prediction = classify(imagenet_alexnet, chelsea)
    names, values = list(prediction.top), list(prediction.top.values())
    assert len(names) == 5 and all(name in CATEGORIES for name in names)
    assert values == sorted(values, reverse=True)
    assert all(0 <= value <= 1 for value in values) and sum(values) <= 1 + 1e-6
    assert prediction.probabilities.shape == (1000,)
    assert abs(float(prediction.probabilities.sum()) - 1) < 1e-5
    for name, value in prediction.top.items():
        assert value == pytest.approx(float(prediction.probabilities[CATEGORIES.index(name)]))
    assert prediction.cam_class == names[0]
    assert 0 < prediction.seconds < 10 and prediction.cam_seconds >= 0
    assert list(classify(imagenet_alexnet, chelsea, top=3).top) == names[:3]


def test_probabilities_are_the_models_softmax(chelsea: Image.Image, imagenet_alexnet: nn.Module) -> None:
    with torch.no_grad():
        expected = torch.softmax(imagenet_alexnet(reference(chelsea)), dim=1)[0]  # (1000,)
    assert torch.allclose(classify(imagenet_alexnet, chelsea).probabilities, expected, atol=1e-6)


def test_heatmap_for_a_display_copy_matches_the_full_size_one(
    chelsea: Image.Image, imagenet_alexnet: nn.Module
) -> None:
    full = classify(imagenet_alexnet, chelsea).cam  # (300, 451)
    small = classify(imagenet_alexnet, chelsea, cam_size=(226, 150)).cam
    assert small.shape == (150, 226)
    shrunk = np.asarray(Image.fromarray(full, mode="F").resize((226, 150), Image.Resampling.BILINEAR))
    assert np.abs(small - shrunk).mean() < 0.03


def test_without_explanation_the_answer_is_the_same_and_no_heatmap_is_made(
    chelsea: Image.Image, imagenet_alexnet: nn.Module
) -> None:
    quick = classify(imagenet_alexnet, chelsea, explain=False)
    full = classify(imagenet_alexnet, chelsea)
    assert list(quick.top) == list(full.top)
    assert torch.allclose(quick.probabilities, full.probabilities, atol=1e-6)
    assert quick.cam is None and quick.cam_cells is None and quick.cam_class is None


def test_cam_covers_the_seen_region_of_a_non_square_photo(chelsea: Image.Image, imagenet_alexnet: nn.Module) -> None:
    cam = classify(imagenet_alexnet, chelsea).cam
    assert cam.shape == (chelsea.height, chelsea.width) and cam.dtype == np.float32
    assert cam.min() >= 0 and cam.max() <= 1
    left, top, right, bottom = seen_region(*chelsea.size)
    inside = cam[top:bottom, left:right]
    assert inside.std() > 0.01 and inside.max() > 0.9  # a real map, normalised to its peak
    outside = cam.copy()
    outside[top:bottom, left:right] = 0
    assert not outside.any()
    # 451 x 300 -> 384 x 256, crop at (80, 16): photo columns 94..356 and rows 19..280
    assert (left, top, right, bottom) == (94, 19, 357, 281)


def test_cam_matches_hook_based_grad_cam(coffee: Image.Image, imagenet_alexnet: nn.Module) -> None:
    """The functional Grad-CAM equals the textbook one (hooks, on a private copy of the model)."""
    prediction = classify(imagenet_alexnet, coffee)
    twin = copy.deepcopy(imagenet_alexnet)
    saved = {}
    twin.features[11].register_forward_hook(lambda module, args, out: saved.update(maps=out))
    twin.features[11].register_full_backward_hook(lambda module, grad_in, grad_out: saved.update(grads=grad_out[0]))
    twin.features[11].inplace = False  # full backward hooks do not allow in-place outputs
    batch = reference(coffee).requires_grad_(True)
    logits = twin(batch)  # (1, 1000)
    logits[0, CATEGORIES.index(prediction.cam_class)].backward()
    weights = saved["grads"].mean(dim=(2, 3), keepdim=True)  # (1, 256, 1, 1)
    heat = torch.relu((weights * saved["maps"]).sum(dim=1))[0].detach()  # (13, 13)
    assert np.allclose(prediction.cam_cells, (heat / heat.max()).numpy(), atol=1e-5)


def test_cam_is_upsampled_bilinearly_into_the_crop() -> None:
    cells = np.random.default_rng(0).random((13, 13), dtype=np.float32)
    cam = cam_on_photo(cells, 256, 256)  # a 256 x 256 photo is not resized: the crop is [16, 240)
    expected = F.interpolate(
        torch.from_numpy(cells)[None, None], size=(224, 224), mode="bilinear", align_corners=False
    )[0, 0].numpy()
    assert np.allclose(cam[16:240, 16:240], expected, atol=1e-6)
    assert not cam[:16].any() and not cam[240:].any()
    assert not cam[:, :16].any() and not cam[:, 240:].any()


@pytest.mark.parametrize(
    "width, height",
    [(24, 16), (16, 24), (451, 300), (300, 451), (256, 256), (224, 224), (640, 480), (4000, 3500), (1001, 999)],
)
def test_seen_region_follows_torchvisions_resize(width: int, height: int) -> None:
    shrunk = TF.resize(Image.new("RGB", (width, height)), [256])
    assert resized_size(width, height) == shrunk.size
    left, top, right, bottom = seen_region(width, height)
    scale_x, scale_y = shrunk.width / width, shrunk.height / height
    crop_left, crop_top = round((shrunk.width - CROP) / 2), round((shrunk.height - CROP) / 2)
    assert abs(left * scale_x - crop_left) <= scale_x and abs(right * scale_x - (crop_left + CROP)) <= scale_x
    assert abs(top * scale_y - crop_top) <= scale_y and abs(bottom * scale_y - (crop_top + CROP)) <= scale_y


def test_cam_of_tiny_and_huge_photos(imagenet_alexnet: nn.Module) -> None:
    tiny = Image.fromarray(data.coffee()).resize((24, 16))
    cam = classify(imagenet_alexnet, tiny).cam
    assert cam.shape == (16, 24)
    huge = Image.fromarray(data.coffee()).resize((4000, 3500))
    cam = classify(imagenet_alexnet, huge).cam
    assert cam.shape == (3500, 4000) and cam.min() >= 0 and cam.max() <= 1


# --- the shared model is never changed ------------------------------------------------------


def hooks_of(model: nn.Module) -> int:
    return sum(
        len(module._forward_hooks) + len(module._forward_pre_hooks) + len(module._backward_hooks)
        for module in model.modules()
    )


def test_shared_model_is_untouched_by_many_concurrent_calls(imagenet_alexnet: nn.Module) -> None:
    before = {name: tensor.clone() for name, tensor in imagenet_alexnet.state_dict().items()}
    photos = [Image.fromarray(image) for image in (data.chelsea(), data.coffee(), data.astronaut(), data.rocket())]
    sequential = [classify(imagenet_alexnet, photo) for photo in photos]

    results: dict[tuple[int, int], object] = {}
    start = threading.Barrier(4)

    def visitor(number: int) -> None:
        start.wait()
        for round_ in range(3):
            index = (number + round_) % len(photos)
            results[number, round_] = (index, classify(imagenet_alexnet, photos[index]))

    threads = [threading.Thread(target=visitor, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 12
    for index, prediction in results.values():
        assert list(prediction.top) == list(sequential[index].top)
        assert torch.allclose(prediction.probabilities, sequential[index].probabilities, atol=1e-6)
        assert np.allclose(prediction.cam, sequential[index].cam, atol=1e-5)

    after = imagenet_alexnet.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[name], before[name]) for name in before)  # bit-identical
    assert not imagenet_alexnet.training
    assert all(not p.requires_grad and p.grad is None for p in imagenet_alexnet.parameters())
    assert hooks_of(imagenet_alexnet) == 0


def test_classify_works_inside_inference_mode(chelsea: Image.Image, imagenet_alexnet: nn.Module) -> None:
    expected = classify(imagenet_alexnet, chelsea)
    with torch.inference_mode():  # an app may wrap every request in it
        got = classify(imagenet_alexnet, chelsea)
    assert list(got.top) == list(expected.top)
    assert np.allclose(got.cam_cells, expected.cam_cells, atol=1e-6)


def test_model_in_training_mode_is_refused(chelsea: Image.Image) -> None:
    from torchvision.models import alexnet

    with pytest.raises(ValueError, match="eval"):
        classify(alexnet().train(), chelsea)


# --- the display image ----------------------------------------------------------------------


def test_inferno_ends_and_middle() -> None:
    colours = inferno(np.array([0.0, 0.5, 1.0, -3.0, 7.0]))
    assert colours.dtype == np.uint8 and colours.shape == (5, 3)
    assert tuple(colours[0]) == tuple(INFERNO[0]) == tuple(colours[3])
    assert tuple(colours[2]) == tuple(INFERNO[-1]) == tuple(colours[4])
    assert tuple(colours[1]) == tuple(INFERNO[5])
    brightness = inferno(np.linspace(0, 1, 50)).astype(int).sum(axis=1)
    assert brightness[-1] > brightness[25] > brightness[0]


@pytest.mark.parametrize("size, shown", [((4000, 3500), (768, 672)), ((451, 300), (451, 300)), ((24, 16), (24, 16))])
def test_overlay_size_and_outline(size: tuple[int, int], shown: tuple[int, int]) -> None:
    photo = Image.new("RGB", size, (120, 130, 140))
    cam = cam_on_photo(np.ones((13, 13), np.float32), *size)
    overlay = cam_overlay(photo, cam)
    assert overlay.mode == "RGB" and overlay.size == shown
    pixels = np.asarray(overlay)
    assert (pixels == (64, 224, 255)).all(axis=2).any()  # the outline of the seen region
    with pytest.raises(ValueError, match="shape"):
        cam_overlay(photo, cam.T if size[0] != size[1] else cam[:-1])


def test_overlay_shows_the_heat_where_it_is(chelsea: Image.Image) -> None:
    cells = np.zeros((13, 13), np.float32)
    cells[6, 6] = 1.0  # all heat in the middle
    overlay = np.asarray(cam_overlay(chelsea, cam_on_photo(cells, *chelsea.size)), dtype=int)
    photo = np.asarray(chelsea, dtype=int)
    centre, corner = overlay[150, 225], overlay[40, 120]  # both inside the seen region
    assert centre.sum() > corner.sum()  # hot is bright yellow, cold is dark
    assert not np.array_equal(overlay[150, 20], photo[150, 20])  # outside: faded, not the photo
