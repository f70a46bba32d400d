"""axe-core (through axe-playwright-python) on the train, photo, fine-tune and compare tabs, each in a used
state, held to a bare gr.Blocks page with the same kinds of components (tests/bare_blocks.py): the app
adds no serious or critical finding of its own (one allowed for the difference in content), in light and
dark (the same used page in both themes), on a computer and a phone. (The digit tab has its own,
tests/test_digit_accessibility.py.)"""

from __future__ import annotations

import pytest

from harness.browser import TABS, open_tab, wait_for_text
from harness.server import ROOT, running_app

SERIOUS = ("serious", "critical")
CAT = str(ROOT / "assets" / "photos" / "cat.jpg")
SHAPES = str(ROOT / "assets" / "shapes.zip")
BARE_TABS = {"photo": 0, "compare": 1, "train": 2, "finetune": 3}


def serious_findings(page) -> dict[str, int]:
    """axe's serious and critical findings on the page: {rule: number of elements}."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return {
        violation["id"]: len(violation["nodes"])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    }


@pytest.fixture(scope="module")
def bare_url():
    with running_app(script="tests/bare_blocks.py") as url:
        yield url


def in_theme(page, theme: str) -> None:
    """The same page in the other theme: Gradio's ``dark`` class on the body, which is what
    ``?__theme=dark`` sets and every colour of the app follows (a used state costs a training run or a
    fine-tune: it is made once per tab and size, and looked at in both themes)."""
    page.evaluate(f"document.body.classList.toggle('dark', {str(theme == 'dark').lower()})")
    page.wait_for_timeout(500)


def bare_page(browser, url: str, tab: str, size: str):
    width, height = {"desktop": (1280, 900), "phone": (390, 844)}[size]
    page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=size == "phone", has_touch=True)
    page.goto(f"{url}/?__theme=light")
    page.get_by_role("tab").nth(BARE_TABS[tab]).click()
    page.wait_for_timeout(1500)
    return page


def app_page(browser, url: str, tab: str, size: str):
    page = open_tab(browser, url, tab, size=size, theme="light")
    if tab == "photo":  # with an answer, a heatmap and the class picker filled in
        page.locator("#photo-input input[type=file]").set_input_files(CAT)
        wait_for_text(page.locator("#photo-timing"), "conv5")
    elif tab == "train":  # after a short LeNet run: curves, kernels, history and the runs table
        images = page.locator("#train-images input[type=number]")
        images.fill("2000")
        images.press("Enter")
        page.locator("#train-start").click()
        wait_for_text(page.locator("#train-status"), "Done:", timeout=90)
        wait_for_text(page.locator("#train-runs"), "ReLU", timeout=10)
    elif tab == "finetune":  # after a fine-tune of the example zip: tables, map, try box, download, snippet
        page.locator("#finetune-zip input[type=file]").set_input_files(SHAPES)
        page.locator("#finetune-start").click()
        wait_for_text(page.locator("#finetune-status"), "Done:", timeout=120)
        wait_for_text(page.locator("#finetune-snippet"), "torch", timeout=15)
        assert page.locator("#finetune-try-photo").is_visible()
    else:
        wait_for_text(page.locator("#models-table"), "62,378,344")
        page.locator("#params-split .cc-name").first.wait_for()
        wait_for_text(page.locator("#claims-table"), "AlexNet")
    page.wait_for_timeout(1000)
    return page


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("tab", ["train", "photo", "finetune", "compare"])
def test_the_tab_has_no_more_serious_findings_than_a_bare_page(browser, app_url, bare_url, tab, size):
    assert list(TABS).index(tab) >= 0
    page = bare_page(browser, bare_url, tab, size)
    bare = {}
    for theme in ("light", "dark"):
        in_theme(page, theme)
        bare[theme] = serious_findings(page)
    page.close()
    page = app_page(browser, app_url, tab, size)
    found = {}
    for theme in ("light", "dark"):
        in_theme(page, theme)
        found[theme] = serious_findings(page)
    page.close()
    for theme in ("light", "dark"):
        mine, theirs = found[theme], bare[theme]
        where = f"{tab}, {size}, {theme}"
        assert sum(mine.values()) <= sum(theirs.values()) + 1, f"{where}: {mine}; a bare page: {theirs}"
        assert mine.get("button-name", 0) <= theirs.get("button-name", 0), f"{where}: an unnamed button of the app's"
        assert mine.get("aria-prohibited-attr", 0) <= theirs.get("aria-prohibited-attr", 0), where
        assert "scrollable-region-focusable" not in mine, f"{where}: a region scrolls but a keyboard cannot reach it"
