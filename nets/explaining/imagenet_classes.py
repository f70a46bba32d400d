"""ImageNet's 1000 classes by name: finding one as a person types it, and naming AlexNet's best guesses.

Names are torchvision's (``IMAGENET_WEIGHTS.meta["categories"]``). A person may type a name in any
case, with spaces around it, or with a typo: ``class_index`` finds the class or refuses with close
names to pick from; ``find_classes`` is the autocomplete.
"""

from __future__ import annotations

import difflib
import re
from numbers import Integral

import torch

from nets.explaining.gradcam import ExplainError
from nets.models.alexnet import IMAGENET_WEIGHTS

CATEGORIES: list[str] = list(IMAGENET_WEIGHTS.meta["categories"])  # 1000 ImageNet class names


def top_classes(probabilities: torch.Tensor, k: int) -> dict[str, float]:
    """The ``k`` most likely of (1000,) probabilities as {ImageNet class name: probability}, best first."""
    best = torch.topk(probabilities, k=max(1, min(k, probabilities.numel())))
    return {CATEGORIES[int(i)]: float(p) for p, i in zip(best.values, best.indices, strict=True)}


def imagenet_class_names() -> list[str]:
    """ImageNet's 1000 class names, in class-index order (a copy: the caller may change it)."""
    return list(CATEGORIES)


def find_classes(query: str, limit: int = 10) -> list[str]:
    """ImageNet class names containing ``query`` (case-insensitive), best matches first, for
    autocomplete: the exact name; then names where it is a whole word ("ice bear", "tiger cat" for
    "ice", "cat"), at the start first; then names or words starting with it ("catamaran"); then the
    rest ("police van"); shorter names first within each. An empty query finds nothing."""
    wanted = str(query).strip().lower()
    if not wanted or limit < 1:
        return []
    word = re.compile(rf"(?<!\w){re.escape(wanted)}(?!\w)")  # the query as whole word(s)
    word_start = re.compile(rf"(?<!\w){re.escape(wanted)}")
    found = []
    for index, name in enumerate(CATEGORIES):
        lower = name.lower()
        if wanted not in lower:
            continue
        whole, starts = word.search(lower), word_start.search(lower)
        if lower == wanted:
            tier = 0
        elif whole:
            tier = 1 if whole.start() == 0 else 2
        elif starts:
            tier = 3 if starts.start() == 0 else 4
        else:
            tier = 5
        found.append((tier, len(name), index))
    return [CATEGORIES[index] for _, _, index in sorted(found)[:limit]]


def _suggestions(value: str, count: int = 5) -> list[str]:
    """Up to ``count`` class names a person may have meant: containing it first, then look-alikes."""
    lowered: dict[str, list[str]] = {}
    for name in CATEGORIES:
        lowered.setdefault(name.lower(), []).append(name)
    close = difflib.get_close_matches(value.strip().lower(), list(lowered), n=count, cutoff=0.6)
    names = find_classes(value, count) + [name for match in close for name in lowered[match]]
    return list(dict.fromkeys(names))[:count]


LONGEST_NAME = 100  # characters; ImageNet's longest class name has 30


def class_index(target: int | str) -> int:
    """The ImageNet class index of ``target``: an index 0..999 or a class name (exactly as in
    ``imagenet_class_names()``, any case, surrounding spaces ignored). Raises ``ExplainError``."""
    if isinstance(target, Integral) and not isinstance(target, bool):
        if not 0 <= int(target) < len(CATEGORIES):
            raise ExplainError("class_index_out_of_range", value=int(target), low=0, high=len(CATEGORIES) - 1)
        return int(target)
    if not isinstance(target, str):
        raise ExplainError("unknown_class", value=repr(target), suggestions=[])
    name = target.strip()
    if len(name) > LONGEST_NAME:  # no class is called that: refused before any search (a 900 KB
        # name made the fuzzy search below spend seconds of CPU under the GIL)
        raise ExplainError("imagenet_class_name_too_long", length=len(name), limit=LONGEST_NAME)
    if name in CATEGORIES:  # the exact spelling wins ('Cardigan' the dog, 'cardigan' the jumper)
        return CATEGORIES.index(name)
    matches = [index for index, known in enumerate(CATEGORIES) if known.lower() == name.lower()]
    if len(matches) > 1:
        raise ExplainError("ambiguous_class", value=name, choices=[CATEGORIES[index] for index in matches])
    if not matches:
        raise ExplainError("unknown_class", value=name, suggestions=_suggestions(name))
    return matches[0]
