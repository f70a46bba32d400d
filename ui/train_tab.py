"""The train tab: a visitor trains their own LeNet with the note's choices as switches, watches it learn,
then draws on it (the digit tab reads every drawing with it too, in the browser, beside the shipped one).

Training runs in the server's background job system (``nets.training.jobs``: a low-priority thread holding
one of two work slots, stoppable, cancelled when the visitor leaves); the model is the visitor's
alone (kept by session, ``ui.stores.LENETS``). Programs: ``/train_lenet`` and ``/predict_my_lenet``.
"""

from __future__ import annotations

import math
import time

import gradio as gr
import pandas as pd

from nets.data.mnist import MnistData
from nets.explaining.digits import DigitReader, DigitReading
from nets.training import visitor_lenet
from nets.training.events import BatchTrained, EpochFinished
from nets.training.jobs import StopSwitch
from nets.training.visitor_lenet import TrainingSettingsError
from ui.budgets import LENET_CONCURRENCY, LENET_TRAINING_TIME_LIMIT, TRAINING_EVENTS
from ui.charts import kernel_grid
from ui.ids import DIGIT_TAB, LENET_QUEUE, LENET_TRAINING_QUEUE
from ui.inputs import DigitCanvas, accept
from ui.server_sharing import LENET_TRAINING_SLOTS
from ui.shared_mnist import mnist_data
from ui.stores import LENETS
from ui.text import T, error, refusal, say, tell, worded
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
POOLINGS = [(T("train_pooling_avg"), "avg"), (T("train_pooling_max"), "max")]
ACTIVATIONS = [
    (T("train_activation_relu"), "relu"),
    (T("train_activation_sigmoid"), "sigmoid"),
    (T("train_activation_tanh"), "tanh"),
]
RUNS_COLUMNS = ["run", "pooling", "activation", "epochs", "train_images", "seconds", "test_acc"]
CSS = """
#train-progress { min-height: 70px; }
/* Gradio's own timer restarts at every update of the job: the progress line says the time itself */
#train-progress .timer, #train-progress .meta-text, #train-progress .meta-text-center { display: none; }
/* a phone: every column of the history and runs tables in sight, test accuracy included */
@media (max-width: 640px) {
  #train-history table, #train-runs table { font-size: 0.78em; }
  #train-history th, #train-history td, #train-runs th, #train-runs td { padding: 2px 4px; min-width: 0; }
  #train-history th span, #train-runs th span { white-space: normal; }
}
"""


def kernels_html(request: gr.Request | None, kernels, epoch: int | None | str) -> str:
    """conv1's kernels titled by when they were taken: before training (None), after an epoch, or at the end."""
    key = {None: "train_kernels_start", "end": "train_kernels_end"}.get(epoch, "train_kernels_epoch")
    title = say(request, key, markup="text", epoch=epoch or 0)
    return kernel_grid(kernels, title)


def rounded(history: pd.DataFrame) -> pd.DataFrame:
    """The history as people read it: 4 decimals, seconds to a tenth (the API gets the same)."""
    return history.round({"train_loss": 4, "train_acc": 4, "test_loss": 4, "test_acc": 4, "seconds": 1})


def runs_table(runs: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(runs, columns=RUNS_COLUMNS)


def runs_in_words(request: gr.Request | None, runs: list[dict]) -> pd.DataFrame:
    """The runs as the page shows them: pooling and activation in words ("average", not "avg"), headings too."""
    table = runs_table(runs)
    for column in ("pooling", "activation"):
        table[column] = [say(request, f"train_run_{column}_{code}", markup="text") for code in table[column]]
    return worded(request, table)


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


def show_runs(runs: list[dict] | None, request: gr.Request = None):
    return runs_in_words(request, runs or []), gr.update(visible=bool(runs))


def predict_my_lenet(sketch: dict | None, request: gr.Request = None) -> dict[str, float]:
    """The caller's own LeNet's top 3 for a drawing (an empty label when it holds no digit)."""
    value = accept(sketch, request)
    mine = LENETS.get(request.session_hash if request is not None else "")
    if mine is None:
        raise error(request, "train_first")
    reading: DigitReading | None = mine.read(value)
    return {} if reading is None else reading.top(3)


# Hands the visitor's new weights to the digit tab's page (window.digitLab), in the browser.
SEND_TO_PAGE_JS = "(weights) => { if (weights && window.digitLab) window.digitLab.setMine(weights); }"


def data_note(request: gr.Request = None):
    """Which MNIST the runs use, and the training images there are (the slider's top)."""
    data = mnist_data()
    return tell(request, data.fact(), markup="markdown"), gr.update(maximum=data.train_count)


def build_train_tab(tabs: gr.Tabs, tab: gr.Tab) -> None:
    gr.Markdown(T("train_intro"))
    with gr.Accordion(T("train_learn_more"), open=False):
        gr.Markdown(T("train_intro_more"))
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
                mnist_data().train_count,
                value=10_000,
                step=1_000,
                label=T("train_images"),
                info=T("train_images_info"),
                elem_id="train-images",
            )
    source = gr.Markdown(elem_id="train-data")
    with gr.Row():
        start = gr.Button(T("train_start"), variant="primary", elem_id="train-start")
        stop = gr.Button(T("train_stop"), variant="secondary", interactive=False, elem_id="train-stop")
    progress_line = gr.HTML("", visible=False, elem_id="train-progress")
    out = {"status": gr.Markdown(elem_id="train-status")}
    with gr.Row(visible=False) as out["ready"]:
        draw = gr.Button(T("train_draw"), variant="primary", elem_id="train-draw")
    with gr.Column(visible=False) as out["results"]:  # shown once a run has started: no empty plots before
        with gr.Row(equal_height=False):
            with gr.Column(min_width=300):
                out["loss"] = gr.HTML(elem_id="train-loss")
            with gr.Column(min_width=300):
                out["accuracy"] = gr.HTML(elem_id="train-accuracy")
        out["kernels"] = gr.HTML(elem_id="train-kernels")
        gr.Markdown(T("train_kernels_explain"))
        out["history"] = gr.Dataframe(
            label=T("train_history"), interactive=False, elem_id="train-history", max_height=260
        )
    out["runs"] = gr.State([])  # this visitor's runs, to compare
    with gr.Column(visible=False) as runs_box:  # shown from the first finished run on
        gr.Markdown(T("train_runs_title"), elem_classes=["heading"])  # no scrolling region
        runs_view = gr.Dataframe(value=runs_table([]), label=T("train_runs"), interactive=False, elem_id="train-runs")
    out["weights"] = gr.JSON(visible=False)  # the trained weights, handed to the page's digit tab
    with gr.Column(visible=False):  # for programs: a drawing read with the caller's own LeNet
        sketch = DigitCanvas(label="sketch", canvas_size=(400, 400), format="png", layers=False, transforms=())
        mine = gr.Label(num_top_classes=3, label="answer")

    start_stop(
        start,
        stop,
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
    out["runs"].change(show_runs, out["runs"], [runs_view, runs_box], api_visibility="private", show_progress="hidden")
    out["weights"].change(None, out["weights"], None, js=SEND_TO_PAGE_JS, api_visibility="private")
    draw.click(lambda: gr.Tabs(selected=DIGIT_TAB), None, tabs, queue=False, api_visibility="private")
    tab.select(data_note, None, [source, images], api_visibility="private", show_progress="hidden")
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
