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
Image.init()  # register every plugin, so the formats below are known before the first open
# MPO: the multi-picture JPEGs some cameras write. Formats outside this list are not even tried.
FORMATS = tuple(f for f in ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF") if f in Image.OPEN)


class ImageError(Refusal):
    """A file that cannot be used as an image. Codes: ``image_too_large_to_decode``,
    ``not_an_image``, ``image_unreadable``, ``image_too_many_pixels``, ``image_damaged``; the
    values always include ``name`` (the file's name, or None when the caller names it)."""


def open_header(source: str | Path | bytes | BinaryIO, *, max_pixels: int = MAX_PIXELS,
                name: str | None = None) -> Image.Image:
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
    return image


def open_rgb(source: str | Path | bytes | BinaryIO, *, max_pixels: int = MAX_PIXELS,
             name: str | None = None, draft_size: int | None = None) -> Image.Image:
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
            return to_rgb(ImageOps.exif_transpose(image))
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageError("image_damaged", name=label, detail=str(error)) from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB: transparency onto white, CMYK and 16-bit greys converted."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit / 32-bit greys: PIL's convert("L") would clip everything above 255 to white.
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        if image.mode == "F" and values.max() <= 1.0:
            top = 1.0
        image = Image.fromarray(np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P" or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")
