"""What each attack of a hostile stranger costs the server, and whether other visitors are still served.

    python -m bench.attacks                       # this checkout
    python -m bench.attacks --app /tmp/old        # another checkout (e.g. a git worktree of an older main)
    python -m bench.attacks --only queue_fill     # some cases only (names: --help)

Starts ``python app.py`` (stand-in ImageNet weights, a private temp folder, default budgets) and
attacks it the ways ``tests/test_attacks*.py`` check (issue 10's attacks, then issue 19's),
measuring each from the outside: the server's CPU seconds, resident memory and threads (from
/proc), its files on disk, what it answered, and the photo latency of a normal visitor on another
address, who shows AlexNet a photo a second into each attack and every second after until it ends.
Before each case the server is left to fall idle, so one case's leftover work is not billed to the
next. Prints a Markdown table (the README quotes it).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import re
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file

from bench import weights_home
from harness import attacks, zips
from harness.digit_drawings import random_drawing, render
from harness.light_client import Outcome, Visitor
from harness.server import ROOT, app_process, cpu_seconds, rss_mb, threads_of

CAT = ROOT / "assets" / "photos" / "cat.jpg"
VISITOR = "198.18.0.1"  # the normal visitor whose photos are timed during every attack


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


def said(outcome: Outcome, width: int = 70) -> str:
    """How a call ended, in a few words: its time, or what it was told."""
    if outcome.kind == "complete":
        return f"answered in {outcome.seconds:.1f} s"
    status = f" {outcome.status}" if outcome.kind == "refused" else ""
    message = " ".join(outcome.message.split())
    message = message if len(message) <= width else message[: width - 3] + "..."
    return f'{outcome.kind}{status}: "{message or "no message"}"'


def show_photo(visitor: Visitor, n: int) -> Outcome:
    """The visitor sends a photo they have not sent before (the app keeps a session's last photo's
    analysis: the same photo again would be answered from it) and waits for AlexNet's answer; the
    time counts the upload."""
    started = time.monotonic()
    photo = visitor.upload(f"cat{n}.jpg", CAT.read_bytes() + f"visitor {n}".encode())  # bytes after the JPEG's end
    outcome = visitor.call("classify_photo", [photo], timeout=120)
    outcome.seconds = time.monotonic() - started
    return outcome


def photo_latency(url: str) -> str:
    """A normal visitor's photo, answered (seconds) or not."""
    outcome = show_photo(Visitor(url, VISITOR), 0)
    return f"{outcome.seconds:.1f} s" if outcome.kind == "complete" else said(outcome)


def during(url: str, attack) -> tuple[object, str]:
    """Run ``attack()`` while a normal visitor shows AlexNet a new photo 1 s in and every second
    after until the attack ends: (the attack's result, their latency: one figure, or median and worst)."""
    outcomes: list[Outcome] = []
    done = threading.Event()

    def visit() -> None:
        visitor = Visitor(url, VISITOR)
        while not done.wait(1.0) or not outcomes:
            outcomes.append(show_photo(visitor, len(outcomes)))

    thread = threading.Thread(target=visit)
    thread.start()
    try:
        result = attack()
    finally:
        done.set()
        thread.join()
    answered = [o.seconds for o in outcomes if o.kind == "complete"]
    failed = [o for o in outcomes if o.kind != "complete"]
    if len(outcomes) == 1:
        return result, f"{answered[0]:.1f} s" if answered else said(failed[0])
    text = f"median {statistics.median(answered):.1f} s, worst {max(answered):.1f} s" if answered else "none answered"
    text += f" ({len(outcomes)} photos"
    text += f"; {len(failed)} not answered: {said(failed[0])})" if failed else ")"
    return result, text


def settle(process, most: float = 60.0) -> None:
    """Wait until the server is idle (under 0.15 CPU-s per second), at most ``most`` seconds."""
    deadline = time.monotonic() + most
    while time.monotonic() < deadline:
        before = cpu_seconds(process)
        time.sleep(1.0)
        if cpu_seconds(process) - before < 0.15:
            return


def images_added(outcome: Outcome, class_name: str = "apples") -> str:
    """The builder's count of ``class_name`` after an add (its counts HTML says ``apples: N``)."""
    found = outcome.kind == "complete" and re.search(rf"{class_name}: (\d+)", str(outcome.data[1:2]))
    return found.group(1) if found else said(outcome)


def gigabytes(mb: float) -> str:
    return f"{mb / 1024:.1f} GB"


@dataclass
class Attacked:
    """The server under attack and what the cases share; each case adds its rows."""

    url: str
    process: object
    scratch: Path
    temp: Path  # the server's TMPDIR (Gradio's uploads in temp / "gradio")
    memory_ceiling: float
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def file(self, name: str, data: bytes) -> str:
        path = self.scratch / name
        if not path.exists():
            path.write_bytes(data)
        return str(path)

    def client(self, address: str) -> Client:
        return Client(self.url, verbose=False, headers={"X-Forwarded-For": address})

    def send(self, client: Client, *inputs, api_name: str) -> str:
        try:
            client.predict(*inputs, api_name=api_name)
            return "accepted"
        except Exception as error:  # reported
            return "refused: " + str(error)[:60]


# --- issue 10's attacks --------------------------------------------------------------------------------


def scan_bomb(a: Attacked) -> None:
    bomb = handle_file(a.file("bomb.jpg", attacks.scan_bomb()))
    with Watch(a.process) as w:
        answer, visitor = during(a.url, lambda: a.send(a.client("198.18.1.1"), bomb, api_name="/classify_photo"))
    a.rows.append(
        (
            "progressive JPEG, 1,010 scans, 7000x7000 (362 KB) as a photo",
            f"{answer}; {w.cpu:.1f} s CPU, {w.seconds:.1f} s",
            visitor,
        )
    )


def zip_of_bombs(a: Attacked) -> None:
    archive = handle_file(a.file("bombs.zip", attacks.zip_of_scan_bombs()))
    with Watch(a.process) as w:
        _, visitor = during(a.url, lambda: a.send(a.client("198.18.1.2"), archive, "head", 2, api_name="/finetune"))
    a.rows.append(
        ("a zip of 12 photos and 10 such bombs (3000x3000)", f"{w.cpu:.1f} s CPU, {w.seconds:.1f} s", visitor)
    )


def sixteen_bit(a: Attacked) -> None:
    photo = handle_file(a.file("sixteen.png", attacks.sixteen_bit_png()))
    with Watch(a.process) as w:
        _, visitor = during(a.url, lambda: a.send(a.client("198.18.1.3"), photo, api_name="/classify_photo"))
    a.rows.append(("16-bit PNG, 7000x7000 (112 KB) as a photo", f"+{w.memory:.0f} MB peak, {w.seconds:.1f} s", visitor))


def cancelled_readers(
    a: Attacked, archive: str, api_name: str, inputs: tuple, first_address: int
) -> tuple[float, float]:
    """Six visitors send a slow zip to ``api_name`` and cancel it 2 s later, while it reads: the
    server's CPU-s per second 1.5 and 8 s after the last cancel."""
    for i in range(6):
        job = a.client(f"198.18.{first_address}.{i}").submit(handle_file(archive), *inputs, api_name=api_name)
        time.sleep(2.0)
        job.cancel()
    busy = []
    for wait in (1.5, 5.5):
        time.sleep(wait)
        before = cpu_seconds(a.process)
        time.sleep(1.0)
        busy.append(cpu_seconds(a.process) - before)
    return busy[0], busy[1]


def cancelled_fine_tunes(a: Attacked) -> None:
    with Watch(a.process) as w:
        (soon, later), visitor = during(
            a.url, lambda: cancelled_readers(a, a.file("slow.zip", attacks.slow_zip()), "/finetune", ("head", 20), 2)
        )
    a.rows.append(
        (
            "six fine-tunes of a 52 MB zip, each cancelled 2 s after it was sent",
            f"+{w.memory:.0f} MB peak; {soon:.2f} CPU-s per s 1.5 s after the last cancel, {later:.2f} 8 s after",
            visitor,
        )
    )


def fine_tune_joins(a: Attacked) -> None:
    address = "198.18.3.1"
    archive = zips.colour_dataset_zip("flat", ("red", "blue"), 6)
    value = attacks.file_data(
        attacks.upload(a.url, "colours.zip", archive, {"X-Forwarded-For": address}), "colours.zip"
    )
    session, admitted = uuid.uuid4().hex, []

    def flood():
        for _ in range(258):
            status, answer = attacks.join_call(a.url, "finetune", [value, "all", 100, 3e-5, 4, False], session, address)
            if status == 200:
                admitted.append(answer["event_id"])
        return len(admitted)

    count, visitor = during(a.url, flood)
    a.rows.append(("one session joins the fine-tune event 258 times", f"{count} of 258 queued", visitor))
    for event_id in admitted:
        attacks.cancel(a.url, "finetune", session, event_id)


def model_files(a: Attacked) -> None:
    archive = handle_file(a.file("colours.zip", zips.colour_dataset_zip("flat", ("red", "blue"), 6)))

    def fine_tunes() -> None:
        for i in range(5):
            client = a.client(f"198.18.4.{i}")
            client.predict(archive, "classifier", 1, 1e-4, 8, api_name="/finetune")
            with contextlib.suppress(Exception):  # an older app wrote every model at once, unasked
                client.predict(api_name="/download_finetuned")

    _, visitor = during(a.url, fine_tunes)
    written = sum(p.stat().st_size for p in a.temp.rglob("*.pt") if p.is_file())
    a.rows.append(
        ("five whole-classifier fine-tunes, each downloaded", f"{written / 1e9:.2f} GB of model files on disk", visitor)
    )


def fresh_sessions(a: Attacked) -> None:
    def sessions() -> None:
        for i in range(2000):
            body = json.dumps({"session_hash": uuid.uuid4().hex, "component_id": 10**9, "fn_name": "x", "data": None})
            address = f"198.19.{i // 200}.{i % 200}"
            attacks.post(a.url, "/gradio_api/component_server", body.encode(), {"X-Forwarded-For": address})

    with Watch(a.process) as w:
        _, visitor = during(a.url, sessions)
    a.rows.append(
        (
            "2,000 fresh sessions (a request naming no component)",
            f"+{w.memory:.0f} MB ({w.memory * 1024 / 2000:.0f} KB each)",
            visitor,
        )
    )


def huge_body(a: Attacked) -> None:
    def send() -> object:
        huge = b'{"data": ["' + b"x" * (300 << 20) + b'"]}'
        try:
            return attacks.post(a.url, "/gradio_api/call/compare_models", huge, timeout=120)[0]
        except Exception as error:  # the connection may be closed on purpose
            return type(error).__name__

    with Watch(a.process) as w:
        status, visitor = during(a.url, send)
    a.rows.append(("a 300 MB JSON body", f"answer {status}; +{w.memory:.0f} MB peak", visitor))


# --- issue 19's attacks --------------------------------------------------------------------------------


def join_then_cancel(a: Attacked) -> None:
    """34 photo joins from one session on a 49 MP photo uploaded once, each cancelled 0.4 s later."""
    address = "198.18.20.1"
    big = attacks.file_data(
        attacks.upload(a.url, "big.png", attacks.flat_png(), {"X-Forwarded-For": address}), "big.png"
    )
    threads_before, rss_before = threads_of(a.process), rss_mb(a.process)
    seen = {"threads": threads_before, "stopped": 0}

    def attack() -> None:
        for n, _ in attacks.join_and_cancel(a.url, "classify_photo", [big], address, times=34, after=0.4):
            seen["threads"] = max(seen["threads"], threads_of(a.process))
            if rss_mb(a.process) - rss_before > a.memory_ceiling:  # this machine is shared: stop joining here
                seen["stopped"] = n + 1
                break
        time.sleep(5.0)

    with Watch(a.process) as w:
        _, visitor = during(a.url, attack)
    cost = (
        f"threads {threads_before} -> {seen['threads']} at most, {threads_of(a.process)} 5 s after; "
        f"RSS {gigabytes(rss_before)} -> {gigabytes(w.peak)} at peak, {gigabytes(rss_mb(a.process))} 5 s after"
    )
    if seen["stopped"]:
        cost += f" (the bench stopped joining at join {seen['stopped']}: past +{a.memory_ceiling:.0f} MB)"
    attack = (
        "join then cancel: 34 photo joins from one session (a 49 MP flat PNG uploaded once), each cancelled 0.4 s later"
    )
    a.rows.append((attack, cost, visitor))


def queue_fill(a: Attacked) -> None:
    """One address, 8 sessions, one upload, 400 photo joins; then another address's digit and photo."""
    # two sessions of one visitor: Gradio's /call streams mix up two events of one session at once
    address, drawer, shower = "198.18.21.1", Visitor(a.url, "192.0.2.210"), Visitor(a.url, "192.0.2.210")
    photo = attacks.file_data(
        attacks.upload(a.url, "cat.jpg", CAT.read_bytes(), {"X-Forwarded-For": address}), "cat.jpg"
    )
    digit = drawer.upload("digit.png", png_bytes(render(random_drawing(7, np.random.default_rng(7)))))
    joins, visitor = during(
        a.url, lambda: attacks.flood(a.url, "classify_photo", [photo], address, sessions=8, each=50)
    )
    answers: dict[str, Outcome] = {}  # right after the flood, while its events wait: another address's
    calls = [
        threading.Thread(
            target=lambda: answers.setdefault(
                "digit", drawer.call("predict_digit", [{"background": None, "layers": [], "composite": digit}], 120)
            )
        ),
        threading.Thread(target=lambda: answers.setdefault("photo", show_photo(shower, 1))),
    ]
    for call in calls:
        call.start()
    for call in calls:
        call.join()
    admitted = [(s, answer["event_id"]) for s, sent in joins.items() for status, answer in sent if status == 200]
    refusals = Counter(
        answer.get("error") or str(answer.get("detail", status))[:30]
        for sent in joins.values()
        for status, answer in sent
        if status != 200
    )
    for session, event_id in admitted:
        attacks.cancel(a.url, "classify_photo", session, event_id)
    refused = ", ".join(f"{reason} {count}" for reason, count in refusals.most_common(3))
    a.rows.append(
        (
            "queue fill: one address, 8 sessions, one upload, 400 photo joins at once",
            f"{len(admitted)} of 400 admitted (refused: {refused or 'none'}); right after, another address's "
            f"digit {said(answers['digit'], 40)}, photo {said(answers['photo'], 40)}",
            visitor,
        )
    )


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def webcam_data_url(a: Attacked) -> None:
    """A webcam photo for the builder sent as a ``data:`` URL: a 13000x13000 one-bit PNG."""
    stranger = Visitor(a.url, "198.18.22.1")
    stranger.join("set_classes", ["apples, pears", None])
    frame = attacks.data_url(attacks.one_bit_png())
    with Watch(a.process) as w:
        outcome, visitor = during(a.url, lambda: stranger.join("add_images_1", [frame, "apples"], timeout=300))
    a.rows.append(
        (
            f"a webcam photo as a data: URL (13000x13000 one-bit PNG, {len(json.dumps(frame)) // 1000} KB of JSON)",
            f"{said(outcome)}; {w.cpu:.1f} s CPU, +{w.memory:.0f} MB peak",
            visitor,
        )
    )


def long_class_name(a: Attacked) -> None:
    """/explain_photo with a 900 KB class name, three in flight at once."""
    strangers = [Visitor(a.url, "198.18.23.1") for _ in range(3)]
    photo = strangers[0].upload("cat.jpg", CAT.read_bytes())
    name = "x" * 900_000
    outcomes: list[Outcome] = []

    def attack() -> None:
        calls = [
            threading.Thread(target=lambda s=s: outcomes.append(s.call("explain_photo", [photo, "conv5", name], 300)))
            for s in strangers
        ]
        for call in calls:
            call.start()
        for call in calls:
            call.join()

    with Watch(a.process) as w:
        _, visitor = during(a.url, attack)
    a.rows.append(
        (
            "/explain_photo with a 900 KB class name, three calls at once",
            f"{said(outcomes[0], 50)}; {w.cpu / 3:.1f} s CPU per call",
            visitor,
        )
    )


def cancelled_races(a: Attacked) -> None:
    with Watch(a.process) as w:
        (soon, later), visitor = during(
            a.url,
            lambda: cancelled_readers(
                a, a.file("pngs.zip", attacks.slow_png_zip()), "/race_strategies", (20, False), 24
            ),
        )
    a.rows.append(
        (
            "six races of a 46 KB zip of 40 flat 49 MP PNGs (13 CPU-s to read), each cancelled 2 s after it was "
            "sent (while it reads)",
            f"{w.cpu:.0f} CPU-s in all, +{w.memory:.0f} MB peak; {soon:.2f} CPU-s per s 1.5 s after the last cancel, "
            f"{later:.2f} 8 s after",
            visitor,
        )
    )


def builder_forty(a: Attacked) -> None:
    """4 sessions of one address each add one 49 MP upload named 40 times."""
    strangers = [Visitor(a.url, "198.18.25.1") for _ in range(4)]
    photo = strangers[0].upload("flat.png", attacks.flat_png())
    for stranger in strangers:
        stranger.join("set_classes", ["apples, pears", None])
    outcomes: list[Outcome] = []

    def attack() -> None:
        adds = [
            threading.Thread(target=lambda s=s: outcomes.append(s.join("add_images", [[photo] * 40, "apples"], 600)))
            for s in strangers
        ]
        for add in adds:
            add.start()
        for add in adds:
            add.join()

    with Watch(a.process) as w:
        _, visitor = during(a.url, attack)
    added = sorted({images_added(o) for o in outcomes})
    a.rows.append(
        (
            "4 sessions each add one 49 MP upload named 40 times (the dataset builder)",
            f"{w.cpu:.1f} CPU-s, {w.seconds:.0f} s; images added per add: {', '.join(added)}",
            visitor,
        )
    )


def drafts(a: Attacked) -> None:
    """An idle visitor's draft, then 8 drafts from one address, each a 60 KB upload named 2,000 times."""
    victim = Visitor(a.url, "192.0.2.140")
    before = attacks.build_draft(victim, attacks.noise_photos(victim, 5, seed=1))
    picture = attacks.noise_jpeg(7, 200, 320)
    photo = Visitor(a.url, "198.18.26.1").upload("noise.jpg", picture)
    outcomes: list[Outcome] = []

    def attack() -> None:
        for _ in range(8):
            outcomes.append(attacks.build_draft(Visitor(a.url, "198.18.26.1"), [photo] * 2000))

    with Watch(a.process) as w:
        _, visitor = during(a.url, attack)
    on_disk = sum(attacks.disk_use(folder)[0] for folder in a.temp.glob("classic-cnns-drafts-*"))
    shown = victim.join("show_class", ["apples"])
    kept = shown.kind == "complete" and len((shown.data[0] or {}).get("value") or []) == 5
    a.rows.append(
        (
            f"drafts: an idle visitor's 5-image draft, then 8 drafts from one address, each one "
            f"{len(picture) // 1000} KB upload named 2,000 times",
            f"images per draft: {', '.join(sorted({images_added(o) for o in outcomes}))} "
            f"({statistics.median(o.seconds for o in outcomes):.1f} s each); drafts {on_disk / 1e6:.0f} MB on disk, "
            f"{w.cpu:.0f} CPU-s; the idle visitor's draft {'kept' if kept else 'gone: ' + said(shown, 50)}"
            + ("" if before.kind == "complete" else f" (it was not built: {said(before)})"),
            visitor,
        )
    )


def tiny_files(a: Attacked) -> None:
    """10 uploads of 1,000 one-line files from one address."""
    folder = a.temp / "gradio"
    used0, inodes0 = attacks.disk_use(folder)
    statuses, visitor = during(
        a.url, lambda: [attacks.upload_many(a.url, 1000, f"t{n}", "198.18.27.1")[0] for n in range(10)]
    )
    time.sleep(1.0)  # Gradio moves the files into their folders after answering
    used, inodes = attacks.disk_use(folder)
    other, _ = attacks.upload_many(a.url, 3, "other", "192.0.2.150")
    a.rows.append(
        (
            "10 uploads of 1,000 one-line files (10,000 files, 68 KB of bytes) from one address",
            f"{statuses.count(200)} of 10 accepted ({dict(Counter(statuses))}); "
            f"+{(used - used0) / 1e6:.1f} MB of disk, +{inodes - inodes0:,} inodes; another address's upload: {other}",
            visitor,
        )
    )


def compare_body() -> bytes:
    """A cheap API call that opens a new session (budgeted per address)."""
    return json.dumps({"data": [5, []], "session_hash": uuid.uuid4().hex}).encode()


def tally(answers: list[tuple[int, dict]]) -> str:
    """How many of these answers were accepted, and why the rest were refused."""
    refused = Counter(answer.get("error") or str(status) for status, answer in answers if status != 200)
    reasons = f" (refused: {', '.join(f'{key} {count}' for key, count in refused.most_common())})" if refused else ""
    return f"{sum(status == 200 for status, _ in answers)} of {len(answers)} accepted{reasons}"


def forwarded_twice(a: Attacked) -> None:
    """An address spends its budget, then sends 40 more with its own X-Forwarded-For line first
    and the proxy's (its real address) second."""
    exhausted = "198.18.28.1"

    def attack() -> tuple[int, str, str]:
        spent, answer = 0, {}
        while spent < 300:
            spent += 1
            status, answer = attacks.post(
                a.url, "/gradio_api/call/compare_models", compare_body(), {"X-Forwarded-For": exhausted}
            )
            if status == 429:
                break
        more = [
            attacks.post_lines(
                a.url,
                "/gradio_api/call/compare_models",
                compare_body(),
                [("X-Forwarded-For", f"10.8.0.{i}"), ("X-Forwarded-For", exhausted)],
            )
            for i in range(40)
        ]
        return spent, answer.get("error", "?"), tally(more)

    (spent, reason, more), visitor = during(a.url, attack)
    a.rows.append(
        (
            f"X-Forwarded-For in two lines: an address refused after {spent - 1} new sessions ({reason}) "
            "sends 40 more, a made-up address in the first line",
            more,
            visitor,
        )
    )


def own_address(a: Attacked) -> None:
    """330 requests from a peer that is not a trusted proxy, each claiming its own address."""

    def attack() -> str:
        return tally(
            [
                attacks.post_lines(
                    a.url,
                    "/gradio_api/call/compare_models",
                    compare_body(),
                    [("X-Forwarded-For", f"10.9.{i // 200}.{i % 200}")],
                    source="127.0.0.2",
                )
                for i in range(330)
            ]
        )

    accepted, visitor = during(a.url, attack)
    a.rows.append(
        (
            "330 requests from a peer that is not a trusted proxy (an app run locally, shared by link), "
            "each claiming an address of its own in X-Forwarded-For",
            accepted,
            visitor,
        )
    )


def others_files(a: Attacked) -> None:
    """Another visitor's upload and draft image, named as my photo."""
    victim, stranger = Visitor(a.url, "192.0.2.160"), Visitor(a.url, "198.18.29.1")

    def attack() -> tuple[Outcome, Outcome | None]:
        upload = victim.upload("holiday.jpg", CAT.read_bytes() + b"victim")
        as_mine = stranger.call("classify_photo", [upload], 120)
        attacks.build_draft(victim, attacks.noise_photos(victim, 5, seed=3))
        gallery = victim.join("show_class", ["apples"])
        try:
            image = attacks.file_data(gallery.data[0]["value"][0]["image"]["path"], "draft.jpg")
        except (IndexError, KeyError, TypeError):
            return as_mine, None
        return as_mine, stranger.call("classify_photo", [image], 120)

    (upload, draft), visitor = during(a.url, attack)
    a.rows.append(
        (
            "another visitor's upload, and their draft's image, sent as my photo",
            f"upload: {said(upload, 50)}; draft image: {said(draft, 50) if draft else 'no draft path found'}",
            visitor,
        )
    )


BAD_VALUES = [  # (API name, its inputs with a bad value; "ZIP" stands for an uploaded zip)
    ("finetune", ["ZIP", "head", "x", 1e-3, 32, True]),
    ("finetune", ["ZIP", "head", math.nan, 1e-3, 32, True]),
    ("finetune", ["ZIP", "head", 5, "abc", 32, True]),
    ("finetune", ["ZIP", "head", 5, 1e-3, None, True]),
    ("race_strategies", ["ZIP", "x", False]),
    ("train_lenet", ["avg", "relu", "2", 1000]),
    ("compare_models", ["five", []]),
    ("predict_digit", ["seven"]),
]


def bad_values(a: Attacked) -> None:
    address = "192.0.2.170"  # a session per call: an older app kept a failed fine-tune's place
    archive = Visitor(a.url, address).upload("shapes.zip", b"PK\x05\x06" + b"\0" * 18)

    def attack() -> list[Outcome]:
        return [
            Visitor(a.url, address).call(api_name, [archive if value == "ZIP" else value for value in inputs], 120)
            for api_name, inputs in BAD_VALUES
        ]

    outcomes, visitor = during(a.url, attack)
    worded = [o for o in outcomes if o.kind != "complete" and len(o.message) > 20]
    bare = Counter(o.message or "no message" for o in outcomes if o.kind != "complete" and len(o.message) <= 20)
    done = sum(o.kind == "complete" for o in outcomes)
    a.rows.append(
        (
            f'bad values: {len(BAD_VALUES)} calls (/finetune epochs "x" and NaN, lr "abc", batch null; '
            '/race_strategies epochs "x"; number strings to /train_lenet and /compare_models; '
            "a sketch as a plain string)",
            f"{len(worded)} refused with a sentence (e.g. {said(worded[0], 80) if worded else '-'})"
            + (f"; {sum(bare.values())} with {dict(bare)}" if bare else "")
            + (f"; {done} ran" if done else ""),
            visitor,
        )
    )


CASES = {
    "scan_bomb": scan_bomb,
    "zip_of_bombs": zip_of_bombs,
    "sixteen_bit": sixteen_bit,
    "cancelled_fine_tunes": cancelled_fine_tunes,
    "fine_tune_joins": fine_tune_joins,
    "model_files": model_files,
    "fresh_sessions": fresh_sessions,
    "huge_body": huge_body,
    "join_then_cancel": join_then_cancel,
    "queue_fill": queue_fill,
    "webcam_data_url": webcam_data_url,
    "long_class_name": long_class_name,
    "cancelled_races": cancelled_races,
    "builder_forty": builder_forty,
    "drafts": drafts,
    "tiny_files": tiny_files,
    "forwarded_twice": forwarded_twice,
    "own_address": own_address,
    "others_files": others_files,
    "bad_values": bad_values,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT, help="the checkout whose app.py is attacked")
    parser.add_argument("--only", nargs="+", choices=CASES, help="run these cases only")
    parser.add_argument("--skip", nargs="+", choices=CASES, default=[], help="leave these cases out")
    parser.add_argument(
        "--memory-ceiling",
        type=float,
        default=3000,
        help="MB of growth at which join_then_cancel stops joining (the machine is shared; an old app grew 10 GB)",
    )
    args = parser.parse_args()
    names = [name for name in (args.only or CASES) if name not in args.skip]
    with tempfile.TemporaryDirectory() as scratch:
        temp = Path(scratch) / "tmp"
        temp.mkdir()
        env = {"TORCH_HOME": weights_home(scratch), "TMPDIR": str(temp), "GRADIO_TEMP_DIR": str(temp / "gradio")}
        with app_process(env, cwd=args.app) as (url, process):
            time.sleep(8)  # the warm-up thread loads AlexNet
            attacked = Attacked(url, process, Path(scratch), temp, args.memory_ceiling)
            attacked.rows.append(("idle server", f"{rss_mb(process):.0f} MB resident", "-"))
            for name in names:
                settle(process)
                started = time.monotonic()
                CASES[name](attacked)
                print(f"({name}: {time.monotonic() - started:.0f} s)", flush=True)
            settle(process)
            attacked.rows.append(("the server afterwards", f"{rss_mb(process):.0f} MB resident", photo_latency(url)))
    print(f"| attack ({args.app}) | cost to the server | a normal visitor's photo meanwhile |")
    print("| --- | --- | --- |")
    for row in attacked.rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
