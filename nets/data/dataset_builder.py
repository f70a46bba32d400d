"""A dataset built image by image in the page (files, a webcam), instead of a zip made elsewhere.

Teachable Machine's users never make a zip: they name classes and add pictures. ``DatasetDraft``
keeps such a dataset for one visitor: class names, and per class the images, each read with the
same safe reader as a zip's images (``nets.data.images.open_rgb``: not-an-image, bombs, too many
pixels or scans refused), shrunk to the size training uses and stored as a small JPEG in the
draft's own folder. The same limits as a zip apply (``ZipLimits``: classes, images, bytes per
file, pixels, decoded pixels in all). ``to_zip`` writes it as a zip of class folders, so
fine-tuning reads it exactly as it reads an upload, and a class can share the file.
"""

from __future__ import annotations

import io
import re
import shutil
import threading
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nets.data.dataset_zip import JUNK_NAMES, TRAIN_FOLDERS, UNUSED_FOLDERS, VAL_FOLDERS, shrink
from nets.data.images import open_header, open_rgb
from nets.data.zip_safety import DEFAULT_LIMITS, ZipLimits
from nets.facts import Refusal

MIN_CLASSES = 2
MAX_NAME_LENGTH = 40
JPEG_QUALITY = 90
# Words a zip reader takes for its layout (train/, val/, test/) or for system clutter: a class with
# one of these names would not survive the trip through a zip.
RESERVED_NAMES = TRAIN_FOLDERS | VAL_FOLDERS | UNUSED_FOLDERS | JUNK_NAMES
SEPARATORS = re.compile(r"[,\n;]+")


class DraftError(Refusal):
    """A class name or an image the draft cannot take; ``code`` says which rule, ``values`` the details."""


@dataclass(frozen=True)
class DraftImage:
    """One image of the draft: the stored JPEG, the name it came with, its size on disk."""

    path: Path
    name: str
    size: int


def parse_class_names(text: str | Iterable[str], limits: ZipLimits = DEFAULT_LIMITS) -> list[str]:
    """The class names in ``text`` (separated by commas, semicolons or new lines), checked: 2 to
    ``limits.max_classes`` of them, each a usable folder name, no two the same (ignoring case)."""
    raw = SEPARATORS.split(text) if isinstance(text, str) else list(text)
    names = [unicodedata.normalize("NFC", str(name)).strip() for name in raw]
    names = [name for name in names if name]
    for name in names:
        if len(name) > MAX_NAME_LENGTH:
            raise DraftError("class_name_too_long", name=name[:MAX_NAME_LENGTH] + "…", limit=MAX_NAME_LENGTH)
        if any(ch in '/\\:*?"<>|' or unicodedata.category(ch).startswith("C") for ch in name):
            raise DraftError("class_name_bad_character", name=name)
        if name.startswith(".") or name.lower() in RESERVED_NAMES:
            raise DraftError("class_name_reserved", name=name)
    seen: dict[str, str] = {}
    for name in names:
        if name.casefold() in seen:
            raise DraftError("class_name_repeated", name=name)
        seen[name.casefold()] = name
    if len(names) < MIN_CLASSES:
        raise DraftError("draft_too_few_classes", count=len(names), minimum=MIN_CLASSES)
    if len(names) > limits.max_classes:
        raise DraftError("draft_too_many_classes", count=len(names), limit=limits.max_classes)
    return names


class DatasetDraft:
    """One visitor's dataset in the making, stored in ``folder`` (created; ``delete()`` removes it).

    Thread-safe: a visitor adding files while a photo from the camera arrives is served in order.
    """

    def __init__(self, folder: Path, limits: ZipLimits = DEFAULT_LIMITS) -> None:
        self.folder, self.limits = Path(folder), limits
        self.folder.mkdir(parents=True, exist_ok=True)
        self.classes: list[str] = []
        self.images: dict[str, list[DraftImage]] = {}
        self.decoded_pixels = 0  # pixels decoded for this draft so far (a CPU budget, as for a zip)
        self._lock = threading.Lock()

    # --- what is in it ------------------------------------------------------------------------

    @property
    def image_count(self) -> int:
        return sum(len(items) for items in self.images.values())

    @property
    def stored_bytes(self) -> int:
        return sum(item.size for items in self.images.values() for item in items)

    def counts(self) -> pd.DataFrame:
        """Images per class, in the classes' order: columns class, images."""
        return pd.DataFrame(
            [(name, len(self.images.get(name, []))) for name in self.classes], columns=["class", "images"]
        ).astype({"images": "int64"})

    def short_classes(self) -> list[tuple[str, int]]:
        """(class, images) for every class with fewer images than fine-tuning needs."""
        return [
            (name, len(self.images.get(name, [])))
            for name in self.classes
            if len(self.images.get(name, [])) < self.limits.min_images_per_class
        ]

    # --- changing it --------------------------------------------------------------------------

    def set_classes(self, text: str | Iterable[str]) -> int:
        """Name the classes; images of classes kept stay, those of classes no longer named are
        deleted. Returns how many images were deleted."""
        names = parse_class_names(text, self.limits)
        with self._lock:
            dropped = [item for name, items in self.images.items() if name not in names for item in items]
            for item in dropped:
                item.path.unlink(missing_ok=True)
            self.images = {name: self.images.get(name, []) for name in names}
            self.classes = names
            return len(dropped)

    def add(self, class_name: str, source: str | Path | bytes, name: str | None = None) -> DraftImage:
        """Read one image (a path or bytes) safely, shrink it to training size and store it under
        ``class_name``. Raises ``DraftError`` (limits) or ``nets.data.images.ImageError`` (not a usable image)."""
        label = name or (Path(source).name if isinstance(source, (str, Path)) else "image")
        size = len(source) if isinstance(source, (bytes, bytearray)) else Path(source).stat().st_size
        limits = self.limits
        with self._lock:
            if class_name not in self.images:
                raise DraftError("draft_unknown_class", name=class_name, classes=list(self.classes))
            if self.image_count >= limits.max_images:
                raise DraftError("draft_full_images", limit=limits.max_images)
            if size > limits.max_file_bytes:
                raise DraftError("draft_file_too_big", name=label, size=size, limit=limits.max_file_bytes)
            with open_header(source, max_pixels=limits.max_pixels, name=label) as header:
                pixels = header.size[0] * header.size[1]
            if self.decoded_pixels + pixels > limits.max_total_pixels:
                raise DraftError("draft_too_many_pixels", limit=limits.max_total_pixels)
            self.decoded_pixels += pixels
            image = shrink(open_rgb(source, max_pixels=limits.max_pixels, name=label, draft_size=256))
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=JPEG_QUALITY)
            data = buffer.getvalue()
            if self.stored_bytes + len(data) > limits.max_zip_bytes:
                raise DraftError("draft_full_bytes", limit=limits.max_zip_bytes)
            path = self.folder / f"{uuid.uuid4().hex}.jpg"
            path.write_bytes(data)
            item = DraftImage(path=path, name=label, size=len(data))
            self.images[class_name].append(item)
            return item

    def remove(self, class_name: str, index: int) -> None:
        """Delete the ``index``-th image of a class (as the page shows them, oldest first)."""
        with self._lock:
            items = self.images.get(class_name, [])
            if not 0 <= index < len(items):
                raise DraftError("draft_no_such_image", name=class_name, index=index, count=len(items))
            items.pop(index).path.unlink(missing_ok=True)

    def clear_class(self, class_name: str) -> int:
        """Delete every image of a class; returns how many."""
        with self._lock:
            items = self.images.get(class_name)
            if items is None:
                raise DraftError("draft_unknown_class", name=class_name, classes=list(self.classes))
            for item in items:
                item.path.unlink(missing_ok=True)
            self.images[class_name] = []
            return len(items)

    def delete(self) -> None:
        """Remove the draft's folder and everything in it."""
        with self._lock:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.images = {name: [] for name in self.classes}

    # --- taking it away -----------------------------------------------------------------------

    def to_zip(self, path: Path | None = None) -> bytes | Path:
        """The draft as a zip of class folders (``cat/001.jpg`` ...), stored without recompression
        (JPEGs do not shrink); written to ``path`` if given (and the path returned), else returned."""
        with self._lock:
            target = path if path is not None else io.BytesIO()
            with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
                for name in self.classes:
                    for number, item in enumerate(self.images.get(name, []), start=1):
                        archive.write(item.path, f"{name}/{number:04d}.jpg")
            return path if path is not None else target.getvalue()
