"""A class of 40 on one link: the teacher says "everyone, fine-tune the example, now".

    TRUSTED_PROXIES=127.0.0.1 python -m bench.classroom            # prints the table the README quotes
    python -m bench.classroom --app /tmp/old                        # the same against another checkout
    python -m bench.classroom --only one-address --runs 1           # one scenario, one server

Starts ``python app.py`` (stand-in AlexNet weights) and plays a class with light HTTP visitors
(``harness.light_client``), each student a session of their own:

- **one-address**: 40 students behind one school address each upload ``assets/shapes.zip`` and
  press Fine-tune with the tab's defaults (new head, 20 epochs), all at once, while a visitor
  from another address shows a photo to AlexNet every second;
- **own-addresses**: the same, each student on an address of their own;
- **stranger-first**: a stranger on another address first queues 60 fine-tunes of other small
  datasets (30 images each, new head, a session each), then the class of 40 as above.

For each (on ``--runs`` fresh servers, 3 by default, pooled): how many were served, refused (by the
guard, before the queue) or failed, the median and the last student's time, and the photo
visitor's p50/p95 over every run's photos. The app under test believes the
addresses in X-Forwarded-For from 127.0.0.1 (``TRUSTED_PROXIES``, set by ``harness.server``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import weights_home
from harness import zips
from harness.light_client import Outcome, Visitor
from harness.server import ROOT, app_process

SCHOOL = "10.40.0.1"
PHOTO_VISITOR = "10.50.0.1"
STRANGER = "198.18.0.66"
STUDENTS = 40
STRANGER_JOBS = 60
DEFAULTS = ["head", 20, 1e-3, 32, True]  # the fine-tune tab's defaults: strategy, epochs, lr, batch, regularise


def student(url: str, address: str, archive: bytes, name: str = "shapes.zip") -> Outcome:
    visitor = Visitor(url, address)
    try:
        value = visitor.upload(name, archive)
    except Exception as error:  # the upload refused: the student is refused
        return Outcome("refused", 0.0, str(error)[:200], status=429)
    return visitor.call("finetune", [value, *DEFAULTS])


class PhotoVisitor(threading.Thread):
    """Another visitor showing a photo to AlexNet every second while the class works."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.visitor = Visitor(url, PHOTO_VISITOR)
        self.photo = self.visitor.upload("cat.jpg", (ROOT / "assets" / "photos" / "cat.jpg").read_bytes())
        self.times: list[float] = []
        self.failures: list[str] = []
        self.running = True

    def run(self) -> None:
        while self.running:
            outcome = self.visitor.call("classify_photo", [self.photo], timeout=60)
            if outcome.kind == "complete":
                self.times.append(outcome.seconds)
            else:
                self.failures.append(outcome.message[:120])
            time.sleep(max(0.0, 1.0 - outcome.seconds))


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run_class(url: str, addresses: list[str], stranger_jobs: int = 0) -> dict:
    archive = (ROOT / "assets" / "shapes.zip").read_bytes()
    photos = PhotoVisitor(url)
    photos.start()
    stranger: list = []
    pool = ThreadPoolExecutor(max_workers=len(addresses) + stranger_jobs)
    if stranger_jobs:
        datasets = [zips.colour_dataset_zip("flat", ("red", "green", "blue"), 10, seed=k) for k in range(stranger_jobs)]
        stranger = [pool.submit(student, url, STRANGER, data, f"set{k}.zip") for k, data in enumerate(datasets)]
        time.sleep(2.0)  # the stranger's jobs are in the queue first
    started = time.monotonic()
    futures = [pool.submit(student, url, address, archive) for address in addresses]
    outcomes = [f.result() for f in futures]
    class_seconds = time.monotonic() - started
    stranger_outcomes = [f.result() for f in stranger]
    photos.running = False
    photos.join(70)
    pool.shutdown()
    done = [o.seconds for o in outcomes if o.kind == "complete"]
    return {
        "served": len(done),
        "refused": sum(o.kind == "refused" for o in outcomes),
        "failed": sum(o.kind == "error" for o in outcomes),
        "median": statistics.median(done) if done else float("nan"),
        "last": class_seconds if done else float("nan"),
        "photo_times": photos.times,
        "photo_failures": len(photos.failures),
        "stranger_served": sum(o.kind == "complete" for o in stranger_outcomes),
        "stranger_refused": sum(o.kind == "refused" for o in stranger_outcomes),
        "messages": sorted({o.message[:140] for o in outcomes + stranger_outcomes if o.kind != "complete"})[:5],
    }


SCENARIOS = {
    "one-address": lambda url: run_class(url, [SCHOOL] * STUDENTS),
    "own-addresses": lambda url: run_class(url, [f"10.41.0.{i + 1}" for i in range(STUDENTS)]),
    "stranger-first": lambda url: run_class(url, [SCHOOL] * STUDENTS, STRANGER_JOBS),
}


def pooled(runs: list[dict]) -> dict:
    """Several fresh runs of one scenario as one row: the worst served/last, the photos pooled.

    One run of the class lasts about ten seconds, so it samples only about ten photos and its
    "p95" is just the slowest one; pooling the photos of several runs gives the p95 its meaning.
    """
    times = [t for run in runs for t in run["photo_times"]]
    return {
        **{key: min(run[key] for run in runs) for key in ("served", "stranger_served")},
        **{key: max(run[key] for run in runs) for key in ("refused", "failed", "stranger_refused", "last")},
        "median": statistics.median(run["median"] for run in runs),
        "lasts": [run["last"] for run in runs],
        "photos": len(times),
        "photo_failures": sum(run["photo_failures"] for run in runs),
        "photo_p50": percentile(times, 0.5),
        "photo_p95": percentile(times, 0.95),
        "messages": sorted({m for run in runs for m in run["messages"]})[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", type=Path, default=ROOT, help="the checkout to run (default: this one)")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append", help="run only these scenarios")
    parser.add_argument("--runs", type=int, default=3, help="fresh servers per scenario, pooled (default 3)")
    args = parser.parse_args()
    rows = []
    for name in args.only or list(SCENARIOS):
        runs = []
        for _ in range(args.runs):
            env = {"TORCH_HOME": weights_home(Path(tempfile.mkdtemp())), "TRUSTED_PROXIES": "127.0.0.1"}
            with app_process(env, cwd=args.app) as (url, _):
                runs.append(SCENARIOS[name](url))
            print(name, {k: v for k, v in runs[-1].items() if k != "photo_times"}, flush=True)
        rows.append((name, pooled(runs)))
    print(f"\nclass of {STUDENTS} fine-tuning assets/shapes.zip (new head, 20 epochs), app: {args.app}")
    print(f"each scenario on {args.runs} fresh servers: the worst served and last, median of medians, photos pooled")
    print("| scenario | served | refused | failed | median s | last s (each run) | photos p50 / p95 s | stranger's |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in rows:
        stranger = f"{r['stranger_served']} served, {r['stranger_refused']} refused" if name == "stranger-first" else ""
        lasts = ", ".join(f"{s:.1f}" for s in r["lasts"])
        print(
            f"| {name} | {r['served']} | {r['refused']} | {r['failed']} | {r['median']:.1f} "
            f"| {r['last']:.1f} ({lasts}) "
            f"| {r['photo_p50']:.2f} / {r['photo_p95']:.2f} ({r['photos']} photos, {r['photo_failures']} failed) "
            f"| {stranger} |"
        )
    for name, r in rows:
        for message in r["messages"]:
            print(f"  {name}: {message}")


if __name__ == "__main__":
    main()
