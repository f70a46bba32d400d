"""The train tab's default run in Chromium: LeNet trained in the page, timed, and what the server saw.

    python -m bench.browser_training             # prints a table the README quotes
    python -m bench.browser_training --runs 3    # the median of three runs (a fresh page each)

Starts ``python app.py``, opens the train tab in Debian's headless Chromium (Playwright), waits for
the training images (a static file, fetched when the tab shows), presses Train with the tab's
defaults (average pooling, ReLU, 2 epochs on 10,000 images, tested on all 2,000 test images after
each epoch) and measures, in the page, the time from the press to ``#train-status`` carrying its
``data-test-accuracy``. It counts the requests the page sends to the server's queue, upload and
call routes meanwhile (none is the goal; static files and Gradio's heartbeat are not work), and
what the page downloads for training (the scripts and the images).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench import app_in_chromium
from harness.browser import open_tab

WORK_ROUTES = ("/gradio_api/queue", "/gradio_api/upload", "/gradio_api/call", "/gradio_api/run")
TRAINED_IMAGES = 2 * 10_000  # the defaults: 2 epochs of 10,000 images


def is_work(url: str) -> bool:
    return any(route in url for route in WORK_ROUTES)


def one_run(browser, url: str) -> dict[str, float]:
    """One default run in a fresh page: seconds, accuracy, requests to the work routes, bytes for training."""
    page = open_tab(browser, url, "train")
    downloaded: dict[str, int] = {}

    def count(response) -> None:
        if "mnist_subset" in response.url or "lenet/" in response.url:
            downloaded[response.url] = len(response.body())

    page.on("response", count)
    page.wait_for_function("window.trainLab && window.trainLab.dataReady()", timeout=120_000)
    work: list[str] = []
    page.on("request", lambda r: work.append(r.url) if is_work(r.url) else None)
    started = page.evaluate("performance.now()")
    page.locator("#train-start").click()
    page.wait_for_function(
        "document.querySelector('#train-status')?.dataset.testAccuracy !== undefined", timeout=300_000, polling=100
    )
    seconds = (page.evaluate("performance.now()") - started) / 1000
    accuracy = float(page.locator("#train-status").get_attribute("data-test-accuracy"))
    page.close()
    return {"seconds": seconds, "accuracy": accuracy, "work": len(work), "megabytes": sum(downloaded.values()) / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with app_in_chromium() as (url, browser):
        runs = []
        for _ in range(args.runs):
            runs.append(one_run(browser, url))
            time.sleep(1)
    seconds = statistics.median(run["seconds"] for run in runs)
    print("| figure | value |")
    print("| --- | ---: |")
    print(
        f"| the default run (2 epochs x 10,000 images, 2 x 2,000 tested), press to result, median of {len(runs)} | "
        f"{seconds:.1f} s |"
    )
    print(f"| ... training images per second, tests included | {TRAINED_IMAGES / seconds:,.0f} |")
    accuracies = ", ".join(f"{run['accuracy']:.2%}" for run in runs)
    print(f"| ... test accuracy | {accuracies} |")
    print(
        f"| ... requests to the server's queue, upload and call routes while training | "
        f"{max(run['work'] for run in runs)} |"
    )
    megabytes = runs[0]["megabytes"]
    print(f"| the page's download for training (scripts and images, once; then cached) | {megabytes:.1f} MB |")


if __name__ == "__main__":
    main()
