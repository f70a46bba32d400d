"""What each attack of a hostile stranger costs the server, and whether other visitors are still served.

    python -m bench.attacks                   # this checkout
    python -m bench.attacks --app /tmp/old    # another checkout (e.g. a git worktree of an older main)

Starts ``python app.py`` (stand-in ImageNet weights, a private temp folder, default budgets) and
attacks it the ways ``tests/test_attacks.py`` checks, measuring each from the outside: the server's
CPU seconds and resident memory (from /proc), its files on disk, what it answered, and a normal
visitor's photo latency while the attack runs. Prints a Markdown table (the README quotes it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path

from gradio_client import Client, handle_file

from bench import weights_home
from harness import attacks, zips
from harness.server import ROOT, app_process, cpu_seconds, rss_mb

CAT = str(ROOT / "assets" / "photos" / "cat.jpg")


class Watch:
    """While the block runs: the server's peak memory growth, its CPU seconds, the wall time."""

    def __init__(self, process) -> None:
        self.process = process

    def __enter__(self):
        self.rss0, self.cpu0, self.t0 = rss_mb(self.process), cpu_seconds(self.process), time.monotonic()
        self.peak, self.running = self.rss0, True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb(self.process))
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.memory = self.peak - self.rss0
        self.cpu = cpu_seconds(self.process) - self.cpu0
        self.seconds = time.monotonic() - self.t0


def photo_latency(url: str) -> str:
    """A normal visitor's photo, answered (seconds) or not."""
    started = time.monotonic()
    try:
        Client(url, verbose=False, headers={"X-Forwarded-For": "198.18.0.1"}).predict(
            handle_file(CAT), api_name="/classify_photo"
        )
    except Exception as error:  # reported
        return f"failed ({type(error).__name__})"
    return f"{time.monotonic() - started:.1f} s"


def during(url: str, attack) -> tuple[object, str]:
    """Run ``attack()`` while a normal visitor sends a photo 1 s in; (attack's result, their latency)."""
    latency = {}
    visitor = threading.Thread(target=lambda: (time.sleep(1.0), latency.setdefault("v", photo_latency(url))))
    visitor.start()
    result = attack()
    visitor.join()
    return result, latency["v"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT, help="the checkout whose app.py is attacked")
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as scratch:
        temp = Path(scratch) / "tmp"
        temp.mkdir()
        env = {"TORCH_HOME": weights_home(scratch), "TMPDIR": str(temp), "GRADIO_TEMP_DIR": str(temp / "gradio")}
        with app_process(env, cwd=args.app) as (url, process):
            time.sleep(8)  # the warm-up thread loads AlexNet
            rows.append(("idle server", f"{rss_mb(process):.0f} MB resident", "-"))
            files = {
                name: Path(scratch) / name
                for name in ("bomb.jpg", "sixteen.png", "bombs.zip", "slow.zip", "colours.zip")
            }
            files["bomb.jpg"].write_bytes(attacks.scan_bomb())
            files["sixteen.png"].write_bytes(attacks.sixteen_bit_png())
            files["bombs.zip"].write_bytes(attacks.zip_of_scan_bombs())
            files["slow.zip"].write_bytes(attacks.slow_zip())
            files["colours.zip"].write_bytes(zips.colour_dataset_zip("flat", ("red", "blue"), 6))
            attacker = Client(url, verbose=False, headers={"X-Forwarded-For": "198.18.1.1"})

            def send(*inputs, api_name):
                try:
                    attacker.predict(*inputs, api_name=api_name)
                    return "accepted"
                except Exception as error:  # reported
                    return "refused: " + str(error)[:60]

            with Watch(process) as w:
                answer, visitor = during(
                    url, lambda: send(handle_file(str(files["bomb.jpg"])), api_name="/classify_photo")
                )
            rows.append(
                (
                    "progressive JPEG, 1,010 scans, 7000x7000 (362 KB) as a photo",
                    f"{answer}; {w.cpu:.1f} s CPU, {w.seconds:.1f} s",
                    visitor,
                )
            )
            with Watch(process) as w:
                answer, visitor = during(
                    url, lambda: send(handle_file(str(files["bombs.zip"])), "head", 2, api_name="/finetune")
                )
            rows.append(
                ("a zip of 12 photos and 10 such bombs (3000x3000)", f"{w.cpu:.1f} s CPU, {w.seconds:.1f} s", visitor)
            )
            with Watch(process) as w:
                answer, visitor = during(
                    url, lambda: send(handle_file(str(files["sixteen.png"])), api_name="/classify_photo")
                )
            rows.append(
                ("16-bit PNG, 7000x7000 (112 KB) as a photo", f"+{w.memory:.0f} MB peak, {w.seconds:.1f} s", visitor)
            )
            with Watch(process) as w:
                for i in range(6):
                    client = Client(url, verbose=False, headers={"X-Forwarded-For": f"198.18.2.{i}"})
                    job = client.submit(handle_file(str(files["slow.zip"])), "head", 20, api_name="/finetune")
                    time.sleep(2.0)
                    job.cancel()
                time.sleep(1.5)
                busy = cpu_seconds(process)
                time.sleep(1.0)
                busy = cpu_seconds(process) - busy
            rows.append(
                (
                    "six fine-tunes of a 52 MB zip, each cancelled 2 s after it was sent",
                    f"+{w.memory:.0f} MB peak; {busy:.2f} s CPU per s, 1.5 s after the last cancel",
                    "-",
                )
            )
            path = attacks.upload(
                url, "colours.zip", files["colours.zip"].read_bytes(), {"X-Forwarded-For": "198.18.3.1"}
            )
            session, admitted = uuid.uuid4().hex, []

            def flood():
                for _ in range(258):
                    body = {
                        "data": [attacks.file_data(path, "colours.zip"), "all", 100, 3e-5, 4, False],
                        "session_hash": session,
                    }
                    status, answer = attacks.post(
                        url, "/gradio_api/call/finetune", json.dumps(body).encode(), {"X-Forwarded-For": "198.18.3.1"}
                    )
                    if status == 200:
                        admitted.append(answer["event_id"])
                return len(admitted)

            count, visitor = during(url, flood)
            rows.append(("one session joins the fine-tune event 258 times", f"{count} of 258 queued", visitor))
            index = attacks.fn_index(url, "finetune")
            for event_id in admitted:
                attacks.post(
                    url,
                    "/gradio_api/cancel",
                    json.dumps({"session_hash": session, "event_id": event_id, "fn_index": index}).encode(),
                )
            time.sleep(3)
            for i in range(5):
                client = Client(url, verbose=False, headers={"X-Forwarded-For": f"198.18.4.{i}"})
                client.predict(handle_file(str(files["colours.zip"])), "classifier", 1, 1e-4, 8, api_name="/finetune")
                with contextlib.suppress(Exception):  # an older app wrote every model at once, unasked
                    client.predict(api_name="/download_finetuned")
            written = sum(p.stat().st_size for p in temp.rglob("*.pt") if p.is_file())
            rows.append(
                (
                    "five whole-classifier fine-tunes, each downloaded",
                    f"{written / 1e9:.2f} GB of model files on disk",
                    "-",
                )
            )
            with Watch(process) as w:
                for i in range(2000):
                    body = json.dumps(
                        {"session_hash": uuid.uuid4().hex, "component_id": 10**9, "fn_name": "x", "data": None}
                    ).encode()
                    attacks.post(
                        url, "/gradio_api/component_server", body, {"X-Forwarded-For": f"198.19.{i // 200}.{i % 200}"}
                    )
            rows.append(
                (
                    "2,000 fresh sessions (a request naming no component)",
                    f"+{w.memory:.0f} MB ({w.memory * 1024 / 2000:.0f} KB each)",
                    "-",
                )
            )
            with Watch(process) as w:
                huge = b'{"data": ["' + b"x" * (300 << 20) + b'"]}'
                try:
                    status, _ = attacks.post(url, "/gradio_api/call/compare_models", huge, timeout=120)
                except Exception as error:  # the connection may be closed on purpose
                    status = type(error).__name__
            rows.append(("a 300 MB JSON body", f"answer {status}; +{w.memory:.0f} MB peak", "-"))
            rows.append(("the server afterwards", f"{rss_mb(process):.0f} MB resident", photo_latency(url)))
    print(f"| attack ({args.app}) | cost to the server | a normal visitor's photo meanwhile |")
    print("| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
