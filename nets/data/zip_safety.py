"""Whether a stranger's zip is safe to open, decided before a single byte is decompressed.

The zip comes from anyone on the internet, so it is treated as hostile until proven otherwise.
Its table of contents is checked first: every path must stay inside the zip (no ``..``, absolute
paths, drive letters or backslashes), there must be no symlinks or password-protected images, and
the sizes the zip declares must be sane (a zip bomb declares gigabytes or absurd compression
ratios, or a table of contents of millions of entries). ``nets.data.dataset_zip`` then turns the
entries that passed into a dataset. Every refusal is a ``DatasetError``: a ``Refusal`` whose code
and values say what is wrong (the UI words it in the visitor's language, with how to fix it).
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from nets.facts import Refusal

MB = 1_000_000  # sizes are decimal, as they are labelled ("MB"/"GB"): one file has one size everywhere in the app
GB = 1_000_000_000
ARCHIVE_EXTENSIONS = frozenset({".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz"})
RATIO_FLOOR = 1 * MB  # small files can compress extremely well (a blank PNG); only big ones are judged
# The table of contents is read whole before anything else. 1 KB per allowed entry is far more
# than real entries use (46 bytes plus the path plus ~30 bytes of timestamps), and it keeps a
# zip that lies about its entry count from making Python build millions of entry objects.
DIRECTORY_BYTES_PER_ENTRY = 1024
SYMLINK = 0o120000
ENCRYPTED = 0x1  # general-purpose flag bit 0: the member is password-protected
UTF8_NAMES = 0x800  # general-purpose flag bit 11: the member's name is UTF-8, not code page 437


@dataclass(frozen=True)
class ZipLimits:
    """What an uploaded zip may contain; anything beyond is refused before it is decompressed."""

    max_zip_bytes: int = 100 * MB
    max_entries: int = 5_000  # files and folders, system clutter included
    max_total_bytes: int = 1 * GB  # the sum of the sizes the zip declares, once decompressed
    max_file_bytes: int = 25 * MB  # one image, decompressed
    max_ratio: float = 200.0  # real JPEG/PNG barely compress; 200:1 is a bomb (zeros reach 1000:1)
    max_images: int = 2_000
    max_classes: int = 20
    min_images_per_class: int = 5
    max_pixels: int = 50_000_000  # per image: more than any phone camera
    # Decoded pixels summed over the zip. A 50 MP PNG of one colour is only 160 KB, but takes
    # 0.6 s of CPU to decode: 100 MB of them would be 7 minutes. Real uploads stay far below
    # (JPEGs decode at reduced scale, a 50 KB PNG is about 0.2 MP); 2,000 MP bound it to ~25 s.
    max_total_pixels: int = 2_000_000_000


DEFAULT_LIMITS = ZipLimits()  # what a zip may hold unless the server says otherwise


class DatasetError(Refusal):
    """A zip that cannot be used: ``code`` says what is wrong, ``values`` the names and numbers."""


@dataclass
class ZipEntry:
    """A file in the zip: its entry, the path a person saw, and (once placed) its split and class."""

    info: zipfile.ZipInfo
    name: str  # for display and layout: UTF-8 repaired, NFC, no control characters
    parts: tuple[str, ...]
    inner: tuple[str, ...] = ()  # the parts below the wrapper folder, if there is one
    split: str = ""  # "train" or "val" once placed
    label: str = ""  # class folder name once placed


def open_upload(source: str | Path | bytes) -> BinaryIO:
    """The upload as a binary stream (the caller closes it)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    try:
        return open(source, "rb")  # closed by the caller's with-block
    except OSError as error:
        raise DatasetError("upload_unopenable", detail=str(error.strerror or error)) from None


def open_zip(stream: BinaryIO, limits: ZipLimits) -> zipfile.ZipFile:
    """The upload as an open ``ZipFile``, after the checks that need no decompression."""
    size = stream.seek(0, os.SEEK_END)
    if size > limits.max_zip_bytes:
        raise DatasetError("zip_too_big", size=size, limit=limits.max_zip_bytes)
    stream.seek(0)
    if size == 0 or not zipfile.is_zipfile(stream):
        raise DatasetError("not_a_zip", looks_like=_looks_like(stream))
    declared = _declared_table_of_contents(stream, size)
    if declared is not None:
        entries, table_bytes = declared
        if entries > limits.max_entries:
            raise _too_many_entries(entries, limits)
        if table_bytes > limits.max_entries * DIRECTORY_BYTES_PER_ENTRY:
            raise DatasetError("zip_contents_list_too_big", size=table_bytes, entries=limits.max_entries)
    stream.seek(0)
    try:
        return zipfile.ZipFile(stream)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        struct.error,
        NotImplementedError,
    ) as error:
        raise DatasetError("zip_damaged", detail=str(error)) from None


def _looks_like(stream: BinaryIO) -> str | None:
    """What an upload that is not a zip seems to be instead, from its first bytes ("png", "rar"...)."""
    stream.seek(0)
    head = stream.read(8)
    kinds = (
        (b"\x89PNG", "png"),
        (b"\xff\xd8\xff", "jpeg"),
        (b"GIF8", "gif"),
        (b"Rar!", "rar"),
        (b"7z\xbc\xaf", "7z"),
        (b"\x1f\x8b", "gzip"),
        (b"%PDF", "pdf"),
        (b"RIFF", "riff"),
    )
    return next((what for magic, what in kinds if head.startswith(magic)), None)


def _declared_table_of_contents(stream: BinaryIO, size: int) -> tuple[int, int] | None:
    """(entries, bytes) of the table of contents as the zip's end record declares them.

    Read the way ``zipfile`` reads it (including the ZIP64 record), so the byte count bounds what
    ``zipfile.ZipFile`` will then parse. ``None`` when the end record cannot be found.
    """
    tail_size = min(size, 22 + 0xFFFF)  # the end record is 22 bytes plus a comment of < 64 KB
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    if tail[-22:-18] == b"PK\x05\x06" and tail[-2:] == b"\0\0":
        at = len(tail) - 22
    else:
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            return None
    entries, table_bytes = struct.unpack("<HI", tail[at + 10 : at + 16])
    end_record = size - tail_size + at
    if end_record >= 20 + 56:
        stream.seek(end_record - 20)
        if stream.read(4) == b"PK\x06\x07":  # a ZIP64 locator: the real counts are 56 bytes earlier
            stream.seek(end_record - 20 - 56)
            record = stream.read(56)
            if record[:4] == b"PK\x06\x06":
                entries, table_bytes = struct.unpack("<QQ", record[32:48])
    return entries, table_bytes


def _too_many_entries(entries: int, limits: ZipLimits) -> DatasetError:
    return DatasetError("zip_too_many_entries", entries=entries, limit=limits.max_entries, max_images=limits.max_images)


def check_table_of_contents(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> list[ZipEntry]:
    """Refuse unsafe paths, symlinks, too many entries and bomb-sized totals; the files to consider."""
    if not infos:
        raise DatasetError("zip_empty")
    if len(infos) > limits.max_entries:
        raise _too_many_entries(len(infos), limits)
    files = []
    for info in infos:
        name = _display_name(info)
        problem = _path_problem(name)
        if problem:
            raise DatasetError(f"unsafe_path_{problem}", name=name)
        if stat.S_IFMT(info.external_attr >> 16) == SYMLINK:
            raise DatasetError("zip_symlink", name=name)
        if not info.is_dir():
            parts = tuple(part for part in name.split("/") if part not in ("", "."))
            if parts:
                files.append(ZipEntry(info, name, parts))
    total = sum(info.file_size for info in infos)
    if total > limits.max_total_bytes:
        raise DatasetError("zip_expands_too_much", size=total, limit=limits.max_total_bytes)
    return files


def _display_name(info: zipfile.ZipInfo) -> str:
    """The member's path as the person saw it in their file manager."""
    name = info.filename
    if not info.flag_bits & UTF8_NAMES and not name.isascii():
        # Many zip tools (macOS Archive Utility, 7-Zip) write UTF-8 names without setting the
        # UTF-8 flag, so zipfile decodes them as code page 437 ("cafÃ©" style). Undo that when the
        # bytes are valid UTF-8, which real code page 437 text almost never is.
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("utf-8")
    # macOS writes decomposed accents (e + U+0301): compose them so "café" from a Mac and from
    # Windows is one class. Control and format characters (including right-to-left overrides
    # that disguise names) are replaced, since names are shown to people.
    name = unicodedata.normalize("NFC", name)
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cf") else c for c in name)


def _path_problem(name: str) -> str | None:
    """Why a member path is unsafe ("backslash", "absolute", "drive", "climbs"), or None when it
    stays inside the zip."""
    if "\\" in name:
        return "backslash"
    if name.startswith("/"):
        return "absolute"
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        return "drive"
    if ".." in name.split("/"):
        return "climbs"
    return None


def check_images_before_reading(images: list[ZipEntry], others: list[ZipEntry], limits: ZipLimits) -> None:
    """Refuse a zip with no images, password-protected images or bomb-like image sizes."""
    if not images:
        archives = [m.name for m in others if PurePosixPath(m.name).suffix.lower() in ARCHIVE_EXTENSIONS]
        if archives:
            raise DatasetError("zip_only_archives", names=archives)
        if others:
            raise DatasetError("zip_no_images_only_others", count=len(others), example=others[0].name)
        raise DatasetError("zip_no_images")
    locked = [m.name for m in images if m.info.flag_bits & ENCRYPTED]
    if locked:
        raise DatasetError("zip_encrypted", names=locked)
    for member in images:
        info = member.info
        if info.file_size > limits.max_file_bytes:
            raise DatasetError("image_file_too_big", name=member.name, size=info.file_size, limit=limits.max_file_bytes)
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > limits.max_ratio:
            raise DatasetError(
                "image_ratio_bomb",
                name=member.name,
                ratio=ratio,
                compressed=info.compress_size,
                size=info.file_size,
                limit=limits.max_ratio,
            )
