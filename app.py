"""Classic CNNs, hands on: draw for LeNet, show photos to AlexNet, fine-tune it, count its cost.

The Gradio UI of the app; the models and all the logic live in ``nets/`` (which never imports
gradio). Each tab is built by its own ``build_*_tab`` function; handlers convert UI values to
plain Python, call ``nets``, and turn a visitor's mistakes into ``gr.Error`` messages.

    python app.py          # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import gradio as gr
import pandas as pd
import torch
from PIL import Image

from gradio.components.base import server

from nets import compare, finetune, photo
from nets.alexnet import SharedAlexNet, WeightsUnavailable, cached_weights_file, device_of, how_to_provide_weights
from nets.charts import log_bar_chart
from nets.dataset_zip import DatasetError, ImageDataset, ZipLimits, read_image_zip
from nets.digits import DigitReader, DigitReading, enlarge, feature_grid
from nets.images import MAX_PIXELS, ImageError, open_header, open_rgb
from nets.jobs import run_in_background

ASSETS = Path(__file__).resolve().parent / "assets"
TEXT = json.loads((ASSETS / "i18n.json").read_text(encoding="utf-8"))

try:  # On Hugging Face ZeroGPU hardware a GPU is attached only inside functions marked like this.
    import spaces

    on_gpu = spaces.GPU
except ImportError:  # anywhere else: the same code, on the GPU if there is one, else the CPU

    def on_gpu(function=None, **_options):
        return function if function is not None else (lambda f: f)


# Many small requests at once are served best one core each: torch's intra-op threads would
# spin against each other (and against the visitors' other requests) on a small server.
torch.set_num_threads(1)

# Read-only models shared by every visitor (inference only, never modified).
DIGITS = DigitReader()
ALEXNET = SharedAlexNet()  # loaded on first use (or by the warm-up thread started in main())

# What each API endpoint does, for gradio_client's view_api() and for MCP clients (--mcp).
API = {
    "predict_digit": "Read a handwritten digit with LeNet (trained on MNIST). Input: a Sketchpad value whose "
                     "composite is an image of one digit (dark on light or light on dark). Output: the top 3 "
                     "digits with probabilities; empty when the image holds no digit.",
    "classify_photo": "Classify a photo with torchvision's ImageNet AlexNet. Input: an image file (at most "
                      "50 megapixels). Output: the 5 most likely ImageNet classes with probabilities.",
    "finetune": "Fine-tune a new AlexNet head on a zip of images with one folder per class (or train/ and "
                "val/ folders). Returns the status, dataset summary, training history (epoch, train_loss, "
                "train_acc, val_loss, val_acc), confusion matrix, per-class accuracy and the model file. The "
                "model stays in the caller's session for predict_finetuned (gradio_client: same Client).",
    "predict_finetuned": "Classify a photo with the model fine-tuned earlier in the same session (see finetune). "
                         "Output: probabilities over that model's own classes.",
    "compare_models": "Parameters, trainable/frozen parameters, fp32 size, multiply-adds and conv-vs-FC shares of "
                      "LeNet, AlexNet (2012 and torchvision) and AlexNet with a new head for N classes, plus "
                      "chosen later classics.",
}

# How many of each kind of job run at once; the rest wait in the queue with their position shown.
LENET_CONCURRENCY = 12
ALEXNET_CONCURRENCY = 3
FINETUNE_CONCURRENCY = 2  # training jobs at once; more wait in the queue, their position shown
FINETUNE_TIME_LIMIT = 300  # seconds of training per job
# A visitor's fine-tuned model is freed half an hour after it was trained (Gradio also drops a
# closed page's state, after up to an hour); large models may go sooner, see BIG_MODELS.
SESSION_TTL = 1800
BIG_MODELS = finetune.Shelf(capacity=6)  # at most ~1.5 GB of whole-classifier / all-layers models
ZIP_LIMITS = ZipLimits()
DOWNLOADS = Path(tempfile.gettempdir()) / "classic-cnns-downloads"

# Sentences that state the app's own limits get their numbers once, in every language.
LIMITS = {"zip_mb": ZIP_LIMITS.max_zip_bytes >> 20, "classes": ZIP_LIMITS.max_classes,
          "per_class": ZIP_LIMITS.min_images_per_class, "images": f"{ZIP_LIMITS.max_images:,}",
          "file_mb": ZIP_LIMITS.max_file_bytes >> 20, "megapixels": ZIP_LIMITS.max_pixels // 1_000_000,
          "entries": f"{ZIP_LIMITS.max_entries:,}", "minutes": FINETUNE_TIME_LIMIT // 60}
for _language in TEXT.values():
    _language["ft_limits"] = _language["ft_limits"].format(**LIMITS)
T = gr.I18n(**TEXT)  # every visible sentence, in English and Korean (chosen by the browser)


def say(request: gr.Request | None, key: str, **values) -> str:
    """A sentence in the visitor's language (from the browser's Accept-Language), with values.

    Static labels are translated in the browser by ``gr.I18n``; sentences built on the server
    with numbers in them (and error messages) are translated here.
    """
    accepted = (request.headers.get("accept-language", "") if request is not None else "").lower()
    language = "ko" if accepted.startswith("ko") else "en"
    return TEXT.get(language, {}).get(key, TEXT["en"][key]).format(**values)


def plain_message(error: Exception) -> str:
    """An error message from ``nets`` for a toast, which renders HTML: it may quote the names of
    a stranger's files, so markup in them is shown as text, never run."""
    return html.escape(str(error), quote=False)


# Picks the Sketchpad's brush as soon as the canvas appears (and again after it is cleared), so a
# visitor can draw at once instead of hunting for the draw tool first.
PICK_BRUSH_JS = """
() => {
  const pick = () => {
    const root = document.querySelector('#digit-canvas');
    if (!root) return;
    const tools = [...root.querySelectorAll('button[aria-label="Brush"], button[aria-label="Erase"], button[aria-label="Pan"]')];
    const brush = root.querySelector('button[aria-label="Brush"]');
    if (brush && !tools.some((b) => b.classList.contains('highlight'))) brush.click();
  };
  new MutationObserver(pick).observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ['class']});
  pick();
}
"""

CLICK_CANVAS_CLEAR_JS = """() => { document.querySelector('#digit-canvas button[aria-label="Clear canvas"]')?.click(); }"""

# A finger on the canvas must draw, not scroll the page: without this the browser takes the touch
# for scrolling after the first move and cancels the stroke (seen on phones and in Chromium).
CSS = """
#digit-canvas canvas { touch-action: none; }
/* On a phone all four tabs fit in one row (otherwise Gradio hides some behind a "more" menu). */
@media (max-width: 640px) { .tab-wrapper button { padding: 0 7px !important; } }
.notice { border-left: 4px solid #f59e0b; background: rgba(245, 158, 11, 0.12); padding: 8px 14px;
          border-radius: 6px; }
"""


# --- Inputs that check what strangers send before Gradio decodes it -------------------------------

CANVAS_MAX_PIXELS = 2048 * 2048  # the canvas is 400x400; an API client's photo of paper fits too
CANVAS_MAX_BYTES = 8 << 20  # one part of a drawing, as sent: a 2048x2048 PNG of a digit is far less
CANVAS_PENDING = 512  # strokes uploaded by browsers and not yet classified, kept at most


def check_image_bytes(source, max_pixels: int, name: str) -> None:
    """Refuse (``gr.Error``) anything that is not a plausible image, from its header alone."""
    try:
        open_header(source, max_pixels=max_pixels, name=name).close()
    except ImageError as error:
        raise gr.Error(plain_message(error)) from None


class PhotoUpload(gr.Image):
    """A ``gr.Image`` that refuses non-images and decompression bombs from the file's header.

    Gradio opens every uploaded image before the handler runs; this checks the header first, so
    a text file renamed .jpg or a small PNG claiming gigapixels gets a clear ``gr.Error`` at once.
    """

    is_template = True  # the browser shows it as a plain gr.Image
    # Use with type="filepath" and image_mode=None: the handler then gets the file exactly as sent
    # (Gradio's own RGB conversion would drop transparency to black and ignore EXIF rotation);
    # nets.images.open_rgb does those conversions properly.

    def preprocess(self, payload):
        if payload is not None and (payload.url or "").startswith("data:"):
            # An image inlined as base64 text: Gradio would decode and re-encode it in full.
            raise gr.Error("Send the photo as a file (an upload), not as inline base64 data.")
        if payload is not None and getattr(payload, "path", None):
            check_image_bytes(payload.path, MAX_PIXELS, "The photo")
        return super().preprocess(payload)


class DigitCanvas(gr.Sketchpad):
    """A Sketchpad that refuses what is not a drawing, with a clear ``gr.Error``.

    A drawing reaches the server two ways. API clients send files (background, layers,
    composite) with the request; browsers upload each part beforehand as raw bytes through the
    editor's ``accept_blobs`` server function and then send only an id. Both are checked from
    the image header before anything is decoded: at most one layer, each part a real image of at
    most 2048x2048 pixels. The browsers' pending uploads are kept in a bounded store.
    """

    def get_block_name(self) -> str:
        return "imageeditor"  # the browser component is the image editor Sketchpad is made from

    @server
    def accept_blobs(self, data):
        kind, index = data.data.get("type"), data.data.get("index")
        if kind == "layer" and index not in (None, "null", 0, "0"):  # the browser sends 0 (or "0")
            raise gr.Error("The digit canvas has a single layer.")
        blob = data.files[0][1] if data.files else b""
        if len(blob) > CANVAS_MAX_BYTES:
            raise gr.Error(f"The drawing is too large ({len(blob) >> 20} MB); the limit is {CANVAS_MAX_BYTES >> 20} MB.")
        check_image_bytes(blob, CANVAS_MAX_PIXELS, "The drawing")
        super().accept_blobs(data)
        while len(self.blob_storage) > CANVAS_PENDING:  # abandoned uploads: drop the oldest
            self.blob_storage.pop(next(iter(self.blob_storage)))

    def preprocess(self, payload):
        if payload is not None and payload.id is None:  # an API client's files (blobs: see above)
            if len(payload.layers or []) > 1:
                raise gr.Error("The digit canvas has a single layer: send at most one.")
            for part in [payload.background, payload.composite, *(payload.layers or [])]:
                if getattr(part, "path", None):
                    check_image_bytes(part.path, CANVAS_MAX_PIXELS, "The drawing")
        return super().preprocess(payload)


# --- Draw a digit ---------------------------------------------------------------------------


def predict_digit(sketch: dict | None) -> tuple[dict[str, float], DigitReading | None]:
    """LeNet's top-3 digits for a Sketchpad value (an empty label when nothing is drawn).

    The reading also goes into the visitor's ``gr.State`` (invisible to API clients), from which
    the "what LeNet sees" pictures are drawn without sending the canvas a second time.
    """
    reading = DIGITS.read(sketch)
    return ({} if reading is None else reading.top(3)), reading


def show_what_lenet_sees(reading: DigitReading | None):
    """The hint, the 28x28 image LeNet classified and both layers' feature maps."""
    if reading is None:
        return T("digit_hint_blank"), None, None, None
    conv1, conv2 = DIGITS.feature_maps(reading.digit)
    hint = T("digit_hint_unsure") if reading.probabilities.max() < 0.6 else T("digit_hint_ok")
    return (hint, enlarge(reading.digit.mnist, 6), feature_grid(conv1, columns=3, cell=56),
            feature_grid(conv2, columns=4, cell=40))


def build_digit_tab() -> None:
    gr.Markdown(T("digit_intro"))
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            canvas = DigitCanvas(
                label=T("digit_canvas"),
                elem_id="digit-canvas",
                canvas_size=(400, 400),
                fixed_canvas=True,
                format="png",  # lossless: webp would smear the strokes' edges
                layers=False,
                transforms=(),
                brush=gr.Brush(default_size=15, colors=["#000000"], color_mode="fixed"),
                eraser=gr.Eraser(default_size=20),
                height=460,
            )
            clear = gr.Button(T("digit_clear"), variant="secondary", elem_id="digit-clear")
        with gr.Column(scale=2, min_width=260):
            answer = gr.Label(num_top_classes=3, label=T("digit_answer"), elem_id="digit-prediction")
            hint = gr.Markdown(T("digit_hint_blank"), elem_id="digit-hint")
            seen = gr.Image(label=T("digit_seen"), height=180, width=180, interactive=False,
                            buttons=[], elem_id="digit-seen")
            gr.Markdown(T("digit_seen_explain"))
    with gr.Row(equal_height=False):
        with gr.Column(min_width=280):
            conv1 = gr.Image(label=T("digit_conv1"), interactive=False, buttons=[])
            gr.Markdown(T("digit_conv1_explain"))
        with gr.Column(min_width=280):
            conv2 = gr.Image(label=T("digit_conv2"), interactive=False, buttons=[])
            gr.Markdown(T("digit_conv2_explain"))
    reading = gr.State()  # this visitor's last reading, for the pictures below the answer
    gr.Examples(
        examples=[str(p) for p in sorted((ASSETS / "examples").glob("digit_*.png"))],
        inputs=canvas,
        label=T("digit_examples"),
    )
    # The canvas's own "Clear canvas" tool resets its drawing state reliably (setting the value to
    # None twice in a row does not: the second None is not a change); the answers are reset here.
    clear.click(lambda: ({}, None, T("digit_hint_blank"), None, None, None), None,
                [answer, reading, hint, seen, conv1, conv2], js=CLICK_CANVAS_CLEAR_JS,
                api_visibility="private", show_progress="hidden", queue=False)
    canvas.change(
        predict_digit, canvas, [answer, reading], api_name="predict_digit", api_description=API["predict_digit"],
        trigger_mode="always_last",
        show_progress="hidden", concurrency_limit=LENET_CONCURRENCY, concurrency_id="lenet",
    ).then(
        show_what_lenet_sees, reading, [hint, seen, conv1, conv2], api_visibility="private",
        show_progress="hidden", concurrency_limit=LENET_CONCURRENCY, concurrency_id="lenet-views",
    )


# --- Show a photo to AlexNet ---------------------------------------------------------------------


def open_photo(path: str):
    """A visitor's photo, upright RGB, or a ``gr.Error`` saying what is wrong with the file."""
    try:
        return open_rgb(path, name="The photo")
    except ImageError as error:
        raise gr.Error(plain_message(error)) from None


def imagenet_alexnet(request: gr.Request | None = None):
    """The shared ImageNet AlexNet, or a ``gr.Error`` saying the weights are missing and what to do."""
    try:
        return ALEXNET.get()
    except WeightsUnavailable as error:
        raise gr.Error(plain_message(error), title=say(request, "photo_weights_title")) from None


@on_gpu
def classify_photo(image_path: str | None, request: gr.Request = None):
    """AlexNet's five best ImageNet guesses for a photo (the API answer: a label value)."""
    if image_path is None:
        raise gr.Error(say(request, "photo_none"))
    model = imagenet_alexnet(request)
    answer = photo.classify(model, open_photo(image_path), top=5, explain=False)
    return answer.top, {"path": image_path, "seconds": answer.seconds}


def classify_photo_if_any(image_path: str | None, request: gr.Request = None):
    """Like ``classify_photo``, but a cleared photo simply clears the answer."""
    if image_path is None:
        return {}, None
    return classify_photo(image_path, request)


@on_gpu
def explain_photo(seen: dict | None, request: gr.Request = None):
    """The Grad-CAM heatmap over the photo, with what it means and how long AlexNet took."""
    if not seen:
        return None, ""
    model = imagenet_alexnet(request)
    picture = open_photo(seen["path"])  # checked at upload: only a vanished file can fail here
    display = picture.copy()
    display.thumbnail((768, 768), Image.Resampling.BILINEAR)  # the heatmap is made at this size
    answer = photo.classify(model, picture, top=1, explain=True, cam_size=display.size)
    heatmap = photo.cam_overlay(display, answer.cam)
    device = say(request, "device_gpu" if device_of(model).type == "cuda" else "device_cpu")
    note = say(request, "photo_timing", ms=seen["seconds"] * 1000, cam_class=answer.cam_class, device=device)
    return heatmap, note


def weights_notice(request: gr.Request = None):
    """A visible notice when the ImageNet weights cannot be had, saying how to provide them."""
    if ALEXNET.loaded:
        return gr.update(visible=False)
    if ALEXNET.error is not None:
        return gr.update(value=say(request, "photo_weights_missing", how=how_to_provide_weights()), visible=True)
    if cached_weights_file().is_file():
        return gr.update(visible=False)
    return gr.update(value=say(request, "photo_weights_pending"), visible=True)


def build_photo_tab(demo: gr.Blocks) -> None:
    gr.Markdown(T("photo_intro"))
    notice = gr.Markdown(visible=False, elem_id="weights-notice", elem_classes=["notice"])
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            picture = PhotoUpload(type="filepath", image_mode=None, sources=["upload", "webcam", "clipboard"],
                                  height=360, label=T("photo_input"), elem_id="photo-input")
            run = gr.Button(T("photo_run"), variant="primary")
        with gr.Column(scale=1, min_width=300):
            answer = gr.Label(num_top_classes=5, label=T("photo_answer"), elem_id="photo-prediction")
            timing = gr.Markdown(elem_id="photo-timing")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            heatmap = gr.Image(label=T("photo_cam"), interactive=False, height=360, elem_id="photo-cam")
        with gr.Column(scale=1, min_width=300):
            gr.Markdown(T("photo_cam_explain"))
    gr.Examples(examples=[str(p) for p in sorted((ASSETS / "photos").glob("*.jpg"))], inputs=picture,
                label=T("photo_examples"))
    seen = gr.State()  # this visitor's last photo and timing, for the heatmap
    limits = dict(concurrency_limit=ALEXNET_CONCURRENCY, concurrency_id="alexnet")
    run.click(classify_photo, picture, [answer, seen], api_name="classify_photo",
              api_description=API["classify_photo"], **limits).then(
        explain_photo, seen, [heatmap, timing], api_visibility="private", show_progress="hidden", **limits)
    picture.change(classify_photo_if_any, picture, [answer, seen], api_visibility="private",
                   trigger_mode="always_last", **limits).then(
        explain_photo, seen, [heatmap, timing], api_visibility="private", show_progress="hidden", **limits)
    gr.on([demo.load, run.click, picture.change], weights_notice, None, notice, api_visibility="private",
          show_progress="hidden")


# --- Fine-tune AlexNet on your own classes ---------------------------------------------------------

STRATEGY_CHOICES = [(T("ft_strategy_head"), "head"), (T("ft_strategy_classifier"), "classifier"),
                    (T("ft_strategy_all"), "all")]
SNIPPET = """\
# Load your fine-tuned AlexNet with torchvision and classify a photo.
import torch
from PIL import Image
from torchvision.models import AlexNet_Weights, alexnet

checkpoint = torch.load("{file}", weights_only=True)
weights = AlexNet_Weights.IMAGENET1K_V1            # the pretrained network you started from
model = alexnet(weights=weights)
model.classifier[6] = torch.nn.Linear(4096, len(checkpoint["classes"]))   # the note's new head
model.load_state_dict(checkpoint["state_dict"], strict=False)           # your trained layers
model.eval()

image = Image.open("photo.jpg").convert("RGB")
x = weights.transforms()(image).unsqueeze(0)       # resize 256, centre crop 224, normalise
with torch.inference_mode():
    probabilities = model(x).softmax(dim=1)[0]
best = int(probabilities.argmax())
print(checkpoint["classes"][best], f"{{float(probabilities[best]):.1%}}")
"""


def curves(history: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history in long form for two line plots: loss and accuracy, train and validation."""
    long = history.melt(id_vars="epoch", var_name="measure", value_name="value")
    long["split"] = long["measure"].str.split("_").str[0].map({"train": "train", "val": "validation"})
    long["kind"] = long["measure"].str.split("_").str[1]
    loss = long[long["kind"] == "loss"][["epoch", "value", "split"]].reset_index(drop=True)
    accuracy = long[long["kind"] == "acc"][["epoch", "value", "split"]].reset_index(drop=True)
    return loss, accuracy


def save_download(model: finetune.FineTuned) -> str:
    """Write the fine-tuned weights, classes and preprocessing to a file for the visitor to download.

    Files live in the app's own temporary folder; Gradio serves a copy from its cache, so ours are
    swept ten minutes later, whenever a new one is written: disk use does not grow without bound.
    """
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    for old in DOWNLOADS.iterdir():  # Gradio serves its own copy; ours is needed only briefly
        try:
            if time.time() - old.stat().st_mtime > 600:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another job swept it first
            pass
    folder = DOWNLOADS / uuid.uuid4().hex
    folder.mkdir()
    path = folder / "finetuned_alexnet.pt"
    torch.save(model.checkpoint(), path)
    return str(path)


# The fine-tune event's outputs, by name; a handler yields only the ones that change.
FT_OUTPUTS = ("status", "summary", "skipped", "history", "loss", "accuracy", "confusion", "per_class",
              "wrong", "download", "snippet", "model", "try_box")


def ft_updates(**values):
    """One yield of the fine-tune generator: the named outputs, every other one left as it is."""
    unknown = set(values) - set(FT_OUTPUTS)
    assert not unknown, unknown
    return tuple(values.get(name, gr.skip()) for name in FT_OUTPUTS)


def as_plain_text(text: str) -> str:
    """Text from a stranger's zip (folder and file names) made inert inside Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", text)


def skipped_files(dataset: ImageDataset):
    """The files the zip reader skipped, shown only when there are some (a fresh update each time:
    Gradio consumes an update's value when it sends it)."""
    table = pd.DataFrame(dataset.skipped, columns=["file", "reason"])
    return gr.update(value=table, visible=bool(dataset.skipped))


def new_stop_switch() -> threading.Event:
    """A fresh stop switch for the visitor's next job, set by their Stop button."""
    return threading.Event()


def press_stop(switch: threading.Event | None) -> None:
    """Ask the visitor's job to stop after its current batch, keeping the best epoch so far.

    A job still waiting in the queue finds the switch already set and stops as soon as it starts.
    """
    if switch is not None:
        switch.set()


@on_gpu(duration=FINETUNE_TIME_LIMIT + 60)  # ZeroGPU's default (60 s) is shorter than a job may be
def finetune_job(archive, strategy: str = "head", epochs: float = 20, lr: float = 1e-3,
                 batch_size: float = 32, switch: threading.Event | None = None, progress=gr.Progress(),
                 request: gr.Request = None):
    """Read the zip, train a new head (or more), and report as it goes (a generator of updates)."""
    if archive is None:
        raise gr.Error(say(request, "ft_no_zip"))
    try:
        settings = finetune.Settings(strategy=strategy, epochs=int(epochs), lr=float(lr), batch_size=int(batch_size),
                                     time_limit=FINETUNE_TIME_LIMIT).check()
    except ValueError as error:
        raise gr.Error(plain_message(error)) from None
    backbone = imagenet_alexnet(request)
    path = archive if isinstance(archive, str) else archive.name
    progress(0, desc=say(request, "ft_stage_reading"))

    stop = switch or threading.Event()  # API clients stop a job by cancelling it instead
    if getattr(stop, "claimed", False):  # a second click on Fine-tune while the first job runs
        raise gr.Error(say(request, "ft_already_running"))
    stop.claimed = True
    if stop.is_set():  # Stop was pressed while this job waited in the queue
        yield ft_updates(status=say(request, "ft_stopped_early"))
        return

    def reading(i: int, n: int) -> None:
        if stop.is_set():
            raise finetune.Stopped("stopped at your request while reading the zip")
        progress((i, n), desc=say(request, "ft_stage_reading"), unit="images")

    def job(closed):
        """Read the zip, then train: all of it in a low-priority background thread."""
        read = read_image_zip(path, limits=ZIP_LIMITS, progress=reading)
        yield read
        yield from finetune.finetune(backbone, read, settings, lambda: stop.is_set() or closed())

    try:
        for event in run_in_background(job):
            if isinstance(event, ImageDataset):
                dataset = event
                notes = "".join(f"\n- {as_plain_text(w)}" for w in dataset.warnings)  # they quote names
                yield ft_updates(status=say(request, "ft_read", images=len(dataset.train) + len(dataset.val),
                                            classes=len(dataset.classes), layout=as_plain_text(dataset.layout)) + notes,
                                 summary=dataset.summary(), skipped=skipped_files(dataset))
            elif isinstance(event, finetune.Progress):
                stage = (say(request, "ft_stage_features") if event.stage == "features"
                         else say(request, "ft_stage_epoch", epoch=event.epoch, epochs=settings.epochs))
                progress((event.done, event.total), desc=stage)
            elif isinstance(event, pd.DataFrame):
                loss, accuracy = curves(event)
                yield ft_updates(history=event, loss=loss, accuracy=accuracy)
            else:
                model, report = event
    except DatasetError as error:
        raise gr.Error(plain_message(error), title=say(request, "ft_zip_refused")) from None
    except finetune.Stopped as stopped:
        if not stop.is_set():  # the time limit, before a single epoch
            raise gr.Error(plain_message(stopped)) from None
        yield ft_updates(status=say(request, "ft_stopped_early"))
        return
    wrong = [(item.image, f"{item.name}: {dataset.classes[item.label]} → {guess} ({p:.0%})")
             for item, guess, p in report.wrong[:24]]
    download = save_download(model)
    BIG_MODELS.keep(model)
    status = say(request, "ft_done", acc=model.val_acc, epoch=model.best_epoch, epochs=len(report.history),
                 seconds=report.seconds, val=len(dataset.val))
    if report.stopped:
        status += " " + say(request, "ft_stopped", reason=report.stopped)
    status += notes
    loss, accuracy = curves(report.history)
    yield ft_updates(status=status, summary=dataset.summary(), skipped=skipped_files(dataset), history=report.history,
                     loss=loss, accuracy=accuracy, confusion=report.confusion, per_class=report.per_class,
                     wrong=gr.update(value=wrong, label=say(request, "ft_wrong_count", n=len(report.wrong)),
                                     visible=bool(wrong)),
                     download=download, snippet=SNIPPET.format(file=Path(download).name), model=model,
                     try_box=gr.update(visible=True))


@on_gpu
def predict_finetuned(image_path: str | None, model: finetune.FineTuned | None, request: gr.Request = None):
    """The visitor's fine-tuned model on a new photo: probabilities over their own classes."""
    if model is None:
        raise gr.Error(say(request, "ft_no_model"))
    if image_path is None:
        raise gr.Error(say(request, "photo_none"))
    picture = open_photo(image_path)
    try:
        return model.predict(imagenet_alexnet(request), picture)
    except finetune.Released as error:
        raise gr.Error(plain_message(error)) from None


def suggested_lr(strategy: str) -> float:
    return finetune.SUGGESTED_LR.get(strategy, 1e-3)


def build_finetune_tab():
    """The fine-tune tab; returns the training event and the session's model (for the compare tab)."""
    out: dict[str, gr.components.Component] = {}
    gr.Markdown(T("ft_intro"))
    gr.Markdown(T("ft_limits"))
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            archive = gr.File(label=T("ft_zip"), file_types=[".zip"], type="filepath", elem_id="finetune-zip")
            gr.Examples(examples=[[str(ASSETS / "shapes.zip")]], inputs=archive, label=T("ft_example"))
        with gr.Column(scale=1, min_width=300):
            strategy = gr.Radio(STRATEGY_CHOICES, value="head", label=T("ft_strategy"))
            with gr.Row():
                epochs = gr.Slider(1, 100, value=20, step=1, label=T("ft_epochs"), elem_id="finetune-epochs")
                batch_size = gr.Slider(4, 128, value=32, step=4, label=T("ft_batch"))
            lr = gr.Number(value=1e-3, minimum=1e-6, maximum=1.0, label=T("ft_lr"), info=T("ft_lr_info"))
    with gr.Row():
        start = gr.Button(T("ft_start"), variant="primary", elem_id="finetune-start")
        stop = gr.Button(T("ft_stop"), variant="stop", elem_id="finetune-stop")
    out["status"] = gr.Markdown(elem_id="finetune-status")
    with gr.Row(equal_height=False):
        out["summary"] = gr.Dataframe(label=T("ft_summary"), interactive=False, elem_id="finetune-summary")
        out["skipped"] = gr.Dataframe(label=T("ft_skipped"), interactive=False, visible=False, wrap=True)
    with gr.Row(equal_height=False):
        plot = dict(x="epoch", y="value", color="split", height=260,
                    color_map={"train": "#2f7ed8", "validation": "#f28f43"})
        out["loss"] = gr.LinePlot(label=T("ft_loss_plot"), **plot)
        out["accuracy"] = gr.LinePlot(label=T("ft_accuracy_plot"), y_lim=[0, 1], **plot)
    out["history"] = gr.Dataframe(label=T("ft_history"), interactive=False, max_height=260, elem_id="finetune-history")
    with gr.Row(equal_height=False):
        out["confusion"] = gr.Dataframe(label=T("ft_confusion"), interactive=False, wrap=True)
        out["per_class"] = gr.Dataframe(label=T("ft_per_class"), interactive=False)
    out["wrong"] = gr.Gallery(label=T("ft_wrong"), columns=6, height=240, object_fit="contain", visible=False)
    out["model"] = gr.State(time_to_live=SESSION_TTL)  # this visitor's fine-tuned model, theirs alone
    with gr.Column(visible=False) as out["try_box"]:
        gr.Markdown(T("ft_try_title"))
        with gr.Row(equal_height=False):
            with gr.Column(min_width=280):
                try_photo = PhotoUpload(type="filepath", image_mode=None, height=280, label=T("ft_try_photo"),
                                        sources=["upload", "webcam", "clipboard"], elem_id="finetune-try-photo")
                try_run = gr.Button(T("ft_try_run"), elem_id="finetune-try-run")
            try_answer = gr.Label(label=T("ft_try_answer"), num_top_classes=5, elem_id="finetune-try-answer")
        gr.Markdown(T("ft_download_title"))
        out["download"] = gr.File(label=T("ft_download"), interactive=False)
        out["snippet"] = gr.Code(language="python", label=T("ft_snippet"), interactive=False)

    strategy.change(suggested_lr, strategy, lr, api_visibility="private", show_progress="hidden")
    switch = gr.State()  # this visitor's stop switch for their current job
    job = start.click(new_stop_switch, None, switch, queue=False, api_visibility="private").then(
        finetune_job, [archive, strategy, epochs, lr, batch_size, switch], [out[name] for name in FT_OUTPUTS],
        api_name="finetune", api_description=API["finetune"], concurrency_limit=FINETUNE_CONCURRENCY,
        concurrency_id="finetune",
        time_limit=FINETUNE_TIME_LIMIT + 120)
    stop.click(press_stop, switch, None, queue=False, api_visibility="private")
    gr.on([try_run.click, try_photo.upload], predict_finetuned, [try_photo, out["model"]], try_answer,
          api_name="predict_finetuned", api_description=API["predict_finetuned"],
          concurrency_limit=ALEXNET_CONCURRENCY, concurrency_id="alexnet")
    return job, out["model"]


# --- Compare the models ----------------------------------------------------------------------


def readable(table: pd.DataFrame):
    """Show big integers with thousands separators (the data itself stays exact integers)."""
    integers = [c for c in table.columns if pd.api.types.is_integer_dtype(table[c])]
    floats = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    return table.style.format("{:,}", subset=integers).format("{:g}", subset=floats).hide(axis="index")


def compare_models(finetune_classes: float = 5, extras: list[str] | None = None):
    """The models table: parameters, trainable/frozen, MB, multiply-adds, conv vs FC shares."""
    try:
        return readable(compare.models_table(finetune_classes=finetune_classes, extras=extras or []))
    except ValueError as error:
        raise gr.Error(plain_message(error)) from None


def compare_charts(table: pd.DataFrame, request: gr.Request = None):
    """Log-scale bars of parameters and compute, and where each model keeps them (conv vs FC)."""
    if table is None or len(table) == 0:
        return "", "", None, None
    names = list(table["model"])
    params = log_bar_chart(names, [int(v) for v in table["parameters"]], say(request, "compare_params_chart"))
    compute = log_bar_chart(names, [int(v) for v in table["mult_adds"]], say(request, "compare_compute_chart"))
    splits = []
    for what, conv, fc in (("parameters", "conv_params_pct", "fc_params_pct"),
                           ("compute", "conv_mult_adds_pct", "fc_mult_adds_pct")):
        rows = []
        for _, row in table.iterrows():
            other = max(0.0, round(100 - row[conv] - row[fc], 1))
            rows += [{"model": row["model"], "layers": part, "percent": float(value)}
                     for part, value in (("conv", row[conv]), ("fully connected", row[fc]), ("other", other))]
        splits.append(pd.DataFrame(rows))
    return (params, compute, gr.BarPlot(value=splits[0], sort=names), gr.BarPlot(value=splits[1], sort=names))


def layer_breakdown(model: str, finetune_classes: float = 5):
    """One model layer by layer: output shape, parameters, multiply-adds."""
    try:
        return readable(compare.layer_table(model, finetune_classes=finetune_classes))
    except ValueError as error:
        raise gr.Error(plain_message(error)) from None


def build_compare_tab(demo: gr.Blocks) -> gr.Number:
    """The compare tab; returns its number-of-classes box, which a visitor's fine-tune fills in."""
    gr.Markdown(T("compare_intro"))
    with gr.Row():
        classes = gr.Number(value=5, minimum=2, maximum=1000, precision=0, label=T("compare_classes"),
                            info=T("compare_classes_info"), scale=1, min_width=220)
        extras = gr.CheckboxGroup(list(compare.EXTRA_MODELS), label=T("compare_extras"), scale=3)
    table = gr.Dataframe(label=T("compare_table"), interactive=False, wrap=True, elem_id="models-table")
    gr.Markdown(T("compare_columns"))
    with gr.Row(equal_height=False):
        params_chart = gr.HTML(min_height=120, elem_id="params-chart")
        compute_chart = gr.HTML(min_height=120, elem_id="compute-chart")
    gr.Markdown(T("compare_split_explain"))
    with gr.Row(equal_height=False):
        split_style = dict(x="model", y="percent", color="layers", y_lim=[0, 100], x_label_angle=-30,
                           color_map={"conv": "#2f7ed8", "fully connected": "#f28f43", "other": "#9aa0a6"})
        params_split = gr.BarPlot(label=T("compare_params_split"), **split_style)
        compute_split = gr.BarPlot(label=T("compare_compute_split"), **split_style)
    with gr.Row():
        layer_model = gr.Dropdown(list(compare.MODELS) + list(compare.EXTRA_MODELS),
                                  value=compare.MODELS[3], label=T("compare_layers_model"), scale=1)
    layers = gr.Dataframe(label=T("compare_layers"), interactive=False, wrap=True, max_height=420)
    gr.Markdown(T("compare_claims_title"))
    gr.Dataframe(value=compare.note_claims, interactive=False, wrap=True, show_label=False,
                 column_widths=["20%", "30%", "50%"])

    gr.on([demo.load, classes.change, extras.change], compare_models, [classes, extras], table,
          api_name="compare_models", api_description=API["compare_models"], show_progress="minimal")
    table.change(compare_charts, table, [params_chart, compute_chart, params_split, compute_split],
                 api_visibility="private", show_progress="hidden")
    gr.on([demo.load, layer_model.change, classes.change], layer_breakdown, [layer_model, classes], layers,
          api_visibility="private", show_progress="minimal")
    return classes


# --- The app ----------------------------------------------------------------------------------


def build_demo() -> gr.Blocks:
    # delete_cache: files Gradio keeps for visitors (uploads, results, downloads) are removed once
    # they are half an hour old, checked every ten minutes, so disk use stays bounded over a day.
    with gr.Blocks(title="Classic CNNs, hands on", delete_cache=(600, 1800)) as demo:
        gr.Markdown(T("app_title"))
        with gr.Tabs():
            with gr.Tab(T("tab_digit"), id="digit"):
                build_digit_tab()
            with gr.Tab(T("tab_photo"), id="photo"):
                build_photo_tab(demo)
            with gr.Tab(T("tab_finetune"), id="finetune"):
                job, finetuned = build_finetune_tab()
            with gr.Tab(T("tab_compare"), id="compare"):
                classes = build_compare_tab(demo)
        # The compare tab's fine-tuned AlexNet takes the number of classes of the visitor's own.
        job.then(lambda model: len(model.classes) if model else gr.skip(), finetuned, classes,
                 api_visibility="private", show_progress="hidden")
    return demo


demo = build_demo()


def warm_up(delay: float = 3.0) -> None:
    """Load the ImageNet AlexNet in the background shortly after start-up (downloads on Spaces).

    The first photo then answers at once, and a missing-weights notice shows from the first page
    load. The delay keeps the load from competing with the server's own start.
    """

    def load() -> None:
        time.sleep(delay)
        try:
            ALEXNET.get()
        except WeightsUnavailable as error:
            print(f"Photo tab: {error}", flush=True)

    threading.Thread(target=load, name="alexnet-warm-up", daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description="Classic CNNs, hands on (a Gradio app).")
    parser.add_argument("--share", action="store_true", default=os.environ.get("SHARE") == "1",
                        help="also serve on a public gradio.live link (or set SHARE=1)")
    parser.add_argument("--mcp", action="store_true", default=os.environ.get("MCP_SERVER") == "1",
                        help="also serve the endpoints as an MCP server (needs gradio[mcp]; or set MCP_SERVER=1)")
    args = parser.parse_args()
    warm_up()
    demo.queue(max_size=256)  # beyond this many waiting events, visitors are told the queue is full
    demo.launch(i18n=T, js=PICK_BRUSH_JS, css=CSS, max_file_size="100mb", share=args.share,
                mcp_server=args.mcp or None)


if __name__ == "__main__":
    main()
