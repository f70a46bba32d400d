"""/classify_photo through gradio_client: the photos people really send, and the files they shouldn't."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from skimage import data

from harness.server import ROOT, running_app
from nets.models.alexnet import IMAGENET_WEIGHTS


def torchvision_top5(model, upright_rgb: Image.Image) -> dict[str, float]:
    """The reference: torchvision's own pipeline on the upright RGB image."""
    with torch.no_grad():
        probabilities = torch.softmax(model(IMAGENET_WEIGHTS.transforms()(upright_rgb)[None]), 1)[0]
    best = torch.topk(probabilities, 5)
    names = IMAGENET_WEIGHTS.meta["categories"]
    return {names[int(i)]: float(p) for p, i in zip(best.values, best.indices, strict=True)}


def as_dict(label: dict) -> dict[str, float]:
    return {c["label"]: c["confidence"] for c in label["confidences"]}


def assert_same_answer(got: dict, expected: dict[str, float], tolerance: float = 0.02) -> None:
    got = as_dict(got)
    assert len(got) == 5
    assert next(iter(got)) == next(iter(expected))  # same top-1
    for name, p in expected.items():
        if name in got:
            assert abs(got[name] - p) <= tolerance, (name, got[name], p)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header says width x height (a decompression bomb if decoded)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, tuple[str, Image.Image]]:
    """Awkward photos on disk, each with the upright RGB image a person sees."""
    folder = tmp_path_factory.mktemp("photos")
    cat, coffee, rocket = (Image.fromarray(f()) for f in (data.chelsea, data.coffee, data.rocket))
    made = {}

    def save(name, image, upright, **kwargs):
        path = folder / name
        image.save(path, **kwargs)
        made[name] = (str(path), upright)

    cat.save(folder / "cat.jpg", quality=95)
    made["cat.jpg"] = (str(folder / "cat.jpg"), Image.open(folder / "cat.jpg").convert("RGB"))
    rgba = coffee.convert("RGBA")
    alpha = np.full(coffee.size[::-1], 255, np.uint8)
    alpha[:, : coffee.width // 3] = 90  # a translucent strip: composited onto white
    rgba.putalpha(Image.fromarray(alpha))
    upright = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    save("coffee_rgba.png", rgba, upright)
    grey = rocket.convert("L")
    save("rocket_grey.png", grey, grey.convert("RGB"))
    cat.convert("CMYK").save(folder / "cat_cmyk.jpg", quality=95)
    made["cat_cmyk.jpg"] = (str(folder / "cat_cmyk.jpg"), cat)
    exif = Image.Exif()
    exif[274] = 6  # "rotate 90 degrees clockwise to view"
    cat.rotate(90, expand=True).save(folder / "cat_exif.jpg", quality=95, exif=exif)
    made["cat_exif.jpg"] = (
        str(folder / "cat_exif.jpg"),
        Image.open(folder / "cat_exif.jpg").convert("RGB").rotate(-90, expand=True),
    )
    big = coffee.resize((4000, 3500), Image.Resampling.BICUBIC)
    big.save(folder / "big.jpg", quality=90)
    made["big.jpg"] = (str(folder / "big.jpg"), Image.open(folder / "big.jpg").convert("RGB"))
    tiny = cat.resize((24, 16), Image.Resampling.LANCZOS)
    save("tiny.png", tiny, tiny)
    return made


@pytest.mark.parametrize(
    "name", ["cat.jpg", "coffee_rgba.png", "rocket_grey.png", "cat_cmyk.jpg", "cat_exif.jpg", "big.jpg", "tiny.png"]
)
def test_awkward_photos_are_classified_as_torchvision_does(client, photos, imagenet_alexnet, name):
    path, upright = photos[name]
    got = client.predict(handle_file(path), api_name="/classify_photo")
    assert_same_answer(got, torchvision_top5(imagenet_alexnet, upright))


def test_bad_files_are_refused_quickly_and_the_server_keeps_serving(client, photos, tmp_path):
    text = tmp_path / "holiday.jpg"
    text.write_text("Dear diary, today I renamed a text file.")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(open(photos["big.jpg"][0], "rb").read()[:20_000])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(40_000, 40_000))  # 1.6 gigapixels
    for path, reason in ((text, "not an image"), (truncated, "damaged or incomplete"), (bomb, "too large")):
        started = time.monotonic()
        with pytest.raises(AppError, match=reason):
            client.predict(handle_file(str(path)), api_name="/classify_photo")
        assert time.monotonic() - started < 20
    got = client.predict(handle_file(photos["cat.jpg"][0]), api_name="/classify_photo")
    assert len(got["confidences"]) == 5


def test_without_weights_the_app_starts_and_tells_visitors_not_admins_details(tmp_path):
    """No weights file and no network: the digit tab works; the photo tab tells the visitor, in
    their language, that photos cannot be classified here now; the technical reason (the URL,
    the network error, the paths) goes to the server's log, not to the visitor."""
    env = {
        "TORCH_HOME": str(tmp_path / "empty_torch_home"),
        "ALEXNET_WEIGHTS": "",
        # no network, even on a machine that has it (but the app must still reach itself)
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    log = tmp_path / "app.log"
    with running_app(env, log=log) as url:
        client = Client(url, verbose=False)
        three = handle_file(str(ROOT / "assets/examples/digit_3.png"))
        digit = client.predict({"background": None, "layers": [], "composite": three}, api_name="/predict_digit")
        assert digit["label"] == "3"
        with pytest.raises(AppError, match="not available on this server right now") as refused:
            client.predict(handle_file(str(ROOT / "assets/photos/cat.jpg")), api_name="/classify_photo")
        for detail in ("http", "alexnet-owt", "Errno", "TORCH_HOME", str(tmp_path)):
            assert detail not in str(refused.value), detail
        korean = Client(url, verbose=False, headers={"Accept-Language": "ko"})
        with pytest.raises(AppError, match="사진 분류를 쓸 수 없어요"):
            korean.predict(handle_file(str(ROOT / "assets/photos/cat.jpg")), api_name="/classify_photo")
    assert "alexnet-owt-7be5be79.pth" in log.read_text()  # the admin finds the reason in the log
