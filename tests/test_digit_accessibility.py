"""The digit tab without a mouse or without sight: a named drawing, the answer said aloud, maps
reachable by keyboard, a tap that brings its explanation into view, and axe-core's verdict
(nothing serious or critical beyond what Gradio's own page has)."""

from __future__ import annotations

import socket

import pytest

from harness.browser import SIZES, open_tab, ready


def digit_page(browser, app_url, **options):
    page = open_tab(browser, app_url, **options)
    ready(page)
    return page


def test_a_keyboard_user_picks_an_example_and_hears_the_answer(browser, app_url):
    page = digit_page(browser, app_url)
    canvas = page.locator("#digit-canvas canvas")
    assert canvas.get_attribute("role") == "img"
    assert canvas.get_attribute("aria-label") == "Your digit: draw here. Nothing is drawn yet."
    example = page.locator('#digit-lab .dl-example[data-digit="7"]')
    assert example.get_attribute("aria-label") == "Example digit 7: put it on the canvas"
    example.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("window.digitLab.reading() !== null")
    live = page.locator("#digit-lab .dl-announce")
    assert live.get_attribute("aria-live") == "polite"
    p = page.evaluate("window.digitLab.reading().top[0].p")
    assert live.text_content() == f"LeNet's answer: 7 ({100 * p:.0f}% sure)."
    assert canvas.get_attribute("aria-label") == "Your digit: draw here. LeNet reads it as 7."
    page.close()


def test_the_answer_is_said_in_korean_too(browser, app_url):
    page = digit_page(browser, app_url, locale="ko-KR")
    page.evaluate("window.digitLab.load(3)")
    assert page.locator("#digit-lab .dl-announce").text_content().startswith("LeNet의 답: 3 (확신 ")
    page.close()


def test_feature_maps_are_reached_and_explored_with_the_keyboard(browser, app_url):
    page = digit_page(browser, app_url)
    page.evaluate("window.digitLab.load(2)")
    map3 = page.locator('#digit-lab .dl-layer[data-layer="2"] canvas.dl-map').nth(3)
    assert map3.get_attribute("tabindex") == "0" and map3.get_attribute("role") == "button"
    map3.focus()
    page.keyboard.press("Enter")
    title = page.locator("#digit-lab .dl-explain h4")
    assert title.inner_text() == "Layer 2, feature map 3, row 5, column 5"  # the map's middle
    assert map3.get_attribute("aria-pressed") == "true"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    assert title.inner_text() == "Layer 2, feature map 3, row 4, column 6"
    page.close()


def test_a_tap_on_a_layer_2_map_on_a_phone_brings_its_explanation_into_view(browser, app_url):
    page = digit_page(browser, app_url, size="phone")
    page.evaluate("window.digitLab.load(5)")
    target = page.locator('#digit-lab .dl-layer[data-layer="2"] canvas.dl-map').nth(12)
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    title = page.locator("#digit-lab .dl-explain h4")
    assert title.inner_text().startswith("Layer 2, feature map 12,")
    shown = title.bounding_box()
    assert shown["y"] >= 0 and shown["y"] + shown["height"] <= SIZES["phone"][1], "the explanation is on screen"
    page.close()


def test_layer_1_explains_the_normalisation_of_blank_pixels(browser, app_url):
    page = digit_page(browser, app_url)
    page.evaluate("window.digitLab.load(7)")
    mean, std, blank = page.evaluate("""() => {
        const m = window.digitLab.model();
        const e = LeNetEngine.explainConvolution(window.digitLab.reading(), m, 1, 0, 0, 0);
        return [m.mean, m.std, e.patch[0][0][0]];  // the top-left corner: a blank pixel
    }""")
    assert blank == pytest.approx(-mean / std, abs=1e-5) == pytest.approx(-0.3635, abs=1e-3)
    page.locator('#digit-lab .dl-layer[data-layer="1"] canvas.dl-map').first.focus()
    page.keyboard.press("Enter")
    said = page.locator("#digit-lab .dl-explain .dl-normalised").inner_text()
    assert "(x − mean) / std" in said and f"{mean:.4f}" in said and f"{std:.4f}" in said
    assert "= -0.36" in said
    page.close()


# --- axe-core -------------------------------------------------------------------------------------


def serious(page, within: str | None = None) -> dict[str, list]:
    """axe-core's serious and critical findings on the page (or inside `within`), by rule."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=within) if within else Axe().run(page)
    return {
        v["id"]: [node["target"] for node in v["nodes"]]
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    }


@pytest.fixture(scope="module")
def bare_gradio_url():
    """A bare gr.Blocks page with the same kinds of components as the app's digit tab (what Gradio
    itself brings): tabs, markdown, an HTML block, hidden inputs and outputs."""
    import gradio as gr

    with gr.Blocks() as demo, gr.Tabs():
        with gr.Tab("Digit"):
            gr.Markdown("### A heading\nSome words.")
            gr.HTML("<div>html</div>")
            with gr.Column(visible=False):
                gr.Sketchpad(label="sketch")
                gr.Number(label="layer")
                gr.Label(label="answer")
                gr.JSON(label="explanation")
                gr.Dataframe(label="lesson")
        with gr.Tab("Other"):
            gr.Slider(label="slider")
            gr.Radio(["a", "b"], label="radio")
            gr.Button("Start")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}"
    demo.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_axe_finds_nothing_serious_in_the_tab_beyond_gradios_own(browser, app_url, bare_gradio_url, size):
    page = digit_page(browser, app_url, size=size)
    page.evaluate("window.digitLab.load(7)")
    page.locator('#digit-lab [data-act="tell-count"]').click()  # the flatten shown too
    assert serious(page, "#digit-lab") == {}
    bare = browser.new_page(viewport=dict(zip(("width", "height"), SIZES[size], strict=True)))
    bare.goto(bare_gradio_url)
    bare.wait_for_selector(".gradio-container")
    gradios_own = serious(bare)
    beyond = {rule: nodes for rule, nodes in serious(page).items() if rule not in gradios_own}
    assert beyond == {}, f"Gradio's own page has only {sorted(gradios_own)}"
    bare.close()
    page.close()
