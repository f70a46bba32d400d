"""The compare tab: exact parameters, memory and compute of every model, layer by layer, the note's claims checked.

The API (``/compare_models``) returns the models table with its documented column names
(``nets.measuring.compare.MODELS_TABLE_COLUMNS``); the page shows the same numbers under headings in words,
in the visitor's language.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from nets.facts import Fact
from nets.measuring import compare
from nets.measuring.compare import CompareError
from ui import shape_lab
from ui.charts import log_bar_chart, stacked_bar_chart
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
        return None, "", "", "", ""
    names = list(table["model"])
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
                [list(rows[rows["model"] == name]["percent"]) for name in names],
                parts,
                say(request, title, markup="text"),
            )
        )
    return readable(table, request), params, compute, *splits


def layer_breakdown(model: str, finetune_classes: float = 5, request: gr.Request = None):
    """One model layer by layer: output shape, parameters, multiply-adds."""
    try:
        return readable(compare.layer_table(model, finetune_classes=finetune_classes), request)
    except CompareError as problem:
        raise refusal(request, problem) from None


def claims_table(request: gr.Request = None) -> pd.DataFrame:
    """The note's claims beside the exact counts, in the visitor's language."""
    rows = [
        (say(request, f"{claim.code}_title"), say(request, f"{claim.code}_note"), exact_text(request, claim))
        for claim in compare.note_claims()
    ]
    return pd.DataFrame(rows, columns=headings(request, ("claim", "note_says", "exact")))


def exact_text(request: gr.Request | None, claim: Fact) -> Written:
    """The exact side of one claim, in words."""
    values = dict(claim.values)
    for key, value in claim.values.items():
        if isinstance(value, dict) and all(isinstance(v, int) for v in value.values()):  # layer counts
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
    # The model's name stays in sight (pinned); the numbers scroll beside it, under headings that
    # wrap between words (fixed widths: on a phone, auto widths wrapped them letter by letter).
    table = gr.Dataframe(
        label=T("compare_table"),
        interactive=False,
        wrap=True,
        elem_id="models-table",
        pinned_columns=1,
        column_widths=["150px"] + ["112px"] * 10,
    )
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
    claims = gr.Dataframe(interactive=False, wrap=True, show_label=False, column_widths=["20%", "30%", "50%"])
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
    tab.select(two_gpu_text, None, two_gpus, api_visibility="private", show_progress="hidden")
    return classes, extras, layer_model
