"""The digit tab in a real browser: drawn with the mouse (and a finger), in light and dark theme."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.browser import brush_is_selected, draw_with_finger, draw_with_mouse, open_tab, prediction
from tests.digit_drawings import random_drawing


def clear(page) -> None:
    page.get_by_role("button", name="Clear", exact=True).click()
    deadline = time.monotonic() + 10
    while page.locator("#digit-prediction .output-class").count() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_digits_drawn_with_the_mouse_are_read(browser, app_url, theme):
    page = open_tab(browser, app_url, theme=theme)
    assert brush_is_selected(page), "the canvas must be ready to draw on without choosing a tool"
    rng = np.random.default_rng({"light": 1, "dark": 2}[theme])
    answers = {}
    for digit in range(10):
        draw_with_mouse(page, random_drawing(digit, rng, size=(0.5, 0.8)))
        answers[digit] = prediction(page)
        clear(page)
    right = sum(answers[d] == str(d) for d in answers)
    assert right >= 9, f"LeNet read {answers} ({theme} theme)"  # the issue asks for at least 90%
    assert not page.console_errors, page.console_errors
    page.close()


def test_clear_empties_the_answer_and_the_brush_stays_ready(browser, app_url):
    page = open_tab(browser, app_url)
    draw_with_mouse(page, random_drawing(4, np.random.default_rng(4)))
    assert prediction(page) == "4"
    clear(page)
    assert page.locator("#digit-prediction .output-class").count() == 0
    assert brush_is_selected(page)
    draw_with_mouse(page, random_drawing(0, np.random.default_rng(5)))
    assert prediction(page) == "0"
    page.close()


def centred(drawing):
    """The drawing moved to the middle of the canvas, as people draw on a small phone screen."""
    xs = [x for s in drawing.strokes for x, _ in s]
    ys = [y for s in drawing.strokes for _, y in s]
    dx = drawing.canvas[0] / 2 - (min(xs) + max(xs)) / 2
    dy = drawing.canvas[1] / 2 - (min(ys) + max(ys)) / 2
    drawing.strokes = [[(x + dx, y + dy) for x, y in s] for s in drawing.strokes]
    return drawing


def test_digits_drawn_with_a_finger_on_a_phone_are_read(browser, app_url):
    page = open_tab(browser, app_url, size="phone")
    rng = np.random.default_rng(6)
    answers = []
    for digit in (2, 4, 7):
        draw_with_finger(page, centred(random_drawing(digit, rng, size=(0.55, 0.7))))
        answers.append(prediction(page))
        clear(page)
    assert answers == ["2", "4", "7"]
    page.close()
