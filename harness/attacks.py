"""What a hostile stranger sends a public Space, and how: shared by tests/test_attacks*.py and
bench/attacks.py (which measures what each costs the server).

Each builder returns bytes (cached: some take a second to make) and says what makes it hostile; the
functions after them send such things the way an attacker's script does (raw HTTP, no
gradio_client in the way).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

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


@cache
def flat_png(side: int = 7000) -> bytes:
    """A picture of one colour, ``side`` x ``side`` (49 megapixels by default): about 150 KB to
    send, 147 MB and about half a CPU-second to decode."""
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@cache
def one_bit_png(side: int = 13000) -> bytes:
    """A black one-bit PNG of ``side`` x ``side`` pixels: 20 KB that decode to 169 megapixels."""
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, "PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> dict:
    """An image inlined in the event's JSON as a ``data:`` URL (Gradio decodes it before the handler)."""
    return {"url": "data:image/png;base64," + base64.b64encode(png).decode(), "meta": {"_type": "gradio.FileData"}}


def noise_jpeg(seed: int, height: int = 480, width: int = 640) -> bytes:
    """A photo of noise (it does not compress: 480x640 is about 58 KB at the builder's training size)."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def many_files(count: int, tag: str) -> tuple[bytes, str]:
    """A multipart body of ``count`` distinct one-line files (each its own hash folder on the
    server); (body, boundary)."""
    boundary = "----tiny" + tag
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="f{i}.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\n{tag}-{i}\r\n"
        for i in range(count)
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), boundary


@cache
def slow_png_zip(images: int = 40) -> bytes:
    """A fair zip that takes long to read for its size: ``images`` flat 49-megapixel PNGs in two
    classes (46 KB; PNGs have no reduced-size decoding, so each costs a third of a CPU-second:
    13 CPU-s to read them all; 40 of them are within a zip's 2,000 megapixels)."""
    return zips.build([(f"{'ab'[i % 2]}/{i}.png", flat_png()) for i in range(images)])


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


def post_lines(
    url: str, path: str, body: bytes, lines: list[tuple[str, str]], source: str | None = None
) -> tuple[int, dict]:
    """POST a JSON body with these header lines, a name repeated as often as it is listed (as two
    X-Forwarded-For lines); from the local address ``source`` (e.g. 127.0.0.2: a peer that is not
    a trusted proxy) if given. (status, JSON answer)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=30, source_address=(source, 0) if source else None
    )
    try:
        connection.putrequest("POST", path)
        for name, value in [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *lines]:
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        text = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(text or b"{}")
    except ValueError:
        return response.status, {"detail": text.decode("utf-8", "replace")}


def upload_many(url: str, count: int, tag: str, address: str, language: str = "en") -> tuple[int, object]:
    """One upload of ``count`` tiny files from ``address``: (status, answer)."""
    body, boundary = many_files(count, tag)
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "X-Forwarded-For": address,
        "Accept-Language": language,
    }
    return post(url, "/gradio_api/upload", body, headers)


def disk_use(folder: Path) -> tuple[int, int]:
    """(bytes of disk, inodes) the folder's files and folders take."""
    used, inodes = 0, 0
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            used += os.lstat(os.path.join(root, name)).st_blocks * 512
            inodes += 1
    return used, inodes


def join_call(url: str, api_name: str, data: list, session: str, address: str) -> tuple[int, dict]:
    """Join an API event through the REST route for ``session`` without reading its answer:
    (status, answer), the answer holding its ``event_id`` when admitted."""
    body = json.dumps({"data": data, "session_hash": session}).encode()
    return post(url, f"/gradio_api/call/{api_name}", body, {"X-Forwarded-For": address})


def cancel(url: str, api_name: str, session: str, event_id: str) -> tuple[int, dict]:
    """Cancel an event, as the page's Stop and a closed tab do."""
    body = {"session_hash": session, "event_id": event_id, "fn_index": fn_index(url, api_name)}
    return post(url, "/gradio_api/cancel", json.dumps(body).encode())


def join_and_cancel(
    url: str, api_name: str, data: list, address: str, times: int, after: float = 0.4
) -> Iterator[tuple[int, int]]:
    """From one session, join ``api_name`` ``times`` times, cancelling each ``after`` seconds
    later; yields (join number, its status) after each cancel, for the caller to look around."""
    session = uuid.uuid4().hex
    for n in range(times):
        status, answer = join_call(url, api_name, data, session, address)
        time.sleep(after)
        if status == 200:
            cancel(url, api_name, session, answer["event_id"])
        yield n, status


def flood(url: str, api_name: str, data: list, address: str, sessions: int, each: int) -> dict[str, list]:
    """``sessions`` sessions from one address join ``api_name`` ``each`` times each, all at once:
    {session: [(status, answer) of each join]}."""
    joins: dict[str, list] = {uuid.uuid4().hex: [] for _ in range(sessions)}

    def joiner(session: str) -> None:
        for _ in range(each):
            joins[session].append(join_call(url, api_name, data, session, address))

    threads = [threading.Thread(target=joiner, args=(session,)) for session in joins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return joins


def noise_photos(visitor, count: int, seed: int) -> list[dict]:
    """``count`` photos of noise uploaded by ``visitor`` (a ``harness.light_client.Visitor``):
    about 58 KB each at the builder's training size (115 KB of the drafts budget)."""
    return [visitor.upload(f"noise{seed}_{i}.jpg", noise_jpeg(seed * 1000 + i)) for i in range(count)]


def build_draft(visitor, photos: list[dict], class_name: str = "apples"):
    """Build a draft dataset in the page as the visitor's page does: name two classes, add
    ``photos`` to ``class_name``; the add's outcome (or the naming's, if that failed)."""
    named = visitor.join("set_classes", ["apples, pears", None])
    if named.kind != "complete":
        return named
    return visitor.join("add_images", [photos, class_name])
