"""The digit tab in Chromium: how fast the answer follows the pen, and what the server sees.

    python -m bench.browser_digits            # prints a table the README quotes

Starts ``python app.py``, opens the page in Debian's Chromium (Playwright), draws hand-drawn-style
digits with the mouse and measures, in the page, the time from each stroke's end (the pointerup)
to the answer on screen (the lab's "digit-read" event, after every picture is redrawn), and the
time a full read of the 400x400 canvas takes while the pen moves. It counts the requests the page
sends the server while drawing (none is the goal) and what the page downloads once for LeNet.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bench import app_in_chromium
from harness.browser import draw_with_mouse, ready
from harness.digit_drawings import random_drawing

INSTRUMENT = """() => {
  window.strokeEnds = []; window.answers = [];
  const canvas = document.querySelector('#digit-canvas canvas');
  canvas.addEventListener('pointerup', () => window.strokeEnds.push(performance.now()), {capture: true});
  document.querySelector('#digit-lab').addEventListener('digit-read', () => window.answers.push(performance.now()));
}"""


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=20)
    args = parser.parse_args()
    with app_in_chromium() as (url, browser):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        downloaded: dict[str, int] = {}
        page.on("response", lambda r: downloaded.__setitem__(r.url, len(r.body())) if "lenet_mnist" in r.url else None)
        started = time.monotonic()
        page.goto(url)
        ready(page)
        to_ready = time.monotonic() - started
        time.sleep(2)  # the page's own start-up requests are done
        page.evaluate(INSTRUMENT)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url) if r.url.startswith(url) else None)
        rng = np.random.default_rng(0)
        delays, right = [], 0
        for i in range(args.digits):
            digit = i % 10
            draw_with_mouse(page, random_drawing(digit, rng, size=(0.5, 0.8)))
            time.sleep(0.2)
            ends, answers = page.evaluate("[window.strokeEnds, window.answers]")
            for end in ends:  # the first answer after each stroke's end
                delays.append(min(a for a in answers if a >= end) - end)
            right += page.evaluate("window.digitLab.reading().top[0].label") == str(digit)
            page.evaluate("window.strokeEnds = []; window.answers = []; window.digitLab.clear();")
        engine = page.evaluate("""() => {
            const canvas = document.querySelector('#digit-canvas canvas');
            window.digitLab.load(7);
            const alpha = new Uint8Array(400 * 400);
            const pixels = canvas.getContext('2d').getImageData(0, 0, 400, 400).data;
            for (let i = 0; i < alpha.length; i++) alpha[i] = pixels[4 * i + 3];
            const times = [];
            for (let i = 0; i < 30; i++) {
              const t = performance.now();
              LeNetEngine.readDrawing(alpha, 400, 400, window.digitLab.model());
              times.push(performance.now() - t);
            }
            return times.sort((a, b) => a - b)[15];
        }""")
    weights = sum(downloaded.values())
    print(f"| figure ({args.digits} mouse-drawn digits, Chromium, this machine) | value |")
    print("| --- | ---: |")
    print(f"| digits read right, in the page | {right} of {args.digits} |")
    print(
        f"| stroke's end to answer on screen: median / p95 / max | {statistics.median(delays):.0f} / "
        f"{percentile(delays, 95):.0f} / {max(delays):.0f} ms |"
    )
    print(f"| one read of the 400x400 canvas (preprocessing + LeNet), median | {engine:.1f} ms |")
    print(f"| requests to the server while drawing | {len(requests)} |")
    print(f"| LeNet's weights, downloaded once | {weights / 1024:.0f} KB |")
    print(f"| page load to LeNet ready | {to_ready:.1f} s |")


if __name__ == "__main__":
    main()
