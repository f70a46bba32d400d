"""The train tab: a visitor trains their own LeNet with the note's choices as switches, watches it learn,
then draws on it (the digit tab reads every drawing with it too, in the browser, beside the shipped one).

LeNet trains in the visitor's browser: the tab's page (``ui/static/train/``) runs
``ui/static/lenet/training.js`` in a Web Worker on the app's MNIST subset, fetched once as a static
file (``assets/web/mnist_subset.bin.gz``) when the tab opens, so from pressing Train to the result
nothing is sent to the server, and a class can train at once. Programs keep the server's training:
``/train_lenet`` runs in the background job system (``nets.training.jobs``: a low-priority thread
holding one of two work slots, stoppable, cancelled when the caller leaves), the model kept by
session (``ui.stores.LENETS``) for ``/predict_my_lenet``.
"""

from __future__ import annotations

import math
import time

import gradio as gr
import pandas as pd

from nets.data.mnist import MnistData, training_data
from nets.data.mnist_web import WEB_DATA_FILE
from nets.explaining.digits import DigitReader, DigitReading
from nets.explaining.questions import train_questions
from nets.training import visitor_lenet
from nets.training.events import BatchTrained, EpochFinished
from nets.training.jobs import StopSwitch
from nets.training.visitor_lenet import HISTORY_COLUMNS, TRAINING_FACTS_FILE, TrainingSettingsError
from ui.budgets import LENET_CONCURRENCY, LENET_TRAINING_TIME_LIMIT, TRAINING_EVENTS
from ui.charts import kernel_grid
from ui.ids import LENET_QUEUE, LENET_TRAINING_QUEUE
from ui.inputs import DigitCanvas, accept
from ui.questions import ask
from ui.server_sharing import LENET_TRAINING_SLOTS
from ui.shared_mnist import mnist_data
from ui.static import HERE as STATIC
from ui.static import TRAINING_DATA_SCRIPT, TRAINING_SCRIPTS, TRAINING_WORKER
from ui.stores import LENETS
from ui.text import TEXT, T, error, fill_in, refusal, say, tell
from ui.training_job import TrainingJob, curves_html, named_updates, start_stop

API = {
    "train_lenet": "Train your own LeNet on MNIST. Input: pooling ('avg' or 'max'), activation ('relu', 'sigmoid' "
    "or 'tanh'), epochs (1 to 20), training images (1,000 up to all there are). Output: a status, and "
    "the history: one row per epoch with epoch, train_loss, train_acc, test_loss, test_acc (on MNIST "
    "test images never trained on), seconds. The model stays in the caller's session for "
    "predict_my_lenet (gradio_client: the same Client).",
    "predict_my_lenet": "Read a handwritten digit with the LeNet trained earlier in the same session (see "
    "train_lenet). Input: a Sketchpad value, as predict_digit takes it. Output: the top 3 digits.",
}
# "How it learns" states the defaults the tab trains with (the page trains with Python's settings).
_DEFAULTS = visitor_lenet.LeNetSettings()
fill_in("train_intro_more", batch=_DEFAULTS.batch_size, lr=f"{_DEFAULTS.lr:g}", warmup=f"{visitor_lenet.WARMUP:.0%}")
POOLINGS = [(T("train_pooling_avg"), "avg"), (T("train_pooling_max"), "max")]
ACTIVATIONS = [
    (T("train_activation_relu"), "relu"),
    (T("train_activation_sigmoid"), "sigmoid"),
    (T("train_activation_tanh"), "tanh"),
]
# the page's table of runs
RUNS_COLUMNS = ["run", "pooling", "activation", "epochs", "train_images", "seconds", "test_acc"]


def kernels_html(request: gr.Request | None, kernels, epoch: int | None | str) -> str:
    """conv1's kernels titled by when they were taken: before training (None), after an epoch, or at the end."""
    key = {None: "train_kernels_start", "end": "train_kernels_end"}.get(epoch, "train_kernels_epoch")
    title = say(request, key, markup="text", epoch=epoch or 0)
    return kernel_grid(kernels, title)


def rounded(history: pd.DataFrame) -> pd.DataFrame:
    """The history as people read it: 4 decimals, seconds to a tenth (the API gets the same)."""
    return history.round({"train_loss": 4, "train_acc": 4, "test_loss": 4, "test_acc": 4, "seconds": 1})


def finished_status(request: gr.Request | None, finished, data: MnistData) -> str:
    """The end of a run, honest about a stop: the stopped model's own accuracy, said next to where it stopped
    (the curves and the history keep finished epochs only, so a stop mid-epoch is said to be past them)."""
    acc, seconds, done = finished.test_acc, finished.seconds, finished.epochs_done
    if finished.stopped is None:
        return say(request, "train_done", markup="markdown", acc=acc, images=data.test_count, seconds=seconds)
    whole = len(finished.history)  # the finished epochs the curves show
    key = "train_stopped_between" if math.isclose(done, whole) else "train_stopped_within"
    said = say(
        request,
        key,
        markup="markdown",
        epoch=whole + 1,
        epochs=done,
        finished=whole,
        acc=acc,
        images=data.test_count,
        seconds=seconds,
    )
    return said + " " + say(request, "train_stopped", markup="markdown", reason=tell(request, finished.stopped))


# The job's outputs, by name; each yield names only those that change.
OUTPUTS = ("status", "loss", "accuracy", "kernels", "history", "runs", "weights", "ready", "results")
updates = named_updates(OUTPUTS)


def lenet_curves(request: gr.Request | None, history: pd.DataFrame) -> tuple[str, str]:
    """Loss and accuracy per epoch on the training images and on MNIST's test images (two SVGs)."""
    return curves_html(request, history, held_out="test", titles=("train_loss_plot", "train_accuracy_plot"), zoom=True)


def train_lenet(
    pooling: str = "avg",
    activation: str = "relu",
    epochs: float = 2,
    train_images: float = 10_000,
    runs: list[dict] | None = None,
    switch: StopSwitch | None = None,
    progress=gr.Progress(),
    request: gr.Request = None,
):
    """Train the visitor's LeNet, reporting as it goes (a generator of updates)."""
    data: MnistData = mnist_data()
    try:
        settings = visitor_lenet.LeNetSettings(
            pooling=pooling,
            activation=activation,
            epochs=epochs,
            train_images=train_images,
            time_limit=LENET_TRAINING_TIME_LIMIT,
        ).check(data.train_count)
    except TrainingSettingsError as problem:
        raise refusal(request, problem) from None
    job = TrainingJob(request, switch, busy="train_already_running", time_limit=LENET_TRAINING_TIME_LIMIT)
    started = time.monotonic()

    def work(closed):
        yield from visitor_lenet.train(settings, data, job.stop_pressed, closed)

    def show(event):
        match event:
            case visitor_lenet.Started(conv1_kernels=kernels):
                return updates(
                    status=say(request, "train_started", markup="markdown"),
                    kernels=kernels_html(request, kernels, None),
                    results=gr.update(visible=True),
                )
            case BatchTrained() as batch:
                seconds = time.monotonic() - started  # Gradio's own timer restarts at every update: the line says it
                stage = say(request, "train_stage", epoch=batch.epoch, epochs=batch.epochs, seconds=seconds)
                progress(batch.progress, desc=stage)
            case EpochFinished(epoch=epoch, history=history, conv1_kernels=kernels):
                loss, accuracy = lenet_curves(request, history)
                return updates(
                    loss=loss,
                    accuracy=accuracy,
                    history=job.shown(rounded(history)),
                    kernels=kernels_html(request, kernels, epoch),
                )
        return None

    finished = yield from job.run(work, show, nothing=updates(), slots=LENET_TRAINING_SLOTS, progress=progress)
    session = request.session_hash if request is not None else ""
    LENETS.put(session, DigitReader(model=finished.model))
    variant = {"pooling": settings.pooling, "activation": settings.activation}
    runs = [
        *(runs or []),
        {
            "run": len(runs or []) + 1,
            **variant,
            "epochs": round(finished.epochs_done, 2),
            "train_images": settings.train_images,
            "seconds": round(time.monotonic() - started, 1),
            "test_acc": round(finished.test_acc, 4),
        },
    ]
    acc = finished.test_acc
    status = finished_status(request, finished, data)
    loss, accuracy = lenet_curves(request, finished.history)
    weights = finished.web_weights()
    weights["label"] = say(request, "train_mine_label", markup="text", acc=acc, **variant)
    kernels = kernels_html(request, visitor_lenet.conv1_kernels(finished.model), "end")
    yield updates(
        status=status,
        loss=loss,
        accuracy=accuracy,
        kernels=kernels,
        history=job.shown(rounded(finished.history)),
        runs=runs,
        weights=weights,
        ready=gr.update(visible=True),
    )


def predict_my_lenet(sketch: dict | None, request: gr.Request = None) -> dict[str, float]:
    """The caller's own LeNet's top 3 for a drawing (an empty label when it holds no digit)."""
    value = accept(sketch, request)
    mine = LENETS.get(request.session_hash if request is not None else "")
    if mine is None:
        raise error(request, "train_first")
    reading: DigitReading | None = mine.read(value)
    return {} if reading is None else reading.top(3)


# --- the tab's page: LeNet trained in the browser ------------------------------------------------

PAGE_SCRIPTS = (  # inlined, in this order, as the page's gr.HTML's js_on_load
    TRAINING_FACTS_FILE,  # LeNetTrainingFacts: the images file's header
    TRAINING_DATA_SCRIPT,  # LeNetTrainingData: the images, fetched once when the tab opens
    STATIC / "train" / "charts.js",  # trainCharts: the curves and the kernels as SVG
    STATIC / "train" / "lab.js",  # startTrainLab: the page, its Web Worker, the Train and Stop buttons
)
# The worker's scripts and the images are static files: same-origin URLs a Worker can load, cached by browsers.
gr.set_static_paths([TRAINING_WORKER.parent, WEB_DATA_FILE.parent])
# Train and Stop run in the page only (no request): window.trainLab is lab.js's.
START_JS = (
    "(pooling, activation, epochs, images) => { "
    "window.trainLab && window.trainLab.train({pooling, activation, epochs, trainImages: images}); }"
)
STOP_JS = "() => { window.trainLab && window.trainLab.stop(); }"


def file_url(path) -> str:
    """A static file's URL as the page asks for it (relative: it works under a Space's prefix too)."""
    return f"gradio_api/file={path}"


def page_texts() -> dict[str, dict[str, str]]:
    """The sentences the tab's page shows (ui/static/train/), in every language (it picks the page's)."""
    wanted = ("train_", "curve_", "axis_", "column_", "stopped_by_request")
    return {
        language: {key: text for key, text in sentences.items() if key.startswith(wanted)}
        for language, sentences in TEXT.items()
    }


def lab_code() -> str:
    """The tab's browser code: its scripts, then the call that starts the page (gr.HTML's js_on_load)."""
    code = "\n".join(path.read_text(encoding="utf-8") for path in PAGE_SCRIPTS)
    return f"{code}\nstartTrainLab(element, props);\n"


def browser_data():
    """The MNIST the page trains on: the shipped subset (its images file), whatever the server has."""
    return training_data("subset")


def build_train_tab(tabs: gr.Tabs, tab: gr.Tab) -> None:
    gr.Markdown(T("train_intro"))
    with gr.Accordion(T("train_learn_more"), open=False):
        gr.Markdown(T("train_intro_more"))
    ask(train_questions(), "train", folded=True)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            pooling = gr.Radio(
                POOLINGS, value="avg", label=T("train_pooling"), info=T("train_pooling_info"), elem_id="train-pooling"
            )
            activation = gr.Radio(
                ACTIVATIONS,
                value="relu",
                label=T("train_activation"),
                info=T("train_activation_info"),
                elem_id="train-activation",
            )
        with gr.Column(scale=1, min_width=300):
            epochs = gr.Slider(
                *visitor_lenet.EPOCHS,
                value=2,
                step=1,
                label=T("train_epochs"),
                info=T("train_epochs_info"),
                elem_id="train-epochs",
            )
            images = gr.Slider(
                visitor_lenet.MIN_TRAIN_IMAGES,
                browser_data().train_count,  # the page trains on the shipped subset
                value=10_000,
                step=1_000,
                label=T("train_images"),
                info=T("train_images_info"),
                elem_id="train-images",
            )
    with gr.Row():
        start = gr.Button(T("train_start"), variant="primary", elem_id="train-start")
        stop = gr.Button(T("train_stop"), variant="secondary", interactive=False, elem_id="train-stop")
    gr.HTML(  # the status, progress, curves, kernels, history, runs and "draw on it", all made in the page
        "",
        html_template='<div class="train-lab"></div>',
        css_template=(STATIC / "train" / "lab.css").read_text(encoding="utf-8"),
        js_on_load=lab_code(),
        elem_id="train-page",
        data_url=file_url(WEB_DATA_FILE),
        worker_url=file_url(TRAINING_WORKER),
        scripts=[file_url(path) for path in TRAINING_SCRIPTS],
        data_counts={"train": browser_data().train_count, "test": browser_data().test_count},
        history_columns=HISTORY_COLUMNS,
        runs_columns=RUNS_COLUMNS,
        texts=page_texts(),
    )
    start.click(None, [pooling, activation, epochs, images], None, js=START_JS, api_visibility="private")
    stop.click(None, None, None, js=STOP_JS, api_visibility="private")

    # For programs only: /train_lenet trains on the server, as it always has (nothing here is shown).
    with gr.Column(visible=False):
        api_start, api_stop = gr.Button("train"), gr.Button("stop")
        progress_line = gr.HTML("")
        out = {"status": gr.Markdown()}
        with gr.Row() as out["ready"]:
            pass
        with gr.Column() as out["results"]:
            out["loss"], out["accuracy"], out["kernels"] = gr.HTML(), gr.HTML(), gr.HTML()
            out["history"] = gr.Dataframe(interactive=False)
        out["runs"] = gr.State([])  # the caller's runs
        out["weights"] = gr.JSON()  # the trained weights, in the page engine's format
        sketch = DigitCanvas(label="sketch", canvas_size=(400, 400), format="png", layers=False, transforms=())
        mine = gr.Label(num_top_classes=3, label="answer")
    start_stop(
        api_start,
        api_stop,
        progress_line,
        train_lenet,
        [pooling, activation, epochs, images, out["runs"]],
        [out[name] for name in OUTPUTS],
        api_name="train_lenet",
        api_description=API["train_lenet"],
        concurrency_limit=TRAINING_EVENTS,
        concurrency_id=LENET_TRAINING_QUEUE,
        time_limit=LENET_TRAINING_TIME_LIMIT + 60,
    )
    gr.on(
        [],
        predict_my_lenet,
        sketch,
        mine,
        api_name="predict_my_lenet",
        api_description=API["predict_my_lenet"],
        concurrency_limit=LENET_CONCURRENCY,
        concurrency_id=LENET_QUEUE,
    )
