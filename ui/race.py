"""Race the ways to fine-tune (inside the fine-tune tab): overfitting seen, and the note's cure.

The same dataset, split and seed for each way (``nets.training.race``); their validation curves grow in one
plot while they train, then a table gives each way's status, trainable parameters, seconds, training and
validation accuracy of its best epoch, the gap between them, and over seeds their spread. The page shows
percentages and numbers with separators; ``/race_strategies`` gives programs the table with the documented
names and fractions (a way without figures: null). Only ways that finished are compared.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from nets.data.dataset_zip import DatasetError, read_image_zip
from nets.models.lenet import INPUT_SIZE
from nets.training import race, scratch_lenet
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
from ui.text import T, error, fill_in, refusal, say, worded
from ui.training_job import TrainingJob, epochs_slider, start_stop

API = (
    "Race the ways to fine-tune AlexNet on one zip (same split, same seeds, same epochs): the new head "
    "only, the note's LeNet trained from scratch, the whole classifier with dropout and augmentation, the whole "
    "classifier without them, and optionally all layers; three seeds when the time limit allows. Returns a table "
    "with a row per way: way, status (finished, stopped, not run), trainable_parameters, seconds (per run), "
    "best_train_acc and best_val_acc (the best epoch's, both in evaluation mode on un-augmented images, "
    "fractions), gap (train minus validation), val_acc_spread (max minus min over seeds), seeds, best_epoch, "
    "epochs_done. A way without figures has null accuracies."
)


def _fixed_and_per_class(way: str) -> tuple[int, int]:
    """A way's trainable parameters as ``fixed + per_class x classes``, as the race counts them."""
    two, three = race.trainable_parameters(way, 2), race.trainable_parameters(way, 3)
    return two - 2 * (three - two), three - two


# "How to read it" gives each way's numbers as the race counts and trains them, not typed.
_HEAD, _CLASSIFIER, _LENET = (_fixed_and_per_class(way) for way in ("head", "classifier_plain", "lenet_scratch"))
fill_in(
    "race_read",
    head_per_class=f"{_HEAD[1]:,}",
    classifier=f"{_CLASSIFIER[0]:,}",  # without the new head's
    lenet_fixed=f"{_LENET[0]:,}",
    lenet_per_class=_LENET[1],
    lenet_lr=f"{scratch_lenet.LEARNING_RATE:g}",
    lenet_size=INPUT_SIZE,
)
PERCENT_COLUMNS = ("best_train_acc", "best_val_acc", "val_acc_spread")
# way, status, trainable parameters, seconds, training and validation accuracy, gap, spread, seeds, best epoch, epochs
PAGE_COLUMN_WIDTHS = ["190px", "90px", "112px", "80px", "96px", "104px", "72px", "80px", "64px", "72px", "72px"]


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
    """The race's table. For a program: the way's English name, the documented column names and status
    codes, fractions, null where a way has no figures. For the page: words, percentages, separators, "—"."""
    shown = table.copy()
    shown["way"] = [way_names(None if api else request)[way] for way in shown["way"]]
    if api:
        return shown.astype(object).where(shown.notna(), None)

    def figure(text: str):
        return lambda value: "—" if pd.isna(value) else text.format(value)

    formats = {
        "status": lambda code: say(request, f"race_status_{code.replace(' ', '_')}", markup="text"),
        "trainable_parameters": figure("{:,}"),
        "seconds": figure("{:,.1f}"),
        "gap": figure("{:+.1%}"),
        "best_epoch": lambda epoch: epoch or "—",  # 0: no epoch ran
        **{column: figure("{:.1%}") for column in PERCENT_COLUMNS},
    }
    for column, shape in formats.items():
        shown[column] = [shape(value) for value in shown[column]]
    return worded(request, shown)  # the page: headings in words


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
    tables: list[pd.DataFrame] = []  # the race's table after each run
    charted: dict[str, int] = {}  # the seed whose curve the chart draws, per way
    current = None  # the way being trained: (way, number, count, seed)

    def show(event):
        nonlocal current
        match event:
            case race.WayStarted(way=way, number=number, count=count, seed=seed):
                current = (way, number, count, seed)
                charted.setdefault(way, seed)  # the chart draws each way's first seed
                stage = say(request, "race_stage", way=names[way], number=number, count=count, seed=seed)
                progress((number - 1, count), desc=stage)
                running = say(
                    request, "race_running", markup="markdown", way=names[way], number=number, count=count, seed=seed
                )
                return running, gr.skip(), gr.skip()
            case race.WayProgress(event=inner):
                way, number, count, seed = current
                update = None
                match inner:  # the way's own progress: features first (a tenth), then its epochs
                    case FeaturesCached(done=done, total=total):
                        fraction = 0.1 * done / total
                    case BatchTrained(epoch=epoch, done=done, total=total):
                        fraction = 0.1 + 0.9 * (epoch - 1 + done / total) / epochs_int
                    case EpochFinished(epoch=epoch, history=history) if charted[way] == seed:
                        fraction = 0.1 + 0.9 * epoch / epochs_int
                        histories[way] = history
                        update = gr.skip(), race_chart(request, histories), gr.skip()
                    case EpochFinished(epoch=epoch):
                        fraction = 0.1 + 0.9 * epoch / epochs_int
                    case _:
                        fraction = 0.0
                progress(
                    (number - 1 + min(fraction, 1.0)) / count,
                    desc=say(request, "race_stage", way=names[way], number=number, count=count, seed=seed),
                )
                return update
            case race.WayFinished(way=way, history=history, table=table):
                tables.append(table)
                if charted[way] == current[3]:
                    histories[way] = history
                return gr.skip(), race_chart(request, histories), race_table(request, table, job.api)
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
    table = finished.table if finished is not None else tables[-1] if tables else pd.DataFrame(columns=race.COLUMNS)
    status = race_status(request, table)
    yield status, race_chart(request, histories), race_table(request, table, job.api)


def race_status(request: gr.Request | None, table: pd.DataFrame) -> str:
    """What the race showed, among the ways that finished only: the fastest, the best validation, the biggest
    gap; then how far to trust it (seeds, and the best epoch chosen on the validation images)."""
    compared = race.finished_ways(table)
    if compared.empty:
        return say(request, "ft_stopped_early")
    names = way_names(request)
    if len(compared) == 1:
        only = compared.iloc[0]
        text = say(request, "race_only_one", markup="markdown", way=names[only["way"]], val=only["best_val_acc"])
    else:
        fastest = compared.loc[compared["seconds"].idxmin()]
        best = compared.loc[compared["best_val_acc"].idxmax()]
        widest = compared.loc[compared["gap"].idxmax()]
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
    if len(compared) < len(table):
        text += " " + say(request, "race_cut_short", markup="markdown", ran=len(compared), planned=len(table))
    seeds = int(compared["seeds"].min())
    if seeds > 1:
        caveat = say(request, "race_seeds", markup="markdown", seeds=seeds)
    else:
        caveat = say(request, "race_one_seed", markup="markdown")
    return text + "\n\n" + caveat + " " + say(request, "race_optimism", markup="markdown")


def build_race(archive: gr.File, prepare: dict) -> None:
    """The race's section; ``prepare`` (an event's arguments) turns a dataset built in the page into the zip first."""
    with gr.Accordion(T("race_title"), open=False, elem_id="race"):
        gr.Markdown(T("race_intro"))
        with gr.Row(equal_height=False):
            epochs = epochs_slider(30, 8, T("race_epochs_label"), T("race_epochs_info"), "race-epochs")
            include_all = gr.Checkbox(
                value=False,
                label=T("race_include_all"),
                info=T("race_include_all_info"),
                elem_id="race-all",
                min_width=280,  # under the slider on a phone, not squeezed beside it
            )
        with gr.Row():
            start = gr.Button(T("race_start"), variant="primary", elem_id="race-start")
            stop = gr.Button(T("ft_stop"), interactive=False, elem_id="race-stop")
        progress_line = gr.HTML("", visible=False, elem_id="race-progress")
        status = gr.Markdown(elem_id="race-status")
        chart = gr.HTML(elem_id="race-chart")
        table = gr.Dataframe(
            label=T("race_table"),
            interactive=False,
            elem_id="race-table",
            wrap=True,
            column_widths=PAGE_COLUMN_WIDTHS,  # headings break between words; a phone sees more columns to scroll to
        )
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
