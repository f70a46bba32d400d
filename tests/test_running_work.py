"""A handler's work holds its slot until it ends, and a cancel ends it at its next step."""

from __future__ import annotations

import threading
import time

import gradio as gr
import pytest

from nets.training.fair_slots import FairSlots
from nets.training.jobs import Cancelled
from ui import running_work
from ui.running_work import CANCELS, bounded


def request(session: str) -> gr.Request:
    return gr.Request(session_hash=session)


def test_a_cancelled_handler_stops_at_its_next_step_and_gives_its_slot_back():
    slots = FairSlots(1)
    steps: list[int] = []

    @bounded(slots, lambda scope: "")
    def decode_and_classify(path: str, request: gr.Request = None):
        for step in range(50):
            running_work.check()
            steps.append(step)
            time.sleep(0.02)
        return "answer"

    outcome: list[object] = []

    def run():
        try:
            outcome.append(decode_and_classify("photo.png", request=request("s1")))
        except Cancelled:
            outcome.append("cancelled")

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.2)
    CANCELS.cancelled("s1", "decode_and_classify")
    thread.join(2)
    assert outcome == ["cancelled"]
    assert 3 <= len(steps) < 30
    assert slots.busy == 0


def test_an_old_cancel_does_not_stop_a_new_run_of_the_same_handler():
    slots = FairSlots(1)
    CANCELS.cancelled("s2", "classify")
    time.sleep(0.01)

    @bounded(slots, lambda scope: "")
    def classify(path: str, request: gr.Request = None):
        running_work.check()
        return path

    assert classify("x", request=request("s2")) == "x"


def test_a_generator_handler_holds_its_slot_across_its_updates():
    slots = FairSlots(1)

    @bounded(slots, lambda scope: "")
    def train(request: gr.Request = None):
        for _ in range(3):
            yield slots.busy

    assert list(train(request=request("s3"))) == [1, 1, 1]
    assert slots.busy == 0


def test_cancelled_while_waiting_for_a_slot_never_starts():
    slots = FairSlots(1)
    ran: list[str] = []

    @bounded(slots, lambda scope: "")
    def classify(name: str, request: gr.Request = None):
        ran.append(name)

    with slots.hold("someone"):
        thread_errors: list[BaseException] = []

        def waiting():
            try:
                classify("late", request=request("s4"))
            except Cancelled as error:
                thread_errors.append(error)

        thread = threading.Thread(target=waiting)
        thread.start()
        while slots.waiting < 1:
            time.sleep(0.005)
        CANCELS.cancelled("s4", "classify")
        thread.join(2)
    assert ran == [] and len(thread_errors) == 1


@pytest.mark.parametrize("size", [3])
def test_the_cancel_register_is_bounded(size):
    cancels = running_work.Cancels(size)
    for n in range(10):
        cancels.cancelled(f"s{n}", "h")
    assert len(cancels._when) == size
