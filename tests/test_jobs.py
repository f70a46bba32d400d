"""Long jobs run in a background thread that yields to visitors and stops when asked."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from harness.server import ROOT
from nets.training.jobs import HEARTBEAT, Cancelled, run_in_background


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


# --- the training-job skeleton the fine-tune, the race and /train_lenet share (ui.training_job) ----------


def fake_training(job, epochs: int, step_seconds: float = 0.01):
    """A job's work as the skeleton runs it: an event per epoch, a check of Stop and of ``closed``
    between steps; its last event is what it learned (the epochs done)."""

    def work(closed):
        done = 0
        for _ in range(epochs):
            if job.stop_pressed():
                break
            if closed():
                raise Cancelled("the fake job was cancelled")
            time.sleep(step_seconds)
            done += 1
            yield ("epoch", done)
        yield ("finished", done)

    return work


def test_a_stopped_job_keeps_what_it_learned_and_frees_its_switch():
    from nets.training.fair_slots import FairSlots
    from nets.training.jobs import StopSwitch
    from ui.training_job import TrainingJob

    switch = StopSwitch()
    job = TrainingJob(None, switch, busy="ft_already_running", time_limit=60)
    assert switch.busy and not job.api  # the page passed its switch: tables get headings in words

    def show(event):
        if event == ("epoch", 3):
            switch.press()  # the visitor presses Stop after the third epoch
        return event

    run = job.run(fake_training(job, 1_000), show, nothing=None, slots=FairSlots(1))
    shown = []
    with pytest.raises(StopIteration) as ended:
        while True:
            shown.append(next(run))
    *epochs, last = shown
    assert ended.value.value == last  # run's return value: the job's last event
    assert epochs[:3] == [("epoch", 1), ("epoch", 2), ("epoch", 3)] and 3 <= len(epochs) <= 5  # a step or two in flight
    assert last == ("finished", len(epochs))  # every epoch trained before the stop is kept
    assert not switch.busy  # ended: the visitor's next Start gets a fresh switch


def test_a_second_start_while_the_job_runs_is_refused():
    import gradio as gr

    from nets.training.jobs import StopSwitch
    from ui.training_job import TrainingJob, arm_stop

    switch = StopSwitch()
    TrainingJob(None, switch, busy="ft_already_running", time_limit=60)
    assert arm_stop(switch)[0] is switch  # Start again: Stop stays connected to the running job
    with pytest.raises(gr.Error):
        TrainingJob(None, switch, busy="ft_already_running", time_limit=60)
    switch.finish()
    assert arm_stop(switch)[0] is not switch  # ended: the next job gets a switch of its own


def test_a_cancelled_job_ends_within_a_beat_even_when_it_is_silent():
    """Gradio cancels an event by closing its generator between two yields: a silent job still yields
    an update that changes nothing every beat, so the close lands soon and the work stops."""
    from nets.training.fair_slots import FairSlots
    from ui.budgets import BEAT_SECONDS
    from ui.training_job import TrainingJob

    job = TrainingJob(None, None, busy="ft_already_running", time_limit=60)
    slots = FairSlots(1)
    run = job.run(fake_training(job, 1_000, step_seconds=0.05), lambda event: None, nothing="nothing", slots=slots)
    started = time.monotonic()
    assert next(run) == "nothing"  # the events showed nothing: a turn for the server anyway
    assert time.monotonic() - started < BEAT_SECONDS + 0.5
    run.close()  # the visitor left
    deadline = time.monotonic() + 2
    while slots.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slots.busy == 0 and not job.switch.busy  # the work ended and gave back its slot


def test_a_program_gets_documented_column_names_and_the_page_gets_words():
    import pandas as pd

    from nets.training.jobs import StopSwitch
    from ui.training_job import TrainingJob

    table = pd.DataFrame({"epoch": [1, 2], "val_acc": [0.5, float("nan")]})
    program = TrainingJob(None, None, busy="ft_already_running", time_limit=60)
    page = TrainingJob(None, StopSwitch(), busy="ft_already_running", time_limit=60)
    assert program.api and list(program.shown(table).columns) == ["epoch", "val_acc"]
    worded = page.shown(table)
    assert not page.api and list(worded.columns) != ["epoch", "val_acc"]
    assert worded.iloc[:, 1].tolist() == ["50.0%", "—"]  # the same accuracy, as the page's curves say it
    assert 59 < program.time_left() <= 60


def test_waiting_in_line_does_not_spend_a_jobs_time_limit():
    """A class behind a stranger's sixty jobs waits its turn; its own time limit starts with its slot."""
    from nets.training.fair_slots import FairSlots
    from ui.training_job import TrainingJob

    slots = FairSlots(1)
    holding, release = threading.Event(), threading.Event()

    def stranger():
        with slots.hold("198.18.0.66"):
            holding.set()
            release.wait(5)

    threading.Thread(target=stranger, daemon=True).start()
    holding.wait(2)
    job = TrainingJob(None, None, busy="ft_already_running", time_limit=1.0)

    def work(closed):
        yield ("left", job.time_left())

    threading.Timer(1.5, release.set).start()  # the stranger's job takes longer than this job's whole limit
    run = job.run(work, lambda event: event, nothing=None, slots=slots)
    shown = [update for update in run if update is not None]
    assert shown and shown[0][0] == "left" and shown[0][1] > 0.8, shown  # its full second, after 1.5 s in line
