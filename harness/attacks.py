"""What a hostile stranger sends a public Space, built in memory: shared by tests/test_attacks.py and
bench/attacks.py (which measures what each costs the server).

Each builder returns bytes (cached: some take a second to make) and says what makes it hostile.
"""

from __future__ import annotations

import io
import json
import struct
import urllib.error
import urllib.request
import zipfile
from functools import cache

import numpy as np
from PIL import Image

from harness import zips


def _scan_segments(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each scan of a JPEG: its SOS header and entropy-coded data, up to the next marker."""
    scans, at = [], data.find(b"\xff\xda")
    while at >= 0:
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        end = at + 2 + length
        while True:  # the entropy-coded data ends at the first marker that is not FF00 or a restart
            end = data.index(b"\xff", end)
            if data[end + 1] != 0x00 and not 0xD0 <= data[end + 1] <= 0xD7:
                break
            end += 2
        scans.append((at, end))
        at = data.find(b"\xff\xda", end)
    return scans


@cache
def progressive_jpeg(width: int = 7000, height: int = 7000) -> bytes:
    """An honest progressive JPEG of one flat colour: 10 scans, as libjpeg writes them."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 130, 140)).save(buffer, "JPEG", quality=50, progressive=True)
    return buffer.getvalue()


@cache
def scan_bomb(extra: int = 1000, width: int = 7000, height: int = 7000) -> bytes:
    """A progressive JPEG with ``extra`` more scans: the last refinement scans (with the Huffman
    tables before them) repeated before the end marker. A few hundred KB; without a check, each
    scan is decoded over the whole image (here about 10 ms per scan at 49 MP)."""
    data = progressive_jpeg(width, height)
    (_, second_last_end), (last_start, last_end) = _scan_segments(data)[-2:]
    previous_end = _scan_segments(data)[-3][1]
    repeated = data[previous_end:last_end]  # DHT + scan + DHT + scan (the last two refinement scans)
    return data[:last_end] + repeated * (extra // 2) + data[last_end:]


@cache
def sixteen_bit_png(side: int = 7000) -> bytes:
    """A 16-bit greyscale PNG of side x side pixels that compresses to ~100 KB (a smooth ramp):
    decoding it is fair (98 MB); converting it to 8 bits carelessly (float64, whole) costs 1.3 GB."""
    ramp = np.linspace(0, 65535, side, dtype=np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(np.broadcast_to(ramp, (side, side)).copy()).save(buffer, "PNG", compress_level=9)  # I;16
    return buffer.getvalue()


@cache
def zip_of_scan_bombs(bombs: int = 10, good_per_class: int = 6) -> bytes:
    """Two good classes of colour photos, and ``bombs`` scan bombs hidden in them."""
    members = [
        (f"{colour}/{i}.jpg", zips.colour_jpeg(colour, i)) for colour in ("red", "blue") for i in range(good_per_class)
    ]
    members += [(f"red/bomb_{i}.jpg", scan_bomb(1000, 3000, 3000)) for i in range(bombs)]
    return zips.build(members)


@cache
def slow_zip(images: int = 900, side: int = 512) -> bytes:
    """A fair zip that takes a while to read: ``images`` photos of noise-textured gradients in two
    classes (each decoded and shrunk: about 200 MB held in memory once read)."""
    rng = np.random.default_rng(0)
    members = []
    base = np.linspace(0, 200, side, dtype=np.float32)
    for i in range(images):
        pixels = base[None, :, None] + rng.normal(0, 20, (side, side, 3)).astype(np.float32)
        pixels[..., i % 3] += 40
        buffer = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=70)
        members.append((f"{'ab'[i % 2]}/{i}.jpg", buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, zips.DATE), data)
    return out.getvalue()


# --- raw HTTP, as an attacker's script sends it (no gradio_client in the way) --------------------


def post(url: str, path: str, body: bytes, headers: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
    """POST a body; (status, JSON answer)."""
    request = urllib.request.Request(
        url + path, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, {"detail": text.decode("utf-8", "replace")}


def upload(url: str, name: str, data: bytes, headers: dict | None = None) -> str:
    """Upload a file through Gradio's upload route; the server-side path it was stored at."""
    boundary = "----attack"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, answer = post(
        url,
        "/gradio_api/upload",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})},
    )
    assert status == 200, answer
    return answer[0]


@cache
def fn_index(url: str, api_name: str) -> int:
    """The id of the event an API name stands for (what /gradio_api/cancel needs)."""
    with urllib.request.urlopen(url + "/config") as response:
        config = json.loads(response.read())
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def file_data(path: str, name: str) -> dict:
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}
