"""Inputs that check what strangers send before Gradio decodes it.

Gradio opens every uploaded image before a handler runs (and a drawing's parts too). These
components check the file's header first: a text file renamed .jpg, a truncated PNG or a small
file claiming gigapixels is refused at once, without decoding it. A component cannot know the
visitor's language, so a refused upload reaches the handler as a ``Refused`` value, and the
handler's ``accept(...)`` turns it into a ``gr.Error`` in the visitor's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.components.base import server

from nets.data.images import MAX_PIXELS, ImageError, open_header
from nets.facts import Refusal
from ui.budgets import CANVAS_MAX_PIXELS
from ui.text import refusal


@dataclass(frozen=True)
class Refused:
    """An upload refused before decoding; the handler words ``error`` for the visitor."""

    error: Refusal
    subject: str  # the text key of what was refused: "subject_photo", "subject_drawing"


class InlineData(Refusal):
    """An image sent as inline base64 text instead of an uploaded file."""


def check_image_bytes(source, max_pixels: int) -> None:
    """Raise ``ImageError`` for anything that is not a plausible image, from its header alone."""
    open_header(source, max_pixels=max_pixels).close()


def accept(value: Any, request: gr.Request | None) -> Any:
    """The value of a checked input, or the ``gr.Error`` (in the visitor's language) it deserves."""
    if isinstance(value, Refused):
        raise refusal(request, value.error, subject=value.subject)
    return value


class PhotoUpload(gr.Image):
    """A ``gr.Image`` that refuses non-images and decompression bombs from the file's header.

    Use with ``type="filepath"`` and ``image_mode=None``: the handler then gets the file exactly
    as sent (Gradio's own RGB conversion would drop transparency to black and ignore EXIF
    rotation; ``nets.data.images.open_rgb`` does those conversions properly). Handlers pass the value
    through ``accept``.
    """

    is_template = True  # the browser shows it as a plain gr.Image

    def preprocess(self, payload):
        if payload is not None and (payload.url or "").startswith("data:"):
            # An image inlined as base64 text: Gradio would decode and re-encode it in full.
            return Refused(InlineData("inline_image"), "subject_photo")
        if payload is not None and getattr(payload, "path", None):
            try:
                check_image_bytes(payload.path, MAX_PIXELS)
            except ImageError as error:
                return Refused(error, "subject_photo")
        return super().preprocess(payload)


class DigitCanvas(gr.Sketchpad):
    """The Sketchpad value ``/predict_digit`` and its siblings take from programs, refusing what is
    not a drawing.

    The page draws on a canvas of its own and reads it in the browser; this component is never
    shown. API clients send files (background, layers, composite) with the request, and each is
    checked from its image header before anything is decoded: at most one layer, each part a real
    image of at most 2048x2048 pixels. The editor's browser upload route (``accept_blobs``, a
    store of pending strokes strangers could fill) is closed: nothing here uses it.
    """

    def get_block_name(self) -> str:
        return "imageeditor"  # the browser component is the image editor Sketchpad is made from

    @server
    def accept_blobs(self, data):
        raise gr.Error("This app's digit canvas takes no uploads of its own: send the drawing with the request.")

    def preprocess(self, payload):
        if payload is not None and payload.id is None:  # an API client's files (blobs: see above)
            if len(payload.layers or []) > 1:
                return Refused(Refusal("drawing_one_layer"), "subject_drawing")
            for part in [payload.background, payload.composite, *(payload.layers or [])]:
                if getattr(part, "path", None):
                    try:
                        check_image_bytes(part.path, CANVAS_MAX_PIXELS)
                    except ImageError as error:
                        return Refused(error, "subject_drawing")
        try:
            return super().preprocess(payload)
        except (OSError, SyntaxError, ValueError, EOFError) as error:  # a truncated or broken part
            return Refused(ImageError("image_damaged", name=None, detail=str(error)), "subject_drawing")
