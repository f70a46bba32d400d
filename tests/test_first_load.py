"""The first load is small (issue 22): the page is sent compressed, and a visitor's browser downloads
only what the digit tab uses; each other tab brings its own code when it first opens.

The figure itself (1.88 MB this morning, now under 1.0 MB until LeNet's first answer) comes from
``python -m bench.first_load``; these checks fail if what makes it small breaks.
"""

from __future__ import annotations

import gzip
import time
import urllib.request

from harness.browser import TABS, ready


def get(url: str, **headers: str) -> tuple[str | None, bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return response.headers.get("Content-Encoding"), response.read()


def test_the_page_and_its_config_are_sent_compressed(app_url):
    for path in ("/", "/config"):
        encoding, sent = get(app_url + path, **{"Accept-Encoding": "gzip"})
        assert encoding == "gzip", path
        assert len(sent) * 3 < len(gzip.decompress(sent)), path  # the page: about 700 KB -> 150 KB
    encoding, page = get(app_url + "/")  # a client that accepts no compression gets the page as it is
    assert encoding is None and b"<html" in page[:2000].lower()


def test_the_first_load_leaves_other_tabs_code_until_they_open(browser, app_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(app_url)
    ready(page)
    time.sleep(1)  # anything the page would still fetch on its own
    video = [url for url in requested if any(name in url for name in ("/hls-", "/Video-", "/Gallery-"))]
    assert video == [], "the first load downloads a video player no tab on it uses"
    page.get_by_role("tab").nth(list(TABS).index("finetune")).click()
    page.locator("#finetune-zip input[type=file]").wait_for(state="attached", timeout=30_000)
    assert page.locator("#finetune-zip").is_visible()
    deadline = time.monotonic() + 30
    while not any("/Gallery-" in url for url in requested) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert any("/Gallery-" in url for url in requested), "the fine-tune lab's galleries arrive when it opens"
    page.get_by_role("tab").nth(list(TABS).index("digit")).click()
    page.get_by_role("tab").nth(list(TABS).index("finetune")).click()  # opened again: still all there
    assert page.locator("#finetune-zip").is_visible()
    page.close()
