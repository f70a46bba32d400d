"""Teachers' links: a URL that opens the app on a chosen tab with its inputs filled in.

A teacher hands a class one prepared view, for example::

    ?tab=photo&photo=coffee                          the photo tab, on the coffee example
    ?tab=finetune&zip=shapes&strategy=head&epochs=10
    ?tab=compare&classes=10&extras=VGG-16,ResNet-18&layers=VGG-16
    ?tab=digit&digit=7&explain=1.2.14.14             (the digit tab's own "Share this view" button
                                                      makes these, with the drawing itself)

The digit tab reads its part of the link in the browser (``ui/static/digit_lab.js``); the rest is
read here, when the page loads. Only known values are used: a photo or zip is one of the app's own
examples, chosen by name, never a path from the URL; anything else is ignored with a warning.
"""

from __future__ import annotations

import gradio as gr

from nets.measuring import compare
from nets.paths import ASSETS
from nets.training import finetune
from ui.ids import TABS
from ui.text import say

PHOTOS = {path.stem: path for path in sorted((ASSETS / "photos").glob("*.jpg"))}
ZIPS = {"shapes": ASSETS / "shapes.zip"}


def restore_view(request: gr.Request):
    """The updates a link asks for: (tab, photo, zip, strategy, epochs, classes, extras, layers)."""
    query = dict(request.query_params) if request is not None else {}
    ignored: list[str] = []

    def pick(name: str, allowed, convert=str):
        if name not in query:
            return gr.skip()
        try:
            value = convert(query[name])
        except ValueError:
            value = None
        if value is None or (allowed is not None and value not in allowed):
            ignored.append(f"{name}={query[name][:40]}")
            return gr.skip()
        return value

    tab = pick("tab", TABS)
    photo = pick("photo", PHOTOS)
    archive = pick("zip", ZIPS)
    extras = gr.skip()
    if "extras" in query:
        chosen = [name.strip() for name in query["extras"].split(",") if name.strip()]
        extras = [name for name in compare.EXTRA_MODELS if name in chosen]  # menu order
        ignored += [f"extras={name[:40]}" for name in chosen if name not in compare.EXTRA_MODELS]
    updates = (
        gr.Tabs(selected=tab) if tab is not gr.skip() and tab is not None else gr.skip(),
        str(PHOTOS[photo]) if isinstance(photo, str) else gr.skip(),
        str(ZIPS[archive]) if isinstance(archive, str) else gr.skip(),
        pick("strategy", finetune.STRATEGIES),
        pick("epochs", range(1, 101), int),
        pick("classes", range(compare.MIN_CLASSES, compare.MAX_CLASSES + 1), int),
        extras,
        pick("layers", compare.MODELS + compare.EXTRA_MODELS),
    )
    ignored += [name[:40] for name in query if name not in KNOWN]
    if ignored:  # the first few named, the rest counted: 2,000 unknown parameters once made a 13 KB notice
        gr.Warning(say(request, "link_ignored", parts=ignored))
    return updates


# Parameters the page itself uses (Gradio's own, and the digit tab's, read in the browser).
KNOWN = {
    "tab",
    "photo",
    "zip",
    "strategy",
    "epochs",
    "classes",
    "extras",
    "layers",
    "digit",
    "draw",
    "explain",
    "__theme",
    "view",
    "lang",
}
