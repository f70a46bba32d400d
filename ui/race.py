"""Race the ways to fine-tune (inside the fine-tune tab): overfitting seen, and the note's cure.

The same dataset, split and seed for each way (``nets.training.race``); their validation curves grow in one
plot while they train, then a table gives each way's trainable parameters, seconds, best training
and validation accuracy, and the gap between them. ``/race_strategies`` gives programs the table.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from nets.data.dataset_zip import DatasetError, read_image_zip
from nets.training import race
from nets.training.events import BatchTrained, EpochFinished
from nets.training.finetune import FeaturesCached, SettingsError, Stopped
from nets.training.jobs import StopSwitch
from ui.budgets import FINETUNE_TIME_LIMIT, TRAINING_EVENTS, ZIP_LIMITS
from ui.charts import line_chart
from ui.finetune_job import zip_path
from ui.ids import FINETUNE_QUEUE
from ui.server_sharing import FINETUNE_SLOTS, IDLE_CORES
from ui.shared_models import imagenet_alexnet, on_gpu
from ui.stores import FEATURES
from ui.text import T, error, refusal, say, worded
from ui.training_job import TrainingJob, epochs_slider, start_stop

API = (
    "Race the ways to fine-tune AlexNet on one zip (same split, same seed, same epochs): the new head "
    "only, the whole classifier with dropout and augmentation, the whole classifier without them, and "
    "optionally all layers. Returns a table with a row per way: way, trainable_parameters, seconds, "
    "best_train_acc, best_val_acc, gap (train minus validation: the overfitting), best_epoch, epochs_done."
)


def way_names(request: gr.Request | None) -> dict[str, str]:
    return {way: say(request, f"race_way_{way}", markup="text") for way in race.WAYS}


def race_chart(request: gr.Request | None, histories: dict[str, pd.DataFrame]) -> str:
    """Every way's validation accuracy per epoch, in one plot."""
    names = way_names(request)
    series = {
        names[way]: list(zip(history["epoch"], history["val_acc"], strict=True))
        for way, history in histories.items()
        if len(history)
    }
    return line_chart(
        series,
        title=say(request, "race_chart_title", markup="text"),
        x_title=say(request, "axis_epoch", markup="text"),
        y_title=say(request, "race_axis", markup="text"),
        y_range=(0.0, 1.0),
        percent=True,
    )


def race_table(request: gr.Request | None, table: pd.DataFrame, api: bool) -> pd.DataFrame:
    """The race's table: ways in words (the API's first column is the way's name in English, its
    columns keep their documented names)."""
    shown = table.copy()
    shown["way"] = [way_names(None if api else request)[way] for way in shown["way"]]
    return shown if api else worded(request, shown)  # the page: headings in words


@on_gpu(duration=FINETUNE_TIME_LIMIT + 60)  # ZeroGPU's default (60 s) is shorter than a race may be
def race_job(
    archive,
    epochs: float = 8,
    include_all: bool = False,
    switch: StopSwitch | None = None,
    request: gr.Request = None,
    progress=gr.Progress(),
):
    """Read the zip, then train each way in turn, reporting as it goes (a generator of updates)."""
    path = zip_path(request, archive)
    epochs_int = int(epochs) if float(epochs) == int(epochs) else -1
    if not 1 <= epochs_int <= 30:
        raise error(request, "race_epochs", value=epochs)
    backbone = imagenet_alexnet(request)
    ways = (*race.DEFAULT_WAYS, "all") if include_all else race.DEFAULT_WAYS
    job = TrainingJob(request, switch, busy="ft_already_running", time_limit=FINETUNE_TIME_LIMIT)
    names = way_names(request)
    progress(0, desc=say(request, "ft_stage_reading"))

    def work(closed):
        dataset = read_image_zip(path, limits=ZIP_LIMITS, progress=job.zip_reading(closed, progress))
        yield dataset
        left = max(1.0, job.time_left())
        yield from race.race(
            backbone,
            dataset,
            epochs_int,
            ways,
            time_limit=left,
            should_stop=job.stop_pressed,
            cancelled=closed,
            cache=FEATURES,
        )

    histories: dict[str, pd.DataFrame] = {}
    rows: list[dict] = []
    current = None  # the way being trained: (way, number, count)

    def show(event):
        nonlocal current
        match event:
            case race.WayStarted(way=way, number=number, count=count):
                current = (way, number, count)
                stage = say(request, "race_stage", way=names[way], number=number, count=count)
                progress((number - 1, count), desc=stage)
                running = say(request, "race_running", markup="markdown", way=names[way], number=number, count=count)
                return running, gr.skip(), gr.skip()
            case race.WayProgress(event=inner):
                way, number, count = current
                update = None
                match inner:  # the way's own progress: features first (a tenth), then its epochs
                    case FeaturesCached(done=done, total=total):
                        fraction = 0.1 * done / total
                    case BatchTrained(epoch=epoch, done=done, total=total):
                        fraction = 0.1 + 0.9 * (epoch - 1 + done / total) / epochs_int
                    case EpochFinished(epoch=epoch, history=history):
                        fraction = 0.1 + 0.9 * epoch / epochs_int
                        histories[way] = history
                        update = gr.skip(), race_chart(request, histories), gr.skip()
                    case _:
                        fraction = 0.0
                progress(
                    (number - 1 + min(fraction, 1.0)) / count,
                    desc=say(request, "race_stage", way=names[way], number=number, count=count),
                )
                return update
            case race.WayFinished(row=row, history=history):
                rows.append(row)
                histories[row["way"]] = history
                table = race_table(request, pd.DataFrame(rows, columns=race.COLUMNS), job.api)
                return gr.skip(), race_chart(request, histories), table
        return None  # the dataset, read; or the race's end

    try:
        finished = yield from job.run(
            work,
            show,
            nothing=(gr.skip(), gr.skip(), gr.skip()),
            slots=FINETUNE_SLOTS,
            torch_threads=IDLE_CORES.threads,
            progress=progress,
        )
    except DatasetError as problem:
        raise refusal(request, problem, title="ft_zip_refused") from None
    except SettingsError as problem:
        raise refusal(request, problem) from None
    except Stopped as stopped:
        if stopped.reason.code == "stopped_by_request":  # Stop while the zip was read: nothing raced
            yield say(request, "ft_stopped_early"), gr.skip(), gr.skip()
            return
        raise error(request, "ft_time_limit_nothing_trained", **stopped.reason.values) from None
    finished = finished if isinstance(finished, race.RaceFinished) else None
    table = finished.table if finished is not None else pd.DataFrame(rows, columns=race.COLUMNS)
    status = race_status(request, table, len(ways))
    yield status, race_chart(request, histories), race_table(request, table, job.api)


def race_status(request: gr.Request | None, table: pd.DataFrame, planned: int) -> str:
    """What the race showed, in a sentence: the fastest way, the best validation, the biggest gap."""
    if table.empty:
        return say(request, "ft_stopped_early")
    names = way_names(request)
    fastest = table.loc[table["seconds"].idxmin()]
    best = table.loc[table["best_val_acc"].idxmax()]
    widest = table.loc[table["gap"].idxmax()]
    text = say(
        request,
        "race_done",
        markup="markdown",
        fastest=names[fastest["way"]],
        seconds=fastest["seconds"],
        best=names[best["way"]],
        val=best["best_val_acc"],
        widest=names[widest["way"]],
        gap=widest["gap"],
    )
    if len(table) < planned:
        text += " " + say(request, "race_cut_short", markup="markdown", ran=len(table), planned=planned)
    return text


def build_race(archive: gr.File, prepare: dict) -> None:
    """The race's section; ``prepare`` (an event's arguments) turns a dataset built in the page into the zip first."""
    with gr.Accordion(T("race_title"), open=False, elem_id="race"):
        gr.Markdown(T("race_intro"))
        with gr.Row(equal_height=False):
            epochs = epochs_slider(30, 8, T("race_epochs_label"), T("race_epochs_info"), "race-epochs")
            include_all = gr.Checkbox(
                value=False, label=T("race_include_all"), info=T("race_include_all_info"), elem_id="race-all"
            )
        with gr.Row():
            start = gr.Button(T("race_start"), variant="primary", elem_id="race-start")
            stop = gr.Button(T("ft_stop"), interactive=False, elem_id="race-stop")
        progress_line = gr.HTML("", visible=False, elem_id="race-progress")
        status = gr.Markdown(elem_id="race-status")
        chart = gr.HTML(elem_id="race-chart")
        table = gr.Dataframe(label=T("race_table"), interactive=False, elem_id="race-table", wrap=True)
        gr.Markdown(T("race_read"))
    start_stop(
        start,
        stop,
        progress_line,
        race_job,
        [archive, epochs, include_all],
        [status, chart, table],
        prepare=prepare,
        api_name="race_strategies",
        api_description=API,
        concurrency_limit=TRAINING_EVENTS,
        concurrency_id=FINETUNE_QUEUE,
        time_limit=FINETUNE_TIME_LIMIT + 120,
    )
