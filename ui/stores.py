"""What the app keeps for each visitor, each in its own ``SessionStore`` (``ui.session_store``):
within the byte budgets of ``ui.budgets``, kept by the app rather than by Gradio's sessions, the
least recently used let go first and its owner told.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from nets.training.feature_cache import FeatureCache
from nets.training.finetune import FineTuned
from ui.budgets import BUDGETS, DOWNLOAD_TTL, SESSION_TTL
from ui.scratch import DOWNLOADS
from ui.session_store import NoRoom, SessionStore


def model_bytes(model: FineTuned) -> int:
    """The memory a fine-tuned model's own weights take (the shared AlexNet is not counted)."""
    module = model.module
    return 0 if module is None else sum(p.numel() * p.element_size() for p in module.state_dict().values())


# Each visitor's fine-tuned model, for half an hour after its last use; the oldest freed for room.
FINETUNED = SessionStore(
    max_bytes=BUDGETS.model_bytes,
    ttl=SESSION_TTL,
    size=model_bytes,
    release=lambda model: model.release(),
    address_share=0.25,  # one address's models at most a quarter of the budget before its own go first
)
# What a fine-tune found (the validation images and the model's guesses), kept beside the model so a
# click on a confusion-matrix cell can show those images.
REPORTS = SessionStore(
    max_bytes=BUDGETS.report_bytes,
    ttl=SESSION_TTL,
    size=lambda report: sum(item.image.width * item.image.height * 3 for item in report.val) + 4096,
    release=lambda report: report.val.clear(),
)
# Datasets built in the page: one per session, every draft's images and zip within a disk budget,
# each address's drafts within a share of it (a stranger's eight drafts once pushed out a visitor's).
DATASET_DRAFTS = SessionStore(
    max_bytes=BUDGETS.draft_bytes,
    ttl=SESSION_TTL,
    size=lambda draft: 2 * draft.stored_bytes,
    release=lambda draft: draft.delete(),
    address_share=0.25,  # one address's drafts at most a quarter of the budget before its own go first
)
# Visitors' own LeNets (61,706 float32 parameters each).
LENETS = SessionStore(max_bytes=BUDGETS.lenet_bytes, ttl=SESSION_TTL, size=lambda reader: 4 * 61_706)
# Model files written for download: one per session, each deleted (its folder too) when let go.
DOWNLOAD_FILES = SessionStore(
    max_bytes=BUDGETS.download_bytes, ttl=DOWNLOAD_TTL, release=lambda path: shutil.rmtree(path.parent, True)
)


def write_download(
    session: str, name: str, size: int, save: Callable[[Path], None], store: SessionStore = DOWNLOAD_FILES
) -> Path | None:
    """Make room for ``size`` bytes, then ``save(path)`` (the session's previous file deleted);
    None if the file could never fit. The path is unguessable: the file is served by its path."""
    store.discard(session)
    path = DOWNLOADS / uuid.uuid4().hex / name
    try:
        store.put(session, path, size=size)  # counted before writing: a parallel job waits its turn
    except NoRoom:
        return None
    path.parent.mkdir(parents=True)
    try:
        save(path)
    except BaseException:
        store.discard(session)
        raise
    if store.get(session) == path:  # the real size
        store.put(session, path, size=path.stat().st_size)
    return path


class PhotoAnalyses:
    """Each visitor's last analysed photo (the Grad-CAM lab's forward pass and its graph, 5 to 11 MB):
    48 in all, none kept ten minutes unused. ``get`` answers only for the photo it was made from;
    another photo is analysed again."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def get(self, session: str, path: str):
        kept = self.store.get(session)
        return kept[1] if kept is not None and kept[0] == path else None

    def put(self, session: str, path: str, analysis: object) -> None:
        self.store.put(session, (path, analysis))


ANALYSES = PhotoAnalyses(SessionStore(max_entries=48, ttl=600.0))


# Not a visitor's own: the frozen network's features of an image, keyed by the image's content, so
# that forty students fine-tuning the same example cost about one feature pass (bounded in bytes).
FEATURES = FeatureCache(BUDGETS.feature_bytes)
