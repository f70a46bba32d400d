"""Running a long job (fine-tuning) in its own low-priority thread, stoppable at any time.

A class of forty shares one server: a fine-tune that grabs both CPU cores makes every visitor's
drawing wait. So a job runs in a thread of its own, at a lower scheduling priority (Linux lets a
thread raise its own niceness) and with one intra-op thread for torch, so interactive requests
(a digit, a photo) are served first and the job takes the CPU that is left. Its events come back
through a queue; when the consumer stops listening (the visitor pressed Stop, closed the page,
or the server cancelled the event), the job is told to stop at its next check.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import torch

Event = TypeVar("Event")
JOB_NICENESS = 10  # CFS weight 110 vs 1024 for normal threads: about a tenth of a contended core


def run_in_background(job: Callable[[Callable[[], bool]], Iterator[Event]], niceness: int = JOB_NICENESS,
                      torch_threads: int = 1) -> Iterator[Event]:
    """Iterate over ``job(should_stop)``'s events, computed in a background thread.

    ``job`` gets a ``should_stop()`` callable to check between steps. Exceptions raised by the
    job are raised here. Closing this iterator (``close()``, garbage collection, an exception in
    the consumer) asks the job to stop.
    """
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    finished = object()

    def work() -> None:
        # not Linux, or not allowed: the job runs at normal priority
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        # One intra-op thread for the job. (Depending on the build, torch's setting may be
        # process-wide; the app runs every request on one thread anyway.)
        torch.set_num_threads(torch_threads)
        steps = job(stop.is_set)
        try:
            for event in steps:
                events.put((True, event))
                if stop.is_set():
                    break
        except BaseException as error:
            events.put((False, error))
        finally:
            steps.close()  # a job stopped between steps still runs its own clean-up
            events.put((True, finished))

    # The caller's context variables go along (a web framework's progress reporting uses them).
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(work,), name="background-job", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = events.get()
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
        self._claimed = False
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
