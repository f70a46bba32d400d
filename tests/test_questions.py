"""Predict, then reveal: each tab asks two questions before its answer shows, with answers computed
from the models (never typed), a verdict and its reason in the visitor's language."""

from __future__ import annotations

import json
import string

import pytest

from harness.browser import open_tab, wait_for_text
from harness.server import ROOT
from nets.explaining.questions import compare_questions, finetune_questions, photo_questions, train_questions

SENTENCES = json.loads((ROOT / "assets" / "i18n" / "questions.json").read_text(encoding="utf-8"))
ALL = (*train_questions(), *photo_questions(), *finetune_questions(3), *compare_questions())


@pytest.mark.parametrize(
    "question, answer",
    [
        (train_questions()[0], "61,706"),  # pooling has no parameters: max pooling's LeNet has as many
        (train_questions()[1], "626"),  # 2 epochs x ceil(10,000 / 32) batches
        (photo_questions()[0], "1,000"),  # one score per ImageNet class
        (photo_questions()[1], "23,296"),  # 64 x 3 x 11 x 11 weights + 64 biases
        (finetune_questions(3)[0], "12,291"),  # 4,096 x 3 + 3
        (finetune_questions(7)[0], "28,679"),  # 4,096 x 7 + 7: the visitor's classes decide it
        (finetune_questions(3)[1], "57,003,840"),  # 61,100,840 - 4,097,000
        (compare_questions()[0], "94%"),
        (compare_questions()[1], "95%"),
    ],
)
def test_each_answer_is_the_models_own_and_one_of_four_distinct_choices(question, answer):
    assert question.answer == answer
    assert len(question.choices) == 4 and len(set(question.choices)) == 4 and answer in question.choices


def fields(sentence: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(sentence) if field}


def test_every_question_is_asked_and_explained_in_both_languages_with_its_numbers():
    for question in ALL:
        for language in ("en", "ko"):
            asked, why = (SENTENCES[language][f"question_{question.code}{end}"] for end in ("", "_why"))
            assert fields(asked) | fields(why) <= set(question.values), (language, question.code)
            assert fields(why), f"{question.code}: the explanation uses the computed numbers"


@pytest.mark.parametrize("locale, right, wrong", [("en-US", "Right!", "Not quite"), ("ko-KR", "맞았어요", "아쉬워요")])
def test_a_pick_reveals_the_verdict_and_the_reason_in_the_page_language(browser, app_url, locale, right, wrong):
    page = open_tab(browser, app_url, "compare", size="phone", locale=locale)
    question = compare_questions()[0]
    group = page.locator("#compare-question-fc-parameter-share")
    group.wait_for(timeout=30_000)
    assert page.locator(".question-verdict [role=status]").count() == 0  # nothing revealed before a pick
    # and no empty band above or below the choices (the group's grey showed through as two blank bars)
    heights = group.evaluate(
        "radio => [radio.closest('.question').getBoundingClientRect().height, radio.getBoundingClientRect().height]"
    )
    assert heights[0] <= heights[1] + 1, (
        f"the question's box is {heights[0] - heights[1]:.0f} px taller than its choices"
    )
    wrong_choice = next(choice for choice in question.choices if choice != question.answer)
    group.get_by_label(wrong_choice, exact=True).check()
    status = page.locator(".question-verdict [role=status]").first
    text = wait_for_text(status, wrong, timeout=20)
    assert question.answer in text and "9,216" in text  # the right answer and why
    group.get_by_label(question.answer, exact=True).check()
    wait_for_text(status, right, timeout=20)
    assert not page.console_errors, page.console_errors
    page.close()


def test_the_train_tab_asks_before_it_trains(browser, app_url):
    page = open_tab(browser, app_url, "train")
    page.locator("#train-questions").get_by_text("Predict first").click()  # folded under the tab's controls' intro
    group = page.locator("#train-question-adam-steps")
    group.wait_for(timeout=30_000)
    assert "10,000 images in batches of 32" in group.inner_text()  # the tab's own defaults, filled in
    group.get_by_label("626", exact=True).check()
    text = wait_for_text(page.locator(".question-verdict [role=status]").first, "Right!", timeout=20)
    assert "313 batches per epoch" in text
    page.close()
