"""The fine-tune lab as a newcomer meets it (issue 22): the feedback in view, a steady progress readout,
sizes that agree, results readable on a phone, and a Korean page in Korean.

In Chromium at desktop (1280x900) and phone (390x844, touch) sizes, with the stand-in weights.
"""

from __future__ import annotations

import re

import pytest

from harness import zips
from harness.browser import open_tab, wait_for_text
from harness.server import ROOT
from nets.training import finetune
from ui.finetune_job import snippet_text

IN_VIEW = """(selector) => {
  const box = document.querySelector(selector)?.getBoundingClientRect();
  return !!box && box.height > 0 && box.top >= -1 && box.bottom <= window.innerHeight + 1;
}"""


class KoreanPage:
    """Stands for a request from a Korean page (``ui.text.language`` reads its cookie)."""

    cookies = {"classic_cnns_language": "ko"}
    headers: dict[str, str] = {}


@pytest.fixture(scope="module")
def flat_zip(tmp_path_factory) -> str:
    """Three classes of drawn shapes and two files the reader skips (a README, a notes.txt)."""
    path = tmp_path_factory.mktemp("newcomer") / "shapes_and_notes.zip"
    path.write_bytes(zips.flat_zip())
    return str(path)


def without_comments(code: str) -> list[str]:
    return [line.split("#")[0].rstrip() for line in code.splitlines()]


def test_the_korean_snippet_is_the_same_code_with_korean_comments():
    english, korean = snippet_text(None), snippet_text(KoreanPage())
    assert english == finetune.SNIPPET.format(file="finetuned_alexnet.pt")  # the one a test runs
    assert without_comments(korean) == without_comments(english)  # line for line the same code
    comments = [line.split("# ", 1)[1] for line in korean.splitlines() if "# " in line]
    assert len(comments) == english.count("# ") == 5
    assert all(re.search(r"[\uac00-\ud7a3]", comment) for comment in comments), comments


def test_the_feedback_comes_into_view_at_start_with_a_steady_readout(browser, app_url, flat_zip):
    page = open_tab(browser, app_url, "finetune")  # 1280x900: Fine-tune is the last thing in view
    page.locator("#finetune-zip input[type=file]").set_input_files(flat_zip)
    page.get_by_label("Whole classifier (54.5M parameters): slower").check()  # epochs of seconds: watchable
    epochs = page.locator("#finetune-epochs input[type=number]")
    epochs.fill("3")
    epochs.press("Enter")
    page.locator("#finetune-start").click()
    # the readout: a sentence of its own, legible (not dimmed) while the job runs, in view
    page.wait_for_function(
        "/Epoch \\d of 3 · validation accuracy \\d+%/.test("
        "document.querySelector('#finetune-progress .ft-readout')?.textContent || '')",
        timeout=180_000,
    )
    assert page.evaluate(f"({IN_VIEW})('#finetune-progress')"), "the progress is below the fold"
    assert page.evaluate(f"({IN_VIEW})('#finetune-status')"), "the status is below the fold"
    opacity = page.evaluate("""() => {
        let e = document.querySelector('#finetune-progress .ft-readout'), o = 1;
        for (; e; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity);
        return o;
    }""")
    assert opacity > 0.9, f"the readout is dimmed to {opacity:.2f}"
    readout = page.locator("#finetune-progress .ft-readout").bounding_box()
    tracker = page.locator("#finetune-progress .progress-text, #finetune-progress .meta-text").all()
    for text in tracker:  # Gradio's own bar and its text do not cover the readout
        box = text.bounding_box()
        if box is not None:
            assert box["y"] + box["height"] <= readout["y"] + 40, (box, readout)
    status = wait_for_text(page.locator("#finetune-status"), "Done:", timeout=240)
    assert "optimistic" in status and "chosen on these same validation images" in status
    assert page.evaluate("document.querySelector('#finetune-loss svg').getBoundingClientRect().top < innerHeight")
    # one file, one size: the label says the file's size in MB of 10^6 bytes, Gradio's own 2^20 count is hidden
    page.locator("#finetune-prepare-download").click()
    label = wait_for_text(page.locator("#finetune-download"), "MB)", timeout=120)
    button = page.locator("#finetune-prepare-download").inner_text()
    promised, written = (float(re.search(r"\(([\d.]+) MB\)", text).group(1)) for text in (button, label))
    assert abs(promised - written) <= 1, (button, label)  # one size (the file holds a little more than the weights)
    assert page.locator("#finetune-download td.download a").evaluate("a => getComputedStyle(a).fontSize") == "0px"
    assert not page.console_errors, page.console_errors
    page.close()


def test_a_korean_phone_reads_every_result_whole(browser, app_url, flat_zip):
    page = open_tab(browser, app_url, "finetune", "phone", theme="dark", locale="ko-KR")
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text))
    page.locator("#finetune-zip input[type=file]").set_input_files(flat_zip)
    page.locator("#finetune-start").click()
    status = wait_for_text(page.locator("#finetune-status"), "완료", timeout=240)
    assert "실제보다 좋게 나온 값" in status  # the best epoch was chosen on the same images: said plainly
    # the skipped files' headings are Korean words, and the page's i18n has nothing to complain about
    wait_for_text(page.locator("#finetune-skipped"), "건너뛴 까닭")
    assert not [w for w in warnings if "must be of type string" in w], warnings[:3]
    # the snippet: Korean comments, no line numbers to drift, nothing cut at the right
    code = page.locator("#finetune-snippet pre code").inner_text()
    assert "# 처음에 쓴 사전 학습 네트워크" in code and "the pretrained network" not in code
    assert code.startswith("# ")  # the code, with no line numbers before it
    hidden = page.evaluate("""() => { const s = document.querySelector('#finetune-snippet pre');
        return s.scrollWidth - s.clientWidth; }""")
    assert hidden <= 1, f"{hidden} px of the code are cut at the right"
    # the map: a tap names the dot under the finger (a phone has no hover)
    point = page.locator("#finetune-map g.cc-point").nth(5)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.touchscreen.tap(x, y)
    under = f"document.elementFromPoint({x}, {y}).closest('g.cc-point')"
    tapped = page.evaluate(f"{under}.querySelector('title').textContent")
    wait_for_text(page.locator("#finetune-map .cc-picked"), tapped, timeout=5)
    # a confusion cell's photos: each caption under its image, whole
    cells = page.locator("#finetune-confusion [role=gridcell]")
    page.wait_for_function("document.querySelectorAll('#finetune-confusion [role=gridcell]').length === 12")
    grid = [cells.nth(i).inner_text() for i in range(12)]
    row, column = next((r, c) for r in range(3) for c in range(1, 4) if int(grid[4 * r + c]) > 0)
    cells.nth(4 * row + column).click()
    page.locator("#finetune-cell img").first.wait_for(timeout=60_000)
    layout = page.evaluate("""() => [...document.querySelectorAll('#finetune-cell .thumbnail-item')].map((item) => {
        const image = item.querySelector('img').getBoundingClientRect();
        const caption = item.querySelector('.caption-label');
        return {below: caption.getBoundingClientRect().top >= image.bottom - 1,
                whole: caption.scrollWidth <= caption.clientWidth + 1, text: caption.innerText};
    })""")
    assert layout and all(item["below"] and item["whole"] for item in layout), layout
    # the mistakes: every row of photos can be reached (the box grows, then scrolls inside)
    if page.locator("#finetune-wrong img").count():
        reach = page.evaluate("""() => { const box = document.querySelector('#finetune-wrong .grid-wrap');
            const style = getComputedStyle(box);
            return box.scrollHeight <= box.clientHeight + 1 || ['auto', 'scroll'].includes(style.overflowY); }""")
        assert reach, "rows of the mistakes are cut off"
    # Gradio's footer link "Runs" is Korean on a Korean page
    runs = page.evaluate("getComputedStyle(document.querySelector('footer a.run-history'), '::before').content")
    assert "실행 기록" in runs
    assert not page.console_errors, page.console_errors
    page.close()


# Each syntax colour of the snippet against the block behind it (WCAG 2 contrast ratio), as a page sees them.
SNIPPET_COLOURS = """() => {
  const pre = document.querySelector('#finetune-snippet pre');
  let back = pre, fill = 'rgba(0, 0, 0, 0)';
  for (; back && fill === 'rgba(0, 0, 0, 0)'; back = back.parentElement) fill = getComputedStyle(back).backgroundColor;
  const luminance = (css) => {
    const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const text = getComputedStyle(pre).color, colours = {};
  for (const token of pre.querySelectorAll('.token')) {
    const colour = getComputedStyle(token).color;
    const kind = token.className.replace('token ', '');
    if (colour !== text) colours[kind] = [colour, Math.round(ratio(colour, fill) * 100) / 100];
  }
  const box = pre.getBoundingClientRect();
  const blank = box.height - pre.querySelector('code').getBoundingClientRect().height;
  return { colours, text: ratio(text, fill), blank };
}"""


def test_the_snippet_is_whole_in_syntax_colours_readable_light_and_dark(browser, app_url):
    page = open_tab(browser, app_url, "finetune")
    page.locator("#finetune-zip input[type=file]").set_input_files(str(ROOT / "assets" / "shapes.zip"))
    page.locator("#finetune-start").click()
    code = wait_for_text(page.locator("#finetune-snippet pre code"), "print(checkpoint", timeout=180)
    assert code.strip() == snippet_text(None).strip()  # every line, drawn (not only those near the window)
    page.locator("#finetune-snippet .copy_code_button").wait_for()  # a copy button, as the code box had
    for theme in ("light", "dark"):
        if theme == "dark":  # what ?__theme=dark sets
            page.evaluate("document.body.classList.add('dark')")
            page.wait_for_timeout(300)
        found = page.evaluate(SNIPPET_COLOURS)
        kinds = {kind.split()[0] for kind in found["colours"]}
        assert {"comment", "keyword", "string", "number"} <= kinds, f"{theme}: {found['colours']}"
        assert len({colour for colour, _ in found["colours"].values()}) >= 4, f"{theme}: {found['colours']}"
        faint = {kind: ratio for kind, (_, ratio) in found["colours"].items() if ratio < 4.5}
        assert not faint and found["text"] >= 4.5, f"{theme}: below 4.5:1 (WCAG AA): {faint}"
        assert found["blank"] < 40, f"{theme}: {found['blank']:.0f} px of blank box below the code"
    assert not page.console_errors, page.console_errors
    page.close()
