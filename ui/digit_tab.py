"""The digit tab: draw a digit, LeNet answers after every stroke and shows what it saw."""

from __future__ import annotations

import gradio as gr

from nets.digits import DigitReading, enlarge, feature_grid
from ui.inputs import DigitCanvas, accept
from ui.server import ASSETS, DIGITS, LENET_CONCURRENCY
from ui.text import T

API_DESCRIPTION = ("Read a handwritten digit with LeNet (trained on MNIST). Input: a Sketchpad value whose "
                   "composite is an image of one digit (dark on light or light on dark). Output: the top 3 "
                   "digits with probabilities; empty when the image holds no digit.")

# Picks the Sketchpad's brush as soon as the canvas appears (and again after it is cleared), so a
# visitor can draw at once instead of hunting for the draw tool first.
PICK_BRUSH_JS = """
() => {
  const pick = () => {
    const root = document.querySelector('#digit-canvas');
    if (!root) return;
    const tools = [...root.querySelectorAll('button[aria-label="Brush"], button[aria-label="Erase"], '
                                            + 'button[aria-label="Pan"]')];
    const brush = root.querySelector('button[aria-label="Brush"]');
    if (brush && !tools.some((b) => b.classList.contains('highlight'))) brush.click();
  };
  new MutationObserver(pick).observe(document.body,
                                    {childList: true, subtree: true, attributes: true, attributeFilter: ['class']});
  pick();
}
"""

CLICK_CANVAS_CLEAR_JS = """
() => { document.querySelector('#digit-canvas button[aria-label="Clear canvas"]')?.click(); }
"""

# A finger on the canvas must draw, not scroll the page: without this the browser takes the touch
# for scrolling after the first move and cancels the stroke (seen on phones and in Chromium).
CSS = """
#digit-canvas canvas { touch-action: none; }
"""


def predict_digit(sketch: dict | None, request: gr.Request = None) -> tuple[dict[str, float], DigitReading | None]:
    """LeNet's top-3 digits for a Sketchpad value (an empty label when nothing is drawn).

    The reading also goes into the visitor's ``gr.State`` (invisible to API clients), from which
    the "what LeNet sees" pictures are drawn without sending the canvas a second time.
    """
    reading = DIGITS.read(accept(sketch, request))
    return ({} if reading is None else reading.top(3)), reading


def show_what_lenet_sees(reading: DigitReading | None):
    """The hint, the 28x28 image LeNet classified and both layers' feature maps."""
    if reading is None:
        return T("digit_hint_blank"), None, None, None
    conv1, conv2 = DIGITS.feature_maps(reading.digit)
    hint = T("digit_hint_unsure") if reading.probabilities.max() < 0.6 else T("digit_hint_ok")
    return (hint, enlarge(reading.digit.mnist, 6), feature_grid(conv1, columns=3, cell=56),
            feature_grid(conv2, columns=4, cell=40))


def build_digit_tab() -> None:
    gr.Markdown(T("digit_intro"))
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            canvas = DigitCanvas(
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
            clear = gr.Button(T("digit_clear"), variant="secondary", elem_id="digit-clear")
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
    reading = gr.State()  # this visitor's last reading, for the pictures below the answer
    gr.Examples(
        examples=[str(p) for p in sorted((ASSETS / "examples").glob("digit_*.png"))],
        inputs=canvas,
        label=T("digit_examples"),
    )
    # The canvas's own "Clear canvas" tool resets its drawing state reliably (setting the value to
    # None twice in a row does not: the second None is not a change); the answers are reset here.
    clear.click(lambda: ({}, None, T("digit_hint_blank"), None, None, None), None,
                [answer, reading, hint, seen, conv1, conv2], js=CLICK_CANVAS_CLEAR_JS,
                api_visibility="private", show_progress="hidden", queue=False)
    canvas.change(
        predict_digit, canvas, [answer, reading], api_name="predict_digit", api_description=API_DESCRIPTION,
        trigger_mode="always_last",
        show_progress="hidden", concurrency_limit=LENET_CONCURRENCY, concurrency_id="lenet",
    ).then(
        show_what_lenet_sees, reading, [hint, seen, conv1, conv2], api_visibility="private",
        show_progress="hidden", concurrency_limit=LENET_CONCURRENCY, concurrency_id="lenet-views",
    )
