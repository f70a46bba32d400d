"""What strangers send is checked before Gradio decodes it: the canvas's uploads and the photo box."""

from __future__ import annotations

import base64
import io

import gradio as gr
import pytest
from gradio.components.image_editor import AcceptBlobs
from gradio.data_classes import ImageData
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from ui.inputs import DigitCanvas, PhotoUpload, Refused


def png(width: int, height: int, colour: int = 255) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def blob(kind: str, data: bytes, index: int | None = None, upload_id: str = "stroke-1") -> AcceptBlobs:
    """What the browser's image editor posts for one part of a drawing."""
    return AcceptBlobs(data={"type": kind, "index": index, "file": data, "id": upload_id}, files=[("blob", data)])


@pytest.fixture
def canvas():
    with gr.Blocks():
        return DigitCanvas()


@pytest.mark.parametrize(
    "kind, data, index",
    [
        ("layer", png(400, 400, 0), 0),
        ("composite", png(400, 400), None),
        ("composite", png(1, 1) + bytes(8 << 20), None),  # a PNG header, then 8 MB of anything
    ],
    ids=["a real stroke", "a real composite", "1x1 PNG + 8 MB"],
)
def test_the_canvas_upload_route_stores_nothing(canvas, kind, data, index):
    """Nothing in the app uploads strokes (the page reads drawings itself): the route is closed."""
    with pytest.raises(gr.Error, match="takes no uploads"):
        canvas.accept_blobs(blob(kind, data, index))
    assert not canvas.blob_storage


def test_the_component_server_route_is_closed_with_a_message(app_url):
    """The canvas-upload attack (40 ids x 3 parts of 8 MB: +960 MB held) has nowhere to go, and the
    answer is a sentence, not a traceback."""
    import json

    from harness import attacks

    body = json.dumps({"session_hash": "x", "component_id": 1, "fn_name": "accept_blobs", "data": None}).encode()
    status, answer = attacks.post(app_url, "/gradio_api/component_server", body)
    assert status == 404 and "take no uploads" in answer["detail"]


def test_an_inline_base64_photo_is_refused_before_decoding():
    with gr.Blocks():
        box = PhotoUpload(type="filepath", image_mode=None)
    inline = "data:image/png;base64," + base64.b64encode(png(9000, 9000)).decode()
    refused = box.preprocess(ImageData(url=inline))
    assert isinstance(refused, Refused) and refused.error.code == "inline_image"


def test_an_api_client_cannot_send_many_layers_or_huge_drawings(client, tmp_path):
    layer = tmp_path / "layer.png"
    layer.write_bytes(png(400, 400, 0))
    with pytest.raises(AppError, match="single layer"):
        client.predict(
            {"background": None, "layers": [handle_file(str(layer))] * 3, "composite": None}, api_name="/predict_digit"
        )
    huge = tmp_path / "huge.png"
    huge.write_bytes(png(3000, 3000))
    with pytest.raises(AppError, match="limit is 4,194,304 pixels"):
        client.predict(
            {"background": None, "layers": [], "composite": handle_file(str(huge))}, api_name="/predict_digit"
        )


def test_names_from_a_zip_never_become_markup_in_an_error(client, tmp_path):
    from harness import zips

    evil = '<a href="https://evil.example/">Fix your zip here</a>'
    archive = tmp_path / "evil.zip"
    archive.write_bytes(zips.build([(f"red/{evil}.txt", b"x")] + [(f"red/{i}.txt", b"x") for i in range(3)]))
    with pytest.raises(AppError) as refused:
        client.predict(handle_file(str(archive)), api_name="/finetune")
    assert "<a href" not in str(refused.value) and "&lt;a href" in str(refused.value)
