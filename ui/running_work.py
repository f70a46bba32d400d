"""Work bounded while it runs: a handler that decodes or runs a network holds a slot until it ends.

Gradio frees a cancelled event's queue place at once, but it cannot stop the thread running the
handler: before this module, a stranger who joined and cancelled a photo event thirty times had
thirty threads decoding 49-megapixel images at once. Here every such handler is wrapped by
``bounded(kind)``: its work waits for a slot of that kind (``nets.training.fair_slots.FairSlots``,
fair between client addresses) in its own thread and keeps it until the work ends, cancelled or
not. The guard tells ``CANCELS`` about every ``/gradio_api/cancel``; a cancelled handler leaves
the line at once, and ``check()`` between its steps ends its work at the next step (decoding,
a forward pass, a batch).
"""

from __future__ import annotations

import contextvars
import ctypes
import ctypes.util
import functools
import inspect
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from nets.training.fair_slots import FairSlots
from nets.training.jobs import Cancelled
from ui.addresses import client_address
from ui.budgets import ALEXNET_CONCURRENCY


class Cancels:
    """When each (session, handler) was last cancelled: told by the guard, read by the work."""

    def __init__(self, size: int = 20_000) -> None:
        self._when: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def cancelled(self, session: str, handler: str) -> None:
        with self._lock:
            self._when[(session, handler)] = time.monotonic()
            self._when.move_to_end((session, handler))
            while len(self._when) > self.size:
                self._when.popitem(last=False)

    def since(self, session: str, handler: str, started: float) -> bool:
        """The handler of this session was cancelled after ``started``."""
        with self._lock:
            return self._when.get((session, handler), float("-inf")) > started


CANCELS = Cancels()


@dataclass(frozen=True)
class Work:
    """One handler's run: who asked, and whether it was cancelled since it started."""

    session: str
    address: str
    handler: str
    started: float

    def cancelled(self) -> bool:
        return CANCELS.since(self.session, self.handler, self.started)

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled(f"{self.handler} cancelled")


_CURRENT: contextvars.ContextVar[Work | None] = contextvars.ContextVar("running_work", default=None)


def check() -> None:
    """Between two steps of a handler's work: end it here if its event was cancelled."""
    work = _CURRENT.get()
    if work is not None:
        work.check()


def _load_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: its allocator gives memory back its own way
        return None


_MALLOC_TRIM = _load_trim()


def give_memory_back() -> None:
    """Hand freed memory back to the system after a piece of work (glibc keeps a decoded photo's
    200 MB in the arena of the thread that decoded it; with many threads that adds up to GBs)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _request_of(args: tuple, kwargs: dict) -> gr.Request | None:
    return next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)


def _work_for(handler: str, request: gr.Request | None, address_of: Callable[[dict], str]) -> Work:
    session = getattr(request, "session_hash", None) or ""
    scope = getattr(getattr(request, "request", None), "scope", None) or {}
    return Work(session, address_of(scope) if scope else "", handler, time.monotonic())


def bounded(slots: FairSlots, address_of: Callable[[dict], str] = client_address):
    """Decorate a handler (a function or a generator taking a ``gr.Request``) so that its work
    holds one of ``slots`` from its first step to its last, and a cancel ends it (see the module).

    A cancelled handler's answer goes nowhere (Gradio already dropped the event), so its end is
    a ``Cancelled`` exception, which Gradio logs and discards.
    """

    def decorate(fn):
        name = fn.__name__

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def generator(*args, **kwargs):
                if _CURRENT.get() is not None:  # called by a handler that holds a slot already
                    yield from fn(*args, **kwargs)
                    return
                work = _work_for(name, _request_of(args, kwargs), address_of)
                with slots.hold(work.address, work.cancelled):
                    token = _CURRENT.set(work)
                    try:
                        yield from fn(*args, **kwargs)
                    finally:
                        _CURRENT.reset(token)
                        give_memory_back()

            return generator

        @functools.wraps(fn)
        def function(*args, **kwargs):
            if _CURRENT.get() is not None:  # called by a handler that holds a slot already
                return fn(*args, **kwargs)
            work = _work_for(name, _request_of(args, kwargs), address_of)
            with slots.hold(work.address, work.cancelled):
                token = _CURRENT.set(work)
                try:
                    return fn(*args, **kwargs)
                finally:
                    _CURRENT.reset(token)
                    give_memory_back()

        return function

    return decorate


ALEXNET_WORK = FairSlots(ALEXNET_CONCURRENCY)  # photos, heatmaps, feature maps: ImageNet AlexNet's work
alexnet_work = bounded(ALEXNET_WORK)
