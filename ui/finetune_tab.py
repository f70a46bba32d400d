"""The fine-tune tab: a new AlexNet head (or more) trained on a visitor's zip, live, then tried and taken home.

This module lays the tab out and wires it; the training job is ``ui.finetune_job``, what the visitor
does with their model afterwards ``ui.finetune_results``, the race of the ways ``ui.race``.
"""

from __future__ import annotations

import zipfile

import gradio as gr

from nets.data.dataset_zip import VALID_PCT
from nets.explaining.questions import finetune_questions
from nets.models.alexnet import PENULTIMATE_FEATURES, WEIGHTS_BYTES, cached_weights_file
from nets.paths import ASSETS
from nets.training import finetune
from ui.budgets import ALEXNET_CONCURRENCY, FINETUNE_TIME_LIMIT, TRAINING_EVENTS, ZIP_LIMITS
from ui.builder import bring_into_view_js, build_builder, dataset_zip_for, thumbnail_gallery
from ui.finetune_job import FT_OUTPUTS, finetune_job
from ui.finetune_results import download_finetuned, predict_finetuned, show_cell
from ui.ids import ALEXNET_QUEUE, BUILDER_QUEUE, DOWNLOAD_QUEUE, FINETUNE_QUEUE
from ui.inputs import PhotoUpload
from ui.questions import ask
from ui.race import build_race
from ui.shared_models import ALEXNET
from ui.stores import FINETUNED
from ui.text import T, fill_in, say
from ui.training_job import epochs_slider, start_stop

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
# The progress area: Gradio's bar and, below it, the job's own readout (stage, epoch, accuracy),
# which stays put between redraws instead of flashing; neither covers the status.
CSS = """
#finetune-progress, #race-progress { min-height: 70px; }
#finetune-progress .ft-readout { padding: 62px 4px 4px; font-size: var(--text-lg); font-variant-numeric: tabular-nums; }
#finetune-start-reason { align-self: center; }
#finetune-progress.pending, #finetune-progress .pending { opacity: 1 !important; }  /* the readout stays legible */
/* the file's size is written in the label, in MB of 10^6 bytes (Gradio's own column counts 2^20) */
#finetune-download td.download a { font-size: 0; }
#finetune-download td.download a::after { content: "⬇"; font-size: var(--text-lg); }
/* photo captions sit under their image, whole, instead of over half of it */
#finetune-cell .caption-label, #finetune-wrong .caption-label {
  position: static; max-width: 100%; white-space: normal; overflow-wrap: anywhere; background: none;
  color: var(--body-text-color); font-size: var(--text-sm); padding: 2px 0; }
#finetune-cell .thumbnail-item, #finetune-wrong .thumbnail-item { height: auto; flex-direction: column; }
/* every row of photos can be reached: the box grows with them, then scrolls inside */
#finetune-cell, #finetune-wrong, #finetune-cell .grid-wrap, #finetune-wrong .grid-wrap { height: auto !important; }
#finetune-cell .grid-wrap, #finetune-wrong .grid-wrap { max-height: 560px; overflow-y: auto; }
@media (max-width: 600px) {
  #finetune-cell .grid-container, #finetune-wrong .grid-container { grid-template-columns: repeat(3, 1fr) !important; }
  /* the tables on a phone: every column in sight (the text font, smaller; headings break between words) */
  /* (.cell-wrap: the headings, the shown cells and the hidden row Gradio measures the columns by) */
  #finetune-results .cell-wrap { padding: 4px; }
  #finetune-results .cell-wrap, #finetune-results .cell-wrap * {
    font-family: var(--font); font-size: var(--text-sm); word-break: normal; overflow-wrap: normal; }
}
/* the snippet: a Markdown code block (Prism's token classes), long lines wrapped inside the box, in
   syntax colours of our own: Gradio's (and its code editor's) are too faint to read (orange 2.8:1,
   comments 3.8:1; WCAG asks 4.5:1). Each colour here is at least 4.5:1 on the block, light and dark. */
#finetune-snippet pre, #finetune-snippet pre code { white-space: pre-wrap; overflow-wrap: anywhere; }
#finetune-snippet pre, #finetune-snippet code { color: var(--body-text-color); }
#finetune-snippet .token.comment { color: #57606a; font-style: italic; }
#finetune-snippet .token.keyword { color: #7c3aad; }
#finetune-snippet .token.string { color: #116329; }
#finetune-snippet .token.function, #finetune-snippet .token.builtin { color: #953800; }
#finetune-snippet .token.number, #finetune-snippet .token.boolean { color: #0550ae; }
#finetune-snippet .token.operator, #finetune-snippet .token.punctuation { color: var(--body-text-color); }
.dark #finetune-snippet .token.comment { color: #a3acb7; }
.dark #finetune-snippet .token.keyword { color: #d2a8ff; }
.dark #finetune-snippet .token.string { color: #7ee787; }
/* (one selector per dark rule: Gradio's scoping of custom CSS drops the second of a list after .dark) */
.dark #finetune-snippet .token.function { color: #ffa657; }
.dark #finetune-snippet .token.builtin { color: #ffa657; }
.dark #finetune-snippet .token.number { color: #79c0ff; }
.dark #finetune-snippet .token.boolean { color: #79c0ff; }
"""

# The limits sentence states the server's own numbers, in every language.
fill_in(
    "ft_limits",
    zip_mb=ZIP_LIMITS.max_zip_bytes // 1_000_000,
    classes=ZIP_LIMITS.max_classes,
    per_class=ZIP_LIMITS.min_images_per_class,
    images=f"{ZIP_LIMITS.max_images:,}",
    file_mb=ZIP_LIMITS.max_file_bytes // 1_000_000,
    megapixels=ZIP_LIMITS.max_pixels // 1_000_000,
    entries=f"{ZIP_LIMITS.max_entries:,}",
    minutes=FINETUNE_TIME_LIMIT // 60,
)
# How it works, with the numbers the code uses: the features the new head reads, the held-out share.
fill_in("ft_intro_more", features=f"{PENULTIMATE_FEATURES:,}", held_out=f"{VALID_PCT:.0%}")
fill_in("ft_map_explain", features=f"{PENULTIMATE_FEATURES:,}")

# A dot of the map names its image where the map says, on a hover or a tap (a phone has no hover;
# the SVG <title> tooltips are hover-only).
MAP_PICK_JS = """
const pick = (event) => {
  const point = event.target.closest && event.target.closest('g.cc-point');
  const shown = element.querySelector('.cc-picked');
  if (!point || !shown) return;
  element.querySelectorAll('g.cc-picked-point').forEach((g) => g.classList.remove('cc-picked-point'));
  point.classList.add('cc-picked-point');
  shown.textContent = point.querySelector('title').textContent;
};
element.addEventListener('click', pick);
element.addEventListener('mouseover', pick);
"""

STRATEGY_CHOICES = [
    (T("ft_strategy_head"), "head"),
    (T("ft_strategy_classifier"), "classifier"),
    (T("ft_strategy_all"), "all"),
]


def dataset_source(source: str, request: gr.Request = None):
    """Before a job: the dataset built in the page, as a zip, when that is where the visitor is
    (the zip input then shows it); an upload is left as it is."""
    return dataset_zip_for(request) if source == "build" else gr.skip()


def finetuned_classes(request: gr.Request = None):
    """How many classes the visitor's fine-tuned model has (for the compare tab), or no change."""
    model = FINETUNED.get(request.session_hash) if request is not None else None
    return len(model.classes) if model is not None else gr.skip()


def suggested_lr(strategy: str) -> float:
    return finetune.SUGGESTED_LR.get(strategy, 1e-3)


def weights_check(request: gr.Request = None):
    """Up front, before anyone fills anything in: the tab's own notice, and a disabled button with its
    reason beside it, when the ImageNet weights cannot be had (the details are in the server's log)."""
    failed = ALEXNET.error is not None and not ALEXNET.loaded  # (still loading: the button waits, enabled)
    if failed:
        notice = gr.update(value=say(request, "ft_weights_unavailable"), visible=True)
    elif ALEXNET.loaded or cached_weights_file().is_file():
        notice = gr.update(visible=False)
    else:
        notice = gr.update(value=say(request, "ft_weights_pending", size=WEIGHTS_BYTES), visible=True)
    reason = gr.update(value=say(request, "ft_start_off") if failed else "", visible=failed)
    return notice, gr.update(interactive=not failed), reason


def example_classes() -> int:
    """How many classes the example zip has (its top-level folders)."""
    with zipfile.ZipFile(ASSETS / "shapes.zip") as archive:
        return len({name.split("/")[0] for name in archive.namelist() if "/" in name})


def build_finetune_tab(tab: gr.Tab):
    """The fine-tune tab; returns the training event (the compare tab follows it) and the inputs a
    teacher's link can fill (zip, strategy, epochs)."""
    out: dict[str, gr.components.Component] = {}
    gr.Markdown(T("ft_intro"))
    with gr.Accordion(T("ft_learn_more"), open=False):
        gr.Markdown(T("ft_intro_more"))
        gr.Markdown(T("ft_limits"))
    ask(finetune_questions(example_classes()), "finetune", folded=True)
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
                epochs = epochs_slider(100, 20, T("ft_epochs"), T("ft_epochs_info"), "finetune-epochs")
                batch_size = gr.Slider(
                    4, 128, value=32, step=4, label=T("ft_batch"), info=T("ft_batch_info"), min_width=240
                )
            lr = gr.Number(value=1e-3, minimum=1e-6, maximum=1.0, label=T("ft_lr"), info=T("ft_lr_info"))
    with gr.Row(equal_height=True):
        start = gr.Button(T("ft_start"), variant="primary", elem_id="finetune-start")
        stop = gr.Button(T("ft_stop"), variant="secondary", interactive=False, elem_id="finetune-stop")
        start_off = gr.Markdown(visible=False, elem_id="finetune-start-reason")  # why Start is greyed
    # The one progress display, shown while a job runs: an area of its own above the status (Gradio's
    # bar, then the job's readout), so the status stays readable and the curves below stay in sight.
    progress_line = out["progress"] = gr.HTML("", visible=False, elem_id="finetune-progress")
    out["status"] = gr.Markdown(elem_id="finetune-status")
    with gr.Column(visible=False, elem_id="finetune-results") as out["results"]:  # shown once there are results
        with gr.Row(equal_height=False):
            with gr.Column(min_width=300):
                out["loss"] = gr.HTML(elem_id="finetune-loss")
            with gr.Column(min_width=300):
                out["accuracy"] = gr.HTML(elem_id="finetune-accuracy")
        with gr.Row(equal_height=False):
            out["summary"] = gr.Dataframe(
                label=T("ft_summary"), interactive=False, wrap=True, elem_id="finetune-summary"
            )
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
            label=T("ft_history"), interactive=False, wrap=True, max_height=260, elem_id="finetune-history"
        )
        with gr.Column(visible=False) as out["report"]:  # what the trained model got right and wrong: at the end
            with gr.Row(equal_height=False):
                out["confusion"] = gr.Dataframe(
                    label=T("ft_confusion"), interactive=False, wrap=True, elem_id="finetune-confusion"
                )
                out["per_class"] = gr.Dataframe(
                    label=T("ft_per_class"), interactive=False, wrap=True, elem_id="finetune-per-class"
                )
            out["cell_caption"] = gr.Markdown(elem_id="finetune-cell-caption")
            # photos: JPEG thumbnails (Gradio's default WebP takes 40 times longer to encode)
            photos = {"object_fit": "contain", "visible": False, "format": "jpeg"}
            out["cell"] = thumbnail_gallery(T("ft_cell"), "finetune-cell", height=260, allow_preview=False, **photos)
            out["wrong"] = thumbnail_gallery(T("ft_wrong"), "finetune-wrong", height=240, **photos)
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    out["map"] = gr.HTML(elem_id="finetune-map", js_on_load=MAP_PICK_JS)
                with gr.Column(scale=2, min_width=260):
                    gr.Markdown(T("ft_map_explain"))
    with gr.Column(visible=False) as out["try_box"]:
        gr.Markdown(T("ft_try_title"), elem_classes=["heading"])
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
        gr.Markdown(T("ft_download_title"), elem_classes=["heading"])
        out["prepare"] = gr.Button(visible=False, elem_id="finetune-prepare-download")
        out["download"] = gr.File(label=T("ft_download"), interactive=False, elem_id="finetune-download")
        # A Markdown code block, not gr.Code: its tokens carry Prism's classes (colours we can choose, see
        # CSS), it has a copy button, and it is plain HTML (the code editor drew only the lines near the
        # window, leaving a blank box below them in a screenshot); no line numbers to drift on a phone.
        out["snippet"] = gr.Markdown(label=T("ft_snippet"), elem_id="finetune-snippet")

    # Before a job: the dataset built in the page becomes the zip it reads
    prepare = {
        "fn": dataset_source,
        "inputs": source,
        "outputs": archive,
        "api_visibility": "private",
        "concurrency_id": BUILDER_QUEUE,
        "show_progress": "hidden",
    }
    build_race(archive, prepare)

    strategy.change(suggested_lr, strategy, lr, api_visibility="private", show_progress="hidden")
    gr.on(
        [tab.select, start.click],
        weights_check,
        None,
        [notice, start, start_off],
        api_visibility="private",
        show_progress="hidden",
    )
    # the feedback comes into view: the progress, the status and the curves (560 px), below the fold at Start
    into_view = bring_into_view_js("#finetune-progress", room=560)
    start.click(None, None, None, js=into_view, queue=False, api_visibility="private")
    zip_tab.select(lambda: "zip", None, source, queue=False, api_visibility="private", show_progress="hidden")
    build_tab.select(lambda: "build", None, source, queue=False, api_visibility="private", show_progress="hidden")
    job = start_stop(
        start,
        stop,
        progress_line,
        finetune_job,
        [archive, strategy, epochs, lr, batch_size, regularise],
        [out[name] for name in FT_OUTPUTS],
        prepare=prepare,
        api_name="finetune",
        api_description=API["finetune"],
        concurrency_limit=TRAINING_EVENTS,
        concurrency_id=FINETUNE_QUEUE,
        time_limit=FINETUNE_TIME_LIMIT + 120,
    )
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
