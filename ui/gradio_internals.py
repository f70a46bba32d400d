"""The parts of Gradio this app reads that Gradio does not document, in one place.

Written for gradio 6.31.0. The guard and ``IdleCores`` need to know what Gradio's one queue holds
(which events wait or run, of which concurrency id, for which session and address), and only
Gradio's private ``Blocks._queue`` knows. Reading it here keeps every such line in one module: a
new Gradio that renames them breaks these few functions and their callers' tests, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueuedEvent:
    """An event Gradio's queue holds (waiting or running)."""

    session: str | None
    concurrency_id: str | None
    scope: dict | None  # the ASGI scope of the request that sent it (its client address), if any


def queued_events(blocks) -> list[QueuedEvent]:
    """Every event waiting or running in the app's queue (``Queue.event_ids_to_events``)."""
    events = list(blocks._queue.event_ids_to_events.values())  # a copy: the queue changes meanwhile
    return [
        QueuedEvent(event.session_hash, event.fn.concurrency_id, None if event.request is None else event.request.scope)
        for event in events
    ]


def waiting_count(blocks, concurrency_id: str | None = None) -> int:
    """How many events wait for a worker: of one concurrency id, or of every id (None)."""
    per_id = blocks._queue.event_queue_per_concurrency_id
    if concurrency_id is not None:
        waiting = per_id.get(concurrency_id)
        return len(waiting.queue) if waiting is not None else 0
    return sum(len(events.queue) for events in list(per_id.values()))


def running_count(blocks) -> int:
    """How many of the queue's workers are running an event now."""
    return blocks._queue.get_active_worker_count()
