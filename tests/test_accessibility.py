"""axe-core (through axe-playwright-python) on the train, photo, fine-tune and compare tabs, each in a used
state, held to a bare gr.Blocks page with the same kinds of components (tests/bare_blocks.py): the app
adds no serious or critical finding of its own (one allowed for the difference in content), in light and
dark, on a computer and a phone, no unnamed button, no prohibited ARIA attribute, no region that
scrolls out of a keyboard's reach.

The used states cost a LeNet run and a fine-tune, so the tabs are audited in the walk of
tests/test_browser_tabs.py (``test_each_tab_works_at_every_size_and_theme``: every tab used once per
size, then seen in both themes), against a bare page's findings from ``bare_page_findings`` here
(kept by conftest's ``bare_findings``). The digit tab has its own, tests/test_digit_accessibility.py."""

from __future__ import annotations

import pytest

SERIOUS = ("serious", "critical")
BARE_TABS = {"photo": 0, "compare": 1, "train": 2, "finetune": 3}  # tests/bare_blocks.py's tabs
AUDITED = tuple(BARE_TABS)


def serious_findings(page) -> dict[str, int]:
    """axe's serious and critical findings on the page: {rule: number of elements}."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return {
        violation["id"]: len(violation["nodes"])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    }


def in_theme(page, theme: str) -> None:
    """The same page in ``theme``: Gradio's ``dark`` class on the body, which is what ``?__theme=dark``
    sets and every colour of the app follows."""
    page.evaluate(f"document.body.classList.toggle('dark', {str(theme == 'dark').lower()})")
    page.wait_for_timeout(500)


def bare_page_findings(browser, url: str, tab: str, size: str) -> dict[str, dict[str, int]]:
    """A bare Gradio page's serious findings for that tab's kinds of components, in both themes."""
    width, height = {"desktop": (1280, 900), "phone": (390, 844)}[size]
    page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=size == "phone", has_touch=True)
    page.goto(f"{url}/?__theme=light")
    page.get_by_role("tab").nth(BARE_TABS[tab]).click()
    page.wait_for_timeout(1500)
    found = {}
    for theme in ("light", "dark"):
        in_theme(page, theme)
        found[theme] = serious_findings(page)
    page.close()
    return found


def assert_no_more_findings_than_a_bare_page(mine: dict[str, int], bare: dict[str, int], where: str) -> None:
    assert sum(mine.values()) <= sum(bare.values()) + 1, f"{where}: {mine}; a bare page: {bare}"
    assert mine.get("button-name", 0) <= bare.get("button-name", 0), f"{where}: an unnamed button of the app's own"
    assert mine.get("aria-prohibited-attr", 0) <= bare.get("aria-prohibited-attr", 0), f"{where}: {mine}"
    assert "scrollable-region-focusable" not in mine, f"{where}: a region scrolls but a keyboard cannot reach it"


def test_a_bare_page_is_audited_for_every_tab_the_app_has_besides_the_digit_tab():
    from harness.browser import TABS

    assert set(AUDITED) == set(TABS) - {"digit"}


def test_the_check_fails_on_a_finding_of_the_apps_own():
    with pytest.raises(AssertionError, match="unnamed button"):
        assert_no_more_findings_than_a_bare_page({"button-name": 1}, {}, "photo")
    with pytest.raises(AssertionError, match="keyboard"):
        assert_no_more_findings_than_a_bare_page({"scrollable-region-focusable": 1}, {"color-contrast": 3}, "x")
    assert_no_more_findings_than_a_bare_page({"color-contrast": 4}, {"color-contrast": 3}, "compare")
