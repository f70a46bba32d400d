"""One Korean word for each term (assets/glossary.json), used in every Korean sentence and shown on
the compare tab with the English beside it."""

from __future__ import annotations

import json

from harness.browser import open_tab, wait_for_text
from harness.server import ROOT
from ui.text import GLOSSARY, TEXT


def test_no_korean_sentence_uses_a_word_the_glossary_avoids():
    found = [
        (key, avoided)
        for key, sentence in TEXT["ko"].items()
        for term in GLOSSARY
        for avoided in term["avoid"]
        if avoided in sentence
    ]
    assert not found, found[:10]


def test_the_glossary_terms_are_the_ones_the_korean_page_uses():
    korean = " ".join(TEXT["ko"].values())
    for word in ("합성곱", "특성 맵", "완전 연결층", "매개변수", "출력층", "미세 조정", "무게중심", "에포크"):
        assert any(word in term["ko"] for term in GLOSSARY), word
        assert word in korean, f"{word} is in the glossary but no sentence uses it"
    entries = json.loads((ROOT / "assets" / "glossary.json").read_text(encoding="utf-8"))["terms"]
    assert len({term["en"] for term in entries}) == len(entries)  # each term once


def test_the_compare_tab_shows_the_glossary_in_both_languages(browser, app_url):
    page = open_tab(browser, app_url, "compare", locale="ko-KR")
    page.locator("#glossary").get_by_text("용어집").first.click()
    text = wait_for_text(page.locator("#glossary-table"), "feature map", timeout=30)
    assert "특성 맵" in text and "fully connected (FC) layer" in text and "완전 연결층" in text
    page.close()
