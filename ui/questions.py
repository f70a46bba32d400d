"""Predict, then reveal, on the page: a tab's questions, each a set of choices whose verdict and
reason show only once the visitor has picked one.

The questions and their answers are ``nets.explaining.questions``' (computed from the models); this
module words them (``assets/i18n/questions.json``) and wires a choice to its verdict, which is
announced to screen readers (``role="status"``). A pick is a tiny event: no model runs.
"""

from __future__ import annotations

import gradio as gr

from nets.explaining.questions import Question
from ui.text import T, fill_in, say

CSS = """
.question { padding: 4px 0; }
.question-verdict:empty { display: none; }
.question-verdict { padding: 6px 12px 10px; }
"""


def verdict(question: Question, picked: str | None, request: gr.Request = None) -> str:
    """The verdict on ``picked`` and the reason, in the visitor's language ("" before a pick)."""
    if picked is None or picked == "":
        return ""
    opening = (
        say(request, "question_right")
        if picked == question.answer
        else say(request, "question_wrong", answer=question.answer)
    )
    reason = say(request, f"question_{question.code}_why", **question.values)
    return f'<div role="status"><strong>{opening}</strong> {reason}</div>'


def verdict_of(question: Question):
    """The pick's handler for ``question`` (a function of its own, so Gradio passes the request)."""

    def check(picked: str | None, request: gr.Request = None) -> str:
        return verdict(question, picked, request)

    return check


def ask(questions: tuple[Question, ...], id_prefix: str) -> None:
    """The questions, under the section's heading, each a radio of choices and its verdict below it."""
    gr.Markdown(T("questions_title"), elem_classes=["heading"])
    gr.Markdown(T("questions_intro"))
    for question in questions:
        fill_in(f"question_{question.code}", **question.values)  # numbers the question itself names
        with gr.Group(elem_classes=["question"]):
            picked = gr.Radio(
                list(question.choices),
                value=None,
                label=T(f"question_{question.code}"),
                elem_id=f"{id_prefix}-question-{question.code.replace('_', '-')}",
            )
            shown = gr.HTML("", elem_classes=["question-verdict"], padding=False)
        picked.input(verdict_of(question), picked, shown, api_visibility="private", show_progress="hidden")
