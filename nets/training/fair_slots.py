"""A few work slots shared fairly between client addresses, held by the work itself.

A public Space serves a whole class behind one school address and, at the same time, strangers
who may queue dozens of jobs. First come, first served would let whoever queued first take every
slot for minutes. ``FairSlots`` gives a free slot to the waiting job whose address has the fewest
jobs running or waiting ahead of it (ties by arrival): every address's first job comes before any
address's second, so a class is served alongside a stranger's sixty jobs, not after them.

The slot is held by the work, not by the web server's queue: a web framework frees an event's
place the moment it is cancelled, while its thread may still be decoding or training. Whoever
holds a slot keeps it until its block ends, however it ends, so cancelling and re-submitting
never runs more work at once than there are slots. A waiter checks ``cancelled()`` while it
waits and leaves the line at once when it is.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from nets.training.jobs import Cancelled

WAIT_CHECK_SECONDS = 0.25  # how often a waiter looks at its cancelled() while nothing else happens


@dataclass(eq=False)
class Waiter:
    """One job in line: its address and its place in arrival order."""

    address: str
    arrival: int
    position: int = field(default=0)  # 1-based place in the fair order, kept up to date while waiting
    granted: bool = False  # a slot is this job's: it may start


class FairSlots:
    """At most ``count`` jobs work at once; a free slot goes to the fairest waiter (see the module).

    ``hold(address, cancelled, waiting)`` waits for a slot and keeps it until the block ends;
    ``waiting(position, in_line)`` is called whenever the job's place in line changes, so a page can
    show "3rd in line" where the web server's first-come order no longer tells it.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._changed = threading.Condition()
        self._running: Counter[str] = Counter()  # address -> jobs holding a slot
        self._line: list[Waiter] = []  # in arrival order
        self._arrivals = itertools.count()
        self._order: list[Waiter] | None = None  # the fair order, recomputed after each change
        self.busy = 0  # slots held right now (for tests and benchmarks)
        self.most = 0  # the most ever held at once

    def fair_order(self) -> list[Waiter]:
        """The waiters in the order they will get slots (call with the lock held)."""
        if self._order is None:
            ahead = Counter(self._running)
            ranked = []
            for waiter in self._line:  # arrival order: an address's own jobs keep theirs
                ranked.append((ahead[waiter.address], waiter.arrival, waiter))
                ahead[waiter.address] += 1
            ranked.sort(key=lambda rank: rank[:2])
            self._order = [waiter for *_, waiter in ranked]
            for place, waiter in enumerate(self._order, start=1):
                waiter.position = place
        return self._order

    def _change(self) -> None:
        self._order = None
        self._changed.notify_all()

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._line)

    def running_for(self, address: str) -> int:
        with self._changed:
            return self._running[address]

    def _grant(self) -> None:
        """Give free slots to the head of the fair order (call with the lock held)."""
        while self.busy < self.count and self._line:
            head = self.fair_order()[0]
            self._line.remove(head)
            head.granted = True
            self.busy += 1
            self.most = max(self.most, self.busy)
            self._running[head.address] += 1
            self._change()

    def _release(self, address: str) -> None:
        """Give the slot back (call with the lock held). The next holder is chosen while the
        leaving job still counts for its address, so an address does not follow itself when
        another one waits."""
        self.busy -= 1
        self._order = None
        self._grant()
        self._running[address] -= 1
        if not self._running[address]:
            del self._running[address]
        self._change()

    @contextlib.contextmanager
    def hold(
        self,
        address: str = "",
        cancelled: Callable[[], bool] = lambda: False,
        waiting: Callable[[int, int], None] | None = None,
    ) -> Iterator[None]:
        with self._changed:
            waiter = Waiter(address, next(self._arrivals))
            self._line.append(waiter)
            self._change()
            self._grant()
            told = None
            while not waiter.granted:
                if cancelled():
                    self._line.remove(waiter)
                    self._change()
                    raise Cancelled("cancelled while waiting for a free slot")
                order = self.fair_order()
                if waiting is not None and (waiter.position, len(order)) != told:
                    told = (waiter.position, len(order))
                    waiting(*told)
                self._changed.wait(WAIT_CHECK_SECONDS)
        try:
            yield
        finally:
            with self._changed:
                self._release(address)
