"""The photo tab: ImageNet AlexNet's five best guesses for a photo, and where it looked (Grad-CAM)."""

from __future__ import annotations

import functools

import gradio as gr
from PIL import Image
from torchvision.models import alexnet

from nets.data.images import ImageError, open_rgb
from nets.explaining import photo
from nets.explaining.alexnet_views import first_layer_filters, strongest_feature_maps
from nets.explaining.gradcam import LAYERS, ExplainError, check_layer
from nets.explaining.imagenet_classes import class_index
from nets.explaining.questions import photo_questions
from nets.measuring.compare import on_meta
from nets.models.alexnet import (
    IMAGENET_WEIGHTS,
    WEIGHTS_BYTES,
    WeightsUnavailable,
    alexnet2012,
    cached_weights_file,
    device_of,
)
from nets.paths import ASSETS
from ui import running_work
from ui.budgets import ALEXNET_CONCURRENCY
from ui.first_load import shown_by_its_handlers
from ui.ids import ALEXNET_QUEUE
from ui.imagenet_names import class_picker, shown_guesses, shown_name
from ui.inputs import PhotoUpload, Refused, accept
from ui.questions import ask
from ui.running_work import alexnet_work
from ui.session_store import SessionStore
from ui.shared_models import ALEXNET, imagenet_alexnet, on_gpu
from ui.stores import ANALYSES
from ui.text import T, error, fill_in, refusal, say

API = {
    "classify_photo": "Classify a photo with torchvision's ImageNet AlexNet. Input: an image file (at most "
    "50 megapixels). Output: the 5 most likely ImageNet classes with probabilities.",
    "explain_photo": "Grad-CAM: where AlexNet looked, at a chosen layer, for a chosen class. Input: an image file, "
    "a layer ('conv1' to 'conv5'), an ImageNet class name ('' for AlexNet's top guess). Output: "
    "the heatmap over the photo, and the class explained (name, index, probability, rank, layer, "
    "the heatmap's cells a side).",
}
LAYER_CHOICES = list(LAYERS)
# The intro and "Inside AlexNet" give torchvision's AlexNet its own numbers, counted on the meta
# device, beside the 2012 paper's conv1 (96 filters; torchvision's has 64).
_CONV1, _CONV1_2012 = on_meta(alexnet).features[0], on_meta(alexnet2012).features[0]
fill_in("photo_intro", parameters=f"{IMAGENET_WEIGHTS.meta['num_params']:,}")
fill_in("photo_filters", filters=_CONV1.out_channels)
fill_in(
    "photo_filters_explain",
    filters=_CONV1.out_channels,
    size="x".join(map(str, _CONV1.kernel_size)),
    channels=_CONV1.in_channels,
    paper_filters=_CONV1_2012.out_channels,
)
# Empties the answer, the heatmap and the timing at once, in the browser (an empty label, no image,
# a blank line: a JavaScript null would leave a label and a Markdown as they are).
CLEAR_JS = "() => [{label: null, confidences: []}, null, ' ']"
HEATMAP_SIZE = 768  # the heatmap is made at the size it is shown (a 50 MP photo's would take 200 MB)


def open_photo(path: str, request: gr.Request | None):
    """A visitor's photo, upright RGB, or a ``gr.Error`` saying what is wrong with the file."""
    try:
        return open_rgb(path)
    except ImageError as problem:
        raise refusal(request, problem, subject="subject_photo") from None


@on_gpu
@alexnet_work
def classify_photo(image_path: str | None, request: gr.Request = None):
    """AlexNet's five best ImageNet guesses for a photo (the API answer: a label value).

    The photo's one pass through AlexNet is kept (``kept_analysis``): the heatmap and the feature
    maps that follow on the page are backward passes and reads of it, not passes of their own."""
    image_path = accept(image_path, request)
    if image_path is None:
        raise error(request, "photo_none")
    analysis, _ = kept_analysis(image_path, request)
    top = analysis.top(5)
    return top, {"path": image_path, "seconds": analysis.forward_seconds, "top": top}


# Which refused uploads a visitor has already been told about (by session and upload, ten seconds):
# the browser sends a photo it cannot show two or three times, and the visitor should read "this is
# not an image" once, not in a stack of toasts.
REPORTED = SessionStore(ttl=10.0, max_entries=2000)


@alexnet_work
def photo_changed(image_path, request: gr.Request = None):
    """The page's reaction to a new photo (an upload, the webcam, a paste, an example, a link).

    The old answer is already gone (a browser-only step clears it first). A refused file is
    explained once (see ``REPORTED``). Returns (answer, seen).
    """
    if isinstance(image_path, Refused):
        if REPORTED.put((request.session_hash if request else None, str(image_path.error)), True) is None:
            raise refusal(request, image_path.error, subject=image_path.subject)
        return {}, None  # told already: nothing to show
    if image_path is None:
        return {}, None
    return classify_photo(image_path, request)


def classify_on_page(image_path: str | None, request: gr.Request = None):
    """The Classify button: ``classify_photo``'s answer with the class names the visitor reads."""
    top, seen = classify_photo(image_path, request)
    return shown_guesses(request, top), seen


def photo_on_page(image_path, request: gr.Request = None):
    """A new photo on the page: the answer in the visitor's words, what was seen, and the photo box.

    A file that is not a photo is explained once in a toast (a warning: nothing broke) and the box
    is emptied: no broken-image icon, no error badge on the answer. Returns (answer, seen, box)."""
    if isinstance(image_path, Refused):
        if REPORTED.put((request.session_hash if request else None, str(image_path.error)), True) is None:
            told = refusal(request, image_path.error, subject=image_path.subject)
            gr.Warning(told.message, title=told.title)
        return {}, None, None
    top, seen = photo_changed(image_path, request)
    return shown_guesses(request, top), seen, gr.skip()


def kept_analysis(path: str, request: gr.Request | None) -> tuple[photo.PhotoAnalysis, Image.Image]:
    """The visitor's photo analysed (its one forward pass, kept so that a new layer or class needs
    only a backward pass) and its display-size copy, from the app's bounded store; opened and
    analysed when the store does not hold it (a new photo, or one let go)."""
    session = request.session_hash if request is not None else ""
    kept = ANALYSES.get(session, path)
    if kept is None:
        picture = open_photo(path, request)
        running_work.check()  # decoded: a cancelled visitor's photo goes no further
        kept = (photo.analyse_photo(imagenet_alexnet(request), picture), display_copy(picture))
        ANALYSES.put(session, path, kept)
    return kept


def display_copy(picture: Image.Image) -> Image.Image:
    """The photo at the size it is shown (the heatmap is made at this size: a 50 MP photo's would
    take 200 MB)."""
    display = picture.copy()
    display.thumbnail((HEATMAP_SIZE, HEATMAP_SIZE), Image.Resampling.BILINEAR)
    return display


def explained_text(request: gr.Request | None, explanation: photo.Explanation) -> str:
    """What the heatmap explains, in the visitor's language: the class, its rank and probability, the layer."""
    cam_class = shown_name(request, explanation.class_name)
    guess = {"cam_class": cam_class, "rank": explanation.rank, "p": explanation.probability}
    return say(request, "photo_explained", markup="markdown", layer=explanation.layer, cells=explanation.cells, **guess)


def heatmap_of(
    path: str, layer: str, target: str | None, request: gr.Request | None
) -> tuple[Image.Image, photo.Explanation]:
    """The heatmap at ``layer`` for ``target`` (None or "": the top guess) over the display-size
    copy of the photo at ``path``, and what it explains: a backward pass through the photo's kept
    analysis. A layer or class Grad-CAM cannot explain is refused before any forward pass."""
    try:
        check_layer(layer)
        if target:
            class_index(target)
        analysis, display = kept_analysis(path, request)
        explanation = analysis.grad_cam(layer, target or None, cam_size=display.size)
    except ExplainError as problem:
        raise refusal(request, problem) from None
    return photo.cam_overlay(display, explanation.cam), explanation


@on_gpu
@alexnet_work
def explain_seen(seen: dict | None, layer: str = "conv5", target: str | None = None, request: gr.Request = None):
    """The Grad-CAM lab on the page: the heatmap at ``layer`` for ``target`` (None: the top guess),
    what it explains, and how long AlexNet took."""
    if not seen:
        return None, ""
    heatmap, explanation = heatmap_of(seen["path"], layer, target, request)
    model = imagenet_alexnet(request)
    device = say(request, "device_gpu" if device_of(model).type == "cuda" else "device_cpu")
    timing = say(request, "photo_timing", markup="markdown", ms=seen["seconds"] * 1000, device=device)
    return heatmap, timing + "\n\n" + explained_text(request, explanation)


def class_choices(seen: dict | None, request: gr.Request = None):
    """The classes to explain: AlexNet's five best guesses first (with their probabilities), then
    every other ImageNet class, to type and pick, named in the visitor's language (the value sent
    back is the English name); the top guess chosen."""
    if not seen:
        return gr.update(choices=class_picker(request), value=None)
    return gr.update(choices=class_picker(request, seen["top"]), value=next(iter(seen["top"])))


def class_names_shown(seen: dict | None, request: gr.Request = None):
    """The class picker's names in the page's language, the chosen class kept (the tab is opened)."""
    return gr.update(choices=class_picker(request, seen["top"] if seen else None))


@on_gpu
@alexnet_work
def explain_photo(image_path: str | None, layer: str = "conv5", target: str = "", request: gr.Request = None):
    """For programs: Grad-CAM of a photo at ``layer`` ("conv1".."conv5") for ``target`` (an ImageNet
    class name, "" for AlexNet's top guess): the heatmap over the photo and the class explained.
    The same photo explained again (or classified first) is not run through AlexNet again."""
    image_path = accept(image_path, request)
    if image_path is None:
        raise error(request, "photo_none")
    heatmap, explanation = heatmap_of(image_path, layer, target, request)
    return heatmap, {
        "class": explanation.class_name,
        "index": explanation.class_index,
        "probability": round(explanation.probability, 6),
        "rank": explanation.rank,
        "layer": explanation.layer,
        "cells": explanation.cells,
    }


@functools.lru_cache(maxsize=2)
def _filters(model) -> Image.Image:
    return first_layer_filters(model)


def first_layer(request: gr.Request = None):
    """conv1's 64 filters, once the ImageNet weights are here (never stand-ins presented as learned)."""
    if not ALEXNET.loaded:
        return gr.update(value=None, visible=False)
    return gr.update(value=_filters(ALEXNET.get()), visible=True)


@on_gpu
@alexnet_work
def feature_maps(seen: dict | None, layer: str = "conv1", request: gr.Request = None):
    """A layer's most active maps for the photo, as a grid, and their mean activations."""
    if not seen:
        return None, ""
    try:
        grid, strongest = strongest_feature_maps(
            imagenet_alexnet(request), kept_analysis(seen["path"], request)[0], layer, 16
        )
    except ExplainError as problem:
        raise refusal(request, problem) from None
    listed = ", ".join(f"#{channel} ({mean:.2f})" for channel, mean in strongest)
    return grid, say(request, "photo_maps_caption", markup="markdown", layer=layer, maps=listed)


def weights_notice(request: gr.Request = None):
    """A visible notice when the ImageNet weights cannot be had (the details go to the log)."""
    if ALEXNET.loaded:
        return gr.update(visible=False)
    if ALEXNET.error is not None:
        return gr.update(value=say(request, "weights_unavailable_notice"), visible=True)
    if cached_weights_file().is_file():
        return gr.update(visible=False)
    return gr.update(value=say(request, "photo_weights_pending", size=WEIGHTS_BYTES), visible=True)


# The weights file's modification time when a load was last tried because of it: a broken file is
# tried once, not at every visitor's check.
_TRIED_FILE: dict[str, float] = {}


def weights_file_came() -> bool:
    """True once for each new (or newly written) weights file in torchvision's cache."""
    file = cached_weights_file()
    if not file.is_file():
        return False
    written = file.stat().st_mtime
    if _TRIED_FILE.get("mtime") == written:
        return False
    _TRIED_FILE["mtime"] = written
    return True


def photo_unavailable() -> bool:
    """True when photos cannot be classified here: the weights failed to load. A failed load is
    tried again once ``SharedAlexNet.retry_after`` has passed, or at once when the weights file has
    appeared in torchvision's cache (an admin copied it there)."""
    if ALEXNET.loaded or ALEXNET.error is None:
        return False  # loaded, or still loading (the first photo waits for it)
    try:  # the remembered failure; tried again when it is old enough or a weights file has come
        ALEXNET.get(retry=weights_file_came())
    except WeightsUnavailable:
        return True
    return False


def photo_availability(request: gr.Request = None):
    """The tab as the weights allow: without them, the photo box, Classify and the examples are
    disabled with the reason above them; they come back when the weights arrive (a timer asks
    while the weights are not loaded). Returns (notice, photo box, Classify, examples, timer)."""
    usable = not photo_unavailable()
    return (
        weights_notice(request),
        gr.update(interactive=usable),
        gr.update(interactive=usable),
        gr.update(visible=usable),
        gr.Timer(active=not ALEXNET.loaded),
    )


def build_photo_tab(tab: gr.Tab) -> gr.Image:
    """The photo tab; returns its photo box (a teacher's link can fill it)."""
    gr.Markdown(T("photo_intro"))
    notice = gr.Markdown(visible=False, elem_id="weights-notice", elem_classes=["notice"])
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            picture = PhotoUpload(
                type="filepath",
                image_mode=None,
                sources=["upload", "webcam", "clipboard"],
                height=360,
                label=T("photo_input"),
                elem_id="photo-input",
            )
            run = gr.Button(T("photo_run"), variant="primary", elem_id="photo-run")
        with gr.Column(scale=1, min_width=300):
            answer = gr.Label(num_top_classes=5, label=T("photo_answer"), elem_id="photo-prediction")
            timing = gr.Markdown(elem_id="photo-timing")
    examples = gr.Examples(
        examples=[str(p) for p in sorted((ASSETS / "photos").glob("*.jpg"))],
        inputs=picture,
        label=T("photo_examples"),
        elem_id="photo-examples",
        api_visibility="private",
    )
    shown_by_its_handlers(examples.dataset)  # hidden while the weights are missing (photo_availability)
    ask(photo_questions(), "photo")  # before the lab shows conv1's filters
    gr.Markdown(T("photo_lab_title"))
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            heatmap = gr.Image(label=T("photo_cam"), interactive=False, height=360, elem_id="photo-cam")
        with gr.Column(scale=1, min_width=300):
            layer = gr.Radio(
                LAYER_CHOICES, value="conv5", label=T("photo_layer"), info=T("photo_layer_info"), elem_id="photo-layer"
            )
            target = gr.Dropdown(
                class_picker(None),
                value=None,
                filterable=True,
                label=T("photo_target"),
                info=T("photo_target_info"),
                elem_id="photo-target",
            )
            gr.Markdown(T("photo_cam_explain"))
    with gr.Accordion(T("photo_inside_title"), open=False) as inside, gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            gr.Markdown(T("photo_filters_explain"))
            filters = gr.Image(
                label=T("photo_filters"), interactive=False, visible=False, height=360, elem_id="photo-filters"
            )
        with gr.Column(scale=1, min_width=300):
            maps_layer = gr.Radio(LAYER_CHOICES, value="conv1", label=T("photo_maps_layer"), elem_id="photo-maps-layer")
            maps = gr.Image(label=T("photo_maps"), interactive=False, height=360, elem_id="photo-maps")
            maps_caption = gr.Markdown(elem_id="photo-maps-caption")
    with gr.Column(visible=False):  # for programs: the lab's own heatmap, as an endpoint
        api_layer, api_target = gr.Textbox(label="layer"), gr.Textbox(label="target")
        api_heatmap, api_explained = gr.Image(label="heatmap"), gr.JSON(label="explained")
    seen = gr.State()  # this visitor's last photo, its timing and its top guesses
    # for programs: /classify_photo answers in English whatever the page's language
    api_answer, api_seen = gr.Label(visible=False), gr.State()
    weights_check = gr.Timer(10, active=False)  # asks whether the weights came, while they have not
    limits = dict(concurrency_limit=ALEXNET_CONCURRENCY, concurrency_id=ALEXNET_QUEUE)
    quiet = dict(api_visibility="private", show_progress="hidden", **limits)

    def after_a_photo(event):
        """What follows a classified photo: the classes to explain, the heatmap, the feature maps."""
        event.success(class_choices, seen, target, api_visibility="private", show_progress="hidden").then(
            explain_seen, [seen, layer, target], [heatmap, timing], **quiet
        ).then(feature_maps, [seen, maps_layer], [maps, maps_caption], **quiet)

    after_a_photo(run.click(classify_on_page, picture, [answer, seen], api_visibility="private", **limits))
    # A new photo: the old answer goes at once, in the browser; then the new one is computed.
    picture.change(None, None, [answer, heatmap, timing], js=CLEAR_JS, queue=False, api_visibility="private")
    after_a_photo(
        picture.change(
            photo_on_page,
            picture,
            [answer, seen, picture],
            api_visibility="private",
            trigger_mode="always_last",
            **limits,
        )
    )
    # Another layer or class: only a backward pass through the kept analysis.
    gr.on(
        [layer.input, target.input],
        explain_seen,
        [seen, layer, target],
        [heatmap, timing],
        trigger_mode="always_last",
        **quiet,
    )
    maps_layer.input(feature_maps, [seen, maps_layer], [maps, maps_caption], trigger_mode="always_last", **quiet)
    gr.on(
        [tab.select, run.click, weights_check.tick],
        photo_availability,
        None,
        [notice, picture, run, examples.dataset, weights_check],
        api_visibility="private",
        show_progress="hidden",
    )
    tab.select(class_names_shown, seen, target, api_visibility="private", show_progress="hidden")
    gr.on([tab.select, inside.expand], first_layer, None, filters, api_visibility="private", show_progress="hidden")
    gr.on(
        [],
        classify_photo,
        picture,
        [api_answer, api_seen],
        api_name="classify_photo",
        api_description=API["classify_photo"],
        **limits,
    )
    gr.on(
        [],
        explain_photo,
        [picture, api_layer, api_target],
        [api_heatmap, api_explained],
        api_name="explain_photo",
        api_description=API["explain_photo"],
        **limits,
    )
    return picture
