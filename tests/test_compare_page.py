"""The compare tab read on a phone and in Korean: the models table scrolls inside its box with every row
and column whole, numbers never break, the claims read as cards, model names in the page's language."""

from __future__ import annotations

import pytest

from harness.browser import open_tab, wait_for_text

PHONE_WIDTH = 390


def open_compare(browser, app_url, size: str, locale: str):
    page = open_tab(browser, app_url, "compare", size=size, locale=locale)
    wait_for_text(page.locator("#models-table"), "62,378,344")
    page.get_by_label("VGG-16").check()
    page.get_by_label("ResNet-18").check()
    wait_for_text(page.locator("#compute-split"), "ResNet-18")
    wait_for_text(page.locator("#models-table"), "ResNet-18")
    return page


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
def test_the_models_table_reads_on_a_phone(browser, app_url, locale):
    page = open_compare(browser, app_url, "phone", locale)
    layout = page.evaluate("""() => {
        const box = document.querySelector('#models-table .cc-scroll');
        const rows = [...box.querySelectorAll('tbody tr')];
        const cells = [...box.querySelectorAll('tbody td:not(:first-child)')];
        const lines = (td) => {  // the line boxes its text occupies (a row is as tall as its tallest cell)
            const range = document.createRange();
            range.selectNodeContents(td);
            return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
        };
        return {
            pageWidth: document.documentElement.scrollWidth,
            boxRight: box.getBoundingClientRect().right,
            scrolls: box.scrollWidth > box.clientWidth,
            rows: rows.length,
            rowHeights: rows.map((r) => r.getBoundingClientRect().height),
            broken: cells.filter((td) => lines(td) > 1).map((td) => td.innerText),
            columns: box.querySelectorAll('thead th').length,
        };
    }""")
    assert layout["pageWidth"] <= PHONE_WIDTH, "the page itself scrolls sideways"
    assert layout["boxRight"] <= PHONE_WIDTH + 1 and layout["scrolls"], "the table scrolls inside its own box"
    assert layout["rows"] == 8 and min(layout["rowHeights"]) > 20, layout  # 6 models + VGG-16 + ResNet-18, whole
    assert layout["columns"] == 11
    assert not layout["broken"], f"numbers broken over lines: {layout['broken']}"
    last = page.locator("#models-table thead th").last
    last.scroll_into_view_if_needed()
    assert last.is_visible()  # the last column can be reached
    nowrap = page.evaluate("""() => getComputedStyle([...document.querySelectorAll('#models-table td')]
        .find((td) => td.innerText === '1,135,256,096')).whiteSpace""")
    assert nowrap == "nowrap"
    page.close()


def test_the_claims_are_cards_on_a_phone_and_words_stay_whole(browser, app_url):
    page = open_tab(browser, app_url, "compare", size="phone")
    wait_for_text(page.locator("#claims-table"), "LeNet")
    cards = page.evaluate("""() => [...document.querySelectorAll('#claims-table tbody tr')].map((tr) => ({
        width: tr.getBoundingClientRect().width,
        room: tr.closest('table').parentElement.clientWidth,
        cells: [...tr.querySelectorAll('td')].map((td) => getComputedStyle(td).display),
        heading: getComputedStyle(tr.querySelector('td'), '::before').content,
    }))""")
    assert len(cards) >= 4
    for card in cards:
        assert card["width"] >= 0.9 * card["room"] > 250 and set(card["cells"]) == {"block"}, card  # as wide as its box
        assert card["heading"] not in ("none", "normal", '""'), card  # each part says what it is
    page.close()


def test_model_names_are_korean_on_the_korean_page(browser, app_url):
    page = open_compare(browser, app_url, "desktop", "ko-KR")
    table = page.locator("#models-table").inner_text()
    assert "LeNet (노트, 3채널)" in table and "AlexNet + 새 출력층 (5개 클래스)" in table
    assert "note, 3 channels" not in table
    for chart in ("#params-chart", "#compute-chart", "#params-split", "#compute-split"):
        names = page.locator(f"{chart} .cc-name").all_inner_texts()
        assert "LeNet (노트, 3채널)" in names and "VGG-16" in names, (chart, names)
    page.close()
