"""What a newcomer sees, in Chromium: each of the defects a first visit found, checked as a person would.

Desktop (1280x900) and phone (390x844, touch), light and dark, English and Korean. The digit tab's
own checks (examples read like drawings, the answer above the canvas on a phone) are in
tests/test_digit_tab.py.
"""

from __future__ import annotations

import re
import time

import pytest

from harness import zips
from harness.browser import TABS, open_tab, wait_for_text
from harness.server import ROOT

CAT = str(ROOT / "assets" / "photos" / "cat.jpg")


@pytest.fixture(scope="module")
def slow_zip(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("zips") / "colours.zip"
    path.write_bytes(zips.colour_dataset_zip("flat", ("red", "green", "blue"), 12))
    return str(path)


def start_fine_tune(page, archive: str, strategy: str | None = None, epochs: int | None = None) -> None:
    page.locator("#finetune-zip input[type=file]").set_input_files(archive)
    if strategy:
        page.get_by_label(strategy).check()
    if epochs:
        box = page.locator("#finetune-epochs input[type=number]")
        box.fill(str(epochs))
        box.press("Enter")
    page.locator("#finetune-start").click()


# 1. the live curves are in sight while it trains; one progress display, on the status


def test_the_curves_grow_in_sight_while_training_and_progress_shows_on_the_status_only(browser, app_url, slow_zip):
    page = open_tab(browser, app_url, "finetune")
    start_fine_tune(page, slow_zip, "All layers, as in the book: slowest", 30)
    page.locator("#finetune-loss svg").wait_for(timeout=120_000)  # the first epoch is drawn
    grown = []
    for _ in range(3):  # watched during the next epochs: the lines get points, nothing covers them
        box = page.locator("#finetune-loss svg").bounding_box()
        centre = page.evaluate(
            f"document.elementFromPoint({box['x'] + box['width'] / 2}, "
            f"{box['y'] + box['height'] / 2})?.closest('#finetune-loss') !== null"
        )
        assert centre, "something covers the loss curve during training"
        grown.append(page.locator("#finetune-loss svg circle").count())
        progress_elsewhere = page.evaluate("""() => [...document.querySelectorAll('.progress-text, .meta-text')]
            .filter((e) => e.offsetParent !== null && !e.closest('#finetune-progress')).length""")
        assert progress_elsewhere == 0, "a progress display shows outside its own line"
        time.sleep(2.5)
    assert grown == sorted(grown) and grown[-1] > grown[0], grown
    page.wait_for_function(
        "/Epoch \\d+ of 30/.test(document.querySelector('#finetune-progress').textContent)", timeout=20_000
    )  # one overall progress, in epochs, on its own line
    status = page.locator("#finetune-status").bounding_box()
    bar = page.locator("#finetune-progress").bounding_box()
    assert bar["y"] + bar["height"] <= status["y"] + 1, "the progress covers the status"
    page.locator("#finetune-stop").click()
    wait_for_text(page.locator("#finetune-status"), "stopped at your request")
    page.close()


# 3. the curves can be read: a legend, named axes, whole epochs, the best epoch marked


def test_the_curves_have_a_legend_named_axes_whole_epochs_and_the_best_epoch(browser, app_url, slow_zip):
    page = open_tab(browser, app_url, "finetune")
    start_fine_tune(page, slow_zip, epochs=12)
    status = wait_for_text(page.locator("#finetune-status"), "Done:", timeout=120)
    best = re.search(r"best epoch (\d+)", status).group(1)
    for chart, axis in (("#finetune-loss", "loss"), ("#finetune-accuracy", "accuracy")):
        texts = page.evaluate(f"[...document.querySelectorAll('{chart} svg text')].map((t) => t.textContent)")
        assert {"train", "validation", "epoch", axis} <= set(texts), texts
        ticks = [t for t in texts if re.fullmatch(r"\d+(\.\d+)?", t)]
        assert ticks and all(t.isdigit() for t in ticks), ticks  # whole epochs: 1, 2, 3..., never 1.1
        assert f"best: epoch {best}" in texts
        legend = page.locator(f"{chart} svg text").filter(has_text="validation").first.bounding_box()
        svg = page.locator(f"{chart} svg").bounding_box()
        assert legend["x"] + legend["width"] <= svg["x"] + svg["width"]  # not cut off
    page.close()


# 4. and 6. every chart shows every model of the table; on a phone, stacked and readable


def models_in(page, selector: str) -> list[str]:
    return page.locator(f"{selector} .cc-name").all_inner_texts()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_compare_chart_shows_every_model_of_the_table(browser, app_url, size):
    page = open_tab(browser, app_url, "compare", size=size)
    wait_for_text(page.locator("#models-table"), "62,378,344")
    page.locator("#params-chart .cc-name").first.wait_for()
    base = len([name for name in models_in(page, "#params-chart") if name])
    for added, extra in enumerate(("MobileNetV3-Large", "VGG-16"), start=1):
        page.get_by_label(extra).check()
        wait_for_text(page.locator("#compute-split"), extra)
        table = page.locator("#models-table").inner_text()
        for chart in ("#params-chart", "#compute-chart", "#params-split", "#compute-split"):
            names = [name for name in models_in(page, chart) if name]
            assert extra in names, (chart, names)
            assert all(name in table for name in names) and len(names) == base + added, (chart, names)
    charts = [page.locator(selector).bounding_box() for selector in ("#params-chart", "#compute-chart")]
    if size == "phone":
        assert charts[1]["y"] >= charts[0]["y"] + charts[0]["height"] - 1, "the charts are stacked on a phone"
        small = page.evaluate("""() => Math.min(...[...document.querySelectorAll('#params-chart .cc-name')]
            .map((e) => parseFloat(getComputedStyle(e).fontSize)))""")
        assert small >= 11, f"chart text is {small} px on a phone"
        first = page.locator("#models-table th").first.bounding_box()
        assert first["width"] <= 200 and first["height"] <= 120, first  # headings wrap between words, not letters
    else:
        assert abs(charts[0]["y"] - charts[1]["y"]) < 5, "side by side on a computer"
    page.close()


# 5. missing weights: the visitor is told plainly, up front, in their language; the admin reads the log


@pytest.mark.parametrize(
    "locale, own_words, reason, words",
    [
        ("en-US", "Fine-tuning is not available", "Fine-tune is off", "not available on this server right now"),
        ("ko-KR", "미세 조정을 쓸 수 없어요", "미세 조정을 할 수 없어요", "사진 분류를 쓸 수 없어요"),
    ],
)
def test_missing_weights_are_explained_to_the_visitor_up_front(
    browser, app_without_weights, locale, own_words, reason, words
):
    page = open_tab(browser, app_without_weights[0], "finetune", locale=locale)
    time.sleep(4)  # the app has tried to load them (a few seconds after start)
    page.get_by_role("tab").nth(list(TABS).index("digit")).click()
    page.get_by_role("tab").nth(list(TABS).index("finetune")).click()
    notice = wait_for_text(page.locator("#finetune-weights-notice span.md"), own_words, timeout=30)  # the tab's words
    for detail in ("http", "alexnet-owt", "Errno", "/"):
        assert detail not in notice
    assert page.locator("#finetune-start").is_disabled()  # nothing to fill in for nothing
    beside = wait_for_text(page.locator("#finetune-start-reason"), reason, timeout=10)  # and why, beside it
    assert "ImageNet" in beside
    button, why = (page.locator(s).bounding_box() for s in ("#finetune-start", "#finetune-start-reason"))
    assert abs((button["y"] + button["height"] / 2) - (why["y"] + why["height"] / 2)) < 60  # on the button's row
    page.get_by_role("tab").nth(list(TABS).index("photo")).click()
    wait_for_text(page.locator("#weights-notice"), words, timeout=30)  # the photo tab says why, up front,
    assert page.locator("#photo-run").is_disabled()  # and offers no photo to send (tests/test_photo_page.py)
    page.close()


# 8. a failed upload clears the previous answer and says so once


def test_a_refused_photo_clears_the_old_answer_with_one_message(browser, app_url, tmp_path):
    page = open_tab(browser, app_url, "photo")
    page.locator("#photo-input input[type=file]").set_input_files(CAT)
    wait_for_text(page.locator("#photo-timing"), "ms")
    text = tmp_path / "holiday.jpg"
    text.write_text("Dear diary, today I renamed a text file.")
    page.locator("#photo-input input[type=file]").set_input_files(str(text))
    wait_for_text(page.locator(".toast-body").first, "not an image")
    page.wait_for_timeout(2500)
    assert page.locator(".toast-body").count() == 1
    assert "%" not in page.locator("#photo-prediction").inner_text()  # the cat's answer is gone
    assert page.locator("#photo-cam img").count() == 0 and page.locator("#photo-timing").inner_text().strip() == ""
    page.close()


# 9. the fine-tune tab: quick to start, nothing empty shown, Stop only when something runs


def test_the_fine_tune_tab_starts_on_the_first_phone_screen_without_empty_tables(browser, app_url, slow_zip):
    page = open_tab(browser, app_url, "finetune", size="phone")
    upload = page.locator("#finetune-zip").bounding_box()
    assert upload["y"] < 844, f"the zip box starts at {upload['y']} px, below the first phone screen"
    assert not page.locator("#finetune-summary").is_visible()  # no "1 2 3" placeholder tables
    assert not page.locator("#finetune-loss").is_visible()  # no empty plots
    assert page.locator("#finetune-stop").is_disabled()  # nothing runs: nothing to stop
    assert page.get_by_text("How many times it sees every training image.").is_visible()  # one-line help
    page.close()


def test_mistakes_are_captioned_with_the_guess_first(browser, app_url, tmp_path):
    archive = tmp_path / "hard.zip"  # noisy colours: a few mistakes after one epoch
    archive.write_bytes(zips.colour_dataset_zip("flat", ("red", "green", "blue", "yellow"), 10))
    page = open_tab(browser, app_url, "finetune")
    start_fine_tune(page, str(archive), epochs=1)
    wait_for_text(page.locator("#finetune-status"), "Done:", timeout=120)
    captions = page.locator("#finetune-wrong .caption-label, #finetune-wrong figcaption").all_inner_texts()
    assert captions, "no mistakes shown: the test needs a dataset the model gets partly wrong"
    for caption in captions:
        assert re.fullmatch(r".+ → .+ \(\d+%\)", caption.strip()), caption  # "circle → square (62%)"
    page.close()


# 10. who is "the note"?


def test_the_note_is_introduced_with_a_link_where_it_is_first_mentioned(browser, app_url):
    page = open_tab(browser, app_url, "compare")
    wait_for_text(page.locator("body"), "Mastering PyTorch")
    intro = page.locator("p", has_text="The note this app follows is a Korean study note")
    assert intro.count() == 1
    assert "Mastering PyTorch" in intro.first.inner_text()
    link = page.get_by_role("link", name="the book's code")
    assert link.first.get_attribute("href") == "https://github.com/PacktPublishing/Mastering-PyTorch"
    page.close()


# Also seen: the visitor's language choice in the page wins over the browser's


def test_a_language_chosen_in_settings_reaches_the_server(browser, app_url, slow_zip):
    page = open_tab(browser, app_url, "finetune", locale="en-US")
    page.get_by_text("Settings").last.click()
    page.get_by_label("Language").click()
    page.get_by_role("option", name="한국어").click()
    page.locator("[role=dialog] button").first.click()  # the settings' close button
    page.wait_for_function("document.cookie.includes('classic_cnns_language=ko')", timeout=10_000)
    start_fine_tune(page, slow_zip, epochs=2)
    wait_for_text(page.locator("#finetune-status"), "완료", timeout=120)  # a sentence the server wrote
    page.close()
