"""One bounded store for everything the app keeps per visitor: ``SessionStore``.

Gradio keeps a few thousand sessions and drops the oldest when strangers open more, so a model kept
in Gradio's session state could be pushed out by anyone, and a module-global dict grows with every
stranger. Every per-visitor cache of the app (``ui.stores``: fine-tuned models, their reports,
downloads, datasets being built, visitors' LeNets, photo analyses; the photo tab's refusals told;
the guard's records of addresses and sessions) is one of these: keyed by session (or address),
within a byte budget, an entry budget and an age, the least recently used let go first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any


class NoRoom(Exception):
    """A value that cannot be kept even once every entry that may go has gone (it is larger than
    the store, than its address's share, or the rest is kept)."""


@dataclass
class StoredEntry:
    value: Any
    size: int  # bytes, as the store's ``size`` counted them (or as ``put`` was told)
    used: float  # when it was last put or read (the store's clock)
    address: str | None  # the client address it counts against, if any
    kept: bool  # never let go to make room for other entries


class SessionStore:
    """Values by key (a session id, an address), within ``max_bytes`` and ``max_entries`` in all,
    each let go ``ttl`` seconds after its last use; ``None`` for a bound means none.

    To make room the least recently used entry goes first, except entries put with ``kept=True``
    (a visitor's head model must not be pushed out by strangers' entries; age still lets them go).
    With ``address_share`` (a fraction of ``max_bytes``), an entry put with ``address=`` first
    pushes out its own address's older entries: no address holds more than its share of the bytes.
    A let-go value is handed to ``release`` (free its memory, delete its files) and its key is
    remembered, so its owner is told it was let go (``released``) rather than that there was none.
    """

    def __init__(
        self,
        *,
        max_bytes: int | None = None,
        max_entries: int | None = None,
        ttl: float | None = None,
        size: Callable[[Any], int] = lambda value: 0,
        release: Callable[[Any], None] = lambda value: None,
        address_share: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        remembered: int = 10_000,
    ) -> None:
        self.max_bytes, self.max_entries, self.ttl = max_bytes, max_entries, ttl
        self.size, self.release, self.address_share, self.clock = size, release, address_share, clock
        self.remembered = remembered  # how many let-go keys ``released`` remembers
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, StoredEntry] = OrderedDict()  # least recently used first
        self._released: OrderedDict[Hashable, None] = OrderedDict()
        self._bytes = 0

    # --- reading -----------------------------------------------------------------------------------

    def get(self, key: Hashable) -> Any | None:
        """The key's value (its last use renewed), or None."""
        with self._lock:
            entry = self._used(key)
            return None if entry is None else entry.value

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The key's value (its last use renewed), or ``make()`` put under it."""
        with self._lock:
            entry = self._used(key)
            if entry is not None:
                return entry.value
            value = make()
            self._put(key, value, self.size(value), None, False)
            return value

    def released(self, key: Hashable) -> bool:
        """True if the key's value was let go to make room or for its age (not replaced or discarded)."""
        with self._lock:
            self._expire()
            return key in self._released

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            self._expire()
            return key in self._entries

    @property
    def bytes(self) -> int:
        with self._lock:
            self._expire()
            return self._bytes

    def bytes_of(self, address: str) -> int:
        """The bytes the entries put for ``address`` take."""
        with self._lock:
            self._expire()
            return sum(e.size for e in self._entries.values() if e.address == address)

    def put(
        self, key: Hashable, value: Any, *, size: int | None = None, address: str | None = None, kept: bool = False
    ) -> Any | None:
        """Keep ``value`` under ``key``, letting older entries go to make room; ``NoRoom`` if it
        cannot fit. Returns the value it replaced (not released: it may still be in use), or None."""
        with self._lock:
            self._expire()
            return self._put(key, value, self.size(value) if size is None else size, address, kept)

    def discard(self, key: Hashable) -> None:
        """Let the key's value go now (released, but not reported as ``released``: its owner asked)."""
        with self._lock:
            entry = self._pop(key)
            if entry is not None:
                self.release(entry.value)

    # --- inside the lock ---------------------------------------------------------------------------

    def _used(self, key) -> StoredEntry | None:
        self._expire()
        entry = self._entries.get(key)
        if entry is not None:
            entry.used = self.clock()
            self._entries.move_to_end(key)
        return entry

    def _put(self, key, value, size: int, address: str | None, kept: bool):
        old = self._entries.get(key)
        for victim in self._room_for(key, old, size, address):
            self._let_go(victim)
        self._pop(key)
        self._entries[key] = StoredEntry(value, size, self.clock(), address, kept)
        self._bytes += size
        self._released.pop(key, None)
        return None if old is None else old.value

    def _room_for(self, key, old: StoredEntry | None, size: int, address: str | None) -> list:
        """The keys to let go, least recently used first, so that ``size`` more bytes fit (or NoRoom)."""

        def movable():  # the entries that may go, least recently used first (lazily: the guard's are many)
            return ((k, e) for k, e in self._entries.items() if k != key and not e.kept)

        victims: dict = {}  # ordered, and quick to ask
        total = self._bytes - (0 if old is None else old.size) + size  # the bytes, once it is in
        count = len(self._entries) - (old is not None) + 1
        if address is not None and self.address_share is not None and self.max_bytes is not None:
            share = self.address_share * self.max_bytes
            mine = size + sum(e.size for k, e in self._entries.items() if k != key and e.address == address)
            for k, e in movable():  # first the address's own entries
                if mine <= share:
                    break
                if e.address == address:
                    victims[k] = None
                    mine, total, count = mine - e.size, total - e.size, count - 1
            if mine > share:
                raise NoRoom(f"{size} bytes do not fit in the share of {address}")
        for k, e in movable():
            if not self._over(total, count):
                break
            if k not in victims:
                victims[k] = None
                total, count = total - e.size, count - 1
        if self._over(total, count):
            raise NoRoom(f"{size} bytes do not fit in the store")
        return list(victims)

    def _over(self, total: int, count: int) -> bool:
        return (self.max_bytes is not None and total > self.max_bytes) or (
            self.max_entries is not None and count > self.max_entries
        )

    def _expire(self) -> None:
        if self.ttl is None:
            return
        now = self.clock()
        while self._entries:
            key, entry = next(iter(self._entries.items()))  # the least recently used
            if now - entry.used <= self.ttl:
                break
            self._let_go(key)

    def _let_go(self, key) -> None:
        entry = self._pop(key)
        self.release(entry.value)
        self._released[key] = None
        while len(self._released) > self.remembered:
            self._released.popitem(last=False)

    def _pop(self, key) -> StoredEntry | None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size
        return entry
