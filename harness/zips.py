"""Zip files for tests, good and hostile, built in memory (nothing is written to disk).

The good ones are what people really upload: drawn shapes from ``nets.data.example_data`` in class
folders, plus the clutter a Mac or Windows adds (``__MACOSX/``, ``._`` files, ``.DS_Store``,
``Thumbs.db``), a text file, an image nested deeper in its class, a big PNG and a panorama (so
shrinking shows), and one truncated JPEG. The constants next to each builder say what a reader
must find. The hostile ones are the attacks and mistakes ``nets.data.dataset_zip`` must refuse. Every
builder returns ``bytes`` and is cached, so the slow ones (the 3 GB bomb) are built once per run.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable, Iterable
from functools import cache

import numpy as np
from PIL import Image

from nets.data.example_data import draw_shape, make_shapes_zip

DATE = (2024, 1, 1, 0, 0, 0)
MB = 1_000_000  # decimal, as the app labels sizes
GB = 1_000_000_000

# What reading flat_zip() / wrapped_zip() must give (20% validation, seed 0)
FLAT_CLASSES = ["circle", "square", "triangle"]
FLAT_TOTALS = {"circle": 11, "square": 11, "triangle": 10}  # 10 drawn + panorama / + big PNG
FLAT_VAL = {"circle": 2, "square": 2, "triangle": 2}  # round(11 x 0.2) = 2, round(10 x 0.2) = 2
FLAT_SKIPPED = {
    "README.txt": "skip_not_an_image",
    "circle/notes.txt": "skip_not_an_image",
    "triangle/broken.jpg": "image_damaged",
}  # path -> why it is skipped (a fact's code)
BIG_PNG = "square/more/big.PNG"  # 900 x 600 with transparency: read as 384 x 256
PANORAMA = "circle/panorama.webp"  # 2000 x 300: read as 512 x 77 (the longer side is capped)
# What reading split_zip() must give: make_shapes_zip's split puts 2 of 10 in val/
SPLIT_TRAIN = {"circle": 8, "square": 8, "triangle": 8}
SPLIT_VAL = {"circle": 2, "square": 2, "triangle": 2}
SPLIT_SKIPPED = {"train/triangle/broken.jpg": "image_damaged", "notes.txt": "skip_not_an_image"}


# --- small tools -------------------------------------------------------------------------------


def jpeg(kind: str = "circle", seed: int = 0) -> bytes:
    """One drawn shape as JPEG bytes."""
    buffer = io.BytesIO()
    draw_shape(kind, np.random.default_rng(seed)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def png_bytes(width: int, height: int, mode: str = "RGB") -> bytes:
    """A PNG of a smooth gradient (alpha ramp too in RGBA mode)."""
    ramp = np.linspace(0, 255, width, dtype=np.uint8)
    pixels = np.broadcast_to(ramp, (height, width))
    channels = [pixels, pixels[::-1], np.full_like(pixels, 128)] + ([pixels] if mode == "RGBA" else [])
    buffer = io.BytesIO()
    Image.fromarray(np.stack(channels, axis=-1), mode).save(buffer, "PNG")
    return buffer.getvalue()


def webp_bytes(width: int, height: int) -> bytes:
    """A WebP picture of the given size."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (1, 1), b"\x40\x80\xc0").resize((width, height)).save(buffer, "WEBP")
    return buffer.getvalue()


def build(
    members: Iterable[tuple[str, bytes]],
    *,
    base: bytes | None = None,
    rename: Callable[[str], str | None] = lambda name: name,
) -> bytes:
    """A zip of ``base``'s members (renamed; None drops one) followed by ``members``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        if base is not None:
            with zipfile.ZipFile(io.BytesIO(base)) as source:
                for info in source.infolist():
                    name = rename(info.filename)
                    if name is not None:
                        out.writestr(_info(name), source.read(info))
        for name, data in members:
            out.writestr(_info(name), data)
    return buffer.getvalue()


def _info(name: str) -> zipfile.ZipInfo:
    """A deflated member with a fixed date (a ZipInfo would otherwise be stored uncompressed)."""
    info = zipfile.ZipInfo(name, DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def patch_member(
    data: bytes, name: str, *, set_flags: int = 0, clear_flags: int = 0, declared_size: int | None = None
) -> bytes:
    """Rewrite one member's flags or declared uncompressed size, in both of the zip's headers."""
    out = bytearray(data)
    end = out.rfind(b"PK\x05\x06")
    entries, _, directory = struct.unpack("<HII", out[end + 10 : end + 20])
    at = directory
    for _ in range(entries):
        name_len, extra_len, comment_len = struct.unpack("<HHH", out[at + 28 : at + 34])
        local = struct.unpack("<I", out[at + 42 : at + 46])[0]
        if out[at + 46 : at + 46 + name_len].decode("utf-8") == name:
            for flags_at, size_at in ((at + 8, at + 24), (local + 6, local + 22)):
                flags = struct.unpack("<H", out[flags_at : flags_at + 2])[0]
                out[flags_at : flags_at + 2] = struct.pack("<H", (flags | set_flags) & ~clear_flags)
                if declared_size is not None:
                    out[size_at : size_at + 4] = struct.pack("<I", declared_size)
            return bytes(out)
        at += 46 + name_len + extra_len + comment_len
    raise KeyError(name)


def zeros_member(name: str, size: int, *, level: int) -> bytes:
    """A zip with one member of ``size`` zero bytes, streamed through zlib (never all in memory)."""
    buffer = io.BytesIO()
    # A name (not a ZipInfo) makes zipfile use the ZipFile's compression and level for the member.
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf,
        zf.open(name, "w", force_zip64=size > 2 * GB) as member,
    ):
        chunk = bytes(16 * MB)
        for start in range(0, size, len(chunk)):
            member.write(chunk[: min(len(chunk), size - start)])
    return buffer.getvalue()


def _junk(prefix: str = "") -> list[tuple[str, bytes]]:
    """What macOS and Windows add to a zip of folders."""
    apple_double = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(64)
    return [
        (f"__MACOSX/{prefix}circle/._circle_000.jpg", apple_double),
        (f"__MACOSX/{prefix}._circle", apple_double),
        (f"{prefix}circle/._circle_000.jpg", apple_double),
        (f"{prefix}.DS_Store", b"\x00\x00\x00\x01Bud1" + bytes(64)),
        (f"{prefix}square/.DS_Store", b"\x00\x00\x00\x01Bud1" + bytes(64)),
        (f"{prefix}triangle/Thumbs.db", b"\xd0\xcf\x11\xe0" + bytes(64)),
        (f"{prefix}.hidden/secret.jpg", jpeg("square", 7)),
    ]


# --- good zips ---------------------------------------------------------------------------------


@cache
def flat_zip(wrapper: str = "") -> bytes:
    """One folder per class (optionally inside ``wrapper/``), with clutter and one broken JPEG."""
    prefix = f"{wrapper}/" if wrapper else ""
    shapes = make_shapes_zip(None, classes=tuple(FLAT_CLASSES), per_class=10, seed=1)
    extras = [
        (f"{prefix}README.txt", b"My shapes\n"),
        (f"{prefix}circle/notes.txt", b"drawn by a computer\n"),
        (f"{prefix}triangle/broken.jpg", jpeg("triangle", 3)[:1500]),  # cut off mid-image
        (f"{prefix}{BIG_PNG}", png_bytes(900, 600, "RGBA")),
        (f"{prefix}{PANORAMA}", webp_bytes(2000, 300)),
    ] + _junk(prefix)
    return build(extras, base=shapes, rename=lambda name: prefix + name)


def wrapped_zip() -> bytes:
    """The flat zip inside one wrapper folder, as zipping the folder itself gives."""
    return flat_zip("my shapes")


@cache
def split_zip(val_folder: str = "val", wrapper: str = "", with_val: bool = True, test_folder: bool = False) -> bytes:
    """train/ and val/ class folders (val named ``val_folder``; optionally wrapped), with clutter."""
    prefix = f"{wrapper}/" if wrapper else ""
    shapes = make_shapes_zip(None, classes=tuple(FLAT_CLASSES), per_class=10, layout="split", seed=2)

    def rename(name: str) -> str | None:
        if name.startswith("val/"):
            return f"{prefix}{val_folder}/{name[4:]}" if with_val else None
        return prefix + name

    extras = [
        (f"{prefix}notes.txt", b"train and val\n"),
        (f"{prefix}train/triangle/broken.jpg", jpeg("triangle", 4)[:1200]),
    ]
    extras += [
        (f"__MACOSX/{prefix}train/circle/._a.jpg", b"\x00\x05\x16\x07"),
        (f"{prefix}train/circle/._circle_000.jpg", b"\x00\x05\x16\x07"),
        (f"{prefix}train/.DS_Store", b"Bud1"),
    ]
    if test_folder:
        extras += [(f"{prefix}test/circle/t{i}.jpg", jpeg("circle", 50 + i)) for i in range(3)]
    return build(extras, base=shapes, rename=rename)


@cache
def unbalanced_zip() -> bytes:
    """15 circles and 5 squares: readable, with an imbalance warning."""
    return build(
        [(f"circle/{i}.jpg", jpeg("circle", i)) for i in range(15)]
        + [(f"square/{i}.jpg", jpeg("square", i)) for i in range(5)]
    )


# --- hostile zips and mistakes -----------------------------------------------------------------


def _small_good() -> bytes:
    return make_shapes_zip(None, classes=("circle", "square"), per_class=6, seed=3)


def zip_slip() -> bytes:
    """A member that climbs out of the extraction folder: ``../evil.jpg``."""
    return build([("../evil.jpg", jpeg())], base=_small_good())


def absolute_path() -> bytes:
    """A member with an absolute path."""
    return build([("/tmp/evil.jpg", jpeg())], base=_small_good())


def drive_letter() -> bytes:
    """A member with a Windows drive letter."""
    return build([("C:/Windows/evil.jpg", jpeg())], base=_small_good())


def backslash_path() -> bytes:
    """A member whose path uses backslashes (a zip slip on Windows)."""
    return build([("..\\..\\evil.jpg", jpeg())], base=_small_good())


def symlink_member() -> bytes:
    """A member that is a symbolic link to /etc/passwd."""
    buffer = io.BytesIO(_small_good())
    with zipfile.ZipFile(buffer, "a") as zf:
        info = zipfile.ZipInfo("circle/link.jpg", DATE)
        info.create_system = 3  # Unix, where the mode bits below mean "symlink"
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@cache
def bomb_3gb() -> bytes:
    """3 GB of zeros in one member (about 14 MB compressed; built once per test run, ~4 s)."""
    return zeros_member("zeros.bmp", 3 * GB, level=1)


@cache
def ratio_bomb() -> bytes:
    """A 20 MB 'image' of zeros (under the 25 MB limit) that compresses about 1000:1."""
    return build([("circle/big.bmp", bytes(20 * MB))], base=_small_good())


@cache
def oversized_image() -> bytes:
    """One 'image' of 30 MB, over the 25 MB per-image limit."""
    return build([("circle/huge.bmp", bytes(30 * MB))], base=_small_good())


@cache
def lying_size() -> bytes:
    """A good zip plus ``circle/liar.bmp``, which declares 100 KB but inflates to 200 MB of zeros."""
    bomb = zeros_member("circle/liar.bmp", 200 * MB, level=9)
    info = zipfile.ZipFile(io.BytesIO(bomb)).infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    deflated = bomb[start : start + info.compress_size]  # the raw deflate stream, about 200 KB
    return _append_raw(_small_good(), "circle/liar.bmp", deflated, crc=info.CRC, declared_size=100_000)


def _append_raw(data: bytes, name: str, deflated: bytes, *, crc: int, declared_size: int) -> bytes:
    """``data`` (a zip) with one more deflated member whose header fields are given, true or not."""
    end = data.rfind(b"PK\x05\x06")
    entries, directory_size, directory = struct.unpack("<HII", data[end + 10 : end + 20])
    body, table = data[:directory], data[directory : directory + directory_size]
    encoded = name.encode()
    # version needed, flags, method (8 = deflate), time, date (2024-01-01), CRC, sizes, name, extra
    fields = struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0x5821, crc, len(deflated), declared_size, len(encoded), 0)
    local = b"PK\x03\x04" + fields + encoded
    # version made by (3 = Unix), then comment length, disk, internal and external attributes, offset
    central = (
        b"PK\x01\x02"
        + struct.pack("<H", 0x0314)
        + fields
        + struct.pack("<HHHII", 0, 0, 0, 0o100644 << 16, len(body))
        + encoded
    )
    new_body, new_table = body + local + deflated, table + central
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, entries + 1, entries + 1, len(new_table), len(new_body), 0)
    return new_body + new_table + eocd


@cache
def many_entries(n: int = 30_000) -> bytes:
    """``n`` tiny members (far more than any image dataset needs)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):
            zf.writestr(zipfile.ZipInfo(f"c{i % 2}/{i:05d}.jpg", DATE), b"")
    return buffer.getvalue()


@cache
def huge_table_of_contents() -> bytes:
    """4,000 entries (under the limit) with 2,000-character names: an 8 MB table of contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for i in range(4_000):
            zf.writestr(zipfile.ZipInfo(f"c{i % 2}/{'x' * 2000}{i:05d}.jpg", DATE), b"")
    return buffer.getvalue()


def entry_count_lies() -> bytes:
    """30,000 entries, while the zip's end record claims 10."""
    data = bytearray(many_entries())
    end = data.rfind(b"PK\x05\x06")
    data[end + 8 : end + 12] = struct.pack("<HH", 10, 10)
    return bytes(data)


def nested_zip_only() -> bytes:
    """A zip whose only content is another zip (of a good dataset)."""
    return build([("dataset.zip", _small_good())])


def png_renamed() -> bytes:
    """A PNG image, uploaded as if it were a zip."""
    return png_bytes(64, 64)


def truncated_zip() -> bytes:
    """A good zip cut off half way (an interrupted download)."""
    data = _small_good()
    return data[: len(data) // 2]


def empty_zip() -> bytes:
    """A zip with nothing in it."""
    return build([])


def one_class() -> bytes:
    """Only a circle/ folder."""
    return make_shapes_zip(None, classes=("circle",), per_class=6)


def no_images() -> bytes:
    """Class folders holding only text files."""
    return build([("circle/about.txt", b"round"), ("square/about.txt", b"four sides")])


def class_with_one_image() -> bytes:
    """square/ has a single image."""
    return build([(f"circle/{i}.jpg", jpeg("circle", i)) for i in range(6)] + [("square/0.jpg", jpeg("square"))])


def damaged_class() -> bytes:
    """square/ has six images, all truncated: only decoding finds out."""
    return build(
        [(f"circle/{i}.jpg", jpeg("circle", i)) for i in range(6)]
        + [(f"square/{i}.jpg", jpeg("square", i)[:900]) for i in range(6)]
    )


def encrypted_flag() -> bytes:
    """One image marked as password-protected."""
    return patch_member(_small_good(), "square/square_002.jpg", set_flags=0x1)


def accented_names() -> bytes:
    """Class names as a Mac writes them (decomposed accents) and as old zip tools do (UTF-8 bytes
    without the UTF-8 flag, which zipfile then reads as code page 437), plus a control character."""
    cafe_mac, cafe_pc, creme = "cafe\u0301", "caf\u00e9", "cr\u00e8me"
    members = (
        [(f"train/{cafe_mac}/{i}.jpg", jpeg("circle", i)) for i in range(5)]
        + [(f"val/{cafe_pc}/0.jpg", jpeg("circle", 9)), (f"val/{creme}/0.jpg", jpeg("square", 9))]
        + [(f"train/{creme}/{i}.jpg", jpeg("square", i)) for i in range(5)]
        + [("train/Icon\r", b""), ("train/tab\there.txt", b"")]
    )
    data = build(members)
    for name, _ in members:
        if creme in name:
            data = patch_member(data, name, clear_flags=0x800)
    return data


def train_val_mismatch() -> bytes:
    """train/ has circle and triangle; val/ has circle and star."""
    shapes = make_shapes_zip(None, classes=("circle", "triangle", "star"), per_class=6, layout="split")
    dropped = ("train/star", "val/triangle")
    return build([], base=shapes, rename=lambda name: None if name.startswith(dropped) else name)


# --- datasets a stand-in (randomly initialised) AlexNet can learn ------------------------------
# With the real ImageNet weights AlexNet tells circles from squares; with the stand-in weights the
# tests use, its features are random projections, which still separate colours well. These
# "photos" are textured scenes whose dominant colour is the class.

COLOURS = {"red": (205, 45, 40), "green": (45, 165, 70), "blue": (40, 75, 200), "yellow": (225, 200, 45)}


def colour_photo(colour: str, seed: int, size: tuple[int, int] = (240, 480)) -> Image.Image:
    """A random textured photo-like picture dominated by ``colour``, with a few random blobs."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    width, height = (int(v) for v in rng.integers(size[0], size[1], 2))
    base = np.clip(np.array(COLOURS[colour]) + rng.normal(0, 20, 3), 0, 255)
    pixels = np.clip(base + rng.normal(0, 30, (height, width, 3)), 0, 255).astype(np.uint8)
    picture = Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(2))
    pen = ImageDraw.Draw(picture)
    for _ in range(3):
        x, y, r = int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(10, 50))
        pen.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return picture


def colour_jpeg(colour: str, seed: int) -> bytes:
    buffer = io.BytesIO()
    colour_photo(colour, seed).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@cache
def colour_dataset_zip(
    layout: str = "flat", classes: tuple[str, ...] = ("red", "green", "blue"), per_class: int = 30, seed: int = 0
) -> bytes:
    """A dataset of colour classes as people zip it: macOS junk included and one broken JPEG.

    ``layout`` is "flat" (<class>/...) or "split" (train/<class>/..., val/<class>/..., 25% in val).
    """
    members = []
    for c, name in enumerate(classes):
        for i in range(per_class):
            folder = "" if layout == "flat" else ("val/" if i < per_class // 4 else "train/")
            members.append((f"{folder}{name}/{name}_{i:03d}.jpg", colour_jpeg(name, seed * 10_000 + c * 1000 + i)))
    first = members[0][0]
    members.append((first.replace(".jpg", "_broken.jpg"), colour_jpeg(classes[0], 99)[:600]))  # truncated
    prefix = "" if layout == "flat" else "train/"
    members += [
        ("__MACOSX/._" + first.rsplit("/", 1)[-1], b"\x00\x05\x16\x07AppleDouble"),
        (f"{prefix}{classes[1]}/.DS_Store", b"\x00\x00\x00\x01Bud1"),
        ("Thumbs.db", b"\xd0\xcf\x11\xe0"),
    ]
    return build(members)
