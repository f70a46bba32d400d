"""What a visitor downloads first: the page compressed, and only the open tab's components.

Measured by ``python -m bench.first_load`` (README, "First load"); ``app.py`` applies both.
"""

from __future__ import annotations

from collections.abc import Iterator

import gradio as gr
from gradio.components import Component
from starlette.middleware.gzip import GZipMiddleware


class CompressedPage:
    """Gzip for the page and its descriptions (``PATHS``), which Gradio sends as they are.

    Gradio's own Brotli middleware compresses by file extension (.js, .css, .json...), and the page
    has none: its HTML (the whole config inline, the digit tab's code and sentences in every
    language) went out at 700 KB, 150 KB gzipped. Everything else passes untouched: Gradio's files
    stay Brotli, uploads and downloads are not recompressed, and event streams are never buffered.
    """

    PATHS = frozenset({"/", "/config", "/gradio_api/info"})

    def __init__(self, app) -> None:
        self.app, self.gzip = app, GZipMiddleware(app, minimum_size=1024)

    async def __call__(self, scope, receive, send) -> None:
        compress = scope["type"] == "http" and scope["path"] in self.PATHS
        await (self.gzip if compress else self.app)(scope, receive, send)


# Shows a tab's components the first time it opens, in the page (no request); later openings leave
# them as the tab's own handlers set them. Formatted with the tab's id and how many components.
SHOW_ON_FIRST_OPEN = """() => {
  const opened = (window.classicCnnsOpenedTabs = window.classicCnnsOpenedTabs || new Set());
  const first = !opened.has(%r);
  opened.add(%r);
  return Array.from({ length: %d }, () => (first ? { __type__: "update", visible: true } : { __type__: "update" }));
}"""


SHOWN_BY_HANDLERS = "shown_by_its_handlers"


def shown_by_its_handlers(component: Component) -> Component:
    """Leave ``component``'s visibility to its tab's own handlers: a first opening does not show it.

    The photo tab hides its examples while ImageNet's weights are missing; the first opening's
    "show everything" must not undo that (its code then downloads with the page: a small price)."""
    setattr(component, SHOWN_BY_HANDLERS, True)
    return component


def downloaded_components(block: gr.blocks.Block, in_hidden_layout: bool = False) -> Iterator[tuple[Component, bool]]:
    """Each component inside ``block`` whose code the page downloads (every one not hidden itself,
    even in a hidden layout or a closed tab), and whether a hidden layout holds it."""
    if isinstance(block, gr.blocks.BlockContext):
        for child in block.children:
            yield from downloaded_components(child, in_hidden_layout or block.visible is False)
    elif isinstance(block, Component) and not isinstance(block, (gr.State, gr.Timer)) and block.visible is True:
        yield block, in_hidden_layout


def load_never(tab: gr.Tab) -> None:
    """The components ``tab`` keeps inside hidden layouts (the digit tab's inputs and outputs for
    programs: a Sketchpad, a table...) are hidden themselves, so the page never downloads their code."""
    for component, in_hidden_layout in downloaded_components(tab):
        if in_hidden_layout:
            component.visible = False


def load_when_opened(tab: gr.Tab) -> None:
    """Download what ``tab`` shows when it first opens, not with the page.

    Gradio's page fetches the code of every visible component of every tab at once (the fine-tune
    lab's gallery alone brings a video player, 160 KB), but not of a hidden one until it is shown.
    So the tab's components start hidden and the tab's first opening shows them, in the page.
    """
    components = [
        component for component, _ in downloaded_components(tab) if not getattr(component, SHOWN_BY_HANDLERS, False)
    ]
    for component in components:
        component.visible = False
    if components:
        show = SHOW_ON_FIRST_OPEN % (tab.id, tab.id, len(components))
        tab.select(None, None, components, js=show, api_visibility="private", show_progress="hidden")
