"""The shape lab, a section of the compare tab: the note's code, broken on purpose, shape by shape.

The note asks "왜 첫번째 차원 제외?" in its LeNet's ``flattened_features`` and writes that AlexNet's
maps become 6x6 "because of the max pooling before". Here a visitor answers both by trying: two
questions to predict first, then the note's code word for word, each line with the shape of ``x``
after it, and PyTorch's own refusal, explained, at the line where it refuses. The logic (and the
code quoted) is ``nets.explaining.shapes``; this module words it and lays it out.

The API (``/trace_shapes``) returns the trace as JSON: ``{"steps": [{"layer", "shape"}], "error":
null | {"layer", "message", "explanation"}}``; ``message`` is PyTorch's own (English, as PyTorch
writes it), ``explanation`` is in the visitor's language.
"""

from __future__ import annotations

import html
import re

import gradio as gr

from nets.explaining import note_code, shapes
from nets.explaining.shapes import NOTE_INPUT, ShapeChoiceError, Trace
from nets.facts import Fact
from ui.text import T, refusal, say, tell

API_DESCRIPTION = (
    "The study note's LeNet or AlexNet run line by line on an input of your choice (batch 1-64, "
    "channels 1-4, size 8-512), with the note's flatten line or one that counts every dimension, "
    "and optionally without a pooling layer: each layer's output shape, and where PyTorch refuses, "
    "its own message and what it means."
)

# Sentences shown in a region a screen reader reads aloud when it changes (role="status").
ANNOUNCE_JS = "element.setAttribute('role', 'status'); element.setAttribute('aria-live', 'polite');"

CODE_CSS = """
.sl-code { font-family: var(--font-mono); font-size: 13px; line-height: 1.5; border-radius: 8px;
           border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary);
           padding: 8px 0; margin: 0; max-width: 60em; }
.sl-caption { font-family: var(--font); padding: 0 12px 6px; color: var(--body-text-color-subdued); }
.sl-line { display: grid; grid-template-columns: minmax(0, 1fr) 11em; column-gap: 12px; padding: 0 12px;
           min-height: 1.5em; }
.sl-src { white-space: pre-wrap; overflow-wrap: anywhere; word-break: normal; }
.sl-shape { white-space: nowrap; font-weight: 600; color: var(--body-text-color); }
.sl-tag { font-family: var(--font); font-size: 12px; font-weight: 600; color: var(--body-text-color-subdued); }
.sl-input .sl-src { font-family: var(--font); color: var(--body-text-color-subdued); }
.sl-removed .sl-src { text-decoration: line-through; opacity: 0.6; }
.sl-skipped { opacity: 0.45; }
.sl-edited { background: rgba(245, 158, 11, 0.16); }
.sl-refused { background: var(--error-background-fill); box-shadow: inset 3px 0 0 var(--error-border-color); }
.sl-refused .sl-shape { color: var(--error-text-color); }
.sl-error { font-family: var(--font); font-size: 14px; margin: 4px 12px 10px; padding: 8px 12px;
            border: 1px solid var(--error-border-color); border-radius: 6px; background: var(--error-background-fill); }
.sl-error p { margin: 4px 0; }
.sl-error code { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; }
/* a phone: each shape under its line, so the code keeps the whole width */
@media (max-width: 600px) {
  .sl-code { font-size: 12px; }
  .sl-line { grid-template-columns: minmax(0, 1fr); }
  .sl-shape { text-align: right; }
}
"""


def _as_sent(self, payload):
    """The value as the visitor (or a program) sent it: the handler checks it and refuses in the
    visitor's language (Gradio's own checks answer in English, and fail on "x" for a number)."""
    return payload


class ChoiceSlider(gr.Slider):
    """A ``gr.Slider`` whose value reaches the handler unchecked (see ``_as_sent``)."""

    is_template = True  # the browser shows a plain gr.Slider
    preprocess = _as_sent
    checked_by_its_handler = True  # the guard leaves its values to trace_shapes (ui.input_checks)


class ChoiceRadio(gr.Radio):
    """A ``gr.Radio`` whose value reaches the handler unchecked (see ``_as_sent``)."""

    is_template = True
    preprocess = _as_sent
    checked_by_its_handler = True


def _strong(text: str) -> str:
    """**bold** of a sentence written for HTML (its values already escaped) as <strong>."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)


def _traced(network, batch, channels, size, flatten, remove_pool, request: gr.Request | None) -> Trace:
    try:
        return shapes.trace_shapes(network, batch, channels, size, flatten, remove_pool)
    except ShapeChoiceError as problem:
        raise refusal(request, problem) from None


def trace_shapes(
    network: str = "lenet",
    batch: float = 4,
    channels: float = 3,
    size: float = 32,
    flatten: str = "note",
    remove_pool: str = "",
    request: gr.Request = None,
) -> dict:
    """Each layer's output shape for the note's network on a (batch, channels, size, size) input,
    and where PyTorch refuses: its own message and an explanation."""
    trace = _traced(network, batch, channels, size, flatten, remove_pool, request)
    error = None
    if trace.refused_at is not None:
        explanation = tell(request, trace.why, markup="text")
        error = {"layer": trace.refused_at, "message": trace.message, "explanation": explanation}
    return {"steps": [{"layer": step.layer, "shape": list(step.shape)} for step in trace.steps], "error": error}


def summary_html(trace: Trace, request: gr.Request | None = None) -> str:
    """One or two sentences: what came out, or where PyTorch refused and why."""
    choices = trace.choices
    if trace.refused_at is None:
        shape = trace.steps[-1].shape
        text = say(request, "shape_runs", shape=str(shape), classes=shape[-1], rows=shape[0])
        if choices.network == "lenet" and choices.flatten == "with_batch" and choices.batch == 1:
            text += " " + say(request, "shape_batch_one_hint")
        return f"<p>{_strong(text)}</p>"
    refused = say(request, "shape_refused_at", layer=trace.refused_at)
    short = tell(request, Fact(f"{trace.why.code}_short", trace.why.values))  # the numbers; the rest is at the line
    return f"<p>{_strong(refused)} {short} {say(request, 'shape_see_below')}</p>"


def _line(source: str, side: str = "", kind: str = "") -> str:
    """One line of code with what sits beside it (a shape, a tag), as a row of the listing.

    A line too long for a phone wraps with a hanging indent (its own indent plus four), so the
    code's structure still reads."""
    indent = len(source) - len(source.lstrip(" "))
    hanging = f'translate="no" style="padding-left: {indent + 4}ch; text-indent: -4ch"'  # code: not translated
    aside = f'<span class="sl-shape">{side}</span>' if side else ""
    return (
        f'<div class="sl-line {kind}"><span class="sl-src" {hanging}>{html.escape(source.strip())}</span>{aside}</div>'
    )


def code_html(trace: Trace, request: gr.Request | None = None) -> str:
    """The note's code, word for word, each line that makes a layer's output with its shape; the
    removed pooling line struck through, the edited flatten line marked, the refused line with
    PyTorch's message and what it means, and the lines after it greyed (never run)."""
    choices = trace.choices
    shown = {step.layer: str(step.shape) for step in trace.steps}
    removed = note_code.pool_layer(choices.network, choices.remove_pool) if choices.remove_pool else None

    def tag(key: str) -> str:
        return f'<span class="sl-tag">{say(request, key)}</span>'

    input_shape = (choices.batch, choices.channels, choices.size, choices.size)
    rows = [
        f'<div class="sl-caption">{say(request, "shape_code_label")}</div>',
        _line(say(request, "shape_input_line", markup="text"), str(input_shape), "sl-input"),
    ]
    for source, layer in note_code.code_lines(choices.network):
        if source.strip() == note_code.FLATTEN_LINE and choices.flatten == "with_batch" and choices.network == "lenet":
            rows.append(_line(source, tag("shape_removed_tag"), "sl-removed"))
            source = source.replace(note_code.FLATTEN_LINE, note_code.FLATTEN_WITH_BATCH)
            rows.append(_line(source, tag("shape_edited_tag"), "sl-edited"))
        elif layer is not None and layer == removed:
            rows.append(_line(source, tag("shape_removed_tag"), "sl-removed"))
        elif layer in shown:
            rows.append(_line(source, shown[layer]))
        elif layer is not None and layer == trace.refused_at:
            rows.append(_line(source, "✗", "sl-refused"))
            rows.append(
                '<div class="sl-error">'
                f"<p><strong>{say(request, 'shape_pytorch_says')}:</strong> "
                f"<code>RuntimeError: {html.escape(trace.message or '')}</code></p>"
                f"<p><strong>{say(request, 'shape_what_it_means')}:</strong> {tell(request, trace.why)}</p></div>"
            )
        elif layer is not None:
            rows.append(_line(source, tag("shape_not_run"), "sl-skipped"))
        else:
            rows.append(_line(source))
    label = html.escape(say(request, "shape_code_label", markup="text"), quote=True)
    return f'<div class="sl-code" role="group" aria-label="{label}">{"".join(rows)}</div>'


def show_trace(network, batch, channels, size, flatten, remove_pool, request: gr.Request = None):
    """The page's answer to the lab's choices: the summary and the annotated code."""
    if network == "lenet" and remove_pool == "pool3":  # a moment's mix while the pool menu changes
        remove_pool = ""
    trace = _traced(network, batch, channels, size, flatten, remove_pool, request)
    return summary_html(trace, request), code_html(trace, request)


def _pool_menu(network: str, remove_pool: str, request: gr.Request | None) -> dict:
    """The pooling layers of ``network`` a visitor may remove (AlexNet's named by their place too:
    "pool3: convnet[14]"), keeping the chosen one if this network has it."""
    pools = [(say(request, "shape_remove_none", markup="text"), "")]
    for pool in shapes.POOLS.get(network, ()):
        name = note_code.pool_layer(network, pool)
        pools.append((pool if name == pool else f"{pool}: {name}", pool))
    kept = remove_pool if remove_pool in shapes.POOLS.get(network, ()) else ""
    return gr.update(choices=pools, value=kept)


def network_chosen(network: str, remove_pool: str, request: gr.Request = None):
    """A network chosen by the visitor: its pooling layers to remove, the flatten switch (LeNet's
    only) and the input size it is built for."""
    return _pool_menu(network, remove_pool, request), gr.update(interactive=network == "lenet"), NOTE_INPUT[network]


def ask(request: gr.Request = None) -> list:
    """Every question's prompt and options in the visitor's language, no answer chosen, none revealed."""
    updates = []
    for question in shapes.questions():
        options = [(tell(request, option, markup="text"), index) for index, option in enumerate(question.options)]
        prompt = _strong(tell(request, question.prompt))
        updates += [prompt, gr.update(choices=options, value=None), "", gr.update(visible=False)]
    return updates


def check_answer(number: int, chosen: int | None, request: gr.Request = None):
    """Whether the visitor's answer is right, the right answer and why; then the lab can show it."""
    if chosen is None:
        return say(request, "shape_choose_first"), gr.update(visible=False)
    question = shapes.questions()[number]
    answer = tell(request, question.options[question.answer])
    verdict = say(request, "shape_right") if chosen == question.answer else say(request, "shape_wrong", answer=answer)
    return f"<p>{_strong(verdict)}</p><p>{tell(request, question.explanation)}</p>", gr.update(visible=True)


def show_in_lab(number: int, request: gr.Request = None):
    """The lab's choices that reproduce a question."""
    setting = shapes.questions()[number].setting
    return (
        setting.network,
        setting.batch,
        setting.channels,
        setting.size,
        gr.update(value=setting.flatten, interactive=setting.network == "lenet"),
        _pool_menu(setting.network, setting.remove_pool, request),
    )


def build_shape_lab(tab: gr.Tab) -> None:
    """The section "Break the note's code" (an open accordion): two questions, then the lab.

    Computed when the tab is opened (microseconds: shapes only), like the rest of the tab."""
    with gr.Accordion(T("shape_lab_title"), open=True, elem_id="shape-lab"):
        gr.Markdown(T("shape_lab_intro"))
        gr.Markdown(T("shape_predict_title"), elem_classes=["heading"])
        gr.Markdown(T("shape_predict_intro"))
        asked, checks = [], []
        with gr.Row(equal_height=False):
            for number in range(len(shapes.QUESTIONS)):
                with gr.Column(min_width=300):
                    prompt = gr.HTML(elem_id=f"shape-question-{number + 1}")
                    answer = gr.Radio([], label=T("shape_your_answer"), elem_id=f"shape-answer-{number + 1}")
                    check = gr.Button(T("shape_check"), size="sm", elem_id=f"shape-check-{number + 1}")
                    reveal = gr.HTML(elem_id=f"shape-reveal-{number + 1}", js_on_load=ANNOUNCE_JS)
                    show = gr.Button(
                        T("shape_show_in_lab"), size="sm", visible=False, elem_id=f"shape-show-{number + 1}"
                    )
                asked += [prompt, answer, reveal, show]
                checks.append((gr.State(number), answer, check, reveal, show))
        gr.Markdown(T("shape_try_title"), elem_classes=["heading"])
        with gr.Row(equal_height=False):
            network = ChoiceRadio(
                [(T("shape_network_lenet"), "lenet"), (T("shape_network_alexnet"), "alexnet")],
                value="lenet",
                label=T("shape_network"),
                elem_id="shape-network",
                min_width=200,
            )
            batch = ChoiceSlider(1, 64, value=4, step=1, label=T("shape_batch"), elem_id="shape-batch", min_width=200)
            channels = ChoiceSlider(1, 4, value=3, step=1, label=T("shape_channels"), elem_id="shape-channels")
            size = ChoiceSlider(8, 512, value=32, step=1, label=T("shape_size"), elem_id="shape-size", min_width=200)
        with gr.Row(equal_height=False):
            flatten = ChoiceRadio(
                [(T("shape_flatten_note"), "note"), (T("shape_flatten_with_batch"), "with_batch")],
                value="note",
                label=T("shape_flatten"),
                info=T("shape_flatten_info"),
                elem_id="shape-flatten",
            )
            remove_pool = ChoiceRadio(
                [(T("shape_remove_none"), ""), ("pool1", "pool1"), ("pool2", "pool2")],
                value="",
                label=T("shape_remove_pool"),
                elem_id="shape-remove-pool",
            )
        summary = gr.HTML(elem_id="shape-summary", js_on_load=ANNOUNCE_JS)
        code = gr.HTML(elem_id="shape-code", css_template=CODE_CSS, js_on_load=None)
        trace_json = gr.JSON(visible=False)  # what the API returns

    choices = [network, batch, channels, size, flatten, remove_pool]
    gr.on([], trace_shapes, choices, trace_json, api_name="trace_shapes", api_description=API_DESCRIPTION)
    network.input(
        network_chosen, [network, remove_pool], [remove_pool, flatten, size], api_visibility="private"
    )  # a visitor's choice of network starts at the size it is built for
    gr.on(
        [tab.select, *(choice.change for choice in choices)],
        show_trace,
        choices,
        [summary, code],
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="always_last",
    )
    tab.select(ask, None, asked, api_visibility="private", show_progress="hidden")
    for number, answer, check, reveal, show in checks:
        check.click(check_answer, [number, answer], [reveal, show], api_visibility="private", show_progress="hidden")
        show.click(show_in_lab, number, choices, api_visibility="private", show_progress="hidden")
