"""The values of an event, checked before Gradio converts or decodes them.

Gradio turns an event's JSON into Python before the handler runs: a number string raises deep in
its preprocessing (the visitor reads a bare "Error"), a ``data:`` URL is decoded into an image in
full (a 27 KB one-bit PNG of 13000x13000 pixels costs 7.8 CPU-seconds and 1.8 GB) before the
app's own size checks. The guard calls ``first_problem`` on every event it admits, with the
event's input components: a refusal names the input as the API page does (the handler's
parameter) and says what it takes, in the visitor's language.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import gradio as gr

FILE_COMPONENTS = (gr.Image, gr.File, gr.ImageEditor, gr.Gallery, gr.UploadButton)
NUMBER_COMPONENTS = (gr.Number, gr.Slider)
MAX_TEXT = 2_000  # characters in any text input (class names are refused beyond ~100 by their handler)


def parameter_names(fn) -> list[str]:
    """The handler's parameter names, as the API page shows them (``gr.Request`` left out)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters if p.annotation not in (gr.Request, "gr.Request", "gr.Request | None")]


def paired(inputs: list, data: list) -> list[tuple[int, Any, Any]]:
    """(place, component, value) for each value sent: a page sends a value per input, an API
    client none for the session's states (Gradio fills those in)."""
    if len(data) >= len(inputs):
        return [(i, component, data[i]) for i, component in enumerate(inputs)]
    shown = [(i, c) for i, c in enumerate(inputs) if not getattr(c, "skip_api", False)]
    return [(i, component, value) for (i, component), value in zip(shown, data, strict=False)]


def has_data_url(value: Any, depth: int = 0) -> bool:
    """A ``data:`` URL anywhere in a file value (an image, a sketch's layers, a gallery)."""
    if depth > 4:
        return False
    if isinstance(value, str):
        return value.lstrip()[:5].lower() == "data:"
    if isinstance(value, dict):
        return any(has_data_url(v, depth + 1) for k, v in value.items() if k in ("url", "path", *SKETCH_PARTS))
    if isinstance(value, list):
        return any(has_data_url(v, depth + 1) for v in value[:100])
    return False


SKETCH_PARTS = ("background", "layers", "composite", "image")


def number_problem(component, value: Any) -> tuple[str, dict] | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "input_not_a_number", {"value": str(value)[:40]}
    low, high = getattr(component, "minimum", None), getattr(component, "maximum", None)
    if (low is not None and value < low) or (high is not None and value > high):
        return "input_out_of_range", {"value": value, "low": low, "high": high}
    return None


def first_problem(fn, data: Any) -> tuple[str, dict] | None:
    """None, or (sentence key, values) for the first input of ``fn`` (a Gradio event) whose value
    Gradio would choke on or decode at great cost."""
    if not isinstance(data, list):
        return None  # Gradio answers a malformed body itself
    names = parameter_names(fn.fn) if fn.fn is not None else []
    for place, component, value in paired(list(fn.inputs), data):
        name = names[place] if place < len(names) else f"input {place + 1}"
        problem = None
        if getattr(component, "checked_by_its_handler", False):
            continue  # a component whose handler words its own refusals (the shape lab's choices)
        if isinstance(component, NUMBER_COMPONENTS):
            problem = number_problem(component, value)
        elif isinstance(component, gr.Checkbox) and value is not None and not isinstance(value, bool):
            problem = "input_not_a_choice", {"value": str(value)[:40], "choices": "true, false"}
        elif isinstance(component, FILE_COMPONENTS):
            if has_data_url(value):
                problem = "input_data_url", {}
            elif isinstance(component, gr.ImageEditor) and value is not None and not isinstance(value, dict):
                problem = "input_not_a_sketch", {}
        elif isinstance(component, gr.Textbox) and isinstance(value, str) and len(value) > MAX_TEXT:
            problem = "input_text_too_long", {"limit": MAX_TEXT}
        if problem is not None:
            key, values = problem
            return key, {"name": name, **values}
    return None
