"""Fine-tuning logic: a new head that learns, the best epoch kept, the shared AlexNet untouched."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import torch

from nets.dataset_zip import read_image_zip
from nets.finetune import FORMAT, FineTuned, Progress, Settings, Stopped, finetune
from tests.zips import colour_dataset_zip, colour_photo


@pytest.fixture(scope="module")
def colours():
    return read_image_zip(colour_dataset_zip("flat", ("red", "green", "blue"), 20))


def run(backbone, dataset, settings=Settings(), should_stop=None):
    """All events of a job: progress steps, history tables and the final (model, report)."""
    events = list(finetune(backbone, dataset, settings, should_stop))
    model, report = events[-1]
    return events, model, report


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_unchanged(model: torch.nn.Module, before: dict[str, torch.Tensor]) -> None:
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.training


def test_new_head_learns_the_classes_and_keeps_the_best_epoch(imagenet_alexnet, colours):
    before = snapshot(imagenet_alexnet)
    events, model, report = run(imagenet_alexnet, colours, Settings(epochs=15))
    assert_unchanged(imagenet_alexnet, before)
    assert isinstance(model, FineTuned) and model.classes == ["blue", "green", "red"]
    assert isinstance(model.module, torch.nn.Linear) and model.module.weight.shape == (3, 4096)
    history = report.history
    assert list(history.columns) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc"]
    assert list(history["epoch"]) == list(range(1, 16))
    assert model.val_acc >= 0.9
    assert model.val_acc == pytest.approx(history["val_acc"].max())
    assert history.loc[history["epoch"] == model.best_epoch, "val_acc"].item() == pytest.approx(model.val_acc)
    # progress: features for every image first, then one step per epoch; the history grows
    stages = [e.stage for e in events if isinstance(e, Progress)]
    assert stages[0] == "features" and stages[-1] == "epoch"
    features = [e for e in events if isinstance(e, Progress) and e.stage == "features"]
    assert features[-1].done == features[-1].total == len(colours.train) + len(colours.val)
    tables = [e for e in events if isinstance(e, pd.DataFrame)]
    assert [len(t) for t in tables] == list(range(1, 16))


def test_report_has_the_confusion_matrix_per_class_accuracy_and_mistakes(imagenet_alexnet, colours):
    _, model, report = run(imagenet_alexnet, colours, Settings(epochs=3, lr=1e-5))  # barely trained
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
    events, model, report = run(imagenet_alexnet, small, Settings(strategy=strategy, epochs=1, lr=1e-4, batch_size=8))
    assert_unchanged(imagenet_alexnet, before)
    assert len(report.history) == 1
    steps = [(e.stage, e.done, e.total) for e in events if isinstance(e, Progress)]
    assert steps == [("batch", 8, 10), ("batch", 10, 10), ("epoch", 1, 1)]  # 10 images in batches of 8
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

    job = finetune(imagenet_alexnet, colours, Settings(epochs=50), stop_after_three)
    for event in job:
        if isinstance(event, Progress) and event.stage == "epoch":
            epochs_done.append(event.done)
        last = event
    model, report = last
    assert len(report.history) == 3 and report.stopped == "stopped at your request"
    assert 1 <= model.best_epoch <= 3


def test_stopping_before_any_epoch_raises(imagenet_alexnet, colours):
    with pytest.raises(Stopped, match="nothing was trained"):
        list(finetune(imagenet_alexnet, colours, Settings(), should_stop=lambda: True))
    with pytest.raises(Stopped, match="time limit"):
        list(finetune(imagenet_alexnet, colours, Settings(time_limit=0.0)))


def test_checkpoint_loads_with_the_torchvision_snippet(imagenet_alexnet, colours, standin_weights, tmp_path, monkeypatch):
    """The downloaded file and the snippet shown in the tab give the same answer as the app."""
    import app

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
    exec(app.SNIPPET.format(file=path.name), {})
    expected = model.predict(imagenet_alexnet, colour_photo("green", seed=777))
    name, share = printed[-1].split()
    assert name == "green" == next(iter(expected))
    assert float(share.rstrip("%")) / 100 == pytest.approx(expected["green"], abs=0.01)


def test_settings_are_checked():
    for bad in (dict(strategy="everything"), dict(epochs=0), dict(lr=5.0), dict(batch_size=0)):
        with pytest.raises(ValueError):
            Settings(**bad).check()
    assert copy.copy(Settings()).check().strategy == "head"


def test_the_shelf_keeps_only_a_few_large_models_and_never_head_only_ones():
    from nets.finetune import Released, Shelf

    def made(strategy: str) -> FineTuned:
        return FineTuned(classes=["a", "b"], strategy=strategy, module=torch.nn.Linear(2, 2), best_epoch=1, val_acc=1.0)

    shelf = Shelf(capacity=2)
    heads = [made("head") for _ in range(5)]
    big = [made("all") for _ in range(3)]
    for kept in heads + big:
        shelf.keep(kept)
    del kept  # no stray references: the test below frees a model by dropping it
    assert all(head.module is not None for head in heads)
    assert big[0].module is None and big[1].module is not None and big[2].module is not None
    with pytest.raises(Released, match="Fine-tune again"):
        big[0].checkpoint()
    # A visitor leaves: their model is freed by Python and stops taking room on the shelf.
    older, leaving = big[1], big[2]
    del big, leaving
    newest = made("classifier")
    shelf.keep(newest)
    assert older.module is not None and newest.module is not None
