"""Teachers' links: one URL opens the app on a tab with its inputs filled in, for a whole class."""

from __future__ import annotations

from harness.browser import TABS, prediction, ready, wait_for_text


def opened(browser, url: str, query: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.console_errors = []
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.goto(f"{url}/?{query}")
    # the page has loaded once the digit canvas exists (visible or not: the link may open another tab)
    page.wait_for_selector("#digit-canvas canvas", state="attached", timeout=60_000)
    return page


def selected_tab(page) -> str:
    return page.locator('[role="tab"][aria-selected="true"]').inner_text().strip()


def test_a_link_opens_the_compare_tab_with_its_models(browser, app_url):
    page = opened(browser, app_url, "tab=compare&classes=10&extras=VGG-16,ResNet-18&layers=VGG-16")
    table = wait_for_text(page.locator("#models-table"), "VGG-16", timeout=30)
    assert TABS["compare"] in selected_tab(page)
    assert "ResNet-18" in table and "AlexNet + new head (10 classes)" in table
    page.close()


def test_a_link_opens_the_photo_tab_on_an_example(browser, app_url):
    page = opened(browser, app_url, "tab=photo&photo=coffee")
    wait_for_text(page.locator("#photo-timing"), "ms", timeout=30)  # the coffee photo was classified
    assert TABS["photo"] in selected_tab(page)
    page.close()


def test_a_link_opens_the_digit_tab_on_an_example_with_a_pixel_explained(browser, app_url):
    page = opened(browser, app_url, "tab=digit&digit=7&explain=2.3.4.5")
    ready(page)
    assert prediction(page) == "7"
    assert (
        "Layer 2, feature map 3, row 4, column 5" in page.locator("#digit-lab .dl-explain h4").inner_text()
    )  # counted from 0, as rows and columns are
    page.close()


def test_a_link_never_names_a_file_on_the_server(browser, app_url):
    page = opened(browser, app_url, "tab=photo&photo=../../../etc/passwd&zip=/etc/hosts")
    toast = wait_for_text(page.locator("body"), "left out", timeout=30)
    assert "photo=../../../etc/passwd" in toast and "zip=/etc/hosts" in toast
    assert page.locator("#photo-prediction .confidence-set").count() == 0  # nothing was loaded
    assert not page.console_errors
    page.close()
