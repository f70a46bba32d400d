"""Work slots shared fairly between addresses: a class is served beside a stranger's many jobs."""

from __future__ import annotations

import threading
import time

import pytest

from nets.training.fair_slots import FairSlots
from nets.training.jobs import Cancelled


def run_jobs(slots: FairSlots, jobs: list[str], seconds: float = 0.02) -> list[str]:
    """Start one thread per job (address names, in this arrival order); return the order they ran."""
    started: list[str] = []
    lock = threading.Lock()
    gate = threading.Event()

    def job(address: str) -> None:
        with slots.hold(address):
            gate.wait()
            with lock:
                started.append(address)
            time.sleep(seconds)

    threads = []
    for address in jobs:
        thread = threading.Thread(target=job, args=(address,))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 2
        while slots.waiting + slots.busy < len(threads) and time.monotonic() < deadline:
            time.sleep(0.001)  # arrival order is the order of this list
    gate.set()
    for thread in threads:
        thread.join(10)
    return started


def test_a_class_is_served_between_a_strangers_jobs_not_after_them():
    slots = FairSlots(1)
    order = run_jobs(slots, ["stranger"] * 6 + ["school"] * 3)
    # the stranger's first job already holds the slot; then the addresses take turns
    assert order == [
        "stranger",
        "school",
        "stranger",
        "school",
        "stranger",
        "school",
        "stranger",
        "stranger",
        "stranger",
    ]


def test_one_address_alone_is_served_first_come_first_served():
    slots = FairSlots(2)
    assert run_jobs(slots, ["a"] * 5) == ["a"] * 5
    assert slots.most == 2 and slots.busy == 0


def test_never_more_work_than_slots_at_once():
    slots = FairSlots(2)
    run_jobs(slots, ["a", "b", "c", "a", "b", "c", "d"], seconds=0.01)
    assert slots.most == 2


def test_waiting_jobs_are_told_their_place_in_line():
    slots = FairSlots(1)
    places: dict[str, list[tuple[int, int]]] = {"b": [], "c": []}
    release = threading.Event()
    holder_in = threading.Event()

    def holder():
        with slots.hold("a"):
            holder_in.set()
            release.wait()

    def waiter(name: str):
        with slots.hold(name, waiting=lambda place, in_line: places[name].append((place, in_line))):
            pass

    threading.Thread(target=holder).start()
    holder_in.wait()
    b = threading.Thread(target=waiter, args=("b",))
    b.start()
    while slots.waiting < 1:
        time.sleep(0.001)
    c = threading.Thread(target=waiter, args=("c",))
    c.start()
    while slots.waiting < 2:
        time.sleep(0.001)
    time.sleep(0.3)
    release.set()
    b.join(2), c.join(2)
    assert places["b"][0] == (1, 1) and places["b"][-1] == (1, 2)
    assert places["c"] == [(2, 2)] or places["c"][0] == (2, 2)


def test_a_cancelled_waiter_leaves_the_line_at_once():
    slots = FairSlots(1)
    release = threading.Event()
    holding = threading.Event()

    def holder():
        with slots.hold("a"):
            holding.set()
            release.wait()

    threading.Thread(target=holder).start()
    holding.wait()
    cancelled = threading.Event()
    outcome: list[str] = []

    def waiter():
        try:
            with slots.hold("b", cancelled.is_set):
                outcome.append("ran")
        except Cancelled:
            outcome.append("cancelled")

    thread = threading.Thread(target=waiter)
    thread.start()
    while slots.waiting < 1:
        time.sleep(0.001)
    started = time.monotonic()
    cancelled.set()
    thread.join(2)
    assert outcome == ["cancelled"] and time.monotonic() - started < 1.0
    assert slots.waiting == 0
    release.set()


def test_a_slot_is_given_back_when_the_work_fails():
    slots = FairSlots(1)
    with pytest.raises(ValueError), slots.hold("a"):
        raise ValueError("the job failed")
    assert slots.busy == 0 and slots.running_for("a") == 0
