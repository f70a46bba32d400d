"""Gradio's upload folder swept of what Gradio's own sweep leaves behind.

Gradio keeps each uploaded file in a folder of its own, named by the file's hash, and its
``delete_cache`` removes old files but never their folders; an upload that is cut off or refused
while Gradio reads it leaves its parts as temporary files at the top of the folder. A stranger
uploading thousands of tiny files would leave as many folders (a disk block and an inode each)
for good. Every ``DELETE_CACHE`` period this removes the empty folders and the loose files once
they are older than ``DELETE_CACHE``'s age: never a folder that still holds a file.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ui.budgets import DELETE_CACHE


def sweep(folder: Path, age: float, now: float | None = None) -> int:
    """Remove ``folder``'s empty subfolders and loose files not changed for ``age`` seconds; how many."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime <= age:
                continue
            if entry.is_dir(follow_symlinks=False):
                os.rmdir(entry.path)  # only an empty one: a folder still holding a file stays
            else:
                os.remove(entry.path)
            removed += 1
        except OSError:
            continue  # not empty, or gone already
    return removed


def start_sweeping(folder: Path, every: float = DELETE_CACHE[0], age: float = DELETE_CACHE[1]) -> threading.Thread:
    """Sweep ``folder`` every ``every`` seconds in a background thread, for the life of the process."""

    def run() -> None:
        while True:
            time.sleep(every)
            sweep(folder, age)

    thread = threading.Thread(target=run, name="upload-sweep", daemon=True)
    thread.start()
    return thread
