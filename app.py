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
from pathlib import Path

import gradio as gr
import torch
from gradio.utils import get_upload_folder
from starlette.middleware import Middleware

from ui import (
    builder,
    charts,
    compare_tab,
    digit_tab,
    finetune_tab,
    gradio_internals,
    links,
    photo_tab,
    questions,
    train_tab,
)
from ui.budgets import BUDGETS, DELETE_CACHE, MAX_THREADS, MAX_UPLOAD, QUEUE_SIZE
from ui.first_load import CompressedPage, load_never, load_when_opened
from ui.guard import Guard
from ui.ids import COMPARE_TAB, DIGIT_TAB, FINETUNE_TAB, PHOTO_TAB, TRAIN_TAB
from ui.scratch import serve_scratch_folders
from ui.server_sharing import IDLE_CORES
from ui.shared_models import warm_up
from ui.static import BUTTON_NAMES, gradio_words_script
from ui.text import LANGUAGE_JS, TEXT, TOAST_CSS, T
from ui.upload_sweep import start_sweeping

CSS = (
    """
/* On a phone the five tabs take two rows (the Tabs wrap); tighter padding keeps them to two. */
@media (max-width: 640px) { .tab-wrapper button { padding: 0 7px !important; } }
.notice { border-left: 4px solid #f59e0b; background: rgba(245, 158, 11, 0.12); padding: 8px 14px;
          border-radius: 6px; }
/* Gradio's footer link "Runs" has no Korean of its own: written in Korean on a Korean page */
html:lang(ko) footer a.run-history { font-size: 0; }
html:lang(ko) footer a.run-history::before { content: "실행 기록"; font-size: var(--text-md); }
/* A heading's block: its line's rounding (21 px in 20) must not make it a scrolling region. */
.heading { overflow: visible !important; }
/* An answer's class names in the text font: Gradio's monospace face has no Korean, and the fallback
   drew "하드 디스크" with gaps as wide as a letter ("하드  디스크"). */
.confidence-set dt.text { font-family: var(--font); }
"""
    + charts.CSS
    + TOAST_CSS
    + finetune_tab.CSS
    + builder.CSS
    + questions.CSS
)


# Gradio's default theme with its font's regular and bold faces: the default's semi-bold face
# (SourceSansPro-SemiBold.woff2, 5 KB) lacks most letters, so bold headings mixed in glyphs of
# another font ("AlexNet" drew its "A" as a thin small capital).
# Its hint texts (a component's info, captions, a slider's ends) darker in light and lighter in dark
# than the default's grey, which has a contrast of 1.9:1 on white (WCAG asks 4.5:1).
THEME = gr.themes.Default(
    font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"]
).set(body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300")


def page_js(*scripts: str) -> str:
    """One page-load script that runs each room's own (each is an arrow function)."""
    return "() => {\n" + "".join(f"  ({script.strip()})();\n" for script in scripts) + "}"


def build_demo() -> gr.Blocks:
    serve_scratch_folders()  # downloads and drafts are served from where they are written
    gradio_internals.skip_updates_cheaply()  # a training job's beats cost Gradio nothing
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
    start_sweeping(Path(get_upload_folder()))  # the folders Gradio's own sweep leaves behind
    warm_up()  # the shipped LeNet now; the ImageNet AlexNet and MNIST in the background
    demo.queue(max_size=QUEUE_SIZE)
    demo.launch(
        i18n=T,
        js=page_js(LANGUAGE_JS, BUTTON_NAMES.read_text(encoding="utf-8"), gradio_words_script(TEXT)),
        css=CSS,
        theme=THEME,
        max_file_size=MAX_UPLOAD,
        share=args.share,
        mcp_server=args.mcp or None,
        state_session_capacity=BUDGETS.sessions_kept,
        max_threads=MAX_THREADS,
        app_kwargs={"middleware": [Middleware(Guard), Middleware(CompressedPage)]},
    )  # per-address budgets first (the guard is outermost), then the page compressed, then Gradio


if __name__ == "__main__":
    main()
