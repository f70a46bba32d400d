"""The first load on a cold cache: what a visitor downloads until LeNet answers a drawn digit.

    python -m bench.first_load                 # this checkout
    python -m bench.first_load --app DIR       # another checkout (e.g. a worktree of an older main)

Starts ``python app.py`` (stand-in ImageNet weights, as the tests do), opens the page in a fresh
Chromium (an empty cache: a new profile, and the cache disabled through the DevTools protocol),
waits until the digit canvas can be drawn on and LeNet's weights are in the page, draws a 7 with
the mouse and waits for LeNet's answer on screen. Everything the page fetched until that answer is
counted as the network transferred it (the DevTools protocol's ``encodedDataLength``: compressed
bodies plus headers, what DevTools shows as "transferred"); what it goes on fetching afterwards,
within ``--settle`` seconds, is printed apart. The figure the README quotes is the first.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from bench import app_in_chromium
from harness.browser import draw_with_mouse, prediction, ready
from harness.digit_drawings import random_drawing
from harness.server import ROOT

BUDGET = 1_000_000  # issue 22: the first load, until LeNet answers, is at most 1.0 MB


@dataclass
class Transfer:
    """One request as the network saw it: where to, its type and encoding, the bytes it took."""

    url: str
    kind: str = ""
    encoding: str = ""
    body: int = 0  # the decoded body, as the page sees it
    transferred: int = 0  # bytes on the wire: headers and the (compressed) body
    finished: bool = False

    @property
    def name(self) -> str:
        parts = urlsplit(self.url)
        if parts.scheme == "data":
            return self.url[:40] + "..."
        name = parts.path + ("?" + parts.query if parts.query else "")
        return name if len(name) <= 70 else name[:32] + "..." + name[-35:]


class NetworkLog:
    """Every request of a page, through the DevTools protocol (Chromium's own byte counts)."""

    def __init__(self, page) -> None:
        self.transfers: dict[str, Transfer] = {}
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.cdp.on("Network.requestWillBeSent", self.sent)
        self.cdp.on("Network.responseReceived", self.received)
        self.cdp.on("Network.dataReceived", self.data)
        self.cdp.on("Network.loadingFinished", self.finished)

    def sent(self, event: dict) -> None:
        self.transfers.setdefault(event["requestId"], Transfer(event["request"]["url"]))

    def received(self, event: dict) -> None:
        transfer = self.transfers.setdefault(event["requestId"], Transfer(event["response"]["url"]))
        headers = {key.lower(): value for key, value in event["response"].get("headers", {}).items()}
        transfer.kind, transfer.encoding = event["type"], headers.get("content-encoding", "")

    def data(self, event: dict) -> None:  # streams (the queue's SSE) never finish: count what came
        transfer = self.transfers.get(event["requestId"])
        if transfer is not None:
            transfer.body += event["dataLength"]
            transfer.transferred += event["encodedDataLength"]

    def finished(self, event: dict) -> None:
        transfer = self.transfers.get(event["requestId"])
        if transfer is not None:
            transfer.transferred, transfer.finished = int(event["encodedDataLength"]), True

    def snapshot(self) -> list[Transfer]:
        """The requests so far (data: URLs cost nothing on the network and are left out)."""
        return [Transfer(**vars(t)) for t in self.transfers.values() if not t.url.startswith("data:")]


def measure(app: Path, digit: int = 7, settle: float = 3.0) -> tuple[list[Transfer], list[Transfer], float]:
    """Load the page of ``app`` cold and read one drawn digit: (requests until the answer, requests
    after it within ``settle`` s, seconds from navigation to the answer)."""
    with app_in_chromium(app) as (url, browser):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        network = NetworkLog(page)
        started = time.monotonic()
        page.goto(url)
        ready(page)  # the canvas is there and LeNet's weights are parsed
        draw_with_mouse(page, random_drawing(digit, np.random.default_rng(0), size=(0.5, 0.8)))
        answer = prediction(page, timeout=30)
        if not answer.isdigit():
            raise RuntimeError(f"LeNet gave no answer to the drawing (saw {answer!r})")
        seconds = time.monotonic() - started
        until_answer = network.snapshot()
        time.sleep(settle)
        seen = {t.url for t in until_answer}
        afterwards = [t for t in network.snapshot() if t.url not in seen]
    return until_answer, afterwards, seconds


def kilobytes(n: int) -> str:
    return f"{n / 1000:,.1f} KB"


def report(title: str, transfers: list[Transfer], biggest: int) -> None:
    wire, body = sum(t.transferred for t in transfers), sum(t.body for t in transfers)
    print(f"{title}: {kilobytes(wire)} transferred ({kilobytes(body)} decoded) in {len(transfers)} requests")
    for t in sorted(transfers, key=lambda t: -t.transferred)[:biggest]:
        encoding = t.encoding or "identity"
        print(f"  {kilobytes(t.transferred):>10}  {kilobytes(t.body):>10}  {t.kind:<10} {encoding:<8} {t.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT, help="the checkout whose app.py to run")
    parser.add_argument("--biggest", type=int, default=12, help="how many of the largest items to list")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to watch after the answer")
    args = parser.parse_args()
    until_answer, afterwards, seconds = measure(args.app.resolve(), settle=args.settle)
    print(f"app: {args.app.resolve()}   (columns: transferred, decoded, type, content-encoding, path)")
    report("until LeNet's first answer", until_answer, args.biggest)
    report(f"after it, within {args.settle:g} s", afterwards, args.biggest)
    wire = sum(t.transferred for t in until_answer)
    verdict = "within" if wire <= BUDGET else "over"
    print(f"first load: {wire / 1e6:.2f} MB in {len(until_answer)} requests, answer after {seconds:.1f} s")
    print(f"({verdict} the {BUDGET / 1e6:.1f} MB budget)")


if __name__ == "__main__":
    main()
