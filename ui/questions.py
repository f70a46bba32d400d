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
.question { padding: 0; }  /* (a padding showed the group's grey as two empty bars) */
.question-verdict:not(:has([role=status])) { display: none; }
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


def ask(questions: tuple[Question, ...], id_prefix: str, folded: bool = False) -> None:
    """The questions, each a radio of choices and its verdict below it: under the section's heading,
    or ``folded`` in an accordion that names them (where the tab's own controls come first)."""
    if folded:
        with gr.Accordion(T("questions_folded"), open=False, elem_id=f"{id_prefix}-questions"):
            _questions(questions, id_prefix)
    else:
        gr.Markdown(T("questions_title"), elem_classes=["heading"])
        _questions(questions, id_prefix)


def _questions(questions: tuple[Question, ...], id_prefix: str) -> None:
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
