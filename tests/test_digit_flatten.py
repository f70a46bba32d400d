"""The digit tab after the convolutions, in a real browser: predict first, then see the flatten.

pool2's 16 maps of 5x5 become one row of 400 (one drawing: the batch dimension is the one the
note's flatten keeps), then fc1 (120), fc2 (84) and the 10 outputs with softmax, for the drawing on
the canvas. Two questions come first, their answers computed from the model the page runs.
"""

from __future__ import annotations

import pytest

from harness.browser import open_tab, ready, shown_digit


@pytest.fixture
def page(browser, app_url):
    page = open_tab(browser, app_url)
    ready(page)
    page.evaluate("window.digitLab.load(7)")
    yield page
    page.close()


def answer_line(page, question: str) -> str:
    return page.locator(f'#digit-lab .dl-question[data-question="{question}"] .dl-answer-line').inner_text()


def test_the_flatten_is_hidden_until_the_visitor_has_predicted(page):
    assert page.locator("#digit-lab .dl-questions").is_visible()
    assert not page.locator("#digit-lab .dl-flatten").is_visible()  # the answer is not on the page yet
    page.locator("#dl-count-guess").fill("1600")
    page.locator('#digit-lab [data-act="check-count"]').click()
    assert answer_line(page, "count").startswith("Not quite. 16 × 5 × 5 = 400")
    assert page.locator("#digit-lab .dl-flatten").is_visible()
    page.locator("#dl-count-guess").fill("400")
    page.locator("#dl-count-guess").press("Enter")
    assert answer_line(page, "count").startswith("Right! 16 × 5 × 5 = 400")
    assert "120 × 400" in answer_line(page, "count")  # fc1's weight, read from the model


def test_the_shape_question_is_the_notes_flatten_keeping_the_batch(page):
    choices = page.locator('#digit-lab .dl-question[data-question="shape"] [data-shape]').all_inner_texts()
    assert sorted(choices) == sorted(["(8, 400)", "(3200,)", "(1, 3200)", "(8, 16, 25)"])
    assert "(8, 16, 5, 5)" in page.locator('#digit-lab .dl-question[data-question="shape"]').inner_text()
    page.locator('#digit-lab [data-shape="(3200,)"]').click()
    assert answer_line(page, "shape").startswith("Not quite. (8, 400). flattened_features multiplies x.size()[1:]")
    page.locator('#digit-lab [data-shape="(8, 400)"]').click()
    assert answer_line(page, "shape").startswith("Right! (8, 400).")


def test_the_flatten_shows_the_drawings_own_numbers_layer_by_layer(page):
    page.locator('#digit-lab [data-act="tell-count"]').click()
    assert answer_line(page, "count").startswith("The answer: 16 × 5 × 5 = 400")
    flatten = page.locator("#digit-lab .dl-flatten")
    assert "(1, 16, 5, 5) becomes (1, 400)" in flatten.locator(".dl-flatten-explain").inner_text()
    widths = flatten.evaluate(
        "panel => Object.fromEntries([...panel.querySelectorAll('canvas[data-strip]')]"
        ".map((c) => [c.dataset.strip, c.width]))"
    )
    assert widths == {"flat": 400, "fc1": 120, "fc2": 84}  # one pixel a number
    maps = flatten.locator(".dl-pool2-map")
    assert maps.count() == 16
    assert maps.nth(15).get_attribute("title") == "pool2 map 15: numbers 375 to 399 of the row"
    # the strip is pool2's numbers in torch.flatten's order: its brightest pixel is pool2's largest number
    brightest, largest = page.evaluate("""() => {
        const strip = document.querySelector('#digit-lab canvas[data-strip="flat"]');
        const grey = strip.getContext('2d').getImageData(0, 0, 400, 1).data.filter((_, i) => i % 4 === 0);
        const pool2 = window.digitLab.reading().pool2;
        return [grey.indexOf(Math.max(...grey)), pool2.indexOf(Math.max(...pool2))];
    }""")
    assert brightest == largest
    rows = flatten.locator(".dl-output-table tbody tr")
    assert rows.count() == 10
    percentages = flatten.locator(".dl-output-table tbody td:last-child").all_inner_texts()
    shown = [float(text.rstrip("%")) for text in percentages]
    expected = page.evaluate("Array.from(window.digitLab.reading().probabilities, (p) => 100 * p)")
    assert shown == pytest.approx(expected, abs=0.051)
    assert sum(shown) == pytest.approx(100, abs=0.5)
    assert flatten.locator("tr.dl-best").get_attribute("data-digit") == shown_digit(page) == "7"


def test_a_new_drawing_updates_the_flatten(page):
    page.locator('#digit-lab [data-act="tell-count"]').click()
    best = page.locator("#digit-lab .dl-flatten tr.dl-best")
    assert best.get_attribute("data-digit") == "7"
    page.evaluate("window.digitLab.load(3)")
    assert best.get_attribute("data-digit") == "3"


def test_the_questions_and_the_flatten_speak_korean(browser, app_url):
    page = open_tab(browser, app_url, locale="ko-KR")
    ready(page)
    page.evaluate("window.digitLab.load(7)")
    assert "먼저 예상해 보고" in page.locator("#digit-lab .dl-questions").inner_text()
    page.locator("#dl-count-guess").fill("400")
    page.locator('#digit-lab [data-act="check-count"]').click()
    assert answer_line(page, "count").startswith("맞았어요!")
    assert "평면화" in page.locator("#digit-lab .dl-flatten h3").inner_text()
    page.close()
