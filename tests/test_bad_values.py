"""Every bad value gets a clear message in the visitor's language, before Gradio converts or decodes it."""

from __future__ import annotations

import base64
import io
import json
import time

import pytest
from PIL import Image

from harness import attacks


def call(url: str, api_name: str, data: list, korean: bool = False) -> tuple[int, dict]:
    """(status, answer) of a REST call; a refused value's answer is Gradio's validation form, its
    sentence put in ``answer["detail"]`` here for the tests to read."""
    headers = {"X-Forwarded-For": "192.0.2.200"}
    if korean:
        headers["Accept-Language"] = "ko-KR,ko;q=0.9"
    body = json.dumps({"data": data}).encode()  # json.dumps writes NaN as the token NaN, as a stranger may
    status, answer = attacks.post(url, f"/gradio_api/call/{api_name}", body, headers)
    if status == 422:
        [problem] = answer["detail"]
        assert problem["__type__"] == "validate" and not problem["is_valid"]
        answer["detail"] = problem["message"]
    return status, answer


@pytest.fixture(scope="module")
def zip_value(app_url):
    return attacks.file_data(attacks.upload(app_url, "shapes.zip", b"PK\x05\x06" + b"\0" * 18), "shapes.zip")


@pytest.mark.parametrize(
    ("inputs", "named", "said"),
    [
        (["head", "x", 1e-3, 32, True], "epochs", "takes a number"),
        (["head", float("nan"), 1e-3, 32, True], "epochs", "takes a number"),
        (["head", 5, "abc", 32, True], "lr", "takes a number"),
        (["head", 5, 1e-3, None, True], "batch_size", "takes a number"),
        (["head", 500, 1e-3, 32, True], "epochs", "must be between 1 and 100"),
        (["head", 5, 1e-3, 32, "yes"], "regularise", "takes one of true, false"),
    ],
)
def test_a_fine_tune_with_a_bad_number_is_refused_naming_the_input(app_url, zip_value, inputs, named, said):
    status, answer = call(app_url, "finetune", [zip_value, *inputs])
    assert status == 422
    assert f'"{named}"' in answer["detail"] and said in answer["detail"]


def test_the_refusal_speaks_korean_to_a_korean_visitor(app_url, zip_value):
    status, answer = call(app_url, "finetune", [zip_value, "head", "x", 1e-3, 32, True], korean=True)
    assert status == 422 and "숫자" in answer["detail"] and '"epochs"' in answer["detail"]


def test_number_strings_to_other_endpoints_are_refused_too(app_url):
    status, answer = call(app_url, "compare_models", ["five", []])
    assert status == 422 and '"finetune_classes"' in answer["detail"]
    status, answer = call(app_url, "train_lenet", ["avg", "relu", "2", 1000])
    assert status == 422 and '"epochs"' in answer["detail"]


def test_a_sketch_sent_as_plain_text_is_refused(app_url):
    status, answer = call(app_url, "predict_digit", ["seven"])
    assert status == 422 and "Sketchpad value" in answer["detail"]


def test_a_photo_as_a_data_url_is_refused_before_anything_is_decoded(app_server):
    """A 13000x13000 one-bit PNG is 27 KB of JSON; decoding it costs seconds and gigabytes."""
    url, process = app_server
    picture = Image.new("1", (13000, 13000))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    inline = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    started = time.monotonic()
    for value in (inline, {"url": inline, "meta": {"_type": "gradio.FileData"}}):
        status, answer = call(url, "classify_photo", [value])
        assert status == 422 and "data: URL" in answer["detail"]
    assert time.monotonic() - started < 2
