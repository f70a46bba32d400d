"""/finetune and /predict_finetuned through gradio_client: real zips, hostile zips, two visitors."""

from __future__ import annotations

import threading
import time

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from harness import zips
from ui.finetune_job import snippet_text


def save(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def history_of(result) -> list[dict]:
    """The history table among /finetune's outputs (the Dataframe with a val_acc column)."""
    for value in result:
        if isinstance(value, dict) and "val_acc" in (value.get("headers") or []):
            return [dict(zip(value["headers"], row, strict=True)) for row in value["data"]]
    raise AssertionError("no history table in /finetune's outputs")


def top(label: dict) -> str:
    return label["label"]


def photo(tmp_path, colour: str, seed: int) -> str:
    path = tmp_path / f"{colour}_{seed}.jpg"
    zips.colour_photo(colour, seed).save(path)
    return str(path)


@pytest.mark.parametrize(
    "layout, classes", [("split", ("red", "green", "blue")), ("flat", ("red", "green", "blue", "yellow"))]
)
def test_a_zip_fine_tunes_and_then_classifies_new_photos(app_url, tmp_path, layout, classes):
    client = Client(app_url, verbose=False)
    archive = save(tmp_path, f"{layout}.zip", zips.colour_dataset_zip(layout, classes, 30))
    result = client.predict(handle_file(archive), api_name="/finetune")
    history = history_of(result)
    assert len(history) == 20 and max(row["val_acc"] for row in history) >= 0.9
    assert "broken" in str(result)  # the broken JPEG is reported among the skipped files
    # the loading code as it is (the page shows it in a Markdown block; Gradio trims the last newline)
    assert snippet_text(None).strip() in result
    for colour in classes:
        answer = client.predict(handle_file(photo(tmp_path, colour, 4242)), api_name="/predict_finetuned")
        assert top(answer) == colour
        assert {c["label"] for c in answer["confidences"]} == set(classes)


HOSTILE = {
    "zip slip": (zips.zip_slip, "outside|\\.\\."),
    "absolute path": (zips.absolute_path, "absolute|outside"),
    "symlink": (zips.symlink_member, "link"),
    "3 GiB of zeros": (zips.bomb_3gb, "GB|large|bomb"),
    "30,000 entries": (zips.many_entries, "entries|files"),
    "only a nested zip": (zips.nested_zip_only, "zip"),
    "a PNG named .zip": (zips.png_renamed, "not a zip"),
    "empty": (zips.empty_zip, "empty"),
    "one class": (zips.one_class, "2 classes|one class"),
    "no images": (zips.no_images, "no images|images"),
    "a class with one image": (zips.class_with_one_image, "at least 5"),
}


def test_hostile_zips_are_refused_quickly_and_a_good_zip_still_works(app_url, tmp_path):
    client = Client(app_url, verbose=False)
    for name, (build, reason) in HOSTILE.items():
        archive = save(tmp_path, "upload.zip", build())
        started = time.monotonic()
        with pytest.raises(AppError, match=f"(?i){reason}"):
            client.predict(handle_file(archive), api_name="/finetune")
        assert time.monotonic() - started < 30, name
    good = save(tmp_path, "good.zip", zips.colour_dataset_zip("flat", ("red", "blue"), 12))
    assert max(row["val_acc"] for row in history_of(client.predict(handle_file(good), api_name="/finetune"))) >= 0.9


def test_try_your_model_needs_a_fine_tuned_model_first(app_url, tmp_path):
    with pytest.raises(AppError, match="No fine-tuned model"):
        Client(app_url, verbose=False).predict(handle_file(photo(tmp_path, "red", 1)), api_name="/predict_finetuned")


def test_two_visitors_fine_tuning_at_once_each_keep_their_own_model(app_url, tmp_path):
    datasets = {"warm": ("red", "yellow"), "cool": ("green", "blue")}
    clients = {name: Client(app_url, verbose=False) for name in datasets}
    errors = []

    def train(name: str) -> None:
        try:
            archive = save(tmp_path, f"{name}.zip", zips.colour_dataset_zip("flat", datasets[name], 12, seed=3))
            clients[name].predict(handle_file(archive), api_name="/finetune")
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=train, args=(name,)) for name in datasets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors
    for name, classes in datasets.items():
        for colour in classes:
            answer = clients[name].predict(handle_file(photo(tmp_path, colour, 99)), api_name="/predict_finetuned")
            assert {c["label"] for c in answer["confidences"]} == set(classes)
            assert top(answer) == colour


def test_stop_ends_a_running_fine_tune(app_server, tmp_path):
    """Cancelling (what the Stop button does) stops the training thread, not just the answer."""
    from harness.server import cpu_seconds

    url, process = app_server
    client = Client(url, verbose=False)
    archive = save(tmp_path, "slow.zip", zips.colour_dataset_zip("flat", ("red", "blue"), 20))
    job = client.submit(handle_file(archive), "all", 100, 3e-5, 8, api_name="/finetune")  # minutes of work

    def busy(seconds: float = 1.5) -> float:
        before = cpu_seconds(process)
        time.sleep(seconds)
        return (cpu_seconds(process) - before) / seconds  # cores in use

    deadline = time.monotonic() + 30
    while not (job.status().code.name == "PROGRESS" and busy() > 0.5) and time.monotonic() < deadline:
        pass  # until it trains (the upload read, the features computed)
    assert busy() > 0.5  # training
    assert job.cancel()
    time.sleep(1.5)
    assert busy() < 0.2  # the training thread has stopped
    good = save(tmp_path, "good.zip", zips.colour_dataset_zip("flat", ("red", "blue"), 12))
    assert history_of(client.predict(handle_file(good), api_name="/finetune"))
