"""Fine-tuning logic: a new head that learns, the best epoch kept, the shared AlexNet untouched."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import torch

from harness.zips import colour_dataset_zip, colour_photo
from nets.data.dataset_zip import read_image_zip
from nets.facts import fact
from nets.training.finetune import (
    FORMAT,
    SNIPPET,
    BatchTrained,
    EpochFinished,
    FeaturesCached,
    FineTuned,
    FineTuneFinished,
    FineTuneSettings,
    SettingsError,
    Stopped,
    finetune,
)


@pytest.fixture(scope="module")
def colours():
    return read_image_zip(colour_dataset_zip("flat", ("red", "green", "blue"), 20))


def run(backbone, dataset, settings=None, should_stop=None):
    """All events of a job: progress steps, finished epochs and the final model and report."""
    events = list(finetune(backbone, dataset, settings or FineTuneSettings(), should_stop))
    assert isinstance(events[-1], FineTuneFinished) and not any(isinstance(e, FineTuneFinished) for e in events[:-1])
    return events, events[-1].model, events[-1].report


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_unchanged(model: torch.nn.Module, before: dict[str, torch.Tensor]) -> None:
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.training


def test_new_head_learns_the_classes_and_keeps_the_best_epoch(imagenet_alexnet, colours):
    before = snapshot(imagenet_alexnet)
    events, model, report = run(imagenet_alexnet, colours, FineTuneSettings(epochs=15))
    assert_unchanged(imagenet_alexnet, before)
    assert isinstance(model, FineTuned) and model.classes == ["blue", "green", "red"]
    assert isinstance(model.module, torch.nn.Linear) and model.module.weight.shape == (3, 4096)
    history = report.history
    assert list(history.columns) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc"]
    assert list(history["epoch"]) == list(range(1, 16))
    assert model.val_acc >= 0.9
    assert model.val_acc == pytest.approx(history["val_acc"].max())
    assert history.loc[history["epoch"] == model.best_epoch, "val_acc"].item() == pytest.approx(model.val_acc)
    # progress: features for every image first, then one event per epoch; the history grows
    kinds = [type(e) for e in events[:-1]]
    first_epoch = kinds.index(EpochFinished)
    assert set(kinds[:first_epoch]) == {FeaturesCached} and set(kinds[first_epoch:]) == {EpochFinished}
    features = [e for e in events if isinstance(e, FeaturesCached)]
    assert features[-1].done == features[-1].total == len(colours.train) + len(colours.val)
    epochs = [e for e in events if isinstance(e, EpochFinished)]
    assert [(e.epoch, e.epochs, len(e.history)) for e in epochs] == [(i, 15, i) for i in range(1, 16)]
    assert isinstance(epochs[-1].history, pd.DataFrame)


def test_report_has_the_confusion_matrix_per_class_accuracy_and_mistakes(imagenet_alexnet, colours):
    _, model, report = run(imagenet_alexnet, colours, FineTuneSettings(epochs=3, lr=1e-5))  # barely trained
    n_val = len(colours.val)
    counts = report.confusion.drop(columns="true \\ predicted").to_numpy()
    assert counts.shape == (3, 3) and counts.sum() == n_val
    assert list(report.per_class["images"]) == list(counts.sum(1))
    assert list(report.per_class["correct"]) == list(counts.diagonal())
    assert len(report.wrong) == n_val - counts.diagonal().sum()
    assert all(guess != colours.classes[item.label] for item, guess, _ in report.wrong)


def test_a_fine_tuned_model_classifies_new_photos(imagenet_alexnet, colours):
    _, model, _ = run(imagenet_alexnet, colours)
    for colour in ("red", "green", "blue"):
        answer = model.predict(imagenet_alexnet, colour_photo(colour, seed=5000))
        assert next(iter(answer)) == colour and sum(answer.values()) == pytest.approx(1)


@pytest.mark.parametrize("strategy", ["classifier", "all"])
def test_slower_strategies_train_their_own_copy(imagenet_alexnet, strategy):
    small = read_image_zip(colour_dataset_zip("flat", ("red", "blue"), 6))
    before = snapshot(imagenet_alexnet)
    events, model, report = run(
        imagenet_alexnet, small, FineTuneSettings(strategy=strategy, epochs=1, lr=1e-4, batch_size=8)
    )
    assert_unchanged(imagenet_alexnet, before)
    assert len(report.history) == 1
    steps = [e for e in events if not isinstance(e, (FineTuneFinished, FeaturesCached))]  # features first, every way
    assert all(isinstance(step, BatchTrained) and step.loss > 0 for step in steps[:2])
    assert [(s.epoch, s.epochs, s.done, s.total) for s in steps[:2]] == [(1, 1, 8, 10), (1, 1, 10, 10)]  # batches of 8
    assert steps[1].progress == 1.0
    assert len(steps) == 3 and isinstance(steps[2], EpochFinished) and steps[2].epoch == steps[2].epochs == 1
    trained = dict(model.module.named_parameters())
    last = "6.weight" if strategy == "classifier" else "classifier.6.weight"
    assert trained[last].shape == (2, 4096)
    shared = model.module if strategy == "all" else model.module[0]
    assert all(p.data_ptr() != q.data_ptr() for p in shared.parameters() for q in imagenet_alexnet.parameters())
    assert set(model.predict(imagenet_alexnet, colour_photo("red", 1))) == {"red", "blue"}


def test_a_stop_request_keeps_the_best_epoch_so_far(imagenet_alexnet, colours):
    epochs_done = []

    def stop_after_three() -> bool:
        return len(epochs_done) >= 3

    job = finetune(imagenet_alexnet, colours, FineTuneSettings(epochs=50), stop_after_three)
    for event in job:
        if isinstance(event, EpochFinished):
            epochs_done.append(event.epoch)
        last = event
    model, report = last.model, last.report
    assert len(report.history) == 3 and report.stopped == fact("stopped_by_request")
    assert 1 <= model.best_epoch <= 3


def test_stopping_before_any_epoch_raises(imagenet_alexnet, colours):
    with pytest.raises(Stopped) as stopped:
        list(finetune(imagenet_alexnet, colours, FineTuneSettings(), should_stop=lambda: True))
    assert stopped.value.reason == fact("stopped_by_request") and stopped.value.stage == "features"
    with pytest.raises(Stopped) as stopped:
        list(finetune(imagenet_alexnet, colours, FineTuneSettings(time_limit=0.0)))
    assert stopped.value.reason == fact("stopped_at_time_limit", seconds=0.0)


def test_checkpoint_loads_with_the_torchvision_snippet(
    imagenet_alexnet, colours, standin_weights, tmp_path, monkeypatch
):
    """The downloaded file and the snippet shown in the tab give the same answer as the app."""
    _, model, _ = run(imagenet_alexnet, colours)
    path = tmp_path / "finetuned_alexnet.pt"
    torch.save(model.checkpoint(), path)
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["format"] == FORMAT and checkpoint["classes"] == ["blue", "green", "red"]
    assert set(checkpoint["state_dict"]) == {"classifier.6.weight", "classifier.6.bias"}
    photo = tmp_path / "photo.jpg"
    colour_photo("green", seed=777).save(photo)
    monkeypatch.setenv("TORCH_HOME", str(standin_weights))  # the snippet loads the (stand-in) weights
    monkeypatch.chdir(tmp_path)
    printed = []
    monkeypatch.setattr("builtins.print", lambda *args: printed.append(" ".join(map(str, args))))
    exec(SNIPPET.format(file=path.name), {})
    expected = model.predict(imagenet_alexnet, colour_photo("green", seed=777))
    name, share = printed[-1].split()
    assert name == "green" == next(iter(expected))
    assert float(share.rstrip("%")) / 100 == pytest.approx(expected["green"], abs=0.01)


def test_settings_are_checked():
    refused = {
        "strategy": ("unknown_strategy", {"strategy": "everything"}),
        "epochs": ("setting_out_of_range", {"setting": "epochs", "value": 0, "low": 1, "high": 200}),
        "lr": ("setting_out_of_range", {"setting": "lr", "value": 5.0, "low": 1e-6, "high": 1.0}),
        "batch_size": ("setting_out_of_range", {"setting": "batch_size", "value": 0, "low": 1, "high": 256}),
    }
    for setting, (code, values) in refused.items():
        bad = {setting: values.get("value", values.get("strategy"))}
        with pytest.raises(SettingsError) as error:
            FineTuneSettings(**bad).check()
        assert error.value.code == code and values.items() <= error.value.values.items()
    assert copy.copy(FineTuneSettings()).check().strategy == "head"
