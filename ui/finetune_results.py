"""The visitor's fine-tuned model after training: where it looked, a photo of their own, the download.

A click on a confusion-matrix cell shows that cell's validation images with the model's Grad-CAM;
``/predict_finetuned`` classifies a new photo with it; ``/download_finetuned`` writes it to a file
(weights, classes, preprocessing) that plain torchvision loads. The model is the visitor's alone,
kept by session (``ui.stores.FINETUNED``, its report in ``ui.stores.REPORTS``).
"""

from __future__ import annotations

import os

import gradio as gr
import torch

from nets.explaining.feature_map import FeatureMap
from nets.explaining.photo import cam_on_photo, cam_overlay
from nets.training import finetune
from ui.charts import scatter_chart
from ui.inputs import accept
from ui.photo_tab import open_photo
from ui.running_work import alexnet_work
from ui.shared_models import imagenet_alexnet, on_gpu
from ui.stores import FINETUNED, REPORTS, model_bytes, write_download
from ui.text import error, say

SMALL_DOWNLOAD = 20_000_000  # a new head's file (16 KB per class) is written at once; larger ones on request
CELL_IMAGES = 24  # images shown for one confusion-matrix cell (each is a Grad-CAM: a forward and a backward pass)


def save_download(session: str, model: finetune.FineTuned) -> str | None:
    """Write the fine-tuned weights, classes and preprocessing to a file for the visitor to download.

    One file per visitor (the next replaces it), all visitors' files within a byte budget, each
    deleted ten minutes after it was written (``ui.stores.DOWNLOAD_FILES``). None if it cannot fit.
    """
    path = write_download(
        session,
        "finetuned_alexnet.pt",
        model_bytes(model) + 1_000_000,
        lambda path: torch.save(model.checkpoint(), path),
    )
    return None if path is None else str(path)


def download_update(request: gr.Request | None, path: str | None):
    """The download box: the file, its size in the label (decimal MB, as the prepare button says)."""
    if path is None:
        return gr.update(value=None, label=say(request, "ft_download", markup="text"))
    size = say(request, "ft_download_size", markup="text", size=os.path.getsize(path))
    return gr.update(value=path, label=size)


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
        pick_hint=say(request, "ft_map_pick", markup="text"),
    )


@on_gpu
@alexnet_work
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


def visitors_model(request: gr.Request | None) -> finetune.FineTuned:
    """The model this visitor fine-tuned, or a ``gr.Error`` saying to fine-tune (again) first."""
    session = request.session_hash if request is not None else None
    model = FINETUNED.get(session) if session else None
    if model is None or model.module is None:
        raise error(request, "ft_released" if session and FINETUNED.released(session) else "ft_no_model")
    return model


@on_gpu
@alexnet_work
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


def download_finetuned(request: gr.Request = None):
    """The visitor's model as a file, written now (large models are written only when asked for)."""
    model = visitors_model(request)
    path = save_download(request.session_hash, model)
    if path is None:
        raise error(request, "ft_download_too_big")
    return download_update(request, path)
