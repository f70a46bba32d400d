"""Every tab in a real browser, at desktop and phone width, in light and dark theme, and in Korean.

Each check opens a fresh page (no console errors on load), uses the tab as a person would, and
makes sure nothing is cut off (the page never scrolls sideways). Screenshots go to a temporary
folder, or to ``$SAVE_SCREENSHOTS`` (the README's come from ``SAVE_SCREENSHOTS=docs/screenshots``).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from harness import zips
from harness.browser import (
    SIZES,
    TABS,
    caption_standin,
    draw_with_mouse,
    open_tab,
    prediction,
    ready,
    settle_for_a_screenshot,
    visible_texts,
    wait_for_text,
)
from harness.digit_drawings import random_drawing
from harness.server import ROOT
from tests.test_accessibility import AUDITED, assert_no_more_findings_than_a_bare_page, in_theme, serious_findings
from tests.test_korean_page import english_words
from tests.test_korean_page import use as use_in_korean
from ui.text import TEXT

# What the stand-in AlexNet (the tests' weights) says is meaningless: a screenshot captions it there.
STANDIN_PLACES = {
    "photo": ("#photo-prediction", "#photo-cam"),
    "finetune": ("#finetune-results", "#finetune-try-answer"),
}


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SAVE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def dataset_zip(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("zips") / "colours.zip"
    path.write_bytes(zips.colour_dataset_zip("flat", ("red", "green", "blue"), 12))
    return str(path)


def nothing_cut_off(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


SMALL_TEXTS_JS = """(smallest) => {
  // every visible text, at the size it is drawn: an SVG's text scaled by its view box
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    const box = element.getBoundingClientRect();
    if (!node.textContent.trim() || !box.width || !box.height) continue;
    let size = parseFloat(getComputedStyle(element).fontSize);
    const svg = element.closest('svg');
    const view = svg?.viewBox?.baseVal;
    if (view && view.width) size *= svg.getBoundingClientRect().width / view.width;
    if (size < smallest) small.push(`${node.textContent.trim().slice(0, 20)} (${size.toFixed(1)} px)`);
  }
  return small;
}"""


def texts_too_small(page, smallest: float = 10.5) -> list[str]:
    """Visible texts drawn smaller than ``smallest`` CSS pixels (a phone's charts once read at 8 px)."""
    return page.evaluate(SMALL_TEXTS_JS, smallest)


def tables_cut_off(page, *selectors: str) -> list[str]:
    """Those of ``selectors`` (tables) with something inside that scrolls sideways: columns out of sight."""
    return page.evaluate(
        """(selectors) => selectors.filter((selector) => [...document.querySelectorAll(`${selector}, ${selector} *`)]
             .some((e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1))""",
        list(selectors),
    )


def use_digit_tab(page, size: str) -> None:
    ready(page)
    draw_with_mouse(page, random_drawing(3, np.random.default_rng(8), size=(0.55, 0.7)))
    assert prediction(page) == "3"
    page.locator("#digit-lab .dl-explain h4").wait_for(timeout=5_000)  # a feature-map pixel explained
    page.locator('#digit-lab [data-act="tell-count"]').click()  # the flatten and fc layers shown too


def use_photo_tab(page, size: str) -> None:
    page.locator("#photo-input input[type=file]").set_input_files(str(ROOT / "assets/photos/cat.jpg"))
    page.locator("#photo-cam img").wait_for(timeout=30_000)
    assert (
        len(page.locator("#photo-prediction .confidence-set").all()) == 5
        or page.locator("#photo-prediction").inner_text().count("%") == 5
    )
    wait_for_text(page.locator("#photo-timing"), "ms")


def use_finetune_tab(page, size: str, archive: str) -> None:
    page.locator("#finetune-zip input[type=file]").set_input_files(archive)
    page.locator("#finetune-start").click()
    status = wait_for_text(page.locator("#finetune-status"), "Done:", timeout=90)
    found = re.search(r"validation accuracy\s+(\d+)%", status)
    assert found and int(found.group(1)) >= 90, repr(status)
    # the skipped file's reason wraps inside its table instead of running past the box
    widths = page.locator("#finetune-skipped").evaluate("e => [e.querySelector('table').scrollWidth, e.clientWidth]")
    assert widths[0] <= widths[1] + 1, widths
    page.locator("#finetune-try-photo input[type=file]").set_input_files(str(ROOT / "assets/photos/coffee.jpg"))
    answer = wait_for_text(page.locator("#finetune-try-answer"), "%")
    assert any(colour in answer for colour in ("red", "green", "blue"))
    # the tables: every column in sight, accuracies in % as the status says them
    tables = ("#finetune-summary", "#finetune-history", "#finetune-confusion", "#finetune-per-class")
    assert not tables_cut_off(page, *tables), f"cut off at {size} width: {tables_cut_off(page, *tables)}"
    assert re.search(r"\d+\.\d%", page.locator("#finetune-history").inner_text())


def use_train_tab(page, size: str) -> None:
    images = page.locator("#train-images input[type=number]")
    images.fill("2000")
    images.press("Enter")
    page.locator("#train-start").click()
    status = wait_for_text(page.locator("#train-status"), "Done:", timeout=90)
    assert re.search(r"Done: \d+\.\d%", status), status
    page.locator("#train-accuracy svg circle").first.wait_for(timeout=10_000)  # the curve has its points
    page.wait_for_function("document.querySelector('#train-runs')?.innerText.includes('ReLU')", timeout=10_000)
    # the tables: every column in sight (test accuracy too), accuracies in % and the images counted as 2,000
    assert not tables_cut_off(page, "#train-history", "#train-runs"), f"cut off at {size} width"
    runs = page.locator("#train-runs").inner_text()
    assert re.search(r"\b2,000\b", runs) and re.search(r"\d+\.\d%", runs) and "2.00" not in runs, runs


def use_compare_tab(page, size: str) -> None:
    table = wait_for_text(page.locator("#models-table"), "62,378,344")
    assert "62,006" in table and "61,100,840" in table and "714,188,480" in table
    page.locator("#params-chart .cc-chart").wait_for(timeout=15_000)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("tab", list(TABS))
def test_each_tab_works_at_every_size_and_theme(browser, app_url, shots, dataset_zip, bare_findings, tab, size):
    """Each tab used at each size, then seen in light and in dark: the same page with Gradio's ``dark``
    class on the body (what ``?__theme=dark`` sets; every colour of the app follows it). In each theme:
    nothing cut off, no text too small, axe-core's findings held to a bare page's (test_accessibility)."""
    page = open_tab(browser, app_url, tab, size, "light")
    time.sleep(0.5)
    assert not page.console_errors, page.console_errors  # nothing broken on load
    if tab == "finetune":
        use_finetune_tab(page, size, dataset_zip)
    else:
        {"digit": use_digit_tab, "train": use_train_tab, "photo": use_photo_tab, "compare": use_compare_tab}[tab](
            page, size
        )
    for theme in ("light", "dark"):
        in_theme(page, theme)
        settle_for_a_screenshot(page)  # every part drawn: a picture of the whole tab, not of it loading
        assert nothing_cut_off(page), f"the {tab} tab scrolls sideways at {size} width"
        assert not texts_too_small(page), f"text too small to read on the {tab} tab: {texts_too_small(page)[:8]}"
        if tab in AUDITED:
            where = f"{tab}, {size}, {theme}"
            assert_no_more_findings_than_a_bare_page(serious_findings(page), bare_findings(tab, size, theme), where)
        if tab in STANDIN_PLACES and theme == "light":
            caption_standin(page, "en", STANDIN_PLACES[tab])
        page.screenshot(path=str(shots / f"{tab}-{size}-{theme}.png"), full_page=True)
    assert not page.console_errors, page.console_errors
    page.close()


KOREAN_TITLES = {
    "digit": "LeNet에게 숫자 그려 보여 주기",
    "train": "LeNet 직접 학습시키기",
    "photo": "AlexNet에게 사진 보여 주기",
    "finetune": "내 이미지로 AlexNet 미세 조정하기",
    "compare": "모델 비교: 매개변수, 메모리, 연산량",
}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("tab", list(TABS))
def test_every_tab_speaks_korean_to_a_korean_browser(browser, app_url, shots, tab, size):
    """Each tab in a used state, opened by a ko-KR browser at each size: no English word shown or
    said (tests/test_korean_page.py says which words are allowed) in light, nor in dark on the same
    page; nothing cut off; a screenshot."""
    page = open_tab(browser, app_url, tab, size, "light", locale="ko-KR")
    page.wait_for_function("document.documentElement.lang === 'ko'", timeout=15_000)
    wait_for_text(page.locator("body"), KOREAN_TITLES[tab], timeout=15)
    use_digit_tab(page, size) if tab == "digit" else use_in_korean(page, tab)  # a used tab, not an empty one
    texts = visible_texts(page, skip_code=True)
    inner = page.evaluate("document.body.innerText")
    assert "Gradio 바닥글 메뉴" in texts and "Gradio 바닥글 메뉴" not in inner  # names a screen reader says, read too
    english = {"light": english_words(texts)}
    settle_for_a_screenshot(page)
    assert nothing_cut_off(page), f"the Korean {tab} tab scrolls sideways at {size} width"
    if tab in STANDIN_PLACES:
        caption_standin(page, "ko", STANDIN_PLACES[tab])
        assert page.locator(".standin-caption").count() == 1 + len(STANDIN_PLACES[tab])
    page.screenshot(path=str(shots / f"{tab}-{size}-light-ko.png"), full_page=True)
    page.evaluate("document.querySelectorAll('.standin-caption').forEach((caption) => caption.remove())")
    in_theme(page, "dark")
    page.wait_for_timeout(1000)  # the page script words what it shows once a frame
    english["dark"] = english_words(visible_texts(page, skip_code=True))
    assert not any(english.values()), f"English on the Korean {tab} tab ({size}): {english}"
    assert not page.console_errors, page.console_errors
    page.close()


def test_the_page_speaks_korean_to_a_korean_browser(browser, app_url, shots):
    page = open_tab(browser, app_url, "digit", "desktop", "light", locale="ko-KR")
    page.get_by_role("tab", name="숫자").wait_for(timeout=15_000)
    assert "LeNet에게 숫자 그려 보여 주기" in page.locator("body").inner_text()
    page.get_by_role("tab", name="사진").click()
    page.locator("#photo-input input[type=file]").set_input_files(str(ROOT / "assets/photos/cat.jpg"))
    wait_for_text(page.locator("#photo-timing"), "만에 답했어요")  # a sentence built on the server
    # the class names in the page's text font (the monospace fallback spaced Korean out)
    fonts = page.evaluate(
        """() => ['#photo-prediction dt.text', '#photo-timing p']
            .map((selector) => getComputedStyle(document.querySelector(selector)).fontFamily)"""
    )
    assert fonts[0] == fonts[1], fonts
    settle_for_a_screenshot(page)
    caption_standin(page, "ko", STANDIN_PLACES["photo"])
    page.screenshot(path=str(shots / "photo-answer-desktop-light-ko.png"), full_page=True)
    page.close()


def test_stop_ends_training_and_keeps_the_best_epoch_so_far(browser, app_url, dataset_zip):
    page = open_tab(browser, app_url, "finetune", "desktop", "light")
    page.locator("#finetune-zip input[type=file]").set_input_files(dataset_zip)
    page.get_by_label("All layers, as in the book: slowest").check()
    epochs = page.locator("#finetune-epochs input[type=number]")
    epochs.fill("100")
    epochs.press("Enter")
    page.locator("#finetune-start").click()
    # one epoch is trained and validated: its row is in the history (a header row and one more)
    page.wait_for_function(
        "Number(document.querySelector('#finetune-history [role=grid]')?.getAttribute('aria-rowcount')) >= 2",
        timeout=120_000,
    )
    started = time.monotonic()
    page.locator("#finetune-stop").click()
    status = wait_for_text(page.locator("#finetune-status"), "stopped at your request", timeout=60)
    assert time.monotonic() - started < 30
    finished = re.search(r"best epoch \d+ of (\d+)", status)
    assert finished and int(finished.group(1)) < 100, status  # it stopped well before its 100 epochs
    assert page.locator("#finetune-try-photo").is_visible()  # the kept model can be tried at once
    page.close()


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
def test_a_phone_shows_every_tab_without_a_hidden_menu(browser, app_url, locale):
    page = open_tab(browser, app_url, "digit", "phone", "light", locale=locale)
    tabs = page.get_by_role("tab")
    assert tabs.count() == len(TABS)
    assert all(tab.is_visible() for tab in tabs.all())  # wrapped onto two rows, none behind a "..." menu
    page.close()


def test_the_readme_shows_every_screenshot_and_says_plainly_which_are_stand_ins():
    """Every picture in docs/screenshots is linked from the README (none left over from an old layout,
    none linked that is not there), and the README quotes the stand-in caption the pictures carry."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"docs/screenshots/([\w.-]+\.png)", readme))
    there = {path.name for path in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert linked == there, f"not linked: {sorted(there - linked)}; linked, not there: {sorted(linked - there)}"
    assert TEXT["en"]["screenshot_standin"] in " ".join(readme.split())
