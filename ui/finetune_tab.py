"""The fine-tune tab: a new AlexNet head (or more) trained on a visitor's zip, live, then tried and taken home."""

from __future__ import annotations

import time

import gradio as gr
import pandas as pd
import torch

from nets.data.dataset_zip import DatasetError, ImageDataset, read_image_zip
from nets.explaining.feature_map import FeatureMap
from nets.explaining.photo import cam_on_photo, cam_overlay
from nets.facts import Fact
from nets.paths import ASSETS
from nets.training import finetune
from nets.training.jobs import Cancelled, StopSwitch, run_in_background
from ui.budgets import ALEXNET_CONCURRENCY, BEAT_SECONDS, FINETUNE_CONCURRENCY, FINETUNE_TIME_LIMIT, ZIP_LIMITS
from ui.builder import build_builder, dataset_zip_for
from ui.charts import line_chart, scatter_chart
from ui.ids import ALEXNET_QUEUE, BUILDER_QUEUE, DOWNLOAD_QUEUE, FINETUNE_QUEUE
from ui.inputs import PhotoUpload, accept
from ui.photo_tab import open_photo, weights_notice
from ui.race import build_race
from ui.server_sharing import FINETUNE_SLOTS, IDLE_CORES, ServerTurns
from ui.shared_models import ALEXNET, imagenet_alexnet, on_gpu
from ui.stores import FINETUNED, REPORTS, model_bytes, write_download
from ui.text import T, Written, error, fill_in, refusal, say, tell, worded

API = {
    "finetune": "Fine-tune a new AlexNet head on a zip of images with one folder per class (or train/ and "
    "val/ folders). Returns the status, dataset summary, training history (epoch, train_loss, "
    "train_acc, val_loss, val_acc), confusion matrix, per-class accuracy and the model file. The "
    "model stays in the caller's session for predict_finetuned (gradio_client: same Client).",
    "predict_finetuned": "Classify a photo with the model fine-tuned earlier in the same session (see finetune). "
    "Output: probabilities over that model's own classes.",
    "download_finetuned": "The file of the model fine-tuned earlier in the same session (weights under "
    "torchvision's names, classes, preprocessing). Large models (whole classifier, all "
    "layers: about 220 MB) are written only when asked for, and kept ten minutes.",
}
# The progress line has room for Gradio's progress bar and its text, so neither covers the status.
CSS = """
#finetune-progress, #race-progress { min-height: 70px; }
"""
SMALL_DOWNLOAD = 20 << 20  # a new head's file (16 KB per class) is written at once; larger ones on request

# The limits sentence states the server's own numbers, in every language.
fill_in(
    "ft_limits",
    zip_mb=ZIP_LIMITS.max_zip_bytes >> 20,
    classes=ZIP_LIMITS.max_classes,
    per_class=ZIP_LIMITS.min_images_per_class,
    images=f"{ZIP_LIMITS.max_images:,}",
    file_mb=ZIP_LIMITS.max_file_bytes >> 20,
    megapixels=ZIP_LIMITS.max_pixels // 1_000_000,
    entries=f"{ZIP_LIMITS.max_entries:,}",
    minutes=FINETUNE_TIME_LIMIT // 60,
)

STRATEGY_CHOICES = [
    (T("ft_strategy_head"), "head"),
    (T("ft_strategy_classifier"), "classifier"),
    (T("ft_strategy_all"), "all"),
]

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
)
REDRAW_SECONDS = 0.3  # the curves are redrawn at most this often while training
CELL_IMAGES = 24  # images shown for one confusion-matrix cell (each is a Grad-CAM: a forward and a backward pass)


def ft_updates(**values):
    """One yield of the fine-tune generator: the named outputs, every other one left as it is."""
    unknown = set(values) - set(FT_OUTPUTS)
    assert not unknown, unknown
    return tuple(values.get(name, gr.skip()) for name in FT_OUTPUTS)


def save_download(session: str, model: finetune.FineTuned) -> str | None:
    """Write the fine-tuned weights, classes and preprocessing to a file for the visitor to download.

    One file per visitor (the next replaces it), all visitors' files within a byte budget, each
    deleted ten minutes after it was written (``ui.stores.DOWNLOAD_FILES``). None if it cannot fit.
    """
    path = write_download(
        session,
        "finetuned_alexnet.pt",
        model_bytes(model) + (1 << 20),
        lambda path: torch.save(model.checkpoint(), path),
    )
    return None if path is None else str(path)


def curves_html(request: gr.Request | None, history: pd.DataFrame) -> tuple[str, str]:
    """Loss and accuracy per epoch, train and validation, the best epoch so far marked (two SVGs)."""
    if len(history) == 0:
        return "", ""
    best = history.sort_values(["val_acc", "val_loss"], ascending=[False, True]).iloc[0]
    marker = (int(best["epoch"]), say(request, "ft_best_epoch", markup="text", epoch=int(best["epoch"])))
    names = (say(request, "curve_train", markup="text"), say(request, "curve_validation", markup="text"))
    charts = []
    for kind, title, y_title, y_range, percent in (
        ("loss", "ft_loss_plot", "axis_loss", None, False),
        ("acc", "ft_accuracy_plot", "axis_accuracy", (0.0, 1.0), True),
    ):
        series = {
            name: list(zip(history["epoch"], history[f"{split}_{kind}"], strict=True))
            for name, split in zip(names, ("train", "val"), strict=True)
        }
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


def map_html(request: gr.Request | None, found: FeatureMap | None) -> str:
    """The dataset's feature map as SVG, in the visitor's language (a tooltip names each image)."""
    if found is None or len(found.points) == 0:
        return ""
    points = []
    for row in found.points.to_dict("records"):
        guess = found.classes[row["guess"]] if row["guess"] >= 0 else ""
        tip = say(
            request,
            "ft_map_tip_wrong" if row["mistake"] else "ft_map_tip",
            markup="text",
            name=row["name"],
            cls=row["class"],
            guess=guess,
        )
        points.append((row["x"], row["y"], int(row["label"]), row["split"] == "val", bool(row["mistake"]), tip))
    return scatter_chart(
        points,
        found.classes,
        title=say(request, "ft_map_title", markup="text"),
        x_title=say(request, "ft_map_x", markup="text", share=found.explained[0]),
        y_title=say(request, "ft_map_y", markup="text", share=found.explained[1]),
        legend_notes=(
            say(request, "ft_map_train", markup="text"),
            say(request, "ft_map_val", markup="text"),
            say(request, "ft_map_mistake", markup="text"),
        ),
    )


def layout_text(request: gr.Request | None, dataset: ImageDataset) -> Written:
    """How the zip was understood, in the visitor's language (Markdown-safe: it quotes folder names)."""
    text = tell(request, dataset.layout, markup="markdown")
    if "valid_pct" in dataset.layout.values:
        text += say(request, "layout_held_out", markup="markdown", **dataset.layout.values)
    return Written(text)


def notes_text(request: gr.Request | None, warnings: list[Fact]) -> str:
    """The dataset's warnings as a Markdown list (they quote class names)."""
    return "".join(f"\n- {tell(request, warning, markup='markdown')}" for warning in warnings)


def skipped_files(request: gr.Request | None, dataset: ImageDataset):
    """The files the zip reader skipped, with why, shown only when there are some (a fresh update
    each time: Gradio consumes an update's value when it sends it)."""
    rows = [
        (name, tell(request, reason, subject="subject_this_image", markup="text")) for name, reason in dataset.skipped
    ]
    table = pd.DataFrame(rows, columns=["file", "reason"])
    return gr.update(value=table, visible=bool(rows))


def new_stop_switch(current: StopSwitch | None) -> StopSwitch:
    """A fresh stop switch for the visitor's next job, pressed by their Stop button (a job still
    running keeps its own: a second click on Fine-tune must not disconnect Stop from it)."""
    return current if current is not None and current.busy else StopSwitch()


def press_stop(switch: StopSwitch | None) -> None:
    """Ask the visitor's job to stop after its current batch, keeping the best epoch so far.

    A job still waiting in the queue finds the switch already pressed and stops as soon as it starts.
    """
    if switch is not None:
        switch.press()


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
    if archive is None:
        raise error(request, "ft_no_zip")
    try:
        settings = finetune.Settings(
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
    path = archive if isinstance(archive, str) else archive.name
    session = request.session_hash if request is not None else None
    deadline = time.monotonic() + FINETUNE_TIME_LIMIT  # reading the zip counts too
    progress(0, desc=say(request, "ft_stage_reading"))

    # tables in words for the page; programs (no Stop switch) get the documented column names
    api = switch is None

    def for_reader(table, columns=None):
        return table if api else worded(request, table, columns)

    stop = switch or StopSwitch()  # API clients stop a job by cancelling it instead
    if not stop.claim():  # a second click on Fine-tune while the first job runs
        raise error(request, "ft_already_running")
    if stop.pressed:  # Stop was pressed while this job waited in the queue
        stop.finish()
        yield ft_updates(status=say(request, "ft_stopped_early"))
        return

    def job(closed):
        """Read the zip, then train: all of it in a low-priority background thread, holding a work slot."""

        def reading(i: int, n: int) -> None:
            if closed():
                raise Cancelled("the visitor left while the zip was being read")
            if stop.pressed:
                raise finetune.Stopped(Fact("stopped_by_request"), "reading")
            if time.monotonic() > deadline:
                raise finetune.Stopped(Fact("stopped_at_time_limit", seconds=FINETUNE_TIME_LIMIT), "reading")
            progress((i, n), desc=say(request, "ft_stage_reading"), unit="images")

        read = read_image_zip(path, limits=ZIP_LIMITS, progress=reading)
        yield read
        timed = finetune.Settings(**{**settings.__dict__, "time_limit": max(0.0, deadline - time.monotonic())})
        yield from finetune.finetune(backbone, read, timed, lambda: stop.pressed, closed)

    shown = 0.0  # when the curves were last redrawn
    turns = ServerTurns(nothing=ft_updates())
    try:
        for event in run_in_background(
            job, slots=FINETUNE_SLOTS, torch_threads=IDLE_CORES.threads, heartbeat=BEAT_SECONDS
        ):
            update = None
            match event:
                case ImageDataset() as dataset:
                    notes = notes_text(request, dataset.warnings)
                    update = ft_updates(
                        status=say(
                            request,
                            "ft_read",
                            markup="markdown",
                            images=len(dataset.train) + len(dataset.val),
                            classes=len(dataset.classes),
                            layout=layout_text(request, dataset),
                        )
                        + notes,
                        summary=for_reader(dataset.summary()),
                        skipped=skipped_files(request, dataset),
                        results=gr.update(visible=True),
                        report=gr.update(visible=False),
                    )
                case finetune.FeaturesCached(done=done, total=total):
                    progress((done, total), desc=say(request, "ft_stage_features"), unit="images")
                case finetune.BatchTrained(epoch=epoch, done=done, total=total):
                    # one overall progress: epochs, with the current epoch's share of its images
                    progress(
                        (epoch - 1 + done / total) / settings.epochs,
                        desc=say(request, "ft_stage_epoch", epoch=epoch, epochs=settings.epochs),
                    )
                case finetune.EpochFinished(epoch=epoch, epochs=epochs_total, history=history):
                    # The page is redrawn at most a few times a second: the new head trains an epoch
                    # in milliseconds, and redrawing each would cost more than the training.
                    if time.monotonic() - shown >= REDRAW_SECONDS:
                        progress(
                            (epoch, epochs_total),
                            unit="epochs",
                            desc=say(request, "ft_stage_epoch", epoch=epoch, epochs=epochs_total),
                        )
                        loss, accuracy = curves_html(request, history)
                        update = ft_updates(history=for_reader(history), loss=loss, accuracy=accuracy)
                        shown = time.monotonic()
                case finetune.Finished(model=model, report=report):
                    pass
            update = turns.due(update)
            if update is not None:
                yield update
    except DatasetError as problem:
        raise refusal(request, problem, title="ft_zip_refused") from None
    except finetune.Stopped as stopped:
        if stopped.reason.code != "stopped_by_request":  # the time limit, before a single epoch
            raise error(request, "ft_time_limit_nothing_trained", **stopped.reason.values) from None
        yield ft_updates(status=say(request, "ft_stopped_early"))
        return
    finally:
        stop.finish()
    wrong = [(item.image, f"{dataset.classes[item.label]} → {guess} ({p:.0%})") for item, guess, p in report.wrong[:24]]
    FINETUNED.put(session, model)
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
    loss, accuracy = curves_html(request, report.history)
    yield ft_updates(
        status=status,
        summary=for_reader(dataset.summary()),
        skipped=skipped_files(request, dataset),
        history=for_reader(report.history),
        loss=loss,
        accuracy=accuracy,
        confusion=for_reader(report.confusion, report.confusion.columns[:1]),  # class names stay
        per_class=for_reader(report.per_class),
        map=map_html(request, report.feature_map),
        cell=gr.update(value=None, visible=False),
        cell_caption=say(request, "ft_cell_hint"),
        wrong=gr.update(value=wrong, label=say(request, "ft_wrong_count", n=len(report.wrong)), visible=bool(wrong)),
        download=download,
        snippet=finetune.SNIPPET.format(file="finetuned_alexnet.pt"),
        prepare=gr.update(visible=not small, value=say(request, "ft_prepare_download", mb=model_bytes(model) / 1e6)),
        try_box=gr.update(visible=True),
        report=gr.update(visible=True),
    )


@on_gpu
def show_cell(selection: gr.SelectData, request: gr.Request = None):
    """A click on a confusion-matrix cell: the validation images of that true class the model gave
    that guess, each with the fine-tuned model's Grad-CAM for the guess (where it looked)."""
    model = visitors_model(request)
    report = REPORTS.get(request.session_hash) if request is not None else None
    row, column = selection.index if isinstance(selection.index, (list, tuple)) else (None, None)
    if report is None or not report.val:
        raise error(request, "ft_released")
    if row is None or column is None or column < 1:  # the class-name column: nothing to show
        return gr.update(value=None, visible=False), say(request, "ft_cell_hint")
    true, guess = int(row), int(column) - 1
    names = model.classes
    found = report.cell(true, guess)
    backbone = imagenet_alexnet(request)
    shown = []
    for item, p in found[:CELL_IMAGES]:
        cells, _ = model.grad_cam(backbone, item.image, guess)  # (13, 13)
        overlay = cam_overlay(item.image, cam_on_photo(cells, *item.image.size), max_side=320)
        shown.append((overlay, f"{item.name} · {names[guess]} {p:.0%}"))
    key = "ft_cell_right" if true == guess else "ft_cell_wrong"
    caption = say(request, key, markup="markdown", n=len(found), true=names[true], guess=names[guess])
    if len(found) > CELL_IMAGES:
        caption += " " + say(request, "ft_cell_first", markup="markdown", n=CELL_IMAGES)
    return gr.update(value=shown or None, visible=bool(shown)), caption


def dataset_source(source: str, request: gr.Request = None):
    """Before a job: the dataset built in the page, as a zip, when that is where the visitor is
    (the zip input then shows it); an upload is left as it is."""
    return dataset_zip_for(request) if source == "build" else gr.skip()


def visitors_model(request: gr.Request | None) -> finetune.FineTuned:
    """The model this visitor fine-tuned, or a ``gr.Error`` saying to fine-tune (again) first."""
    session = request.session_hash if request is not None else None
    model = FINETUNED.get(session) if session else None
    if model is None or model.module is None:
        raise error(request, "ft_released" if session and FINETUNED.released(session) else "ft_no_model")
    return model


@on_gpu
def predict_finetuned(image_path: str | None, request: gr.Request = None):
    """The visitor's fine-tuned model on a new photo: probabilities over their own classes."""
    image_path = accept(image_path, request)
    model = visitors_model(request)
    if image_path is None:
        raise error(request, "ft_try_none")
    picture = open_photo(image_path, request)
    try:
        return model.predict(imagenet_alexnet(request), picture)
    except finetune.Released:
        raise error(request, "ft_released") from None


def download_finetuned(request: gr.Request = None) -> str:
    """The visitor's model as a file, written now (large models are written only when asked for)."""
    model = visitors_model(request)
    path = save_download(request.session_hash, model)
    if path is None:
        raise error(request, "ft_download_too_big")
    return path


def finetuned_classes(request: gr.Request = None):
    """How many classes the visitor's fine-tuned model has (for the compare tab), or no change."""
    model = FINETUNED.get(request.session_hash) if request is not None else None
    return len(model.classes) if model is not None else gr.skip()


def suggested_lr(strategy: str) -> float:
    return finetune.SUGGESTED_LR.get(strategy, 1e-3)


def weights_check(request: gr.Request = None):
    """Up front, before anyone fills anything in: the notice and a disabled button when the
    ImageNet weights cannot be had (the reason is in the server's log)."""
    failed = ALEXNET.error is not None and not ALEXNET.loaded  # (still loading: the button waits, enabled)
    return weights_notice(request), gr.update(interactive=not failed)


def build_finetune_tab(tab: gr.Tab):
    """The fine-tune tab; returns the training event (the compare tab follows it) and the inputs a
    teacher's link can fill (zip, strategy, epochs)."""
    out: dict[str, gr.components.Component] = {}
    gr.Markdown(T("ft_intro"))
    with gr.Accordion(T("ft_learn_more"), open=False):
        gr.Markdown(T("ft_intro_more"))
        gr.Markdown(T("ft_limits"))
    notice = gr.Markdown(visible=False, elem_id="finetune-weights-notice", elem_classes=["notice"])
    source = gr.State("zip")  # where the dataset comes from: "zip" (an upload) or "build" (the builder)
    with gr.Tabs(elem_id="finetune-source"):
        with gr.Tab(T("ft_source_zip"), id="zip", elem_id="finetune-source-zip") as zip_tab, gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=300):
                archive = gr.File(label=T("ft_zip"), file_types=[".zip"], type="filepath", elem_id="finetune-zip")
            with gr.Column(scale=1, min_width=300):
                gr.Examples(
                    examples=[[str(ASSETS / "shapes.zip")]],
                    inputs=archive,
                    label=T("ft_example"),
                    api_visibility="private",
                )
        with gr.Tab(T("ft_source_build"), id="build", elem_id="finetune-source-build") as build_tab:
            build_builder()
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            strategy = gr.Radio(STRATEGY_CHOICES, value="head", label=T("ft_strategy"))
            regularise = gr.Checkbox(
                value=True, label=T("ft_regularise"), info=T("ft_regularise_info"), elem_id="finetune-regularise"
            )
        with gr.Column(scale=1, min_width=300):
            with gr.Row():
                # min_width: on a phone each takes the whole width (side by side, Korean labels broke mid-word)
                epochs = gr.Slider(
                    1,
                    100,
                    value=20,
                    step=1,
                    label=T("ft_epochs"),
                    info=T("ft_epochs_info"),
                    min_width=240,
                    elem_id="finetune-epochs",
                )
                batch_size = gr.Slider(
                    4, 128, value=32, step=4, label=T("ft_batch"), info=T("ft_batch_info"), min_width=240
                )
            lr = gr.Number(value=1e-3, minimum=1e-6, maximum=1.0, label=T("ft_lr"), info=T("ft_lr_info"))
    with gr.Row():
        start = gr.Button(T("ft_start"), variant="primary", elem_id="finetune-start")
        stop = gr.Button(T("ft_stop"), variant="secondary", interactive=False, elem_id="finetune-stop")
    # The one progress display, shown while a job runs: a line of its own above the status, so the
    # status stays readable and the curves below stay in sight.
    progress_line = gr.HTML("", visible=False, elem_id="finetune-progress")
    out["status"] = gr.Markdown(elem_id="finetune-status")
    with gr.Column(visible=False, elem_id="finetune-results") as out["results"]:  # shown once there are results
        with gr.Row(equal_height=False):
            with gr.Column(min_width=300):
                out["loss"] = gr.HTML(elem_id="finetune-loss")
            with gr.Column(min_width=300):
                out["accuracy"] = gr.HTML(elem_id="finetune-accuracy")
        with gr.Row(equal_height=False):
            out["summary"] = gr.Dataframe(label=T("ft_summary"), interactive=False, elem_id="finetune-summary")
            # the reason is the long column: fixed shares, so it wraps inside the box instead of running past it
            out["skipped"] = gr.Dataframe(
                label=T("ft_skipped"),
                interactive=False,
                visible=False,
                wrap=True,
                column_widths=["40%", "60%"],
                elem_id="finetune-skipped",
            )
        out["history"] = gr.Dataframe(
            label=T("ft_history"), interactive=False, max_height=260, elem_id="finetune-history"
        )
        with gr.Column(visible=False) as out["report"]:  # what the trained model got right and wrong: at the end
            with gr.Row(equal_height=False):
                out["confusion"] = gr.Dataframe(
                    label=T("ft_confusion"), interactive=False, elem_id="finetune-confusion"
                )
                out["per_class"] = gr.Dataframe(label=T("ft_per_class"), interactive=False)
            out["cell_caption"] = gr.Markdown(elem_id="finetune-cell-caption")
            # photos: JPEG thumbnails (Gradio's default WebP takes 40 times longer to encode)
            # (fit_columns=False: two images stay thumbnails instead of stretching to the page's width)
            out["cell"] = gr.Gallery(
                label=T("ft_cell"),
                columns=6,
                fit_columns=False,
                height=260,
                object_fit="contain",
                visible=False,
                allow_preview=False,
                format="jpeg",
                elem_id="finetune-cell",
            )
            out["wrong"] = gr.Gallery(
                label=T("ft_wrong"),
                columns=6,
                fit_columns=False,
                height=240,
                object_fit="contain",
                visible=False,
                format="jpeg",
                elem_id="finetune-wrong",
            )
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    out["map"] = gr.HTML(elem_id="finetune-map")
                with gr.Column(scale=2, min_width=260):
                    gr.Markdown(T("ft_map_explain"))
    with gr.Column(visible=False) as out["try_box"]:
        gr.Markdown(T("ft_try_title"))
        with gr.Row(equal_height=False):
            with gr.Column(min_width=280):
                try_photo = PhotoUpload(
                    type="filepath",
                    image_mode=None,
                    height=280,
                    label=T("ft_try_photo"),
                    sources=["upload", "webcam", "clipboard"],
                    elem_id="finetune-try-photo",
                )
                try_run = gr.Button(T("ft_try_run"), elem_id="finetune-try-run")
            try_answer = gr.Label(label=T("ft_try_answer"), num_top_classes=5, elem_id="finetune-try-answer")
        gr.Markdown(T("ft_download_title"))
        out["prepare"] = gr.Button(visible=False, elem_id="finetune-prepare-download")
        out["download"] = gr.File(label=T("ft_download"), interactive=False, elem_id="finetune-download")
        out["snippet"] = gr.Code(language="python", label=T("ft_snippet"), interactive=False)

    build_race(archive, (source, dataset_source))

    strategy.change(suggested_lr, strategy, lr, api_visibility="private", show_progress="hidden")
    gr.on(
        [tab.select, start.click],
        weights_check,
        None,
        [notice, start],
        api_visibility="private",
        show_progress="hidden",
    )
    zip_tab.select(lambda: "zip", None, source, queue=False, api_visibility="private", show_progress="hidden")
    build_tab.select(lambda: "build", None, source, queue=False, api_visibility="private", show_progress="hidden")
    switch = gr.State()  # this visitor's stop switch for their current job
    job = (
        start.click(
            dataset_source,
            source,
            archive,
            api_visibility="private",
            concurrency_id=BUILDER_QUEUE,
            show_progress="hidden",
        )
        .success(
            lambda current: (new_stop_switch(current), gr.update(interactive=True), gr.update(visible=True)),
            switch,
            [switch, stop, progress_line],
            queue=False,
            api_visibility="private",
        )
        .then(
            finetune_job,
            [archive, strategy, epochs, lr, batch_size, regularise, switch],
            [out[name] for name in FT_OUTPUTS],
            api_name="finetune",
            api_description=API["finetune"],
            concurrency_limit=FINETUNE_CONCURRENCY,
            concurrency_id=FINETUNE_QUEUE,
            time_limit=FINETUNE_TIME_LIMIT + 120,
            show_progress_on=progress_line,
        )
    )
    job.then(
        lambda: (gr.update(interactive=False), gr.update(visible=False)),
        None,
        [stop, progress_line],
        api_visibility="private",
        show_progress="hidden",
    )
    stop.click(press_stop, switch, None, queue=False, api_visibility="private")
    out["confusion"].select(
        show_cell,
        None,
        [out["cell"], out["cell_caption"]],
        api_visibility="private",
        concurrency_limit=ALEXNET_CONCURRENCY,
        concurrency_id=ALEXNET_QUEUE,
    )
    gr.on(
        [try_run.click, try_photo.upload],
        predict_finetuned,
        try_photo,
        try_answer,
        api_name="predict_finetuned",
        api_description=API["predict_finetuned"],
        concurrency_limit=ALEXNET_CONCURRENCY,
        concurrency_id=ALEXNET_QUEUE,
    )
    out["prepare"].click(
        download_finetuned,
        None,
        out["download"],
        api_name="download_finetuned",
        api_description=API["download_finetuned"],
        concurrency_limit=1,
        concurrency_id=DOWNLOAD_QUEUE,
    )
    return job, (archive, strategy, epochs)
