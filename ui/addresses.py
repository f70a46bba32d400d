"""Who is asking: a visitor's address, believed from a proxy only where a proxy is really there.

Every budget the guard keeps is per address, so the address must not be the visitor's to choose.
"""

from __future__ import annotations

import os


def trusted_proxies() -> frozenset[str]:
    """Peers whose X-Forwarded-For is believed: those in ``TRUSTED_PROXIES`` (comma-separated;
    tests and benchmarks set 127.0.0.1 to play many addresses)."""
    return frozenset(p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip())


def client_address(scope: dict) -> str:
    """The visitor's address, from the proxy only.

    Behind a trusted proxy (on a Space, where ``SPACE_ID`` is set, every peer is Hugging Face's
    proxy; elsewhere the peers in ``TRUSTED_PROXIES``), the last entry of all X-Forwarded-For
    lines joined: the proxy appends the address it saw, and a client can put anything before it,
    never after it. Anywhere else the socket's peer: a client shared a link to a locally run app
    could otherwise pick a new address for every request.
    """
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not (os.environ.get("SPACE_ID") or peer in trusted_proxies()):
        return peer
    lines = [value.decode("latin-1") for name, value in scope.get("headers") or [] if name == b"x-forwarded-for"]
    entries = [entry.strip() for entry in ",".join(lines).split(",") if entry.strip()]
    return entries[-1] if entries else peer
