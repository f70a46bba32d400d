"""Driving the app in a real browser: Debian's Chromium through Playwright.

Playwright's own browser download does not work on every machine (no internet), so the tests
launch the system Chromium. Without one, browser tests are skipped with the reason, unless
``REQUIRE_BROWSER=1`` (as CI sets) turns the absence into a failure.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from harness.digit_drawings import Drawing

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
TABS = {"digit": "Digit", "train": "Train", "photo": "Photo", "finetune": "Fine-tune", "compare": "Compare"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # a webcam for the dataset builder: Chromium's test pattern, access granted without a prompt
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


def chromium_path() -> str:
    """The system Chromium, or a skip (a failure under REQUIRE_BROWSER=1) when there is none."""
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        message = "no Chromium found: install it with `apt-get install -y chromium`"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def page_with_scripts(browser, scripts):
    """A blank page with ``scripts`` (paths) loaded in order; its uncaught errors kept in ``page.errors``."""
    page = browser.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_content("<html><body></body></html>")
    for script in scripts:
        page.add_script_tag(content=script.read_text())
    return page


def open_tab(browser, url: str, tab: str = "digit", size: str = "desktop", theme: str = "light", locale: str = "en-US"):
    """A fresh page of the app on ``tab``, at a desktop or phone size (a phone has touch), in a
    theme and a browser language. Console errors and page errors are kept in ``page.console_errors``."""
    width, height = SIZES[size]
    page = browser.new_page(
        viewport={"width": width, "height": height}, locale=locale, has_touch=size == "phone", is_mobile=size == "phone"
    )
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.goto(f"{url}/?__theme={theme}")
    page.wait_for_selector("#digit-canvas canvas", timeout=60_000)
    if tab != "digit":
        page.get_by_role("tab").nth(list(TABS).index(tab)).click()  # by place: its name is translated
    return page


def ready(page) -> None:
    """Wait until the digit tab's LeNet has its weights (it runs in the page)."""
    page.wait_for_selector("#digit-canvas canvas", timeout=60_000)
    page.evaluate("window.digitLab.ready")


def canvas_geometry(page) -> tuple[float, float, float]:
    """Centre (x, y) of the drawing area on the page and its zoom (page px per canvas px)."""
    box = page.locator("#digit-canvas canvas").first.bounding_box()
    size = page.evaluate("document.querySelector('#digit-canvas canvas').width")
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] / size


def on_page(page, drawing: Drawing, most: int = 16) -> list[list[tuple[float, float]]]:
    """The drawing's strokes in page coordinates, each thinned to at most ``most`` points.

    Software-rendered canvases redraw on every pointer event, so fewer points draw much faster;
    the canvas joins them with straight segments, as it does for a quick real hand.
    """
    cx, cy, zoom = canvas_geometry(page)
    w, h = drawing.canvas
    strokes = []
    for stroke in drawing.strokes:
        step = max(1, -(-len(stroke) // most))
        kept = stroke[::step] + ([stroke[-1]] if (len(stroke) - 1) % step else [])
        strokes.append([(cx + (x - w / 2) * zoom, cy + (y - h / 2) * zoom) for x, y in kept])
    return strokes


def draw_with_mouse(page, drawing: Drawing) -> None:
    """Draw ``drawing``'s strokes with the mouse onto the digit canvas (canvas coordinates)."""
    for points in on_page(page, drawing):
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
        page.mouse.up()


def draw_with_finger(page, drawing: Drawing) -> None:
    """Draw with touch events (a phone), through the Chrome DevTools Protocol."""
    cdp = page.context.new_cdp_session(page)
    for points in on_page(page, drawing):
        for i, (x, y) in enumerate(points):
            touch = {"x": x, "y": y, "id": 1, "radiusX": 6, "radiusY": 6, "force": 1}
            kind = "touchStart" if i == 0 else "touchMove"
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [touch]})
            time.sleep(0.02)  # a finger moves in time, not in one burst
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def shown_digit(page) -> str:
    """The first line of #digit-prediction: the top digit ("" or "–" when there is none)."""
    box = page.locator("#digit-prediction")
    text = box.inner_text().strip() if box.count() else ""
    return text.splitlines()[0].strip() if text else ""


def prediction(page, timeout: float = 10.0) -> str:
    """The digit LeNet shows: read in the page, it is there as soon as the last stroke ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        digit = shown_digit(page)
        if digit.isdigit():
            return digit
        time.sleep(0.05)
    return shown_digit(page)


def wait_for_text(locator, text: str, timeout: float = 60.0) -> str:
    """The locator's text once it contains ``text`` (polled every 0.2 s), or an AssertionError
    saying what was there instead."""
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        content = locator.inner_text() if locator.count() else ""
        if text in content:
            return content
        time.sleep(0.2)
    raise AssertionError(f"{text!r} did not appear; last seen: {content[:300]!r}")


# Every piece of text a visitor can see or hear on the page: text nodes of shown elements (SVG text
# included, Gradio's font-size-0 replaced words excluded), CSS-generated ::before/::after words,
# placeholders, and the names a screen reader says (aria-label, title, alt); code (code, pre, a code
# editor, translate=no) is left out on request.
# document.body.innerText misses SVG charts' text, generated content, placeholders and labels.
VISIBLE_TEXTS_JS = """
(skipCode) => {
  const out = [];
  const shown = (el) => el && el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })
    && parseFloat(getComputedStyle(el).fontSize) > 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || el.closest('script, style, noscript, template')) continue;
    if (skipCode && el.closest('code, pre, .cm-editor, [translate=no]')) continue;
    if (el.closest('[aria-hidden=true]') && !el.closest('svg')) continue;
    if (shown(el)) out.push(text);
  }
  for (const el of document.body.querySelectorAll('*')) {
    if (!el.checkVisibility || !el.checkVisibility()) continue;
    for (const pseudo of ['::before', '::after']) {
      const content = getComputedStyle(el, pseudo).content;
      if (content && content.startsWith('"') && content.length > 2) out.push(content.slice(1, -1));
    }
    for (const name of ['placeholder', 'aria-label', 'title', 'alt']) {
      const value = el.getAttribute(name);
      if (value && value.trim()) out.push(value.trim());
    }
  }
  return out;
}
"""


def visible_texts(page, skip_code: bool = False) -> list[str]:
    """Every text a visitor sees or hears on the page (see ``VISIBLE_TEXTS_JS``), without what is in
    code blocks if ``skip_code``."""
    return page.evaluate(VISIBLE_TEXTS_JS, skip_code)


# A page is ready for a full-page screenshot when the open tab has drawn all its parts (Gradio mounts a
# tab's components as their code arrives: a form stays empty, a Markdown absent, for a while on a busy
# machine) and nothing has changed for a moment; the pictures a visitor would meet by scrolling down
# (lazy-loaded images, which a full-page screenshot never scrolls to) are loaded, and none is broken.
SETTLED_JS = """
async ([quiet, timeout]) => {
  let last = performance.now();
  const observer = new MutationObserver(() => (last = performance.now()));
  observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  const shown = (e) => e.checkVisibility();
  const unmounted = () => [...document.querySelectorAll('[role=tabpanel] .form')]
    .filter((form) => shown(form) && form.children.length === 0).length;
  const started = performance.now();
  while (performance.now() - started < timeout && (unmounted() || performance.now() - last < quiet)) {
    await new Promise((r) => setTimeout(r, 100));
  }
  observer.disconnect();
  for (const image of document.querySelectorAll('img[loading=lazy]')) image.loading = 'eager';
  const images = () => [...document.images].filter((i) => shown(i) && i.getAttribute('src'));
  while (performance.now() - started < timeout && !images().every((i) => i.complete)) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    unmounted: unmounted(),
    broken: images().filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.src.slice(0, 80)),
  };
}
"""


def settle_for_a_screenshot(page, quiet_ms: int = 800, timeout_ms: int = 20_000) -> None:
    """Wait until the page is whole and still (see ``SETTLED_JS``); fail saying what is missing."""
    found = page.evaluate(SETTLED_JS, [quiet_ms, timeout_ms])
    assert not found["unmounted"], f"{found['unmounted']} parts of the open tab were never drawn"
    assert not found["broken"], f"pictures not shown: {found['broken']}"


STANDIN_CAPTION_JS = """
([words, places]) => {
  const caption = () => {
    const note = document.createElement('div');
    note.className = 'standin-caption';
    note.textContent = '⚠ ' + words;
    note.style.cssText = 'background:#fde68a;color:#111;border:2px solid #b45309;border-radius:6px;'
      + 'padding:6px 10px;margin:6px 0;font:600 15px/1.35 sans-serif;position:relative;z-index:10';
    return note;
  };
  document.body.prepend(caption());
  for (const selector of places) document.querySelector(selector)?.before(caption());
}
"""


def save_screenshot(page, name: str, standin: tuple[str, ...] = (), element: str | None = None) -> None:
    """A screenshot into ``$SAVE_SCREENSHOTS`` when it is set (the README links them): of the whole
    page, or of ``element``, once settled; a stand-in AlexNet's answers (``standin``: where they are)
    captioned as such."""
    if not os.environ.get("SAVE_SCREENSHOTS"):
        return
    folder = Path(os.environ["SAVE_SCREENSHOTS"])
    folder.mkdir(parents=True, exist_ok=True)
    settle_for_a_screenshot(page)
    if standin:
        caption_standin(page, "en", standin)
    path = str(folder / f"{name}.png")
    page.locator(element).screenshot(path=path) if element else page.screenshot(path=path, full_page=True)


def caption_standin(page, language: str = "en", places: tuple[str, ...] = ()) -> None:
    """Write on the page, at its top and above each of ``places``, that it runs on stand-in weights
    (for screenshots: their ImageNet labels must not read as a real AlexNet's)."""
    from ui.text import TEXT

    page.evaluate(STANDIN_CAPTION_JS, [TEXT[language]["screenshot_standin"], list(places)])
    page.wait_for_timeout(300)
