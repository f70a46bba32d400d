"""The digit tab: draw a digit, LeNet reads it in the visitor's browser, every convolution explained.

The page is one ``gr.HTML`` whose code (``ui.static.SCRIPTS``: the engine in ``ui/static/lenet/``, then
the page in ``ui/static/digit/``) runs LeNet in the browser with the shipped weights, fetched once as
``assets/web/lenet_mnist.json``: drawing and reading send nothing to the server. Python stays the
reference and serves programs: ``/predict_digit``, ``/explain_convolution`` and
``/preprocessing_lesson`` take a Sketchpad value, as the API always has, through hidden inputs.
"""

from __future__ import annotations

import base64

import gradio as gr
import pandas as pd

from nets.explaining import convolution
from nets.explaining.convolution import ConvolutionError
from nets.explaining.digits import DigitReading
from nets.measuring.compare import on_meta, parameters
from nets.models.lenet import WEB_WEIGHTS_FILE, lenet
from nets.paths import ASSETS, ROOT
from ui.budgets import LENET_CONCURRENCY
from ui.ids import LENET_QUEUE
from ui.inputs import DigitCanvas, accept
from ui.shared_models import digit_reader
from ui.static import browser_code
from ui.text import TEXT, T, error, fill_in, refusal, say

STATIC = ROOT / "ui" / "static"
EXAMPLES = sorted((ASSETS / "examples").glob("digit_*.png"))  # digit_7.png: a drawn 7
BRUSH = 16  # the pen's width in canvas pixels (400 x 400): MNIST-like strokes once scaled to 20x20
# The intro gives the digit tab's LeNet its own count (one grey input channel), counted, not typed.
fill_in("digit_intro", parameters=f"{parameters(on_meta(lenet, in_channels=1)):,}")
gr.set_static_paths([WEB_WEIGHTS_FILE.parent])  # the weights are served as they are, cached by browsers

API = {
    "predict_digit": "Read a handwritten digit with LeNet (trained on MNIST). Input: a Sketchpad value whose "
    "composite is an image of one digit (dark on light or light on dark). Output: the top 3 "
    "digits with probabilities; empty when the image holds no digit.",
    "explain_convolution": "How LeNet computed one pixel of a feature map for a drawing. Input: a Sketchpad "
    "value, layer (1 or 2), feature map (channel), row, column. Output: patch and kernel "
    "(in_channels x 5 x 5), products, bias, sum (patch . kernel + bias), relu, value (the "
    "model's own feature-map value there), input_box [top, left, bottom, right) on the "
    "32x32 input, and pool (the 2x2 average-pooling block that follows).",
    "preprocessing_lesson": "The same drawing read three ways, with LeNet's answer for each: the whole canvas "
    "squeezed to 28x28, cropped but not centred, and MNIST's way (what the app does; it "
    "always agrees with predict_digit). Output: a table with columns way, digit, "
    "confidence.",
}


def page_texts() -> dict[str, dict[str, str]]:
    """The sentences the page shows (ui/static/digit/), in every language (it picks the page's)."""
    wanted = ("digit_", "preprocessing_way_")
    return {
        language: {key: text for key, text in sentences.items() if key.startswith(wanted)}
        for language, sentences in TEXT.items()
    }


def example_urls() -> list[dict[str, object]]:
    """The example digits as data: URLs (a few KB each, sent with the page)."""
    return [
        {
            "name": path.stem,
            "digit": int(path.stem.split("_")[1]),
            "src": "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode(),
        }
        for path in EXAMPLES
    ]


def lab_code() -> str:
    """The browser code: the engine, the page, and the call that starts it (gr.HTML's js_on_load)."""
    return f"{browser_code()}\nstartDigitLab(element, props);\n"


def predict_digit(sketch: dict | None, request: gr.Request = None) -> dict[str, float]:
    """LeNet's top-3 digits for a Sketchpad value (an empty label when nothing is drawn)."""
    reading: DigitReading | None = digit_reader().read(accept(sketch, request))
    return {} if reading is None else reading.top(3)


def whole(value: float | None) -> int | float | None:
    """A UI number as an int when it is whole (5.0 -> 5); anything else is left for the check to refuse."""
    return int(value) if isinstance(value, (int, float)) and float(value).is_integer() else value


def explain_convolution(
    sketch: dict | None, layer: float, channel: float, row: float, col: float, request: gr.Request = None
) -> dict:
    """The numbers behind one feature-map pixel, as the browser shows them (the Python reference)."""
    value = accept(sketch, request)
    try:
        convolution.check_position(whole(layer), whole(channel), whole(row), whole(col))
    except ConvolutionError as problem:
        raise refusal(request, problem) from None
    digit = digit_reader().digit(value)
    if digit is None:
        raise error(request, "digit_no_digit")
    return convolution.explain_convolution(
        digit_reader().model, digit.tensor, whole(layer), whole(channel), whole(row), whole(col)
    )


def preprocessing_lesson(sketch: dict | None, request: gr.Request = None) -> pd.DataFrame:
    """The drawing read three ways, with LeNet's answer for each (way in words, digit, confidence)."""
    rows = [
        (
            say(request, f"preprocessing_way_{way}", markup="text"),
            digit,
            None if confidence is None else round(confidence, 4),
        )
        for way, digit, confidence in convolution.preprocessing_lesson(
            accept(sketch, request), digit_reader().weights, digit_reader().model
        )
    ]
    return pd.DataFrame(rows, columns=["way", "digit", "confidence"])


def build_digit_tab() -> None:
    gr.Markdown(T("digit_intro"))
    gr.HTML(
        "",
        html_template='<div class="digit-lab"></div>',
        css_template=(STATIC / "digit" / "lab.css").read_text(encoding="utf-8"),
        js_on_load=lab_code(),
        elem_id="digit-lab",
        weights_url=f"gradio_api/file={WEB_WEIGHTS_FILE}",
        examples=example_urls(),
        texts=page_texts(),
        brush=BRUSH,
    )
    # For programs only: the same readings in Python, from a Sketchpad value (nothing here is shown).
    with gr.Column(visible=False):
        sketch = DigitCanvas(label="sketch", canvas_size=(400, 400), format="png", layers=False, transforms=())
        layer, channel, row, col = (gr.Number(label=name) for name in ("layer", "channel", "row", "col"))
        answer = gr.Label(num_top_classes=3, label="answer")
        explained = gr.JSON(label="explanation")
        lesson = gr.Dataframe(label="lesson")
    limits = dict(concurrency_limit=LENET_CONCURRENCY, concurrency_id=LENET_QUEUE)
    gr.on([], predict_digit, sketch, answer, api_name="predict_digit", api_description=API["predict_digit"], **limits)
    gr.on(
        [],
        explain_convolution,
        [sketch, layer, channel, row, col],
        explained,
        api_name="explain_convolution",
        api_description=API["explain_convolution"],
        **limits,
    )
    gr.on(
        [],
        preprocessing_lesson,
        sketch,
        lesson,
        api_name="preprocessing_lesson",
        api_description=API["preprocessing_lesson"],
        **limits,
    )
