"""Classic CNNs, hands on: draw for LeNet, show photos to AlexNet, fine-tune it, count its cost.

The Hugging Face Spaces entry point. It only assembles the rooms: each tab is built by its own
module in ``ui/`` (its handlers, its layout, its API names), the server's limits and shared
models live in ``ui/server.py``, every sentence in ``ui/text.py``, and all the logic in ``nets/``
(which never imports gradio).

    python app.py          # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)
"""

from __future__ import annotations

import argparse
import logging
import os

import gradio as gr
from starlette.middleware import Middleware

from ui import builder, charts, compare_tab, digit_tab, finetune_tab, links, photo_tab, train_tab
from ui.guard import Guard
from ui.server import BUDGETS, DELETE_CACHE, IDLE_CORES, MAX_UPLOAD, QUEUE_SIZE, warm_up
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


def page_js(*scripts: str) -> str:
    """One page-load script that runs each room's own (each is an arrow function)."""
    return "() => {\n" + "".join(f"  ({script.strip()})();\n" for script in scripts) + "}"


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Classic CNNs, hands on", delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(T("app_title"))
        gr.Markdown(T("language_code"), elem_id="page-language", visible="hidden")  # see ui.text.LANGUAGE_JS
        with gr.Tabs(overflow_behavior="wrap") as tabs:  # on a phone all five stay in sight, on two rows
            with gr.Tab(T("tab_digit"), id="digit"):
                digit_tab.build_digit_tab()
            with gr.Tab(T("tab_train"), id="train") as tab:
                train_tab.build_train_tab(tabs, tab)
            with gr.Tab(T("tab_photo"), id="photo") as tab:
                photo = photo_tab.build_photo_tab(tab)
            with gr.Tab(T("tab_finetune"), id="finetune") as tab:
                job, training = finetune_tab.build_finetune_tab(tab)
            with gr.Tab(T("tab_compare"), id="compare") as tab:
                classes, extras, layers = compare_tab.build_compare_tab(tab)
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
    # Uvicorn would rewrite the client's address from X-Forwarded-For for any peer on 127.0.0.1 (a
    # share link's tunnel, another user of this machine): the guard decides whom to believe instead.
    os.environ["FORWARDED_ALLOW_IPS"] = "no-proxy-is-trusted-here"
    warm_up()
    demo.queue(max_size=QUEUE_SIZE)
    demo.launch(
        i18n=T,
        js=page_js(LANGUAGE_JS),
        css=CSS,
        max_file_size=MAX_UPLOAD,
        share=args.share,
        mcp_server=args.mcp or None,
        state_session_capacity=BUDGETS.sessions_kept,
        app_kwargs={"middleware": [Middleware(Guard)]},
    )  # per-address budgets, before Gradio


if __name__ == "__main__":
    main()
