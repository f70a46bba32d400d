"""Classic CNNs, hands on: draw for LeNet, show photos to AlexNet, fine-tune it, count its cost.

The Gradio UI of the app; the models and all the logic live in ``nets/`` (which never imports
gradio). Each tab is built by its own ``build_*_tab`` function; handlers convert UI values to
plain Python, call ``nets``, and turn a visitor's mistakes into ``gr.Error`` messages.

    python app.py          # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import gradio as gr
import numpy as np

from nets.digits import DigitReader, enlarge, feature_grid

ASSETS = Path(__file__).resolve().parent / "assets"
TEXT = json.loads((ASSETS / "i18n.json").read_text(encoding="utf-8"))
T = gr.I18n(**TEXT)  # every visible sentence, in English and Korean (chosen by the browser)

# Read-only models shared by every visitor (inference only, never modified).
DIGITS = DigitReader()

# How many of each kind of job run at once; the rest wait in the queue with their position shown.
LENET_CONCURRENCY = 12

# Picks the Sketchpad's brush as soon as the canvas appears (and again after it is cleared), so a
# visitor can draw at once instead of hunting for the draw tool first.
PICK_BRUSH_JS = """
() => {
  const pick = () => {
    const root = document.querySelector('#digit-canvas');
    if (!root) return;
    const tools = [...root.querySelectorAll('button[aria-label="Brush"], button[aria-label="Erase"], button[aria-label="Pan"]')];
    const brush = root.querySelector('button[aria-label="Brush"]');
    if (brush && !tools.some((b) => b.classList.contains('highlight'))) brush.click();
  };
  new MutationObserver(pick).observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ['class']});
  pick();
}
"""


# --- Draw a digit ---------------------------------------------------------------------------


def predict_digit(sketch: dict | None) -> dict[str, float]:
    """LeNet's top-3 digits for a Sketchpad value; an empty label when nothing is drawn."""
    reading = DIGITS.read(sketch)
    return {} if reading is None else reading.top(3)


def show_what_lenet_sees(sketch: dict | None):
    """The hint, the 28x28 image LeNet classified and both layers' feature maps."""
    reading = DIGITS.read(sketch)
    if reading is None:
        return T("digit_hint_blank"), None, None, None
    conv1, conv2 = DIGITS.feature_maps(reading.digit)
    best = max(reading.top(1).values())
    hint = T("digit_hint_unsure") if best < 0.6 else T("digit_hint_ok")
    return hint, enlarge(reading.digit.mnist, 6), feature_grid(conv1, columns=6), feature_grid(conv2, columns=8, cell=40)


def build_digit_tab() -> None:
    gr.Markdown(T("digit_intro"))
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            canvas = gr.Sketchpad(
                label=T("digit_canvas"),
                elem_id="digit-canvas",
                canvas_size=(400, 400),
                fixed_canvas=True,
                format="png",  # lossless: webp would smear the strokes' edges
                layers=False,
                transforms=(),
                brush=gr.Brush(default_size=15, colors=["#000000"], color_mode="fixed"),
                eraser=gr.Eraser(default_size=20),
                height=460,
            )
            clear = gr.ClearButton(value=T("digit_clear"), variant="secondary")
        with gr.Column(scale=2, min_width=260):
            answer = gr.Label(num_top_classes=3, label=T("digit_answer"), elem_id="digit-prediction")
            hint = gr.Markdown(T("digit_hint_blank"), elem_id="digit-hint")
            seen = gr.Image(label=T("digit_seen"), height=180, width=180, interactive=False,
                            buttons=[], elem_id="digit-seen")
            gr.Markdown(T("digit_seen_explain"))
    with gr.Row(equal_height=False):
        with gr.Column(min_width=280):
            conv1 = gr.Image(label=T("digit_conv1"), interactive=False, buttons=[])
            gr.Markdown(T("digit_conv1_explain"))
        with gr.Column(min_width=280):
            conv2 = gr.Image(label=T("digit_conv2"), interactive=False, buttons=[])
            gr.Markdown(T("digit_conv2_explain"))
    gr.Examples(
        examples=[str(p) for p in sorted((ASSETS / "examples").glob("digit_*.png"))],
        inputs=canvas,
        label=T("digit_examples"),
    )
    clear.add([canvas, answer, seen, conv1, conv2])
    canvas.change(
        predict_digit, canvas, answer, api_name="predict_digit", trigger_mode="always_last",
        show_progress="hidden", concurrency_limit=LENET_CONCURRENCY, concurrency_id="lenet",
    )
    canvas.change(
        show_what_lenet_sees, canvas, [hint, seen, conv1, conv2], api_visibility="private",
        trigger_mode="always_last", show_progress="hidden", concurrency_limit=LENET_CONCURRENCY,
        concurrency_id="lenet-views",
    )


# --- The app ----------------------------------------------------------------------------------


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Classic CNNs, hands on") as demo:
        gr.Markdown(T("app_title"))
        with gr.Tabs():
            with gr.Tab(T("tab_digit"), id="digit"):
                build_digit_tab()
    return demo


demo = build_demo()


def main() -> None:
    demo.queue(max_size=256)
    demo.launch(i18n=T, js=PICK_BRUSH_JS, max_file_size="100mb")


if __name__ == "__main__":
    main()
