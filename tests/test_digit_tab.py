"""The digit tab in a real browser: LeNet reads the drawing in the page, with no request to the server.

Drawn with the mouse in light and dark theme, with a finger at phone width, from the examples, from
a shared link; undone and cleared; every convolution explained with the same numbers as Python.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from gradio_client import handle_file

from harness.browser import SIZES, draw_with_finger, draw_with_mouse, open_tab, prediction, ready, shown_digit
from harness.digit_drawings import random_drawing
from harness.server import ROOT

EXAMPLES = sorted((ROOT / "assets" / "examples").glob("digit_*.png"))


def digit_page(browser, app_url, **options):
    page = open_tab(browser, app_url, **options)
    ready(page)
    return page


def requests_to_the_server(page, app_url: str) -> list[str]:
    """Start recording the page's requests to the app; the list fills as they happen."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if request.url.startswith(app_url) else None)
    return seen


def canvas_value(page, tmp_path, name: str = "drawing.png") -> dict:
    """The page's drawing as an API client sends it: the stroke layer (ink = alpha) as a PNG."""
    data_url = page.evaluate("document.querySelector('#digit-canvas canvas').toDataURL('image/png')")
    path = tmp_path / name
    path.write_bytes(base64.b64decode(data_url.split(",", 1)[1]))
    return {"background": None, "layers": [handle_file(str(path))], "composite": None}


def clear(page) -> None:
    page.locator('#digit-lab [data-act="clear"]').click()
    assert not shown_digit(page).isdigit()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_digits_drawn_with_the_mouse_are_read_in_the_page_without_asking_the_server(browser, app_url, theme):
    page = digit_page(browser, app_url, theme=theme)
    requests = requests_to_the_server(page, app_url)
    rng = np.random.default_rng({"light": 1, "dark": 2}[theme])
    answers = {}
    for digit in range(10):
        draw_with_mouse(page, random_drawing(digit, rng, size=(0.5, 0.8)))
        answers[digit] = prediction(page)
        clear(page)
    right = sum(answers[d] == str(d) for d in answers)
    assert right >= 9, f"LeNet read {answers} ({theme} theme)"  # at least 90%, as on the server
    assert requests == [], f"drawing and reading asked the server: {requests}"
    assert not page.console_errors, page.console_errors
    page.close()


def test_the_answer_is_there_the_moment_a_stroke_ends(browser, app_url):
    """No waiting for a frame or a server: the pointerup that ends a stroke updates the answer."""
    page = digit_page(browser, app_url)
    answer = page.evaluate("""() => {
        const canvas = document.querySelector('#digit-canvas canvas');
        const box = canvas.getBoundingClientRect();
        const at = (x, y) => ({clientX: box.left + x * box.width / 400, clientY: box.top + y * box.height / 400,
                               pointerId: 1, pointerType: 'mouse', bubbles: true});
        canvas.dispatchEvent(new PointerEvent('pointerdown', at(200, 60)));
        for (let y = 60; y <= 340; y += 10) canvas.dispatchEvent(new PointerEvent('pointermove', at(200, y)));
        canvas.dispatchEvent(new PointerEvent('pointerup', at(200, 340)));
        return document.querySelector('#digit-prediction').innerText.trim().split('\\n')[0];
    }""")
    assert answer == "1"  # read synchronously, in the same task as the pointerup
    page.close()


def test_a_finger_on_a_phone_draws_without_scrolling_and_sees_the_answer(browser, app_url):
    page = digit_page(browser, app_url, size="phone")
    rng = np.random.default_rng(6)
    answers = []
    for digit in (2, 4, 7):
        # the visitor scrolls the answer to the top of the screen: the whole canvas fits below it
        page.locator("#digit-prediction").evaluate("box => box.scrollIntoView({block: 'start'})")
        canvas_box = page.locator("#digit-canvas").bounding_box()
        assert canvas_box["y"] + canvas_box["height"] <= SIZES["phone"][1], "answer and canvas fit on one screen"
        scrolled = page.evaluate("window.scrollY")
        draw_with_finger(page, random_drawing(digit, rng, size=(0.55, 0.7)))
        answers.append(prediction(page))
        assert page.evaluate("window.scrollY") == scrolled  # the finger drew; the page did not scroll
        answer_box = page.locator("#digit-prediction").bounding_box()
        canvas_box = page.locator("#digit-canvas").bounding_box()
        # (a sub-pixel shift of the layout is not a hidden answer: within one pixel of the top is in view)
        assert answer_box["y"] >= -1 and answer_box["y"] + answer_box["height"] <= canvas_box["y"] + 5, (
            "on a phone the answer sits above the canvas, visible while drawing"
        )
        clear(page)
    assert answers == ["2", "4", "7"]
    page.close()


def test_clicking_an_example_reads_it_like_a_drawing(browser, app_url):
    page = digit_page(browser, app_url)
    for path in EXAMPLES:
        digit = path.stem.split("_")[1]  # digit_7.png is a 7
        page.evaluate("""() => { window.nextReading = new Promise((done) => document.querySelector('#digit-lab')
            .addEventListener('digit-read', done, {once: true})); }""")
        page.locator(f'#digit-lab .dl-example[data-digit="{digit}"]').click()
        page.evaluate("window.nextReading")  # the example's image is decoded, then read
        assert shown_digit(page) == digit
        seen = page.evaluate("Array.from(window.digitLab.reading().mnist).reduce((a, b) => a + b, 0)")
        assert seen > 0  # what LeNet sees is drawn too
    page.close()


def test_undo_takes_back_the_last_stroke_and_clear_empties_everything(browser, app_url):
    page = digit_page(browser, app_url)
    box = page.locator("#digit-canvas canvas").bounding_box()
    zoom = box["width"] / 400

    def stroke(points):
        page.mouse.move(box["x"] + points[0][0] * zoom, box["y"] + points[0][1] * zoom)
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x * zoom, box["y"] + y * zoom)
        page.mouse.up()

    stroke([(200, 60 + 10 * i) for i in range(29)])  # a 1
    assert prediction(page) == "1"
    one = page.evaluate("Array.from(window.digitLab.reading().probabilities)")
    stroke([(60 + 10 * i, 200) for i in range(29)])  # a bar across it
    assert page.evaluate("Array.from(window.digitLab.reading().probabilities)") != one
    page.locator('#digit-lab [data-act="undo"]').click()
    assert page.evaluate("Array.from(window.digitLab.reading().probabilities)") == one  # the 1 again, exactly
    page.locator('#digit-lab [data-act="clear"]').click()
    assert page.evaluate("window.digitLab.reading()") is None
    assert shown_digit(page) == "–"
    assert page.locator("#digit-lab .dl-placeholder").is_visible()
    page.close()


def test_a_dot_is_not_a_digit(browser, app_url):
    page = digit_page(browser, app_url)
    box = page.locator("#digit-canvas canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.evaluate("window.digitLab.reading()") is None and shown_digit(page) == "–"
    page.close()


def test_a_feature_map_pixel_is_explained_with_lenets_own_numbers(browser, app_url, client, tmp_path):
    """Point at a pixel of a layer-2 map: the page shows the numbers /explain_convolution computes."""
    page = digit_page(browser, app_url)
    draw_with_mouse(page, random_drawing(3, np.random.default_rng(9), size=(0.6, 0.75)))
    assert prediction(page) == "3"
    maps = page.locator('#digit-lab .dl-layer[data-layer="2"] canvas.dl-map')
    maps.nth(5).scroll_into_view_if_needed()
    box = maps.nth(5).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.65)  # map 5, row 6, col 4
    title = page.locator("#digit-lab .dl-explain h4").inner_text()
    # maps count from 0, as rows, columns and /explain_convolution's channel do
    assert title == "Layer 2, feature map 5, row 6, column 4"
    assert maps.nth(5).get_attribute("title") == "Layer 2, feature map 5"
    shown = page.evaluate("""() => {
        const r = window.digitLab.reading();
        return LeNetEngine.explainConvolution(r, window.digitLab.model(), 2, 5, 6, 4);
    }""")
    python = client.predict(canvas_value(page, tmp_path), 2, 5, 6, 4, api_name="/explain_convolution")
    for key in ("bias", "sum", "relu", "value"):
        assert shown[key] == pytest.approx(python[key], abs=1e-4), key
    assert np.allclose(shown["kernel"], python["kernel"], atol=1e-6)
    assert np.allclose(shown["patch"], python["patch"], atol=1e-4)
    assert shown["input_box"] == python["input_box"] == [12, 8, 26, 22]
    assert python["sum"] == pytest.approx(np.sum(python["products"]) + python["bias"], abs=1e-5)
    assert page.locator("#digit-lab .dl-explain .dl-pool").is_visible()
    page.close()


def test_a_shared_link_opens_the_same_drawing_and_explanation(browser, app_url):
    page = digit_page(browser, app_url)
    draw_with_mouse(page, random_drawing(4, np.random.default_rng(4), size=(0.6, 0.75)))
    answer = prediction(page)
    target = page.locator('#digit-lab .dl-layer[data-layer="1"] canvas.dl-map').nth(2)
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    title = page.locator("#digit-lab .dl-explain h4").inner_text()
    link = page.evaluate("window.digitLab.shareLink()")
    assert "draw=" in link and "explain=1.2." in link and len(link) < 4000
    page.close()
    shared = browser.new_page(viewport={"width": 1280, "height": 900})
    shared.goto(link)
    ready(shared)
    assert prediction(shared) == answer
    assert shared.locator("#digit-lab .dl-explain h4").inner_text() == title
    shared.close()


def test_the_page_speaks_korean_to_a_korean_browser(browser, app_url):
    page = digit_page(browser, app_url, locale="ko-KR")
    page.locator("#digit-lab .dl-example").first.click()
    assert "LeNet의 답" in page.locator("#digit-prediction").inner_text()
    assert "되돌리기" in page.locator("#digit-lab .dl-tools").inner_text()
    assert "전처리가 왜 중요할까요" in page.locator("#digit-lab .dl-lesson").inner_text()
    page.close()


def test_the_lesson_shows_pythons_three_ways_in_pythons_words(browser, app_url):
    """The page reads the drawing every way of nets/data/sketch.py's WAYS, named as Python names them
    and worded as /preprocessing_lesson words them; MNIST's way is the answer the page gives."""
    from nets.data.sketch import WAYS

    page = digit_page(browser, app_url)
    page.evaluate("window.digitLab.load(7)")
    shown = page.eval_on_selector_all(
        "#digit-lab .dl-way",
        "figures => figures.map((f) => [f.dataset.way, f.querySelector('strong').innerText,"
        " f.querySelector('.dl-way-answer').innerText])",
    )
    assert [way for way, _, _ in shown] == list(WAYS) == ["squeezed", "cropped_not_centred", "mnist_style"]
    assert [words for _, words, _ in shown] == [
        "The whole canvas squeezed to 28x28",
        "Cropped and scaled to 20x20, but not centred",
        "MNIST's way: cropped, scaled to 20x20, centred by its centre of mass",
    ]
    assert shown_digit(page) == "7" and shown[2][2].startswith("LeNet says 7 (")
    page.close()


# --- the same readings for programs, in Python ---------------------------------------------------


def example_value(digit: int) -> dict:
    path = ROOT / "assets" / "examples" / f"digit_{digit}.png"
    return {"background": None, "layers": [], "composite": handle_file(str(path))}


def test_explain_convolution_returns_lenets_own_numbers(client):
    from nets.models.lenet import lenet, mnist_weights

    model = lenet(weights=mnist_weights())
    answer = client.predict(example_value(7), 1, 2, 10, 13, api_name="/explain_convolution")
    assert np.allclose(answer["kernel"], model.features[0].weight[2].detach().numpy(), atol=1e-7)
    assert answer["bias"] == pytest.approx(float(model.features[0].bias[2].detach()))
    assert answer["sum"] == pytest.approx(
        np.sum(np.array(answer["patch"]) * np.array(answer["kernel"])) + answer["bias"], abs=1e-5
    )
    assert answer["relu"] == pytest.approx(max(0.0, answer["sum"])) == pytest.approx(answer["value"], abs=1e-5)
    assert answer["input_box"] == [10, 13, 15, 18]
    assert answer["pool"]["value"] == pytest.approx(np.mean(answer["pool"]["block"]), abs=1e-5)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((3, 0, 0, 0), "no convolution layer 3"),
        ((1, 6, 0, 0), "no feature map 6"),
        ((2, 0, 10, 0), "Row 10"),
        ((2, 0, 0, -1), "Column -1"),
        ((1, 0.5, 0, 0), "feature map 0.5"),
    ],
    ids=["layer 3", "map 6", "row 10", "column -1", "map 0.5"],
)
def test_explain_convolution_refuses_what_lenet_does_not_have(client, arguments, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(example_value(7), *arguments, api_name="/explain_convolution")


def test_the_preprocessing_lesson_agrees_with_predict_digit(client, tmp_path):
    from harness.digit_drawings import render

    for digit, seed in ((2, 1), (5, 2), (9, 3)):
        drawing = random_drawing(digit, np.random.default_rng(seed), size=(0.15, 0.2))  # small, anywhere
        path = tmp_path / f"{digit}.png"
        render(drawing).save(path)
        value = {"background": None, "layers": [], "composite": handle_file(str(path))}
        table = client.predict(value, api_name="/preprocessing_lesson")
        rows = [dict(zip(table["headers"], row, strict=True)) for row in table["data"]]
        assert [row["way"] for row in rows] == [
            "The whole canvas squeezed to 28x28",
            "Cropped and scaled to 20x20, but not centred",
            "MNIST's way: cropped, scaled to 20x20, centred by its centre of mass",
        ]
        read = client.predict(value, api_name="/predict_digit")
        assert str(rows[2]["digit"]) == read["label"]
        assert rows[2]["confidence"] == pytest.approx(read["confidences"][0]["confidence"], abs=1e-4)
    assert json.dumps(table)  # plain JSON for programs
