"""The photo tab: ImageNet AlexNet's five best guesses for a photo, and where it looked (Grad-CAM)."""

from __future__ import annotations

import gradio as gr
from PIL import Image

from nets import photo
from nets.alexnet import cached_weights_file, device_of
from nets.images import ImageError, open_rgb
from ui.inputs import PhotoUpload, accept
from ui.server import ALEXNET, ALEXNET_CONCURRENCY, ASSETS, imagenet_alexnet, on_gpu
from ui.text import T, error, refusal, say

API_DESCRIPTION = ("Classify a photo with torchvision's ImageNet AlexNet. Input: an image file (at most "
                   "50 megapixels). Output: the 5 most likely ImageNet classes with probabilities.")
HEATMAP_SIZE = 768  # the heatmap is made at the size it is shown (a 50 MP photo's would take 200 MB)


def open_photo(path: str, request: gr.Request | None):
    """A visitor's photo, upright RGB, or a ``gr.Error`` saying what is wrong with the file."""
    try:
        return open_rgb(path)
    except ImageError as problem:
        raise refusal(request, problem, subject="subject_photo") from None


@on_gpu
def classify_photo(image_path: str | None, request: gr.Request = None):
    """AlexNet's five best ImageNet guesses for a photo (the API answer: a label value)."""
    image_path = accept(image_path, request)
    if image_path is None:
        raise error(request, "photo_none")
    model = imagenet_alexnet(request)
    answer = photo.classify(model, open_photo(image_path, request), top=5, explain=False)
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
    picture = open_photo(seen["path"], request)  # checked at upload: only a vanished file can fail here
    display = picture.copy()
    display.thumbnail((HEATMAP_SIZE, HEATMAP_SIZE), Image.Resampling.BILINEAR)  # the heatmap is made at this size
    answer = photo.classify(model, picture, top=1, explain=True, cam_size=display.size)
    heatmap = photo.cam_overlay(display, answer.cam)
    device = say(request, "device_gpu" if device_of(model).type == "cuda" else "device_cpu")
    note = say(request, "photo_timing", ms=seen["seconds"] * 1000, cam_class=answer.cam_class, device=device)
    return heatmap, note


def weights_notice(request: gr.Request = None):
    """A visible notice when the ImageNet weights cannot be had (the details go to the log)."""
    if ALEXNET.loaded:
        return gr.update(visible=False)
    if ALEXNET.error is not None:
        return gr.update(value=say(request, "weights_unavailable_notice"), visible=True)
    if cached_weights_file().is_file():
        return gr.update(visible=False)
    return gr.update(value=say(request, "photo_weights_pending"), visible=True)


def build_photo_tab(tab: gr.Tab) -> gr.Image:
    """The photo tab; returns its photo box (a teacher's link can fill it)."""
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
                label=T("photo_examples"), api_visibility="private")
    seen = gr.State()  # this visitor's last photo and timing, for the heatmap
    limits = dict(concurrency_limit=ALEXNET_CONCURRENCY, concurrency_id="alexnet")
    run.click(classify_photo, picture, [answer, seen], api_name="classify_photo",
              api_description=API_DESCRIPTION, **limits).then(
        explain_photo, seen, [heatmap, timing], api_visibility="private", show_progress="hidden", **limits)
    picture.change(classify_photo_if_any, picture, [answer, seen], api_visibility="private",
                   trigger_mode="always_last", **limits).then(
        explain_photo, seen, [heatmap, timing], api_visibility="private", show_progress="hidden", **limits)
    gr.on([tab.select, run.click, picture.change], weights_notice, None, notice, api_visibility="private",
          show_progress="hidden")
    return picture
