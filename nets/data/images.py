"""Opening the images people really send: upright, 8-bit RGB, and safe to decode.

Photos arrive rotated by EXIF tags, with transparency, as CMYK or 16-bit greyscale, animated,
enormous, tiny, truncated, or as something that is not an image at all. ``open_rgb`` turns each
into an upright RGB ``PIL.Image`` the way a person would expect to see it, or raises
``ImageError`` (a ``Refusal``: a code and its numbers, which the UI words in the visitor's
language) before any large allocation: the pixel count is checked from the header, so a small
file that would decode to gigapixels (a decompression bomb) is refused without decoding it.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nets.facts import Refusal

MAX_PIXELS = 50_000_000  # 50 MP: more than any phone camera; a bigger file is almost surely a bomb
# A progressive JPEG is decoded once per scan, over the whole image each time: 10,000 empty scans
# (a 300 KB file) keep a core busy for a minute. Real encoders write about 10 scans (libjpeg,
# mozjpeg, Photoshop: 3 to 12). So a JPEG may have at most MAX_SCANS scans, and at most
# MAX_SCAN_PIXELS summed over its scans (a 50 MP photo with 40 scans, or 1 MP with 150): at the
# limit decoding takes under a second here (bench/attacks.py measures it).
MAX_SCANS = 150
MAX_SCAN_PIXELS = 2_000_000_000
CHUNK_ROWS = 512  # 16-bit and float images are converted to 8 bits this many rows at a time
Image.init()  # register every plugin, so the formats below are known before the first open
# MPO: the multi-picture JPEGs some cameras write. Formats outside this list are not even tried.
FORMATS = tuple(f for f in ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF") if f in Image.OPEN)


class ImageError(Refusal):
    """A file that cannot be used as an image. Codes: ``image_too_large_to_decode``,
    ``not_an_image``, ``image_unreadable``, ``image_too_many_pixels``, ``image_too_many_scans``,
    ``image_damaged``; the values always include ``name`` (the file's name, or None when the
    caller names it)."""


def open_header(
    source: str | Path | bytes | BinaryIO, *, max_pixels: int = MAX_PIXELS, name: str | None = None
) -> Image.Image:
    """Open ``source`` lazily (only its header is read) and check it is an image of sane size.

    The caller closes the returned image. Raises ``ImageError`` for anything that is not an image
    or would decode to more than ``max_pixels`` pixels.
    """
    label = name if name is not None else (Path(source).name if isinstance(source, (str, Path)) else None)
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    try:
        # Pillow itself refuses above 2 x Image.MAX_IMAGE_PIXELS (179 MP); our own, lower limit
        # is checked below, from the header, before anything is decoded.
        image = Image.open(source, formats=FORMATS)
    except Image.DecompressionBombError:
        raise ImageError("image_too_large_to_decode", name=label, limit=max_pixels) from None
    except UnidentifiedImageError:
        raise ImageError("not_an_image", name=label) from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as error:  # malformed headers
        raise ImageError("image_unreadable", name=label, detail=str(error)) from None
    width, height = image.size
    if width * height > max_pixels or width < 1 or height < 1:
        image.close()
        raise ImageError("image_too_many_pixels", name=label, width=width, height=height, limit=max_pixels)
    if image.format in ("JPEG", "MPO"):
        scans = count_jpeg_scans(image.fp)
        if scans > MAX_SCANS or scans * width * height > MAX_SCAN_PIXELS:
            image.close()
            raise ImageError(
                "image_too_many_scans",
                name=label,
                scans=scans,
                limit=min(MAX_SCANS, MAX_SCAN_PIXELS // (width * height)),
            )
    return image


def count_jpeg_scans(stream: BinaryIO, chunk: int = 1 << 20) -> int:
    """How many scans (SOS markers, FF DA) a JPEG holds, read in chunks without decoding.

    Inside entropy-coded data every FF byte is followed by 00 (byte stuffing) or a restart
    marker, so FF DA only ever starts a scan (or sits inside metadata, e.g. an EXIF thumbnail's
    own few scans): an honest count, never an undercount. The stream's position is restored.
    """
    start = stream.tell()
    stream.seek(0)
    count, tail = 0, b""
    while block := stream.read(chunk):
        count += (tail + block).count(b"\xff\xda")  # tail: a marker may straddle two chunks
        tail = block[-1:]
    stream.seek(start)
    return count


def open_rgb(
    source: str | Path | bytes | BinaryIO,
    *,
    max_pixels: int = MAX_PIXELS,
    name: str | None = None,
    draft_size: int | None = None,
) -> Image.Image:
    """Decode ``source`` into an upright 8-bit RGB image (transparency flattened onto white).

    ``draft_size`` lets JPEGs decode at a reduced scale when only that many pixels per side are
    needed (much faster for big photos; the result is not bit-identical to a full decode).
    Raises ``ImageError`` for anything that is not a usable image.
    """
    label = name if name is not None else (Path(source).name if isinstance(source, (str, Path)) else None)
    with open_header(source, max_pixels=max_pixels, name=label) as image:
        try:
            image.seek(0)  # animated GIF/WebP/PNG: the first frame
            if draft_size and image.format in ("JPEG", "MPO"):
                image.draft("RGB", (draft_size, draft_size))
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no copy: a 50 MP photo is 200 MB in Pillow
            return to_rgb(image)
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageError("image_damaged", name=label, detail=str(error)) from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB: transparency onto white, CMYK and 16-bit greys converted."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        image = grey_to_8_bits(image)
    if image.mode == "P" or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def grey_to_8_bits(image: Image.Image) -> Image.Image:
    """16-bit or 32-bit greys ("I;16", "I", "F") scaled to 8 bits ("L"), a band of rows at a time.

    Pillow's own convert("L") would clip everything above 255 to white. The scale is 65535 for
    16-bit images (or any with values above 255), 1 for floats within [0, 1], else 255. Working
    in float32 bands keeps the extra memory to a few MB, whatever the image's size (a whole
    50 MP image in float64 would take 400 MB, and each operation on it as much again).
    """
    low, high = image.getextrema()
    top = 65535.0 if image.mode.startswith("I;16") or high > 255 else 255.0
    if image.mode == "F" and high <= 1.0:
        top = 1.0
    width, height = image.size
    grey = Image.new("L", image.size)
    for y in range(0, height, CHUNK_ROWS):
        band = np.asarray(image.crop((0, y, width, min(y + CHUNK_ROWS, height))), dtype=np.float32)  # (rows, W)
        band = np.clip(band * np.float32(255.0 / top) + np.float32(0.5), 0, 255).astype(np.uint8)
        grey.paste(Image.fromarray(band, "L"), (0, y))
    return grey
