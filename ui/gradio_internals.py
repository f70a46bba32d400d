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


def _bare_skip(value) -> bool:
    return isinstance(value, dict) and value == {"__type__": "update"}


def skip_updates_cheaply() -> None:
    """Make a ``gr.skip()`` output cost nothing when a handler yields it.

    For every output of every yield that is an update, Gradio rebuilds the component and its
    config (for an HTML component a signature and a pydantic schema), even for a bare
    ``gr.skip()`` that changes nothing. A training job yields a row of skips every beat so that a
    cancel can land; forty jobs waiting in line kept Gradio's one event-loop thread busy with
    them, and another visitor's photo waited 17 s. A bare skip now passes through as the
    generator's "nothing more" marker (which Gradio leaves untouched) and leaves as the same
    ``{"__type__": "update"}`` the page would have got: no component is rebuilt, no state changes.
    """
    from gradio import Blocks
    from gradio.components import _Keywords

    original = Blocks.postprocess_data
    if getattr(original, "skips_cheaply", False):
        return

    async def postprocess_data(self, block_fn, predictions, state):
        if isinstance(predictions, (list, tuple)) and len(block_fn.outputs) == len(predictions) > 1:
            skipped = [i for i, value in enumerate(predictions) if _bare_skip(value)]
            if skipped:
                marked = list(predictions)
                for i in skipped:
                    marked[i] = _Keywords.FINISHED_ITERATING  # Gradio's own: "nothing for this output"
                output = await original(self, block_fn, marked, state)
                for i in skipped:
                    if not block_fn.outputs[i].stateful:  # a State's output is None either way
                        output[i] = {"__type__": "update"}
                return output
        return await original(self, block_fn, predictions, state)

    postprocess_data.skips_cheaply = True
    postprocess_data.__wrapped__ = original  # Gradio's own, for a test to compare with
    Blocks.postprocess_data = postprocess_data
