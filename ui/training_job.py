"""One shape for every long training job of the app: the fine-tune, the race and a visitor's LeNet.

A job has a Start and a Stop button, a progress line, and a handler that runs the training in a
low-priority background thread holding a work slot (``nets.training.jobs``). What they all share is
written here once:

- ``TrainingJob``: one caller's run from Start to its end. It claims the caller's stop switch (a
  second Start while a job runs is refused), tells the page from a program (the page passes a stop
  switch; a program calling the API passes none, stops by cancelling, and gets tables with their
  documented column names), keeps the time limit, and runs the work so that the server gets a turn
  at least every ``BEAT_SECONDS`` (a cancel lands within a beat). Stop keeps what was learned; a
  cancel keeps nothing.
- ``start_stop``: the Start/Stop wiring (the stop switch's state, the Stop button enabled only while
  a job runs, the progress line shown only then).
- ``curves_html``: loss and accuracy per epoch, on the training and the held-out images.

Each job supplies only what differs: its settings, its work (a generator of ``nets.training``
events) and how it words each event for the page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import gradio as gr
import pandas as pd

from nets.facts import Fact
from nets.training.events import InLine
from nets.training.fair_slots import FairSlots
from nets.training.finetune import Stopped
from nets.training.jobs import HEARTBEAT, Cancelled, StopSwitch, run_in_background
from ui.addresses import client_address
from ui.budgets import BEAT_SECONDS, WAITING_BEAT_SECONDS
from ui.charts import line_chart
from ui.server_sharing import ServerTurns
from ui.text import error, say, worded

# The accuracy columns of the jobs' tables (fractions in the API, percentages on the page).
PERCENT_COLUMNS = frozenset({"train_acc", "val_acc", "test_acc", "accuracy"})


class TrainingJob:
    """One caller's run of a training job, from its Start to its end (finished, stopped, failed or cancelled).

    Made once the inputs are checked, just before the work starts: it claims ``switch`` (or a
    ``gr.Error`` named ``busy`` when that switch's job still runs), and ``run`` always releases it.
    """

    def __init__(self, request: gr.Request | None, switch: StopSwitch | None, *, busy: str, time_limit: float) -> None:
        self.request = request
        self.api = switch is None  # a program: it stops a job by cancelling it, and reads column names
        self.switch = switch or StopSwitch()
        self.time_limit = time_limit
        self.deadline = time.monotonic() + time_limit  # set again when its slot is granted (``run``)
        scope = getattr(getattr(request, "request", None), "scope", None)
        self.address = client_address(scope) if scope else ""  # whose turn it is, in the fair order
        if not self.switch.claim():  # a second click on Start while the first job runs
            raise error(request, busy)

    def stop_pressed(self) -> bool:
        """The visitor pressed Stop: the work ends after its current step and keeps what it learned."""
        return self.switch.pressed

    def stopped_while_waiting(self) -> bool:
        """Stop was pressed while this job waited in the queue: it ends before it starts."""
        if self.switch.pressed:
            self.switch.finish()
            return True
        return False

    def zip_reading(self, closed: Callable[[], bool], progress: gr.Progress) -> Callable[[int, int], None]:
        """The zip reader's callback for this job: at each image it ends the reading when nobody
        waits any more (``Cancelled``), Stop was pressed or the time is up (``Stopped``: nothing
        was trained), and shows how far it got."""

        def reading(done: int, total: int) -> None:
            if closed():
                raise Cancelled("the visitor left while the zip was being read")
            if self.stop_pressed():
                raise Stopped(Fact("stopped_by_request"), "reading")
            if self.time_left() <= 0:
                raise Stopped(Fact("stopped_at_time_limit", seconds=self.time_limit), "reading")
            progress((done, total), desc=say(self.request, "ft_stage_reading"), unit="images")

        return reading

    def time_left(self) -> float:
        """Seconds left of the job's time limit (0 once it is over)."""
        return max(0.0, self.deadline - time.monotonic())

    def shown(self, table: pd.DataFrame, columns=None) -> pd.DataFrame:
        """A table as the caller reads it. For a program: the documented names, accuracies as fractions.
        For the page: headings in words and accuracies as percentages, as its statuses and curves say
        them (of ``columns`` only, when given: the others are the visitor's class names)."""
        if self.api:
            return table
        shown = table.copy()
        for column in set(table.columns if columns is None else columns) & PERCENT_COLUMNS:
            shown[column] = ["—" if pd.isna(value) else f"{value:.1%}" for value in shown[column]]
        return worded(self.request, shown, columns)

    def run(
        self,
        work: Callable[[Callable[[], bool]], Iterator[Any]],
        show: Callable[[Any], tuple | None],
        *,
        nothing: tuple,
        slots: FairSlots,
        torch_threads: int | Callable[[], int] = 1,
        progress: gr.Progress | None = None,
    ) -> Generator[tuple, None, Any]:
        """Run ``work(closed)`` in the background and yield the page updates ``show(event)`` makes of
        its events (None: nothing to show); returns the work's last event (``yield from`` gives it).

        ``work`` checks ``closed()`` (nobody waits any more) between its steps and raises
        ``Cancelled``; it reads ``stop_pressed`` for the visitor's Stop. While the work is silent or
        shows nothing, ``nothing`` (an update that changes no output) is yielded every beat, so the
        server can cancel the event. Errors of the work are raised here, after the switch is released.
        While it waits for a slot (shared fairly between addresses), ``progress`` tells its place in line.
        """
        turns = ServerTurns(nothing=nothing)
        last = None

        def timed(closed):
            # The time limit counts from the moment the job has its slot: waiting in a fair line
            # behind a stranger's jobs is not the job's own time. Everything after counts, the zip too.
            self.deadline = time.monotonic() + self.time_limit
            yield from work(closed)

        try:
            events = run_in_background(
                timed,
                slots=slots,
                address=self.address,
                in_line=InLine,
                torch_threads=torch_threads,
                heartbeat=BEAT_SECONDS,
            )
            in_line = False  # waiting for a slot: the server gets a turn less often (nothing runs yet)
            for event in events:
                if isinstance(event, InLine):
                    in_line = True
                    if progress is not None:
                        progress(0.0, desc=say(self.request, "job_in_line", place=event.place, waiting=event.waiting))
                    event = HEARTBEAT
                if event is not HEARTBEAT:
                    last, in_line = event, False
                beat = WAITING_BEAT_SECONDS if in_line else BEAT_SECONDS
                update = turns.due(None if event is HEARTBEAT else show(event), beat)
                if update is not None:
                    yield update
        finally:
            self.switch.finish()
        return last


def named_updates(names: tuple[str, ...]) -> Callable[..., tuple]:
    """A job's ``updates(**values)``: one yield of its handler, the outputs named in ``values`` set
    (``names`` are the event's outputs, in order), every other one left as it is."""

    def updates(**values) -> tuple:
        unknown = set(values) - set(names)
        assert not unknown, unknown
        return tuple(values.get(name, gr.skip()) for name in names)

    return updates


# --- the Start and Stop buttons ---------------------------------------------------------------------


def arm_stop(current: StopSwitch | None):
    """Start pressed: a fresh stop switch for the visitor's next job (a job still running keeps its
    own: a second click on Start must not disconnect Stop from it), Stop enabled, the progress line shown."""
    switch = current if current is not None and current.busy else StopSwitch()
    return switch, gr.update(interactive=True), gr.update(visible=True)


def press_stop(switch: StopSwitch | None) -> None:
    """Ask the visitor's job to stop after its current step, keeping what it learned.

    A job still waiting in the queue finds the switch already pressed and stops as soon as it starts.
    """
    if switch is not None:
        switch.press()


def disarm_stop():
    """The job ended: Stop disabled, the progress line hidden."""
    return gr.update(interactive=False), gr.update(visible=False)


def epochs_slider(high: int, value: int, label: str, info: str, elem_id: str) -> gr.Slider:
    """How many epochs a job trains, 1 to ``high`` (min_width: on a phone each slider takes the whole
    width; side by side, Korean labels broke mid-word)."""
    return gr.Slider(1, high, value=value, step=1, label=label, info=info, min_width=240, elem_id=elem_id)


def start_stop(
    start: gr.Button,
    stop: gr.Button,
    progress_line: gr.HTML,
    handler: Callable,
    inputs: list,
    outputs: list,
    *,
    prepare: dict | None = None,
    **job_options,
):
    """Wire a training job to its Start and Stop buttons; returns the job's event (others may follow it).

    Start (after ``prepare``, the keyword arguments of a first step such as turning a dataset built
    in the page into a zip, when given) arms a stop switch and runs ``handler`` with ``inputs`` and
    the switch last; ``job_options`` are the event's (its API name, concurrency, time limit).
    """
    switch = gr.State()  # this visitor's stop switch for their current job
    arm = {"fn": arm_stop, "inputs": switch, "outputs": [switch, stop, progress_line]}
    if prepare is None:
        armed = start.click(**arm, queue=False, api_visibility="private")
    else:
        armed = start.click(**prepare).success(**arm, queue=False, api_visibility="private")
    job = armed.then(handler, [*inputs, switch], outputs, show_progress_on=progress_line, **job_options)
    job.then(disarm_stop, None, [stop, progress_line], api_visibility="private", show_progress="hidden")
    stop.click(press_stop, switch, None, queue=False, api_visibility="private")
    return job


# --- what every job draws ---------------------------------------------------------------------------


def curves_html(
    request: gr.Request | None,
    history: pd.DataFrame,
    *,
    held_out: str,
    titles: tuple[str, str],
    mark_best: bool = False,
    zoom: bool = False,
) -> tuple[str, str]:
    """Loss and accuracy per epoch on the training images and on the held-out ones (two SVGs).

    ``held_out`` is the history's prefix for them: "val" (a fine-tune's validation images) or "test"
    (MNIST's test images); ``titles`` the text keys of the two plots. ``mark_best`` marks the best
    epoch (highest validation accuracy, then lowest loss); ``zoom`` shows accuracy from 10 points
    below the lowest instead of from 0.
    """
    if len(history) == 0:
        return "", ""
    marker = None
    if mark_best:
        best = history.sort_values([f"{held_out}_acc", f"{held_out}_loss"], ascending=[False, True]).iloc[0]
        marker = (int(best["epoch"]), say(request, "ft_best_epoch", markup="text", epoch=int(best["epoch"])))
    held_out_name = {"val": "curve_validation", "test": "curve_test"}[held_out]
    names = (say(request, "curve_train", markup="text"), say(request, held_out_name, markup="text"))
    charts = []
    for kind, title, y_title, percent in (
        ("loss", titles[0], "axis_loss", False),
        ("acc", titles[1], "axis_accuracy", True),
    ):
        series = {
            name: list(zip(history["epoch"], history[f"{split}_{kind}"], strict=True))
            for name, split in zip(names, ("train", held_out), strict=True)
        }
        y_range = None
        if kind == "acc":  # zoomed: where the curves are, from 10 points below the lowest
            low = max(0.0, min(min(y for _, y in line) for line in series.values()) - 0.1) if zoom else 0.0
            y_range = (round(low, 1), 1.0)
        charts.append(
            line_chart(
                series,
                title=say(request, title, markup="text"),
                x_title=say(request, "axis_epoch", markup="text"),
                y_title=say(request, y_title, markup="text"),
                y_range=y_range,
                marker=marker,
                percent=percent,
            )
        )
    return charts[0], charts[1]
