"""The fine-tune lab: a dataset built without a zip, overfitting raced, mistakes one click away, idle cores used.

In-process on the stand-in AlexNet (nets/), through gradio_client (the race), and in Chromium
with real files and Chromium's fake webcam (the builder, the confusion cell, the feature map).
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError
from PIL import Image
from torch import nn

from harness.browser import open_tab, save_screenshot
from harness.zips import colour_dataset_zip, colour_photo
from nets.data.dataset_builder import DatasetDraft, DraftError, parse_class_names
from nets.data.dataset_zip import ZipLimits, read_image_zip
from nets.data.images import ImageError
from nets.explaining.feature_map import principal_components
from nets.training import race
from nets.training.finetune import FineTuneSettings, finetune
from ui.server_sharing import IdleCores
from ui.session_store import SessionStore

# --- a dataset without a zip ---------------------------------------------------------------------


def png(colour: str, seed: int, size=(320, 240)) -> bytes:
    buffer = io.BytesIO()
    colour_photo(colour, seed).resize(size).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_built_dataset_is_read_exactly_as_its_zip(tmp_path):
    draft = DatasetDraft(tmp_path / "draft")
    assert draft.set_classes("red, blue\ngreen") == 0
    for colour in ("red", "blue", "green"):
        for seed in range(6):
            draft.add(colour, png(colour, seed), f"{colour}{seed}.png")
    assert draft.counts().to_dict("list") == {"class": ["red", "blue", "green"], "images": [6, 6, 6]}
    archive = draft.to_zip()
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert names[:2] == ["red/0001.jpg", "red/0002.jpg"] and len(names) == 18  # class folders, as people make them
    dataset = read_image_zip(archive)
    assert dataset.classes == ["blue", "green", "red"] and len(dataset.train) + len(dataset.val) == 18
    assert max(max(item.image.size) for item in dataset.train) <= 512  # stored at training size
    draft.remove("red", 0)
    assert draft.clear_class("blue") == 6 and draft.image_count == 11
    assert draft.set_classes("red, green, cat") == 0  # renaming keeps the images of names kept
    assert draft.set_classes("green, cat") == 5  # red's five are deleted with the name
    draft.delete()
    assert not (tmp_path / "draft").exists()


@pytest.mark.parametrize(
    "text, code",
    [
        ("cat", "draft_too_few_classes"),
        ("cat, Cat", "class_name_repeated"),
        ("train, cat", "class_name_reserved"),
        (".hidden, cat", "class_name_reserved"),
        ("a/b, cat", "class_name_bad_character"),
        ("x" * 41 + ", cat", "class_name_too_long"),
        (", ".join(f"c{i}" for i in range(21)), "draft_too_many_classes"),
    ],
)
def test_class_names_that_a_zip_could_not_carry_are_refused(text, code):
    with pytest.raises(DraftError) as refused:
        parse_class_names(text)
    assert refused.value.code == code


def test_the_builder_has_the_zip_limits(tmp_path):
    limits = ZipLimits(max_images=3, max_file_bytes=200_000, max_pixels=1_000_000, max_zip_bytes=10_000_000)
    draft = DatasetDraft(tmp_path / "d", limits=limits)
    draft.set_classes("red, blue")
    with pytest.raises(ImageError) as refused:
        draft.add("red", b"MZ\x90\x00 this is a program, not a photo", "photo.png")
    assert refused.value.code == "not_an_image"
    flat = io.BytesIO()
    Image.new("RGB", (1200, 1000), "red").save(flat, "PNG")  # 1.2 MP in a few KB
    with pytest.raises(ImageError) as refused:
        draft.add("red", flat.getvalue(), "big.png")
    assert refused.value.code == "image_too_many_pixels"
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")  # about 480 KB
    with pytest.raises(DraftError) as refused:
        draft.add("red", buffer.getvalue(), "noise.png")
    assert refused.value.code == "draft_file_too_big"
    with pytest.raises(DraftError) as refused:
        draft.add("dog", png("red", 0), "a.png")
    assert refused.value.code == "draft_unknown_class"
    for seed in range(3):
        draft.add("red", png("red", seed), f"{seed}.png")
    with pytest.raises(DraftError) as refused:
        draft.add("blue", png("blue", 9), "one too many.png")
    assert refused.value.code == "draft_full_images" and draft.image_count == 3


def test_the_drafts_of_all_visitors_share_a_disk_budget(tmp_path):
    store = SessionStore(max_bytes=60_000, size=lambda draft: draft.stored_bytes, release=lambda draft: draft.delete())
    drafts = []
    for visitor in range(3):
        draft = DatasetDraft(tmp_path / f"v{visitor}")
        draft.set_classes("red, blue")
        for seed in range(4):
            draft.add("red", png("red", seed), f"{seed}.png")
        store.put(f"session{visitor}", draft)
        drafts.append(draft)
    assert store.bytes <= 60_000
    assert store.get("session0") is None and store.released("session0")  # the oldest made room...
    assert not (tmp_path / "v0").exists()  # ...and its files are gone from the disk
    assert store.get("session2") is drafts[2]


# --- overfitting, seen and cured ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def colours():
    return read_image_zip(colour_dataset_zip("flat", ("red", "green", "blue"), 10))


def test_without_dropout_and_augmentation_the_classifier_is_the_same_network_minus_its_cure(imagenet_alexnet, colours):
    def trained(regularise: bool):
        settings = FineTuneSettings(strategy="classifier", epochs=2, lr=1e-4, regularise=regularise)
        *_, finished = finetune(imagenet_alexnet, colours, settings)
        return finished

    plain, again, cured = trained(False), trained(False), trained(True)
    dropouts = [m.p for m in plain.model.module.modules() if isinstance(m, nn.Dropout)]
    assert dropouts == [0.0, 0.0]
    assert [m.p for m in cured.model.module.modules() if isinstance(m, nn.Dropout)] == [0.5, 0.5]
    # no random crops, no random units off: the same seed gives the very same training
    assert plain.report.history.equals(again.report.history)
    assert not plain.report.history.equals(cured.report.history)
    assert set(plain.model.checkpoint()["state_dict"]) == set(cured.model.checkpoint()["state_dict"])


def test_the_race_runs_each_way_on_the_same_split_and_the_head_is_the_fastest_fine_tune(imagenet_alexnet, colours):
    events = list(race.race(imagenet_alexnet, colours, epochs=2, seeds=1))
    finished = events[-1]
    assert isinstance(finished, race.RaceFinished) and finished.seeds == 1
    table = finished.table
    assert list(table["way"]) == ["head", "lenet_scratch", "classifier", "classifier_plain"]
    assert list(table["trainable_parameters"]) == [
        3 * 4097,
        61_156 + 85 * 3,  # the note's LeNet, every parameter its own
        54_534_144 + 3 * 4097,
        54_534_144 + 3 * 4097,
    ]
    fine_tunes = table[table["way"] != "lenet_scratch"]
    assert table.loc[0, "seconds"] == fine_tunes["seconds"].min()
    assert (table["gap"] - (table["best_train_acc"] - table["best_val_acc"])).abs().max() < 1e-3
    assert list(table["epochs_done"]) == [2, 2, 2, 2] and list(table["status"]) == ["finished"] * 4
    for way, history in finished.histories.items():
        row = table[table["way"] == way].iloc[0]
        assert row["best_val_acc"] == pytest.approx(history["val_acc"].max())


# --- mistakes one click away -------------------------------------------------------------------------


def test_the_feature_map_is_pca_of_every_image_with_the_mistakes_marked(imagenet_alexnet, colours):
    *_, finished = finetune(imagenet_alexnet, colours, FineTuneSettings(epochs=3))
    report = finished.report
    found = report.feature_map
    assert len(found.points) == len(colours.train) + len(colours.val)
    assert list(found.points["split"]).count("val") == len(colours.val)
    assert found.mistakes == len(report.wrong)
    assert 0 < found.explained[1] <= found.explained[0] < 1
    for true in range(3):  # a click on any cell finds exactly the images it counts
        for guess in range(3):
            cell = report.cell(true, guess)
            assert len(cell) == report.confusion.iloc[true, guess + 1]
            assert all(item.label == true for item, _ in cell)


def test_principal_components_agree_with_numpy():
    features = torch.randn(120, 300, generator=torch.Generator().manual_seed(1)) * torch.linspace(4, 0.1, 300)
    coordinates, shares = principal_components(features)
    centred = (features - features.mean(0)).double().numpy()
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    assert np.allclose(np.abs(coordinates), np.abs(u[:, :2] * s[:2]), rtol=1e-5, atol=1e-4)  # float32 products
    assert np.allclose(shares, s[:2] ** 2 / (s**2).sum(), rtol=1e-5)


def test_the_fine_tuned_grad_cam_looks_through_the_visitors_own_head(imagenet_alexnet, colours):
    *_, finished = finetune(imagenet_alexnet, colours, FineTuneSettings(epochs=3))
    image = colours.val[0].image
    first, p_first = finished.model.grad_cam(imagenet_alexnet, image, 0)
    second, p_second = finished.model.grad_cam(imagenet_alexnet, image, 1)
    assert first.shape == second.shape == (13, 13)
    assert not np.allclose(first, second)  # another class, another heatmap
    probabilities = finished.model.predict(imagenet_alexnet, image)
    assert p_first == pytest.approx(probabilities[colours.classes[0]], abs=1e-5)


# --- both cores when the server is quiet --------------------------------------------------------------


class FakeQueue:
    def __init__(self) -> None:
        self.active, self.event_queue_per_concurrency_id = 1, {}

    def get_active_worker_count(self) -> int:
        return self.active


def test_a_job_gets_every_core_only_after_a_quiet_moment():
    cores = IdleCores(quiet_seconds=0.2, cores=2)
    blocks = type("Blocks", (), {"_queue": FakeQueue()})()
    cores.watch(blocks)
    assert cores.threads() == 1  # just started: not yet quiet
    time.sleep(0.25)
    assert cores.threads() == 2  # nothing else for a while: both cores
    blocks._queue.active = 2  # a photo is being classified
    assert cores.threads() == 1
    blocks._queue.active = 1
    assert cores.threads() == 1  # it has to stay quiet a moment first
    time.sleep(0.25)
    assert cores.threads() == 2
    cores.seen()  # a request arrived at the guard
    assert cores.threads() == 1
    unwatched = IdleCores(quiet_seconds=0.0, cores=2)
    assert unwatched.threads() == 1  # without a queue to look at, assume others are there


# --- through the real server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("race") / "colours.zip"
    path.write_bytes(colour_dataset_zip("flat", ("red", "green", "blue"), 10))
    return str(path)


def test_race_strategies_returns_one_row_per_way_from_real_training(app_url, shapes):
    status, chart, table = Client(app_url, verbose=False).predict(handle_file(shapes), 2, api_name="/race_strategies")
    rows = [dict(zip(table["headers"], row, strict=True)) for row in table["data"]]
    assert [row["way"] for row in rows] == [
        "new head",
        "the note's LeNet, from scratch",
        "whole classifier with dropout and augmentation",
        "whole classifier without dropout or augmentation",
    ]
    assert rows[0]["trainable_parameters"] == 3 * 4097 and rows[1]["trainable_parameters"] == 61_156 + 85 * 3
    assert all(row["status"] == "finished" and row["epochs_done"] == 2 for row in rows)
    assert all(0 <= row["best_val_acc"] <= 1 and 0 <= row["best_train_acc"] <= 1 for row in rows)  # fractions
    fastest = min(rows, key=lambda row: row["seconds"])["way"]
    assert f"Fastest: **{fastest}**" in status and chart.count("<polyline") == 4
    assert "a little optimistic" in status and ("mean of 3 runs" in status or "One run (seed)" in status)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((0,), r'"epochs" must be between 1 and 30; 0 is not'),
        ((2.5,), "Epochs per way must be a whole number from 1 to 30, not 2.5"),
    ],
    ids=["no epochs", "half an epoch"],
)
def test_a_race_that_cannot_run_says_why(app_url, shapes, arguments, message):
    with pytest.raises((AppError, ValidationError), match=message):
        Client(app_url, verbose=False).predict(handle_file(shapes), *arguments, api_name="/race_strategies")


def test_a_race_on_something_that_is_not_a_zip_is_refused(app_url, tmp_path):
    fake = tmp_path / "photos.zip"
    fake.write_bytes(png("red", 0))
    with pytest.raises(AppError, match="not a zip archive"):
        Client(app_url, verbose=False).predict(handle_file(str(fake)), 2, api_name="/race_strategies")


# --- in the page -------------------------------------------------------------------------------------------


def colour_files(folder: Path, colour: str, count: int) -> list[str]:
    paths = []
    for seed in range(count):
        path = folder / f"{colour}_{seed}.png"
        path.write_bytes(png(colour, seed))
        paths.append(str(path))
    return paths


def open_builder(browser, app_url, size: str = "desktop", locale: str = "en-US"):
    page = open_tab(browser, app_url, "finetune", size, locale=locale)
    page.locator("#finetune-source-build-button").click()
    return page


def name_classes(page, text: str) -> None:
    page.locator("#builder-names textarea").fill(text)
    page.locator("#builder-set").click()


def counts(page) -> str:
    return page.locator("#builder-counts").inner_text()


def wait_for(page, script: str, timeout: float = 30_000) -> None:
    page.wait_for_function(script, timeout=timeout)


def label_covers_a_thumbnail(page, gallery: str) -> bool:
    """Whether the gallery's label lies over the top of its first thumbnail."""
    return page.evaluate(
        """(gallery) => {
          const label = document.querySelector(`${gallery} label`).getBoundingClientRect();
          return label.bottom > document.querySelector(`${gallery} img`).getBoundingClientRect().top + 1;
        }""",
        gallery,
    )


def toast_says(page, words: str) -> None:
    page.wait_for_function(
        "words => [...document.querySelectorAll('.toast-body')].some(t => t.innerText.includes(words))",
        arg=words,
        timeout=15_000,
    )


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_dataset_built_from_files_and_the_webcam_fine_tunes(browser, app_url, tmp_path, size):
    page = open_builder(browser, app_url, size)
    name_classes(page, "red, camera")
    wait_for(page, "document.querySelector('#builder-counts').innerText.includes('camera: 0')")
    page.locator("#builder-files input[type=file]").set_input_files(colour_files(tmp_path, "red", 6))
    wait_for(page, "document.querySelector('#builder-counts').innerText.includes('red: 6')")
    assert page.locator("#builder-gallery img").count() == 6  # the thumbnails of the chosen class
    assert not label_covers_a_thumbnail(page, "#builder-gallery")
    # what confirms the files comes into view: the counts, and the thumbnails below them
    wait_for(page, "document.querySelector('#builder-counts').getBoundingClientRect().top >= 0", 5_000)
    wait_for(page, "document.querySelector('#builder-counts').getBoundingClientRect().bottom <= innerHeight", 5_000)
    page.locator("#builder-gallery img").nth(2).click()
    page.locator("#builder-remove").click()
    wait_for(page, "document.querySelector('#builder-counts').innerText.includes('red: 5')")
    page.locator("#builder-class").get_by_label("camera").check()
    page.locator("#builder-camera").get_by_text("Click to Access Webcam").click()
    for shot in range(1, 6):  # each photo taken is added, and the camera opens again for the next
        wait_for(page, "document.querySelector('#builder-camera video')?.readyState >= 2")  # the picture is live
        page.locator("#builder-camera button[aria-label='capture photo']").click(timeout=15_000)
        wait_for(page, f"document.querySelector('#builder-counts').innerText.includes('camera: {shot}')")
    assert "Ready: 10 images in 2 classes" in counts(page)
    save_screenshot(page, f"finetune-builder-{size}-light")
    page.locator("#finetune-start").click()
    wait_for(page, "document.querySelector('#finetune-status').innerText.includes('Done')", 120_000)
    assert "my_dataset" in page.locator("#finetune-zip").inner_text()  # trained from the builder's zip
    status = page.locator("#finetune-status").inner_text()
    assert "validation accuracy" in status and "on 2 images" in status  # 10 images, 2 held out to validate
    assert not page.console_errors, page.console_errors
    page.close()


def test_a_click_on_a_confusion_cell_shows_those_images_with_grad_cam(browser, app_url, shapes):
    page = open_tab(browser, app_url, "finetune")
    page.locator("#finetune-zip input[type=file]").set_input_files(shapes)
    page.locator("#finetune-start").click()
    wait_for(page, "document.querySelector('#finetune-status').innerText.includes('Done')", 120_000)
    cells = page.locator("#finetune-confusion [role=gridcell]")
    wait_for(page, "document.querySelectorAll('#finetune-confusion [role=gridcell]').length === 12")
    grid = [cells.nth(i).inner_text() for i in range(12)]  # 3 rows: class name, then 3 counts
    row, column = next((r, c) for r in range(3) for c in range(1, 4) if int(grid[4 * r + c]) > 0)
    cells.nth(4 * row + column).click()
    wait_for(page, "document.querySelector('#finetune-cell-caption').innerText.includes('Validation images of')")
    caption = page.locator("#finetune-cell-caption").inner_text()
    assert f"**{grid[4 * row + column]}**" in caption or f": {grid[4 * row + column]}" in caption
    assert page.locator("#finetune-cell img").count() == int(grid[4 * row + column])
    assert not label_covers_a_thumbnail(page, "#finetune-cell")  # each image whole, under the label
    # the map: a point per image (30 here), validation mistakes circled
    points = page.locator("#finetune-map svg g.cc-point")
    assert points.count() == 30
    mistakes = page.locator("#finetune-map svg g.cc-mistake").count()
    wrong = sum(int(grid[4 * r + c]) for r in range(3) for c in range(1, 4) if c - 1 != r)
    assert mistakes == wrong
    save_screenshot(page, "finetune-lab-desktop-light", standin=("#finetune-results", "#finetune-cell"))
    assert not page.console_errors, page.console_errors
    page.close()


def test_the_builder_says_what_is_wrong_and_keeps_each_visitor_apart(browser, app_url, tmp_path):
    page = open_builder(browser, app_url)
    # files before any class: told, and not kept to be added twice later
    page.locator("#builder-files input[type=file]").set_input_files(colour_files(tmp_path, "blue", 2))
    toast_says(page, "Name your classes first")
    name_classes(page, "train, cat")
    toast_says(page, "'train' cannot be a class name")
    name_classes(page, "cat, dog")
    wait_for(page, "document.querySelector('#builder-counts').innerText.includes('dog: 0')")
    fake = tmp_path / "cat.png"
    fake.write_bytes(b"#!/bin/sh\necho not a picture\n")
    page.locator("#builder-files input[type=file]").set_input_files([str(fake), *colour_files(tmp_path, "red", 2)])
    wait_for(page, "document.querySelector('#builder-counts').innerText.includes('cat: 2')")  # the two images
    toast_says(page, "1 of the files were not added: 'cat.png' is not an image this app can read")
    # Remove with nothing selected is told; the builder stays as it was, with no "Error" badges
    page.locator("#builder-remove").click()
    toast_says(page, "Click an image in the gallery first")
    assert page.locator("#builder-gallery img").count() == 2 and "cat: 2" in counts(page)
    assert page.locator(".error").count() == 0
    page.locator("#builder-gallery img").nth(0).click(timeout=5_000)  # nothing covers the gallery
    page.locator("#builder-remove").click()
    wait_for(page, "document.querySelector('#builder-counts').innerText.includes('cat: 1')")
    page.locator("#finetune-start").click()  # two images are not enough
    toast_says(page, "Each class needs at least 5 images")
    other = open_builder(browser, app_url)  # another visitor sees none of it
    assert "No classes yet" in counts(other)
    other.close()
    page.close()
