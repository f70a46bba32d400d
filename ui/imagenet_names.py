"""ImageNet's class names as a visitor reads them: English, or Korean on the Korean page.

The API and every value the page sends back keep torchvision's English names (``nets`` finds a class
by them); only what a person reads is translated. The Korean names are ``assets/imagenet_ko.json``
(class index -> name), translated class by class: distinct classes have distinct names.
"""

from __future__ import annotations

import functools
import json

import gradio as gr

from nets.explaining.imagenet_classes import class_index, imagenet_class_names
from nets.paths import ASSETS
from ui.text import language

KOREAN_NAMES_FILE = ASSETS / "imagenet_ko.json"


@functools.cache
def korean_class_names() -> list[str]:
    """The 1000 Korean class names, in class-index order."""
    by_index = json.loads(KOREAN_NAMES_FILE.read_text(encoding="utf-8"))
    return [by_index[str(index)] for index in range(len(by_index))]


def class_names_in(code: str) -> list[str]:
    """ImageNet's 1000 class names in the language ``code`` ("en" or "ko"), in class-index order."""
    return korean_class_names() if code == "ko" else imagenet_class_names()


def shown_name(request: gr.Request | None, name: str) -> str:
    """An ImageNet class (its English name) as the visitor reads it."""
    if language(request) != "ko":
        return name
    return korean_class_names()[class_index(name)]


def shown_guesses(request: gr.Request | None, top: dict[str, float]) -> dict[str, float]:
    """AlexNet's guesses {English name: probability} with the names the visitor reads, in the same order."""
    return {shown_name(request, name): p for name, p in top.items()}


def class_picker(request: gr.Request | None, top: dict[str, float] | None = None) -> list[tuple[str, str]]:
    """The class picker's choices as (what the visitor reads, the English name sent back): the
    guesses in ``top`` first, with their probabilities, then every other class in index order."""
    top = top or {}
    shown = class_names_in(language(request))
    first = [(f"{shown_name(request, name)} ({p:.0%})", name) for name, p in top.items()]
    rest = [(label, name) for label, name in zip(shown, imagenet_class_names(), strict=True) if name not in top]
    return first + rest
