"""Reading a stranger's zip of images, sorted into class folders, into memory for fine-tuning.

Nothing is ever extracted to disk. Before a single byte is decompressed, ``nets.data.zip_safety``
checks the zip's table of contents (paths, symlinks, passwords, declared sizes). Then the images
are read one at a time, each with a hard cap on the bytes read, decoded by
``nets.data.images.open_rgb`` (which refuses decompression bombs from the header), and shrunk at once
so the shorter side is at most 256 px: 2,000 photos then take a few hundred MB, not tens of GB.

Two layouts are understood, either of them optionally inside one wrapper folder::

    cats/a.jpg  dogs/b.jpg                       one folder per class: a seeded, stratified
                                                 share of each class is held out for validation
    train/cats/a.jpg  val/cats/c.jpg  ...        the person's own split (val/, valid/ or
                                                 validation/); train/ alone is split as above

Every refusal is a ``DatasetError``: a ``Refusal`` whose code and values say what is wrong (the UI
words it in the visitor's language, with how to fix it). Files that are merely unusable (a text
file, a damaged JPEG) are skipped and listed in ``ImageDataset.skipped`` with a ``Fact`` saying
why; system clutter (``__MACOSX/``, ``.DS_Store``, hidden files, ``Thumbs.db``) is ignored
silently. How the zip was understood (``layout``) and what deserves attention (``warnings``) are
facts too, never sentences.
"""

from __future__ import annotations

import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from PIL import Image

from nets.data.images import ImageError, open_rgb
from nets.data.zip_safety import (
    ARCHIVE_EXTENSIONS,
    DEFAULT_LIMITS,
    DatasetError,
    ZipEntry,
    ZipLimits,
    check_images_before_reading,
    check_table_of_contents,
    open_upload,
    open_zip,
)
from nets.facts import Fact, fact

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"})
TRAIN_FOLDERS = frozenset({"train", "training"})
VAL_FOLDERS = frozenset({"val", "valid", "validation"})
UNUSED_FOLDERS = frozenset({"test", "testing"})  # common in downloaded datasets; never read here
VALID_PCT = 0.2  # share of each class held out for validation when the zip has no val/ folder
# plus anything starting with "."; "Icon\r" is the file behind a custom macOS folder icon (its
# carriage return is shown as U+FFFD, like every control character in a name)
JUNK_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini", "icon\ufffd"})
SHORT_SIDE = 256  # the training crops are 224 px: 256 leaves room for random crops, no more
# A very long, thin image keeps its shorter side small but could still be huge (1 x 50,000,000 px
# passes the pixel limit): the longer side is capped too. 512 = 2 x 256 keeps every photo shape
# up to 2:1 (including 16:9) at full training resolution.
LONG_SIDE = 512


@dataclass
class LabelledImage:
    """One image from the zip, shrunk for training, with its class index."""

    name: str  # the path inside the zip
    image: Image.Image  # RGB, shorter side at most SHORT_SIDE
    label: int  # index into ImageDataset.classes


@dataclass
class ImageDataset:
    """The images of a zip, split into training and validation, and what was left out and why."""

    classes: list[str]  # sorted
    train: list[LabelledImage]
    val: list[LabelledImage]
    skipped: list[tuple[str, Fact]] = field(default_factory=list)  # (path in the zip, why)
    # How the zip was understood: "layout_flat", "layout_train_val" or "layout_train_only", with
    # the folders' names, and for a split made here, valid_pct and seed.
    layout: Fact = field(default_factory=lambda: fact("layout_flat"))
    warnings: list[Fact] = field(default_factory=list)  # "unbalanced", "skipped", "small_validation"

    def summary(self) -> pd.DataFrame:
        """Images per class in each split: columns class, train, val, total."""
        train = Counter(item.label for item in self.train)
        val = Counter(item.label for item in self.val)
        rows = [(name, train[i], val[i], train[i] + val[i]) for i, name in enumerate(self.classes)]
        return pd.DataFrame(rows, columns=["class", "train", "val", "total"]).astype(
            {"train": "int64", "val": "int64", "total": "int64"}
        )


def read_image_zip(
    source: str | Path | bytes,
    *,
    limits: ZipLimits = DEFAULT_LIMITS,
    valid_pct: float = VALID_PCT,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> ImageDataset:
    """Read an uploaded zip of class folders into memory, or raise ``DatasetError`` saying why not."""
    if not 0.0 < valid_pct < 1.0:
        raise ValueError(f"valid_pct must be between 0 and 1, not {valid_pct}")
    skipped: list[tuple[str, Fact]] = []
    kinds: Counter[str] = Counter()  # skipped files by kind of reason, for the warning

    def skip(member: ZipEntry, kind: str, reason: Fact) -> None:
        skipped.append((member.name, reason))
        kinds[kind] += 1

    with open_upload(source) as stream, open_zip(stream, limits) as zf:
        files = check_table_of_contents(zf.infolist(), limits)
        images: list[ZipEntry] = []
        others: list[ZipEntry] = []
        for member in files:
            if _is_junk(member.parts):
                continue
            is_image = PurePosixPath(member.name).suffix.lower() in IMAGE_EXTENSIONS
            (images if is_image else others).append(member)
        check_images_before_reading(images, others, limits)
        for member in others:
            if PurePosixPath(member.name).suffix.lower() in ARCHIVE_EXTENSIONS:
                skip(member, "archive", fact("skip_archive"))
            else:
                skip(member, "not an image", fact("skip_not_an_image"))
        placed, layout, has_val = _place(images, skip)
        _check_class_folders(placed, has_val, limits)
        decoded = _decode(zf, placed, limits, progress, skip)
    classes = sorted({member.label for member in placed})
    _check_decoded(decoded, classes, has_val, limits, failed=kinds["damaged"])
    index = {name: i for i, name in enumerate(classes)}
    if has_val:
        train, val = (
            [LabelledImage(m.name, image, index[m.label]) for m, image in decoded if m.split == split]
            for split in ("train", "val")
        )
    else:
        train, val = _split(decoded, index, valid_pct, seed)
        layout = fact(layout.code, **layout.values, valid_pct=valid_pct, seed=seed)
    dataset = ImageDataset(classes, train, val, skipped, layout)
    dataset.warnings = _warnings(dataset, kinds)
    return dataset


def _place(images: list[ZipEntry], skip: Callable[[ZipEntry, str, Fact], None]) -> tuple[list[ZipEntry], Fact, bool]:
    """Work out the layout; give each usable image its split and class. (placed, layout, has_val)"""
    tops = {m.parts[0] for m in images if len(m.parts) >= 2}
    wrapper = ""
    if (
        len(tops) == 1
        and next(iter(tops)).lower() not in TRAIN_FOLDERS | VAL_FOLDERS
        and any(len(m.parts) >= 3 for m in images)
    ):
        wrapper = next(iter(tops))  # one folder around everything, e.g. mydata/cats/a.jpg
    for m in images:
        m.inner = m.parts[1:] if wrapper and len(m.parts) >= 2 else m.parts

    def split_folder(names: frozenset[str]) -> list[str]:
        """Top folders with one of these names that hold class folders (not loose images)."""
        return sorted({m.inner[0] for m in images if len(m.inner) >= 3 and m.inner[0].lower() in names})

    train_folders, val_folders = split_folder(TRAIN_FOLDERS), split_folder(VAL_FOLDERS)
    if val_folders and not train_folders:
        raise DatasetError("zip_val_without_train", val_folder=val_folders[0], wrapper=wrapper)
    placed = []
    for member in sorted(images, key=lambda m: m.name):
        parts = member.inner
        top = parts[0].lower() if len(parts) >= 2 else ""
        if len(parts) < 2:
            skip(member, "outside", fact("skip_outside_class_folder"))
        elif not train_folders:
            member.split, member.label = "train", parts[0]
            placed.append(member)
        elif top in TRAIN_FOLDERS | VAL_FOLDERS:
            if len(parts) < 3:
                skip(member, "outside", fact("skip_outside_class_folder_in", folder=parts[0]))
            else:
                member.split = "train" if top in TRAIN_FOLDERS else "val"
                member.label = parts[1]
                placed.append(member)
        elif top in UNUSED_FOLDERS:
            skip(member, "unused", fact("skip_unused_folder", folder=parts[0]))
        else:
            skip(member, "outside", fact("skip_outside_train_val"))
    has_val = bool(val_folders)
    if train_folders and has_val:
        layout = fact("layout_train_val", train=train_folders[0], val=val_folders[0], wrapper=wrapper)
    elif train_folders:
        layout = fact("layout_train_only", train=train_folders[0], wrapper=wrapper)
    else:
        layout = fact("layout_flat", wrapper=wrapper)
    return placed, layout, has_val


def _is_junk(parts: tuple[str, ...]) -> bool:
    """System clutter that nobody put in the zip on purpose: ignored without a word."""
    return any(part.startswith(".") or part.lower() in JUNK_NAMES for part in parts)


def _check_class_folders(placed: list[ZipEntry], has_val: bool, limits: ZipLimits) -> None:
    """Refuse wrong class counts, too many or too few images, and train/val class mismatches."""
    if has_val:
        train = {m.label for m in placed if m.split == "train"}
        val = {m.label for m in placed if m.split == "val"}
        if train != val:
            raise DatasetError("zip_class_mismatch", only_train=sorted(train - val), only_val=sorted(val - train))
    counts = Counter(m.label for m in placed)
    if not counts:
        raise DatasetError("zip_no_class_folders")
    if len(counts) == 1:
        raise DatasetError("zip_one_class", name=next(iter(counts)))
    if len(counts) > limits.max_classes:
        raise DatasetError(
            "zip_too_many_classes", count=len(counts), limit=limits.max_classes, examples=sorted(counts)[:3]
        )
    if len(placed) > limits.max_images:
        raise DatasetError(
            "zip_too_many_images",
            count=len(placed),
            limit=limits.max_images,
            per_class=limits.max_images // len(counts),
        )
    _check_counts(counts, limits, failed=0)


def _check_counts(counts: Counter[str], limits: ZipLimits, failed: int) -> None:
    """Refuse classes with fewer than the minimum number of images, naming them (after ``failed``
    unreadable images were skipped)."""
    small = sorted((n, name) for name, n in counts.items() if n < limits.min_images_per_class)
    if small:
        raise DatasetError(
            "zip_too_few_images",
            classes=[(name, n) for n, name in small],
            minimum=limits.min_images_per_class,
            failed=failed,
        )


def _decode(
    zf: zipfile.ZipFile,
    placed: list[ZipEntry],
    limits: ZipLimits,
    progress: Callable[[int, int], None] | None,
    skip: Callable[[ZipEntry, str, Fact], None],
) -> list[tuple[ZipEntry, Image.Image]]:
    """Read, decode and shrink each image in turn; damaged ones are skipped with the reason."""
    decoded = []
    pixels = 0
    for i, member in enumerate(placed, start=1):
        image = _read_one(zf, member, limits, skip)
        if image is not None:
            pixels += image.width * image.height
            if pixels > limits.max_total_pixels:
                raise DatasetError(
                    "zip_too_many_pixels", limit=limits.max_total_pixels, name=member.name, index=i, count=len(placed)
                )
            decoded.append((member, shrink(image)))
        if progress is not None:
            progress(i, len(placed))
    return decoded


def _read_one(
    zf: zipfile.ZipFile, member: ZipEntry, limits: ZipLimits, skip: Callable[[ZipEntry, str, Fact], None]
) -> Image.Image | None:
    """One member decoded to RGB (JPEGs already at reduced scale), or None when it is unusable."""
    cap = min(member.info.file_size, limits.max_file_bytes)
    try:
        with zf.open(member.info) as f:
            data = f.read(cap + 1)  # never more than the cap, whatever the data really inflates to
    except NotImplementedError:
        skip(member, "damaged", fact("skip_unknown_compression"))
        return None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError) as error:
        skip(member, "damaged", fact("skip_damaged_in_zip", detail=str(error)))
        return None
    if len(data) > cap:
        raise DatasetError("image_lies_about_size", name=member.name, size=cap)
    try:
        image = open_rgb(data, max_pixels=limits.max_pixels, name=member.name, draft_size=SHORT_SIDE)
    except ImageError as error:
        skip(member, "damaged", error.fact)
        return None
    return image


def shrink(image: Image.Image) -> Image.Image:
    """Scale down (never up) so the shorter side is at most SHORT_SIDE and the longer LONG_SIDE."""
    width, height = image.size
    scale = min(1.0, SHORT_SIDE / min(width, height), LONG_SIDE / max(width, height))
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # reducing_gap: a fast box reduction down to 3x the target first, then Lanczos; this looks
    # the same as a pure Lanczos resize at a fraction of the cost for big PNGs.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _check_decoded(
    decoded: list[tuple[ZipEntry, Image.Image]], classes: list[str], has_val: bool, limits: ZipLimits, failed: int
) -> None:
    """After decoding: refuse if unreadable images left a class too small or a split empty."""
    counts = Counter({name: 0 for name in classes})
    counts.update(m.label for m, _ in decoded)
    _check_counts(counts, limits, failed)
    if has_val:
        for split in ("train", "val"):
            present = {m.label for m, _ in decoded if m.split == split}
            missing = [name for name in classes if name not in present]
            if missing:
                raise DatasetError("zip_split_missing_class", split=split, names=missing, failed=failed)


def _split(
    decoded: list[tuple[ZipEntry, Image.Image]], index: dict[str, int], valid_pct: float, seed: int
) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """A stratified, seeded split: the same zip and seed always give the same validation images."""
    train, val = [], []
    for name, label in index.items():
        # by name only: two members may show the same name (a repeated entry, NFC/NFD twins)
        items = sorted(((m.name, image) for m, image in decoded if m.label == name), key=lambda item: item[0])
        n = len(items)
        n_val = min(max(1, int(n * valid_pct + 0.5)), n - 1)  # at least 1 each side
        # One generator per class, seeded by the class name: a class's split does not change when
        # another class gains or loses images.
        rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
        held_out = set(rng.permutation(n)[:n_val].tolist())
        for i, (path, image) in enumerate(items):
            (val if i in held_out else train).append(LabelledImage(path, image, label))
    return train, val


def _warnings(dataset: ImageDataset, kinds: Counter[str]) -> list[Fact]:
    """Facts about things that work but deserve attention: imbalance, skipped files, tiny val."""
    warnings = []
    totals = dataset.summary().set_index("class")["total"]
    if totals.min() > 0 and totals.max() / totals.min() >= 3:
        warnings.append(
            fact(
                "unbalanced",
                big=str(totals.idxmax()),
                big_count=int(totals.max()),
                small=str(totals.idxmin()),
                small_count=int(totals.min()),
                ratio=float(totals.max() / totals.min()),
            )
        )
    if dataset.skipped:
        # by kind: "not an image", "outside", "damaged", "unused", "archive"
        warnings.append(fact("skipped", count=len(dataset.skipped), kinds=dict(kinds.most_common())))
    if len(dataset.val) < 10:
        warnings.append(fact("small_validation", count=len(dataset.val), step=1 / len(dataset.val)))
    return warnings
