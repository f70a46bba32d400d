"""Long jobs run in a background thread that yields to visitors and stops when asked."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from harness.server import ROOT
from nets.training.jobs import HEARTBEAT, run_in_background


def counting(should_stop, seen: list, limit: int = 10_000):
    for i in range(limit):
        if should_stop():
            seen.append("stopped")
            return
        seen.append(threading.current_thread().name)
        time.sleep(0.001)
        yield i


def test_events_arrive_in_order_from_another_thread():
    seen = []
    assert list(run_in_background(lambda stop: counting(stop, seen, 20))) == list(range(20))
    assert set(seen) == {"background-job"}


def test_closing_the_iterator_stops_the_job():
    seen = []
    events = run_in_background(lambda stop: counting(stop, seen))
    assert [next(events) for _ in range(3)] == [0, 1, 2]
    events.close()  # what happens when a visitor presses Stop or leaves
    time.sleep(0.3)
    settled = len(seen)
    time.sleep(0.3)
    assert len(seen) == settled < 100  # no more steps: the job has stopped


def test_a_silent_job_still_gives_its_consumer_a_turn_so_it_can_be_closed():
    """A job that works a long time between events (reading a zip) sends heartbeats; closing the
    events on one (what a web server's cancel does) tells the job, which stops at its next check."""
    checks = []

    def reading(closed):
        for _ in range(200):  # 2 s of silent work, checking ``closed`` every 10 ms
            checks.append(closed())
            if closed():
                return
            time.sleep(0.01)
        yield "read"

    events = run_in_background(reading, heartbeat=0.1)
    started = time.monotonic()
    assert next(events) is HEARTBEAT and next(events) is HEARTBEAT
    assert 0.15 < time.monotonic() - started < 1.0
    events.close()
    time.sleep(0.2)
    assert checks[-1] is True and len(checks) < 100  # the job saw it was closed, long before its 2 s


def test_without_heartbeats_only_the_jobs_events_come():
    events = list(run_in_background(lambda closed: (time.sleep(0.3), (yield "done"))))
    assert events == ["done"]


def test_errors_in_the_job_reach_the_consumer():
    def failing(should_stop):
        yield 1
        raise ValueError("the zip is empty")

    events = run_in_background(failing)
    assert next(events) == 1
    with pytest.raises(ValueError, match="the zip is empty"):
        next(events)


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="thread priorities are a Linux feature")
def test_the_job_runs_at_a_lower_priority_with_one_torch_thread():
    """Checked in a fresh interpreter: this test process may already have set torch's threads."""
    script = (
        "import os, threading, torch\n"
        "torch.set_num_threads(2)\n"
        "from nets.training.jobs import HEARTBEAT, run_in_background\n"
        "def report(should_stop):\n"
        "    yield os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), torch.get_num_threads()\n"
        "(nice, threads), = run_in_background(report)\n"
        "print(nice - os.getpriority(os.PRIO_PROCESS, 0), threads)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    nicer, job_threads = map(int, out.stdout.split())
    assert nicer >= 1 and job_threads == 1
