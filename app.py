"""Classic CNNs, hands on: draw for LeNet, show photos to AlexNet, fine-tune it, count its cost.

The Hugging Face Spaces entry point. It only assembles the rooms: each tab is built by its own
module in ``ui/`` (its handlers, its layout, its API names), the server's limits live in
``ui/budgets.py``, what is kept for visitors in ``ui/stores.py``, the shared models in
``ui/shared_models.py``, every sentence in ``ui/text.py``, and all the logic in ``nets/`` (which
never imports gradio). Importing this module builds the page and loads nothing heavy; ``main``
loads the shared models and starts the server.

    python app.py          # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterator

import gradio as gr
import torch
from gradio.components import Component
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from ui import builder, charts, compare_tab, digit_tab, finetune_tab, links, photo_tab, train_tab
from ui.budgets import BUDGETS, DELETE_CACHE, MAX_THREADS, MAX_UPLOAD, QUEUE_SIZE
from ui.guard import Guard
from ui.ids import COMPARE_TAB, DIGIT_TAB, FINETUNE_TAB, PHOTO_TAB, TRAIN_TAB
from ui.scratch import serve_scratch_folders
from ui.server_sharing import IDLE_CORES
from ui.shared_models import warm_up
from ui.text import LANGUAGE_JS, TOAST_CSS, T

CSS = (
    """
/* On a phone the five tabs take two rows (the Tabs wrap); tighter padding keeps them to two. */
@media (max-width: 640px) { .tab-wrapper button { padding: 0 7px !important; } }
.notice { border-left: 4px solid #f59e0b; background: rgba(245, 158, 11, 0.12); padding: 8px 14px;
          border-radius: 6px; }
"""
    + charts.CSS
    + TOAST_CSS
    + finetune_tab.CSS
    + train_tab.CSS
    + builder.CSS
)


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
    components = [component for component, _ in downloaded_components(tab)]
    for component in components:
        component.visible = False
    if components:
        show = SHOW_ON_FIRST_OPEN % (tab.id, tab.id, len(components))
        tab.select(None, None, components, js=show, api_visibility="private", show_progress="hidden")


def page_js(*scripts: str) -> str:
    """One page-load script that runs each room's own (each is an arrow function)."""
    return "() => {\n" + "".join(f"  ({script.strip()})();\n" for script in scripts) + "}"


def build_demo() -> gr.Blocks:
    serve_scratch_folders()  # downloads and drafts are served from where they are written
    with gr.Blocks(title="Classic CNNs, hands on", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(T("app_title"))
        gr.Markdown(T("language_code"), elem_id="page-language", visible="hidden")  # see ui.text.LANGUAGE_JS
        with gr.Tabs(overflow_behavior="wrap") as tabs:  # on a phone all five stay in sight, on two rows
            with gr.Tab(T("tab_digit"), id=DIGIT_TAB):
                digit_tab.build_digit_tab()
            with gr.Tab(T("tab_train"), id=TRAIN_TAB) as tab:
                train_tab.build_train_tab(tabs, tab)
            with gr.Tab(T("tab_photo"), id=PHOTO_TAB) as tab:
                photo = photo_tab.build_photo_tab(tab)
            with gr.Tab(T("tab_finetune"), id=FINETUNE_TAB) as tab:
                job, training = finetune_tab.build_finetune_tab(tab)
            with gr.Tab(T("tab_compare"), id=COMPARE_TAB) as tab:
                classes, extras, layers = compare_tab.build_compare_tab(tab)
        load_never(tabs.children[0])
        for tab in tabs.children[1:]:  # the digit tab is the first a visitor sees; the others wait
            load_when_opened(tab)
        # The compare tab's fine-tuned AlexNet takes the number of classes of the visitor's own.
        job.then(finetune_tab.finetuned_classes, None, classes, api_visibility="private", show_progress="hidden")
        # A teacher's link opens a tab with its inputs filled in (ui/links.py).
        demo.load(
            links.restore_view,
            None,
            [tabs, photo, *training, classes, extras, layers],
            api_visibility="private",
            show_progress="hidden",
        )
    IDLE_CORES.watch(demo)  # background jobs use the cores its queue leaves idle
    return demo


demo = build_demo()


def main() -> None:
    parser = argparse.ArgumentParser(description="Classic CNNs, hands on (a Gradio app).")
    parser.add_argument(
        "--share",
        action="store_true",
        default=os.environ.get("SHARE") == "1",
        help="also serve on a public gradio.live link (or set SHARE=1)",
    )
    parser.add_argument(
        "--mcp",
        action="store_true",
        default=os.environ.get("MCP_SERVER") == "1",
        help="also serve the endpoints as an MCP server (needs gradio[mcp]; or set MCP_SERVER=1)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # Many small requests at once are served best one core each: torch's intra-op threads would
    # spin against each other (and against the visitors' other requests) on a small server.
    torch.set_num_threads(1)
    # Uvicorn would rewrite the client's address from X-Forwarded-For for any peer on 127.0.0.1 (a
    # share link's tunnel, another user of this machine): the guard decides whom to believe instead.
    os.environ["FORWARDED_ALLOW_IPS"] = "no-proxy-is-trusted-here"
    warm_up()  # the shipped LeNet now; the ImageNet AlexNet and MNIST in the background
    demo.queue(max_size=QUEUE_SIZE)
    demo.launch(
        i18n=T,
        js=page_js(LANGUAGE_JS),
        css=CSS,
        max_file_size=MAX_UPLOAD,
        share=args.share,
        mcp_server=args.mcp or None,
        state_session_capacity=BUDGETS.sessions_kept,
        max_threads=MAX_THREADS,
        app_kwargs={"middleware": [Middleware(Guard), Middleware(CompressedPage)]},
    )  # per-address budgets first (the guard is outermost), then the page compressed, then Gradio


if __name__ == "__main__":
    main()
