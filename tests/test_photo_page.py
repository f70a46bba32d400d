"""The photo tab as a visitor meets it: Korean class names on the Korean page (English for programs),
a tab without weights that says why it cannot be used and comes back when they arrive, and a file that
is not a photo explained and cleared away."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from gradio_client import handle_file

from harness.browser import open_tab, wait_for_text
from harness.server import ROOT, running_app
from harness.standin import write_standin_weights
from nets.explaining.imagenet_classes import imagenet_class_names
from ui.imagenet_names import korean_class_names

CAT = str(ROOT / "assets" / "photos" / "cat.jpg")
HANGUL = re.compile("[\uac00-\ud7a3]")


def test_every_imagenet_class_has_its_own_korean_name():
    by_index = json.loads((ROOT / "assets" / "imagenet_ko.json").read_text(encoding="utf-8"))
    assert sorted(by_index, key=int) == [str(i) for i in range(1000)]
    names = korean_class_names()
    assert len(names) == 1000 and all(name.strip() for name in names)
    assert len(set(names)) == 1000, "two classes share a Korean name"
    assert all(HANGUL.search(name) for name in names)
    english = imagenet_class_names()
    known = {"goldfish": "금붕어", "Persian cat": "페르시안 고양이", "sunglasses": "선글라스", "zebra": "얼룩말"}
    for name, korean in known.items():
        assert names[english.index(name)] == korean
    assert "태비" in names[english.index("tabby")]
    assert names[836] != names[837] and names[134] != names[517]  # sunglass / sunglasses; crane bird / crane


def test_the_korean_page_names_the_guesses_in_korean_and_programs_keep_english(browser, app_url, korean_client):
    page = open_tab(browser, app_url, "photo", size="phone", locale="ko-KR")
    page.locator("#photo-input input[type=file]").set_input_files(CAT)
    wait_for_text(page.locator("#photo-timing"), "ms")
    labels = page.locator("#photo-prediction .confidence-set .label")
    assert labels.count() == 5
    shown = [labels.nth(i).inner_text().splitlines()[0].strip() for i in range(5)]  # "금붕어\n58%"
    assert all(HANGUL.search(name) for name in shown), shown
    assert all(name in korean_class_names() for name in shown), shown
    explained = page.locator("#photo-timing").inner_text()
    assert shown[0] in explained  # the heatmap's class, in Korean too
    target = page.locator("#photo-target input")
    target.click()
    target.fill("금붕어")  # a class picked by its Korean name is explained (the page sends back "goldfish")
    page.get_by_role("option", name="금붕어", exact=True).click()
    page.wait_for_function("document.querySelector('#photo-timing').innerText.includes('금붕어')", timeout=30_000)
    page.close()
    answer = korean_client.predict(handle_file(CAT), api_name="/classify_photo")
    assert answer["label"] in imagenet_class_names()
    assert all(c["label"] in imagenet_class_names() for c in answer["confidences"])


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_file_that_is_not_a_photo_is_explained_and_cleared_away(browser, app_url, tmp_path, size):
    page = open_tab(browser, app_url, "photo", size=size)
    text = tmp_path / "holiday.jpg"
    text.write_text("Dear diary, today I renamed a text file.")
    page.locator("#photo-input input[type=file]").set_input_files(str(text))
    wait_for_text(page.locator(".toast-body").first, "not an image")
    page.wait_for_timeout(2000)
    assert page.locator("#photo-input img").count() == 0, "a broken image is left in the box"
    assert page.locator("#photo-input input[type=file]").count() == 1  # ready for another photo
    assert "error" not in page.locator("#photo-prediction").inner_text().lower()  # no Error badge on the answer
    page.close()


@pytest.fixture(scope="module")
def app_without_weights(tmp_path_factory):
    """The app offline with no ImageNet weights; yields (url, its TORCH_HOME) so a test can bring them."""
    home = tmp_path_factory.mktemp("no_weights")
    env = {
        "TORCH_HOME": str(home),
        "ALEXNET_WEIGHTS": "",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    with running_app(env) as url:
        yield url, home


@pytest.mark.parametrize("locale, words", [("ko-KR", "사진 분류를 쓸 수 없어요")])
def test_without_weights_the_photo_tab_is_disabled_with_the_reason_until_they_arrive(
    browser, app_without_weights, locale, words
):
    url, home = app_without_weights
    time.sleep(4)  # the app has tried to load them (a few seconds after start)
    page = open_tab(browser, url, "photo", size="phone", locale=locale)
    wait_for_text(page.locator("#weights-notice"), words, timeout=30)
    assert page.locator("#photo-run").is_disabled()
    assert page.locator("#photo-input input[type=file]").count() == 0  # no upload to make
    assert not page.locator("#photo-examples").is_visible()
    assert not page.locator("#photo-prediction").inner_text().lower().count("error")
    ready = write_standin_weights(home.parent / "weights_to_copy") / "hub" / "checkpoints"
    for file in ready.iterdir():  # an admin copies the weights in
        (home / "hub" / "checkpoints").mkdir(parents=True, exist_ok=True)
        shutil.copy(file, home / "hub" / "checkpoints" / file.name)
    deadline = time.monotonic() + 40
    while page.locator("#photo-run").is_disabled() and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert page.locator("#photo-run").is_enabled(), "Classify did not come back with the weights"
    assert page.locator("#photo-examples").is_visible() and not page.locator("#weights-notice").is_visible()
    page.locator("#photo-input input[type=file]").set_input_files(CAT)
    wait_for_text(page.locator("#photo-timing"), "ms")
    page.close()
