"""Running a long job (fine-tuning) in its own low-priority thread, stoppable at any time.

A class of forty shares one server: a fine-tune that grabs both CPU cores makes every visitor's
drawing wait. So a job runs in a thread of its own, at a lower scheduling priority (Linux lets a
thread raise its own niceness) and with one intra-op thread for torch while others are served, so
interactive requests (a digit, a photo) come first and the job takes the CPU that is left; when
nobody else needs the cores, the caller may give the job more threads. Its events come back
through a queue; when the consumer stops listening (the visitor closed the page, or the server
cancelled the event), the job is told at its next check, and stops (``Cancelled``).

The web server's queue frees a cancelled event's place at once, but its thread may still be
finishing a step. So the work itself holds a place too (``fair_slots.FairSlots``): however fast strangers
submit and cancel, no more jobs than that run at the same time.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import torch

from nets.facts import Fact, fact

Event = TypeVar("Event")
JOB_NICENESS = 10  # CFS weight 110 vs 1024 for normal threads: about a tenth of a contended core


class Heartbeat:
    """Nothing new from the job for a while: the consumer gets a turn anyway (see ``run_in_background``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Heartbeat()"


HEARTBEAT = Heartbeat()


class Cancelled(Exception):
    """Nobody waits for the job's result any more: it stops at once, without finishing anything."""


class JobClock:
    """A training job's Stop and time limit, checked between its steps.

    ``over()`` is true once the visitor pressed Stop or ``limit`` seconds have passed since the
    clock started, and ``reason`` says which (``stopped_by_request``, ``stopped_at_time_limit``);
    a job that ends there keeps what it learned. A cancelled job (nobody waits for it any more)
    raises ``Cancelled`` at once instead: nothing of it is kept.
    """

    def __init__(
        self,
        limit: float,
        should_stop: Callable[[], bool] | None = None,
        cancelled: Callable[[], bool] | None = None,
        what: str = "the job",
    ) -> None:
        self.started = time.monotonic()
        self.limit = limit
        self.should_stop = should_stop or (lambda: False)
        self.cancelled = cancelled or (lambda: False)
        self.what = what  # for the Cancelled message (in the server's log only)
        self.reason: Fact | None = None

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled(f"{self.what} cancelled")

    def over(self) -> bool:
        self.check()
        if self.reason is None and self.should_stop():
            self.reason = fact("stopped_by_request")
        elif self.reason is None and time.monotonic() - self.started > self.limit:
            self.reason = fact("stopped_at_time_limit", seconds=self.limit)
        return self.reason is not None

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


def run_in_background(
    job: Callable[[Callable[[], bool]], Iterator[Event]],
    niceness: int = JOB_NICENESS,
    torch_threads: int | Callable[[], int] = 1,
    slots=None,
    address: str = "",
    in_line: Callable[[int, int], Event] | None = None,
    heartbeat: float | None = None,
) -> Iterator[Event | Heartbeat]:
    """Iterate over ``job(closed)``'s events, computed in a background thread.

    ``job`` gets a ``closed()`` callable, true once nobody listens any more: it checks it between
    steps and raises ``Cancelled``. Exceptions raised by the job are raised here. Closing this
    iterator (``close()``, garbage collection, an exception in the consumer) closes the job. With
    ``slots`` (``fair_slots.FairSlots``), the job starts only when a slot is free for ``address``
    and holds it until its thread ends; while it waits, ``in_line(place, of)`` makes the event
    that tells where it stands (sent whenever that changes).
    ``torch_threads`` is the job's number of intra-op threads, or a function asked again after
    every event (a job reports every half second or so), so a job can use the cores a quiet
    server leaves free and give them back as soon as visitors come.

    With ``heartbeat``, a ``HEARTBEAT`` comes whenever the job has been silent that many seconds
    (reading a big zip, waiting for a slot). A web server that cancels an event can only stop a
    generator between two of its items: the beat makes sure there is one soon, so a cancel lands
    within about ``heartbeat`` seconds instead of at the job's next real event.
    """
    threads = torch_threads if callable(torch_threads) else (lambda: torch_threads)
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    finished = object()

    def work() -> None:
        # not Linux, or not allowed: the job runs at normal priority
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        # The job's intra-op threads. With OpenMP (torch's Linux builds) the setting belongs to the
        # calling thread: the job's count does not change the request handlers' own.
        current = max(1, int(threads()))
        torch.set_num_threads(current)
        try:
            waiting = None if in_line is None else (lambda place, of: events.put((True, in_line(place, of))))
            held = slots.hold(address, stop.is_set, waiting) if slots is not None else contextlib.nullcontext()
            with held:
                steps = job(stop.is_set)
                try:
                    for event in steps:
                        events.put((True, event))
                        if stop.is_set():
                            break
                        wanted = max(1, int(threads()))
                        if wanted != current:
                            torch.set_num_threads(wanted)
                            current = wanted
                finally:
                    steps.close()  # a job stopped between steps still runs its own clean-up
        except BaseException as error:
            events.put((False, error))
        finally:
            events.put((True, finished))

    # The caller's context variables go along (a web framework's progress reporting uses them).
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(work,), name="background-job", daemon=True)
    thread.start()
    try:
        while True:
            try:
                ok, item = events.get(timeout=heartbeat)
            except queue.Empty:
                yield HEARTBEAT
                continue
            if not ok:
                raise item
            if item is finished:
                return
            yield item
    finally:
        stop.set()


class StopSwitch:
    """A visitor's Stop button for their current job: pressed by the UI, read by the job between steps.

    One switch serves one job: ``claim()`` is true only for the first job that starts with it, so
    a second click on Start while a job runs is refused instead of starting a twin. A switch
    pressed while its job still waits in the queue makes that job stop as soon as it starts.
    """

    def __init__(self) -> None:
        self._pressed = threading.Event()
        self._claimed = self._finished = False
        self._lock = threading.Lock()

    def press(self) -> None:
        self._pressed.set()

    @property
    def pressed(self) -> bool:
        return self._pressed.is_set()

    def claim(self) -> bool:
        """True for the first job to start with this switch, False for any later one."""
        with self._lock:
            first, self._claimed = not self._claimed, True
            return first

    def finish(self) -> None:
        """The switch's job has ended (finished, failed or stopped)."""
        with self._lock:
            self._finished = True

    @property
    def busy(self) -> bool:
        """A job started with this switch and has not ended: a new switch must not replace it."""
        with self._lock:
            return self._claimed and not self._finished
