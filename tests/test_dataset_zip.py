"""Tests for reading uploaded image zips: the layouts people use, and the zips attackers send.

Good zips must be read with the right classes and counts, clutter ignored and damaged files
reported; every hostile zip must be refused with a ``DatasetError`` whose facts name the problem
(and whose sentence, in English and in Korean, says what to do), fast, without writing anything
to disk and (for the bombs) without using memory. Refusal times are printed at the end of the
module (``pytest -s`` shows them).
"""

from __future__ import annotations

import io
import os
import resource
import struct
import tempfile
import time
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest

from harness import zips
from nets.data import example_data
from nets.data.dataset_zip import LONG_SIDE, SHORT_SIDE, DatasetError, ImageDataset, ZipLimits, read_image_zip
from nets.facts import fact
from ui.text import say_in, tell

HANGUL = range(0xAC00, 0xD7A4)

TIME_LIMIT = 30.0  # seconds per hostile zip; the real times are milliseconds (printed below)
TIMES: dict[str, float] = {}


def val_names(dataset: ImageDataset) -> list[str]:
    return sorted(item.name for item in dataset.val)


def counts(items: list, classes: list[str]) -> dict[str, int]:
    return {name: sum(item.label == i for item in items) for i, name in enumerate(classes)}


# --- good zips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("wrapper", ["", "my shapes"])
def test_flat_layout_reads_classes_counts_and_reports_skipped_files(wrapper: str) -> None:
    data = zips.wrapped_zip() if wrapper else zips.flat_zip()
    dataset = read_image_zip(data)
    prefix = f"{wrapper}/" if wrapper else ""
    assert dataset.classes == zips.FLAT_CLASSES
    table = dataset.summary().set_index("class")
    assert table["total"].to_dict() == zips.FLAT_TOTALS
    assert table["val"].to_dict() == zips.FLAT_VAL
    assert (table["train"] + table["val"] == table["total"]).all()
    assert dataset.layout == fact("layout_flat", wrapper=wrapper, valid_pct=0.2, seed=0)
    inside = f" inside '{wrapper}/'" if wrapper else ""
    assert tell(None, dataset.layout) == f"one folder per class{inside}"
    # the clutter is gone without a word; the text files and the broken JPEG are reported by name
    skipped = dict(dataset.skipped)
    assert set(skipped) == {prefix + name for name in zips.FLAT_SKIPPED}
    for name, code in zips.FLAT_SKIPPED.items():
        assert skipped[prefix + name].code == code
    assert skipped[f"{prefix}triangle/broken.jpg"].values["name"] == f"{prefix}triangle/broken.jpg"
    read = [item.name for item in dataset.train + dataset.val]
    assert len(read) == len(set(read)) == sum(zips.FLAT_TOTALS.values())
    assert not any(
        "MACOSX" in name or "/." in name or name.startswith(".") or "Thumbs" in name for name in read + list(skipped)
    )
    assert f"{prefix}{zips.BIG_PNG}" in read  # nested deeper in square/, upper-case extension
    assert fact("skipped", count=3, kinds={"not an image": 2, "damaged": 1}) in dataset.warnings


def test_images_are_rgb_and_shrunk_never_enlarged() -> None:
    dataset = read_image_zip(zips.flat_zip())
    by_name = {item.name: item.image for item in dataset.train + dataset.val}
    assert all(image.mode == "RGB" and min(image.size) <= SHORT_SIDE for image in by_name.values())
    assert by_name[zips.BIG_PNG].size == (384, 256)  # 900 x 600 RGBA -> shorter side 256
    assert by_name[zips.PANORAMA].size == (LONG_SIDE, 77)  # 2000 x 300 -> longer side capped at 512
    small = [image for name, image in by_name.items() if name.endswith(".jpg")]
    assert all(128 <= side <= 160 for image in small for side in image.size)  # the drawn shapes, as drawn
    # transparency flattened onto white: the PNG's left edge is fully transparent
    assert by_name[zips.BIG_PNG].getpixel((0, 128)) == (255, 255, 255)


def test_split_is_stratified_seeded_and_deterministic() -> None:
    data = zips.flat_zip()
    first, again, other = read_image_zip(data), read_image_zip(data), read_image_zip(data, seed=1)
    assert val_names(first) == val_names(again)
    assert [item.name for item in first.train] == [item.name for item in again.train]
    assert val_names(first) != val_names(other)
    assert counts(other.val, other.classes) == zips.FLAT_VAL  # same sizes, other images
    assert other.layout.values["seed"] == 1
    # a bigger share, still stratified, and never a whole class in val
    half = read_image_zip(data, valid_pct=0.5)
    assert counts(half.val, half.classes) == {"circle": 6, "square": 6, "triangle": 5}
    assert half.layout.values["valid_pct"] == 0.5
    assert "50% of each class" in say_in("en", "layout_held_out", **half.layout.values)
    assert not set(val_names(first)) & {item.name for item in first.train}


def test_labels_match_class_folders() -> None:
    dataset = read_image_zip(zips.split_zip())
    for item in dataset.train + dataset.val:
        assert item.name.split("/")[1] == dataset.classes[item.label]


@pytest.mark.parametrize("val_folder, wrapper", [("val", ""), ("Validation", "mydata"), ("VALID", "")])
def test_train_val_layout_keeps_the_persons_split(val_folder: str, wrapper: str) -> None:
    dataset = read_image_zip(zips.split_zip(val_folder, wrapper, True, True))
    prefix = f"{wrapper}/" if wrapper else ""
    assert dataset.classes == zips.FLAT_CLASSES
    assert counts(dataset.train, dataset.classes) == zips.SPLIT_TRAIN
    assert counts(dataset.val, dataset.classes) == zips.SPLIT_VAL
    assert all(item.name.startswith(f"{prefix}train/") for item in dataset.train)
    assert all(item.name.startswith(f"{prefix}{val_folder}/") for item in dataset.val)
    assert dataset.layout == fact("layout_train_val", train="train", val=val_folder, wrapper=wrapper)
    skipped = dict(dataset.skipped)
    for name, code in zips.SPLIT_SKIPPED.items():
        assert skipped[prefix + name].code == code
    unused = [reason for name, reason in dataset.skipped if "test/" in name]
    assert unused == [fact("skip_unused_folder", folder="test")] * 3
    assert "not used" in tell(None, unused[0])


def test_train_folder_without_val_is_split_like_a_flat_zip() -> None:
    dataset = read_image_zip(zips.split_zip(with_val=False))
    assert dataset.classes == zips.FLAT_CLASSES
    assert counts(dataset.val, dataset.classes) == {"circle": 2, "square": 2, "triangle": 2}
    assert counts(dataset.train, dataset.classes) == {"circle": 6, "square": 6, "triangle": 6}
    assert all(item.name.startswith("train/") for item in dataset.train + dataset.val)
    assert dataset.layout == fact("layout_train_only", train="train", wrapper="", valid_pct=0.2, seed=0)


def test_names_from_macs_and_old_zip_tools_are_repaired() -> None:
    data = zips.accented_names()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # what zipfile alone makes of them
        assert "train/cr\u251c\u00bfme/0.jpg" in zf.namelist()  # code page 437 mojibake
    dataset = read_image_zip(data)
    assert dataset.classes == ["caf\u00e9", "cr\u00e8me"]  # composed, one class each
    assert counts(dataset.train, dataset.classes) == {"caf\u00e9": 5, "cr\u00e8me": 5}
    assert "train/cr\u00e8me/3.jpg" in {item.name for item in dataset.train}
    assert dataset.skipped == [("train/tab\ufffdhere.txt", fact("skip_not_an_image"))]  # Icon\r ignored


def test_summary_columns_progress_and_path_input(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    path = tmp_path / "upload.zip"
    path.write_bytes(zips.flat_zip())
    dataset = read_image_zip(path, progress=lambda i, n: calls.append((i, n)))
    n = sum(zips.FLAT_TOTALS.values()) + 1  # the broken JPEG is tried too
    assert calls == [(i, n) for i in range(1, n + 1)]
    table = dataset.summary()
    assert list(table.columns) == ["class", "train", "val", "total"]
    assert table["class"].tolist() == zips.FLAT_CLASSES
    assert pd.api.types.is_integer_dtype(table["total"])
    assert val_names(read_image_zip(str(path))) == val_names(dataset)


def test_unbalanced_classes_are_warned_about() -> None:
    dataset = read_image_zip(zips.unbalanced_zip())
    imbalance = [w for w in dataset.warnings if w.code == "unbalanced"]
    assert len(imbalance) == 1
    assert imbalance[0].values == {"big": "circle", "big_count": 15, "small": "square", "small_count": 5, "ratio": 3.0}
    assert "'circle' has 15 images but 'square' only 5" in tell(None, imbalance[0])
    assert not any(w.code == "unbalanced" for w in read_image_zip(zips.flat_zip()).warnings)


def test_example_shapes_zip_is_small_deterministic_and_readable() -> None:
    asset = example_data.SHAPES_ZIP
    assert asset.exists() and asset.stat().st_size < 400_000
    dataset = read_image_zip(asset)
    assert dataset.classes == ["circle", "square", "triangle"]
    assert dataset.summary()["total"].tolist() == [24, 24, 24]
    assert dataset.skipped == [] and not any(w.code == "unbalanced" for w in dataset.warnings)
    twice = [example_data.make_shapes_zip(None, per_class=3) for _ in range(2)]
    assert twice[0] == twice[1]
    split = read_image_zip(example_data.make_shapes_zip(None, per_class=5, layout="split", seed=4))
    assert split.layout.code == "layout_train_val" and len(split.val) == 3 and len(split.train) == 12


def test_lying_member_is_cut_off_at_its_declared_size() -> None:
    data = zips.lying_size()  # declares 100 KB, inflates to 200 MB
    tracemalloc.start()
    try:
        dataset = read_image_zip(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * zips.MB, f"reading used {peak / zips.MB:.0f} MB of Python memory"
    assert dict(dataset.skipped).keys() == {"circle/liar.bmp"}
    assert dict(dataset.skipped)["circle/liar.bmp"].code == "skip_damaged_in_zip"
    assert dataset.summary()["total"].tolist() == [6, 6]


def test_valid_pct_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="valid_pct"):
        read_image_zip(zips.flat_zip(), valid_pct=1.0)


# --- hostile zips and mistakes -----------------------------------------------------------------

HOSTILE = [  # (what, builder, limits, the refusal's code, some of its values, phrases of its English sentence)
    (
        "zip slip",
        zips.zip_slip,
        None,
        "unsafe_path_climbs",
        {"name": "../evil.jpg"},
        ["'../evil.jpg'", "climbs out", "refused as a whole"],
    ),
    (
        "absolute path",
        zips.absolute_path,
        None,
        "unsafe_path_absolute",
        {"name": "/tmp/evil.jpg"},
        ["'/tmp/evil.jpg'", "absolute"],
    ),
    (
        "drive letter",
        zips.drive_letter,
        None,
        "unsafe_path_drive",
        {"name": "C:/Windows/evil.jpg"},
        ["'C:/Windows/evil.jpg'", "drive letter"],
    ),
    (
        "backslash path",
        zips.backslash_path,
        None,
        "unsafe_path_backslash",
        {"name": "..\\..\\evil.jpg"},
        ["..\\..\\evil.jpg", "backslashes"],
    ),
    (
        "symlink",
        zips.symlink_member,
        None,
        "zip_symlink",
        {"name": "circle/link.jpg"},
        ["symbolic link", "'circle/link.jpg'"],
    ),
    (
        "3 GB of zeros",
        zips.bomb_3gb,
        None,
        "zip_expands_too_much",
        {"size": 3 * zips.GB, "limit": zips.GB},
        ["expand to 3 GB", "limit of 1 GB", "zip bomb"],
    ),
    (
        "ratio bomb",
        zips.ratio_bomb,
        None,
        "image_ratio_bomb",
        {"name": "circle/big.bmp", "limit": 200},
        ["'circle/big.bmp'", "expand 1,0", "limit is 200", "zip bomb"],
    ),
    (
        "image over 25 MB",
        zips.oversized_image,
        None,
        "image_file_too_big",
        {"name": "circle/huge.bmp", "size": 30 * zips.MB},
        ["'circle/huge.bmp'", "30 MB", "25 MB per image"],
    ),
    (
        "30,000 entries",
        zips.many_entries,
        None,
        "zip_too_many_entries",
        {"entries": 30_000, "limit": 5_000},
        ["30,000 files and folders", "limit is 5,000"],
    ),
    (
        "70,000 entries (ZIP64)",
        lambda: zips.many_entries(70_000),
        None,
        "zip_too_many_entries",
        {"entries": 70_000},
        ["70,000 files", "limit is 5,000"],
    ),
    (
        "entry count that lies",
        zips.entry_count_lies,
        None,
        "zip_too_many_entries",
        {"entries": 30_000},
        ["30,000 files and folders"],
    ),
    (
        "8 MB table of contents",
        zips.huge_table_of_contents,
        None,
        "zip_contents_list_too_big",
        {"entries": 5_000},
        ["list of contents is 8.23 MB", "5,000 files"],
    ),
    (
        "only a nested zip",
        zips.nested_zip_only,
        None,
        "zip_only_archives",
        {"names": ["dataset.zip"]},
        ["'dataset.zip'", "unzip the inner zip"],
    ),
    (
        "PNG renamed .zip",
        zips.png_renamed,
        None,
        "not_a_zip",
        {"looks_like": "png"},
        ["not a zip archive", "PNG image"],
    ),
    ("truncated zip", zips.truncated_zip, None, "not_a_zip", {"looks_like": None}, ["not a zip archive", "damaged"]),
    ("empty zip", zips.empty_zip, None, "zip_empty", {}, ["zip is empty"]),
    (
        "one class",
        zips.one_class,
        None,
        "zip_one_class",
        {"name": "circle"},
        ["only one class folder ('circle')", "at least 2 classes"],
    ),
    (
        "no images",
        zips.no_images,
        None,
        "zip_no_images_only_others",
        {"example": "circle/about.txt"},
        ["no images", "'circle/about.txt'"],
    ),
    (
        "class with one image",
        zips.class_with_one_image,
        None,
        "zip_too_few_images",
        {"classes": [("square", 1)], "minimum": 5, "failed": 0},
        ["'square': 1", "at least 5"],
    ),
    (
        "class of damaged images",
        zips.damaged_class,
        None,
        "zip_too_few_images",
        {"classes": [("square", 0)], "failed": 6},
        ["skipping 6 unreadable", "'square': 0", "at least 5"],
    ),
    (
        "encrypted flag",
        zips.encrypted_flag,
        None,
        "zip_encrypted",
        {"names": ["square/square_002.jpg"]},
        ["password-protected", "'square/square_002.jpg'"],
    ),
    (
        "train/val mismatch",
        zips.train_val_mismatch,
        None,
        "zip_class_mismatch",
        {"only_train": ["triangle"], "only_val": ["star"]},
        ["only in train/: 'triangle'", "only in val/: 'star'"],
    ),
    (
        "too many classes",
        zips.flat_zip,
        ZipLimits(max_classes=2),
        "zip_too_many_classes",
        {"count": 3, "limit": 2},
        ["3 class folders", "limit is 2"],
    ),
    (
        "too many images",
        zips.flat_zip,
        ZipLimits(max_images=20),
        "zip_too_many_images",
        {"count": 33, "limit": 20},
        ["33 images", "limit is 20"],
    ),
    (
        "too many pixels in all",
        zips.flat_zip,
        ZipLimits(max_total_pixels=300_000),
        "zip_too_many_pixels",
        {"limit": 300_000},
        ["more than 0.3 megapixels", "image ", "smaller images"],
    ),
    (
        "zip over the size limit",
        zips.flat_zip,
        ZipLimits(max_zip_bytes=50_000),
        "zip_too_big",
        {"limit": 50_000},
        ["The zip is ", "KB; the limit is 50 KB"],
    ),
]


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run in an empty working folder with an empty temp folder; yield a listing of both."""
    cwd, temp = tmp_path / "cwd", tmp_path / "temp"
    cwd.mkdir(), temp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    watched = [Path("/tmp/evil.jpg"), tmp_path / "evil.jpg", Path("C:"), Path(cwd / "C:")]
    existed = {path: path.exists() for path in watched}
    yield lambda: sorted(str(p) for p in tmp_path.rglob("*"))
    assert {path: path.exists() for path in watched} == existed


@pytest.fixture(scope="module", autouse=True)
def print_times():
    yield
    if TIMES:
        print("\nrefusal times (build excluded):")
        for what, seconds in TIMES.items():
            print(f"  {what:28s} {seconds * 1000:8.1f} ms")


@pytest.mark.parametrize("what, build, limits, code, values, phrases", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_zip_is_refused_fast_without_touching_disk(what, build, limits, code, values, phrases, sandbox) -> None:
    data = build()
    before = sandbox()
    start = time.perf_counter()
    with pytest.raises(DatasetError) as refused:
        read_image_zip(data, limits=limits or ZipLimits())
    TIMES[what] = elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT
    assert refused.value.code == code
    assert {key: refused.value.values[key] for key in values} == values
    english = tell(None, refused.value.fact)
    for phrase in phrases:
        assert phrase in english, f"{phrase!r} not in: {english}"
    korean = tell(Korean(), refused.value.fact)
    assert any(ord(c) in HANGUL for c in korean) and "{" not in korean, korean
    assert sandbox() == before  # nothing extracted, no temp files


class Korean:
    """A request from a Korean browser."""

    headers = {"accept-language": "ko-KR,ko;q=0.9"}
    cookies: dict[str, str] = {}


def test_3gb_bomb_is_refused_without_using_memory() -> None:
    data = zips.bomb_3gb()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.infolist()[0].file_size == 3 * zips.GB  # the bomb is real
    grown_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="zip_expands_too_much"):
            read_image_zip(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - grown_before) * 1024
    assert grown < 256 * zips.MB, f"peak memory grew by {grown / zips.MB:.0f} MB"
    assert peak < 64 * zips.MB, f"Python allocated up to {peak / zips.MB:.0f} MB"


@pytest.mark.parametrize("build", [zips.many_entries, zips.huge_table_of_contents])
def test_oversized_tables_are_refused_before_zipfile_parses_them(build, monkeypatch) -> None:
    data = build()

    def parse(*args, **kwargs):
        raise AssertionError("zipfile.ZipFile was asked to parse the whole table of contents")

    monkeypatch.setattr(zipfile, "ZipFile", parse)
    with pytest.raises(DatasetError):
        read_image_zip(data)


def test_a_good_zip_still_reads_after_the_hostile_ones() -> None:
    # runs after the hostile tests (pytest keeps file order): no state was left behind
    dataset = read_image_zip(zips.flat_zip())
    assert dataset.summary().set_index("class")["total"].to_dict() == zips.FLAT_TOTALS
    assert os.getcwd() != "/"


def truncated_png_header() -> bytes:
    """A PNG whose header chunk is 5 bytes long: Pillow raises ValueError, not OSError, for it."""
    body = b"\x00" * 5
    chunk = struct.pack(">I", 5) + b"IHDR" + body + struct.pack(">I", zlib.crc32(b"IHDR" + body) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk


def test_an_image_with_a_malformed_header_is_skipped_not_fatal() -> None:
    data = zips.build([("square/odd.png", truncated_png_header())], base=zips.flat_zip())
    dataset = read_image_zip(data)
    assert "square/odd.png" in dict(dataset.skipped)
    assert sum(dataset.summary()["total"]) == sum(zips.FLAT_TOTALS.values())


def test_two_members_with_the_same_name_do_not_break_the_split() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name, as it should
        data = zips.build([("circle/circle_000.jpg", zips.jpeg("circle", 1))], base=zips.flat_zip())
    dataset = read_image_zip(data)
    assert sum(dataset.summary()["total"]) == sum(zips.FLAT_TOTALS.values()) + 1
