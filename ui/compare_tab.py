"""The compare tab: exact parameters, memory and compute of every model, layer by layer, the note's claims checked.

The API (``/compare_models``) returns the models table with its documented column names
(``nets.measuring.compare.MODELS_TABLE_COLUMNS``); the page shows the same numbers under headings in words,
in the visitor's language.
"""

from __future__ import annotations

import html
import re

import gradio as gr
import pandas as pd

from nets.explaining.questions import compare_questions
from nets.explaining.the_note import note_claims
from nets.facts import Fact
from nets.measuring import compare
from nets.measuring.compare import CompareError
from ui import shape_lab
from ui.charts import log_bar_chart, stacked_bar_chart
from ui.questions import ask
from ui.text import T, Written, refusal, say, tell

API_DESCRIPTION = (
    "Parameters, trainable/frozen parameters, fp32 size, multiply-adds and conv-vs-FC shares of "
    "LeNet, AlexNet (2012 and torchvision) and AlexNet with a new head for N classes, plus "
    "chosen later classics."
)


def headings(request: gr.Request | None, columns) -> list[str]:
    """A table's column names as headings in words, in the visitor's language."""
    return [say(request, f"column_{column}") for column in columns]


def readable(table: pd.DataFrame, request: gr.Request | None = None):
    """The table for people: headings in words, big integers with thousands separators (the data
    itself stays exact integers)."""
    table = table.set_axis(headings(request, table.columns), axis="columns")
    integers = [c for c in table.columns if pd.api.types.is_integer_dtype(table[c])]
    floats = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    return table.style.format("{:,}", subset=integers).format("{:g}", subset=floats).hide(axis="index")


# The network of the note's models by their table name, and the text key of their name in words.
MODEL_KEYS = {
    compare.LENET_NOTE: "model_lenet_note",
    compare.LENET_DIGITS: "model_lenet_digit",
    compare.ALEXNET_2012: "model_alexnet_note",
    compare.ALEXNET_2012_TWO_GPU: "model_alexnet_paper",
    compare.ALEXNET_TORCHVISION: "model_alexnet_torchvision",
}
NEW_HEAD_NAME = re.compile(r"AlexNet \+ new head \((\d+|N) classes\)")

# The tables' look, scoped to their gr.HTML. On a phone the models table scrolls inside its box
# (the model's name pinned at the left), numbers never break inside ("1,135,256,096" stays one
# line), headings break between words only; the claims become one card each.
TABLE_CSS = """
.cc-scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
table.cc-table { border-collapse: collapse; font-size: 0.92em; margin: 0; }
.cc-table th, .cc-table td { padding: 6px 10px; border-bottom: 1px solid var(--border-color-primary);
    vertical-align: top; color: var(--body-text-color); }
.cc-table th { font-weight: 600; text-align: left; word-break: keep-all; overflow-wrap: normal; min-width: 5.5em; }
.cc-numbers td { white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums; }
.cc-numbers th:first-child, .cc-numbers td:first-child { position: sticky; left: 0; text-align: left;
    white-space: normal; min-width: 8.5em; max-width: 12em; background: var(--background-fill-primary); }
.cc-claims td { word-break: keep-all; overflow-wrap: break-word; }
@media (max-width: 640px) {
  .cc-claims thead { display: none; }
  .cc-claims, .cc-claims tbody, .cc-claims tr, .cc-claims td { display: block; width: 100%; box-sizing: border-box; }
  .cc-claims tr { border: 1px solid var(--border-color-primary); border-radius: 8px; margin-bottom: 10px; }
  .cc-claims td { border: none; padding: 4px 12px; }
  .cc-claims td::before { content: attr(data-heading); display: block; font-weight: 600; }
}
"""


def model_name(request: gr.Request | None, name: str) -> str:
    """A model's table name in the visitor's language (later classics keep their own names)."""
    if name in MODEL_KEYS:
        return say(request, MODEL_KEYS[name], markup="text")
    head = NEW_HEAD_NAME.fullmatch(name)
    if head:
        return say(request, "model_alexnet_new_head", markup="text", classes=head.group(1))
    return name


def cell_text(value) -> str:
    """A table cell as people read it: integers with thousands separators, floats without trailing zeros."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and pd.api.types.is_integer_dtype(value.dtype)):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def html_table(headings_shown: list[str], rows: list[list[str]], kind: str) -> str:
    """An HTML table (``kind``: "cc-numbers" or "cc-claims"), every cell escaped, in a box that scrolls."""
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headings_shown)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-heading="{html.escape(h)}">{html.escape(str(cell))}</td>'
            for h, cell in zip(headings_shown, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="cc-scroll" tabindex="0" role="region" aria-label="{html.escape(headings_shown[0])}">'
        f'<table class="cc-table {kind}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    )


def models_html(table: pd.DataFrame, request: gr.Request | None = None) -> str:
    """The models table for people: headings in words, model names and numbers in the visitor's language."""
    rows = [
        [model_name(request, str(row["model"]))] + [cell_text(row[c]) for c in table.columns if c != "model"]
        for _, row in table.iterrows()
    ]
    columns = ["model"] + [c for c in table.columns if c != "model"]
    return html_table(headings(request, columns), rows, "cc-numbers")


def compare_models(finetune_classes: float = 5, extras: list[str] | None = None, request: gr.Request = None):
    """The models table: parameters, trainable/frozen, MB, multiply-adds, conv vs FC shares."""
    try:
        return compare.models_table(finetune_classes=finetune_classes, extras=extras or [])
    except CompareError as problem:
        raise refusal(request, problem) from None


def show_models(table: pd.DataFrame | None, request: gr.Request = None):
    """The models table as the page shows it, and the four charts drawn from it: every chart has a
    row for every model of the table."""
    if table is None or len(table) == 0:
        return "", "", "", "", ""
    names = [model_name(request, name) for name in table["model"]]
    params = log_bar_chart(names, [int(v) for v in table["parameters"]], say(request, "compare_params_chart"))
    compute = log_bar_chart(names, [int(v) for v in table["mult_adds"]], say(request, "compare_compute_chart"))
    shares = compare.shares_table(table)
    parts = [say(request, f"part_{part.replace(' ', '_')}", markup="text") for part in compare.PARTS]
    splits = []
    for measure, title in (("parameters", "compare_params_split"), ("compute", "compare_compute_split")):
        rows = shares[shares["measure"] == measure]
        splits.append(
            stacked_bar_chart(
                names,
                [list(rows[rows["model"] == name]["percent"]) for name in table["model"]],
                parts,
                say(request, title, markup="text"),
            )
        )
    return models_html(table, request), params, compute, *splits


def layer_breakdown(model: str, finetune_classes: float = 5, request: gr.Request = None):
    """One model layer by layer: output shape, parameters, multiply-adds."""
    try:
        return readable(compare.layer_table(model, finetune_classes=finetune_classes), request)
    except CompareError as problem:
        raise refusal(request, problem) from None


def claims_table(request: gr.Request = None) -> str:
    """The note's claims beside the exact counts, in the visitor's language (cards on a phone)."""
    rows = [
        [
            say(request, f"{claim.code}_title", markup="text"),
            say(request, f"{claim.code}_note", markup="text"),
            exact_text(request, claim),
        ]
        for claim in note_claims()
    ]
    return html_table(headings(request, ("claim", "note_says", "exact")), rows, "cc-claims")


def model_choices(request: gr.Request = None):
    """The layer-by-layer menu in the visitor's language (the value stays the table name)."""
    names = list(compare.MODELS) + list(compare.EXTRA_MODELS)
    return gr.update(choices=[(model_name(request, name), name) for name in names])


def exact_text(request: gr.Request | None, claim: Fact) -> Written:
    """The exact side of one claim, in words."""
    values = dict(claim.values)
    for key, value in claim.values.items():
        if isinstance(value, list):  # a tensor's shape, as PyTorch prints it
            values[key] = "(" + ", ".join(str(size) for size in value) + ")"
        elif isinstance(value, dict) and all(isinstance(v, int) for v in value.values()):  # layer counts
            values[key] = layers_text(request, value)
        elif isinstance(value, dict):  # a model's split
            values[key] = say(request, "claim_split_of", **value)
    return say(request, f"{claim.code}_exact", **values)


def layers_text(request: gr.Request | None, counts: dict[str, int]) -> Written:
    """{"Conv2d": 5, "MaxPool2d": 3, "Linear": 3} -> "5 conv + 3 FC (+ 3 MaxPool2d)"."""
    counts = dict(counts)
    conv, fc = counts.pop("Conv2d", 0), counts.pop("Linear", 0)
    text = say(request, "claim_conv_fc", conv=conv, fc=fc)
    if counts:
        text += f" (+ {', '.join(f'{n} {kind}' for kind, n in counts.items())})"
    return Written(text)


def two_gpu_text(request: gr.Request = None) -> str:
    """One paragraph: why the 2012 AlexNet was split over two GPUs, and what the split cost."""
    return (
        "**"
        + say(request, "compare_two_gpus_title", markup="markdown")
        + "** "
        + tell(request, compare.two_gpu_split(), markup="markdown")
    )


def build_compare_tab(tab: gr.Tab) -> tuple[gr.Number, gr.CheckboxGroup, gr.Dropdown]:
    """The compare tab; returns its inputs a teacher's link can fill (the number of classes, which
    a visitor's fine-tune fills in too; the extra models; the model shown layer by layer).

    Its tables are computed when the tab is opened, not when the page loads: a visitor who never
    opens it costs the server nothing here (a class of forty loading the page at once would
    otherwise send 160 requests for tables nobody looks at yet)."""
    gr.Markdown(T("compare_intro"))
    ask(compare_questions(), "compare")
    with gr.Row():
        classes = gr.Number(
            value=5,
            minimum=2,
            maximum=1000,
            precision=0,
            label=T("compare_classes"),
            info=T("compare_classes_info"),
            scale=1,
            min_width=220,
        )
        extras = gr.CheckboxGroup(list(compare.EXTRA_MODELS), label=T("compare_extras"), scale=3)
    data = gr.Dataframe(visible=False)  # the table as the API returns it: documented column names
    # An HTML table (TABLE_CSS): the model's name stays in sight, the numbers scroll beside it.
    gr.Markdown(T("compare_table"), elem_classes=["cc-table-title"])
    table = gr.HTML(elem_id="models-table", css_template=TABLE_CSS, js_on_load=None)
    gr.Markdown(T("compare_columns"))
    with gr.Row(equal_height=False):  # side by side on a computer, one under the other on a phone
        with gr.Column(min_width=340):
            params_chart = gr.HTML(min_height=120, elem_id="params-chart")
        with gr.Column(min_width=340):
            compute_chart = gr.HTML(min_height=120, elem_id="compute-chart")
    gr.Markdown(T("compare_split_explain"))
    with gr.Row(equal_height=False):
        with gr.Column(min_width=340):
            params_split = gr.HTML(min_height=120, elem_id="params-split")
        with gr.Column(min_width=340):
            compute_split = gr.HTML(min_height=120, elem_id="compute-split")
    with gr.Row():
        layer_model = gr.Dropdown(
            list(compare.MODELS) + list(compare.EXTRA_MODELS),
            value=compare.ALEXNET_TORCHVISION,
            label=T("compare_layers_model"),
            scale=1,
        )
    layers = gr.Dataframe(label=T("compare_layers"), interactive=False, wrap=True, max_height=420)
    gr.Markdown(T("compare_claims_title"))
    claims = gr.HTML(elem_id="claims-table", css_template=TABLE_CSS, js_on_load=None)
    two_gpus = gr.Markdown(elem_id="two-gpus")  # the 2012 network's split over two GPUs: why, and its cost
    shape_lab.build_shape_lab(tab)  # "Break the note's code": each layer's output shape, and where PyTorch refuses

    # always_last: a change while the tables are being counted is counted next, never dropped
    gr.on(
        [tab.select, classes.change, extras.change],
        compare_models,
        [classes, extras],
        data,
        api_name="compare_models",
        api_description=API_DESCRIPTION,
        show_progress="minimal",
        trigger_mode="always_last",
    ).then(
        show_models,
        data,
        [table, params_chart, compute_chart, params_split, compute_split],
        api_visibility="private",
        show_progress="hidden",
    )
    counted_again = dict(api_visibility="private", show_progress="minimal", trigger_mode="always_last")
    gr.on(
        [tab.select, layer_model.change, classes.change],
        layer_breakdown,
        [layer_model, classes],
        layers,
        **counted_again,
    )
    tab.select(claims_table, None, claims, api_visibility="private", show_progress="hidden")
    tab.select(model_choices, None, layer_model, api_visibility="private", show_progress="hidden")
    tab.select(two_gpu_text, None, two_gpus, api_visibility="private", show_progress="hidden")
    return classes, extras, layer_model
