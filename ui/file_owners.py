"""Whose files an event may name: a visitor's own uploads and scratch files, never another's.

Gradio accepts as an event's input any file it serves: an upload (whoever sent it), and every file
in the folders it serves as they are, the scratch folders of ``ui.scratch`` among them (a draft's
images and zip, a model's download). Only an unguessable name kept those secret: a path of one
visitor's, leaked or shared, became anyone's input to ``/classify_photo``. The guard asks this
before an event is queued:

- a file in a scratch folder is accepted only from the session whose draft or download it is (the
  builder's zip goes to the fine-tune as a path: that is its owner's own);
- a file the guard saw uploaded is accepted only from an address that uploaded it (uploads carry
  no session; Gradio keeps an upload by its content, so two visitors sending the same photo share it).

Files neither uploaded nor in a scratch folder (the app's examples, Gradio's copies of outputs) are
left to Gradio's own checks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ui.budgets import DELETE_CACHE, UPLOAD_OWNERS_KEPT
from ui.scratch import DOWNLOADS, DRAFTS
from ui.session_store import SessionStore
from ui.stores import DATASET_DRAFTS, DOWNLOAD_FILES

SCRATCH = tuple(os.path.realpath(folder) + os.sep for folder in (DRAFTS, DOWNLOADS))


def file_paths(value: object, depth: int = 0) -> Iterator[str]:
    """The ``path`` of every file value (Gradio's FileData, a sketch's layers...) inside an event's data."""
    if depth > 8:
        return
    if isinstance(value, dict):
        if isinstance(value.get("path"), str):
            yield value["path"]
        for item in value.values():
            yield from file_paths(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from file_paths(item, depth + 1)


def own_scratch(session: str) -> tuple[str, ...]:
    """The scratch folders holding the session's own files: its draft's, its download's."""
    folders = []
    draft = DATASET_DRAFTS.get(session) if session else None
    if draft is not None:
        folders.append(os.path.realpath(draft.folder) + os.sep)
    download = DOWNLOAD_FILES.get(session) if session else None
    if download is not None:
        folders.append(os.path.realpath(download.parent) + os.sep)
    return tuple(folders)


class FileOwners:
    """Who uploaded each file (its addresses), for as long as Gradio keeps uploads."""

    def __init__(self) -> None:
        self.uploads = SessionStore(max_entries=UPLOAD_OWNERS_KEPT, ttl=sum(DELETE_CACHE))  # real path -> addresses

    def uploaded(self, address: str, paths: list) -> None:
        for path in paths:
            if isinstance(path, str):
                real = os.path.realpath(path)
                self.uploads.put(real, (self.uploads.get(real) or frozenset()) | {address})

    def strangers_file(self, data: object, session: str, address: str) -> str | None:
        """The first file in ``data`` that is not this visitor's to name, or None."""
        for path in file_paths(data):
            real = os.path.realpath(path)
            if real.startswith(SCRATCH):
                if not real.startswith(own_scratch(session) or ("\0",)):
                    return path
                continue
            owners = self.uploads.get(real)
            if owners is not None and address not in owners:
                return path
        return None
