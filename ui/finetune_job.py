"""The fine-tune's training job: read the visitor's zip, train AlexNet's new head (or more), show it live.

``finetune_job`` is the handler behind the tab's Fine-tune button and ``/finetune``; the start,
stop, cancel and the server's turns are the shared training-job skeleton's (``ui.training_job``),
this module says what the fine-tune shows of each event and what the page holds at the end.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

import gradio as gr
import pandas as pd

from nets.data.dataset_zip import DatasetError, ImageDataset, read_image_zip
from nets.facts import Fact
from nets.training import finetune
from nets.training.events import BatchTrained, EpochFinished
from nets.training.jobs import StopSwitch
from ui.budgets import FINETUNE_TIME_LIMIT, ZIP_LIMITS
from ui.finetune_results import SMALL_DOWNLOAD, download_update, map_html, save_download
from ui.server_sharing import FINETUNE_SLOTS, IDLE_CORES
from ui.shared_models import imagenet_alexnet, on_gpu
from ui.stores import FEATURES, FINETUNED, REPORTS, model_bytes
from ui.text import Written, error, language, refusal, say, tell
from ui.training_job import TrainingJob, curves_html, named_updates

# The fine-tune event's outputs, by name; a handler yields only the ones that change.
FT_OUTPUTS = (
    "status",
    "summary",
    "skipped",
    "history",
    "loss",
    "accuracy",
    "confusion",
    "per_class",
    "wrong",
    "map",
    "download",
    "snippet",
    "prepare",
    "try_box",
    "results",
    "cell",
    "cell_caption",
    "report",
    "progress",
)
REDRAW_SECONDS = 0.3  # the curves are redrawn at most this often while training


ft_updates = named_updates(FT_OUTPUTS)  # one yield of the fine-tune's handler: the outputs it changes


def zip_path(request: gr.Request | None, archive) -> str:
    """The uploaded zip's path (a program may send a file object), or a ``gr.Error`` asking for one."""
    if archive is None:
        raise error(request, "ft_no_zip")
    return archive if isinstance(archive, str) else archive.name


def finetune_curves(request: gr.Request | None, history: pd.DataFrame) -> tuple[str, str]:
    """Loss and accuracy per epoch, train and validation, the best epoch so far marked (two SVGs)."""
    return curves_html(request, history, held_out="val", titles=("ft_loss_plot", "ft_accuracy_plot"), mark_best=True)


def layout_text(request: gr.Request | None, dataset: ImageDataset) -> Written:
    """How the zip was understood, in the visitor's language (Markdown-safe: it quotes folder names)."""
    text = tell(request, dataset.layout, markup="markdown")
    if "valid_pct" in dataset.layout.values:
        text += say(request, "layout_held_out", markup="markdown", **dataset.layout.values)
    return Written(text)


def notes_text(request: gr.Request | None, warnings: list[Fact]) -> str:
    """The dataset's warnings as a Markdown list (they quote class names)."""
    return "".join(f"\n- {tell(request, warning, markup='markdown')}" for warning in warnings)


def skipped_files(job: TrainingJob, dataset: ImageDataset):
    """The files the zip reader skipped, with why, shown only when there are some (a fresh update
    each time: Gradio consumes an update's value when it sends it). Headings in words on the page: a
    heading "file" is also a key of Gradio's own dictionary, which the page then failed to translate."""
    rows = [
        (name, tell(job.request, reason, subject="subject_this_image", markup="text"))
        for name, reason in dataset.skipped
    ]
    table = pd.DataFrame(rows, columns=["file", "reason"])
    return gr.update(value=job.shown(table), visible=bool(rows))


def snippet_text(request: gr.Request | None) -> str:
    """How to load the download with torchvision; on a Korean page its comments are Korean (the code
    is the same, line for line)."""
    code = finetune.SNIPPET.format(file="finetuned_alexnet.pt")
    if language(request) == "en":
        return code
    comments = iter(say(request, "ft_snippet_comments", markup="text").split("|"))
    return re.sub(r"(?<=# ).*$", lambda _: next(comments), code, flags=re.MULTILINE)


def snippet_block(request: gr.Request | None) -> str:
    """The snippet as the page shows it: a Markdown code block of Python (coloured in the page)."""
    return f"```python\n{snippet_text(request)}```"


def readout(request: gr.Request | None, history: pd.DataFrame, epochs: int) -> str:
    """The progress area's own line: the epoch and the validation accuracy, steady between redraws."""
    last = history.iloc[-1]
    return '<div class="ft-readout">{}</div>'.format(
        say(
            request,
            "ft_readout_epoch",
            markup="html",
            epoch=int(last["epoch"]),
            epochs=epochs,
            acc=float(last["val_acc"]),
            best=float(history["val_acc"].max()),
        )
    )


@on_gpu(duration=FINETUNE_TIME_LIMIT + 60)  # ZeroGPU's default (60 s) is shorter than a job may be
def finetune_job(
    archive,
    strategy: str = "head",
    epochs: float = 20,
    lr: float = 1e-3,
    batch_size: float = 32,
    regularise: bool = True,
    switch: StopSwitch | None = None,
    progress=gr.Progress(),
    request: gr.Request = None,
):
    """Read the zip, train a new head (or more), and report as it goes (a generator of updates)."""
    path = zip_path(request, archive)
    try:
        settings = finetune.FineTuneSettings(
            strategy=strategy,
            epochs=int(epochs),
            lr=float(lr),
            batch_size=int(batch_size),
            regularise=bool(regularise),
            time_limit=FINETUNE_TIME_LIMIT,
        ).check()
    except finetune.SettingsError as problem:
        raise refusal(request, problem) from None
    backbone = imagenet_alexnet(request)
    session = request.session_hash if request is not None else None
    progress(0, desc=say(request, "ft_stage_reading"))

    job = TrainingJob(request, switch, busy="ft_already_running", time_limit=FINETUNE_TIME_LIMIT)
    if job.stopped_while_waiting():
        yield ft_updates(status=say(request, "ft_stopped_early"))
        return

    def work(closed):
        """Read the zip, then train: all of it in a low-priority background thread, holding a work slot."""

        read = read_image_zip(path, limits=ZIP_LIMITS, progress=job.zip_reading(closed, progress))
        yield read
        timed = replace(settings, time_limit=job.time_left())
        yield from finetune.finetune(backbone, read, timed, job.stop_pressed, closed, FEATURES)

    drawn = 0.0  # when the curves were last redrawn
    dataset = notes = None

    def show(event):
        nonlocal drawn, dataset, notes
        match event:
            case ImageDataset():
                dataset = event
                notes = notes_text(request, dataset.warnings)
                return ft_updates(
                    status=say(
                        request,
                        "ft_read",
                        markup="markdown",
                        images=len(dataset.train) + len(dataset.val),
                        classes=len(dataset.classes),
                        layout=layout_text(request, dataset),
                    )
                    + notes,
                    summary=job.shown(dataset.summary()),
                    skipped=skipped_files(job, dataset),
                    results=gr.update(visible=True),
                    report=gr.update(visible=False),
                    progress='<div class="ft-readout">{}</div>'.format(
                        say(request, "ft_readout_read", images=len(dataset.train) + len(dataset.val))
                    ),
                )
            case finetune.FeaturesCached(done=done, total=total):
                progress((done, total), desc=say(request, "ft_stage_features"), unit="images")
            case BatchTrained(epoch=epoch, epochs=epochs_total) as batch:
                # one overall progress: epochs, with the current epoch's share of its images
                progress(batch.progress, desc=say(request, "ft_stage_epoch", epoch=epoch, epochs=epochs_total))
            case EpochFinished(epoch=epoch, epochs=epochs_total, history=history):
                # The page is redrawn at most a few times a second: the new head trains an epoch
                # in milliseconds, and redrawing each would cost more than the training.
                if time.monotonic() - drawn >= REDRAW_SECONDS:
                    progress(
                        (epoch, epochs_total),
                        unit="epochs",
                        desc=say(request, "ft_stage_epoch", epoch=epoch, epochs=epochs_total),
                    )
                    loss, accuracy = finetune_curves(request, history)
                    drawn = time.monotonic()
                    return ft_updates(
                        history=job.shown(history),
                        loss=loss,
                        accuracy=accuracy,
                        progress=readout(request, history, epochs_total),
                    )
        return None

    try:
        finished = yield from job.run(
            work,
            show,
            nothing=ft_updates(),
            slots=FINETUNE_SLOTS,
            torch_threads=IDLE_CORES.threads,
            progress=progress,
        )
    except DatasetError as problem:
        raise refusal(request, problem, title="ft_zip_refused") from None
    except finetune.Stopped as stopped:
        if stopped.reason.code != "stopped_by_request":  # the time limit, before a single epoch
            raise error(request, "ft_time_limit_nothing_trained", **stopped.reason.values) from None
        yield ft_updates(status=say(request, "ft_stopped_early"))
        return
    model, report = finished.model, finished.report
    wrong = [(item.image, f"{dataset.classes[item.label]} → {guess} ({p:.0%})") for item, guess, p in report.wrong[:24]]
    # A new head (16 KB a class) is always kept, as the tab promises; larger models share the budget,
    # an address's own older ones going first when it holds more than its share.
    FINETUNED.put(session, model, address=job.address, kept=model.strategy == "head")
    REPORTS.put(session, report)
    small = model_bytes(model) <= SMALL_DOWNLOAD
    download = save_download(session, model) if small else None
    status = say(
        request,
        "ft_done",
        acc=model.val_acc,
        epoch=model.best_epoch,
        epochs=len(report.history),
        seconds=report.seconds,
        val=len(dataset.val),
    )
    if report.stopped is not None:
        status += " " + say(request, "ft_stopped", markup="markdown", reason=tell(request, report.stopped))
    status += notes
    loss, accuracy = finetune_curves(request, report.history)
    yield ft_updates(
        status=status,
        summary=job.shown(dataset.summary()),
        skipped=skipped_files(job, dataset),
        history=job.shown(report.history),
        loss=loss,
        accuracy=accuracy,
        confusion=job.shown(report.confusion, report.confusion.columns[:1]),  # class names stay
        per_class=job.shown(report.per_class),
        map=map_html(request, report.feature_map),
        cell=gr.update(value=None, visible=False),
        cell_caption=say(request, "ft_cell_hint"),
        wrong=gr.update(value=wrong, label=say(request, "ft_wrong_count", n=len(report.wrong)), visible=bool(wrong)),
        download=download if job.api else download_update(request, download),  # a program gets the path
        snippet=snippet_text(request) if job.api else snippet_block(request),  # a program gets the code
        prepare=gr.update(visible=not small, value=say(request, "ft_prepare_download", mb=model_bytes(model) / 1e6)),
        try_box=gr.update(visible=True),
        report=gr.update(visible=True),
        progress=readout(request, report.history, len(report.history)),
    )
