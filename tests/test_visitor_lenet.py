"""Training your own LeNet: the offline MNIST subset, the settings, the events, Stop and cancel, the result."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from nets.data import mnist
from nets.data.sketch import sketch_to_mnist
from nets.facts import fact
from nets.models.lenet import lenet, read_web_weights
from nets.training.jobs import Cancelled
from nets.training.visitor_lenet import (
    HISTORY_COLUMNS,
    BatchTrained,
    EpochFinished,
    LeNetFinished,
    LeNetSettings,
    Started,
    TrainingSettingsError,
    browser_weights,
    evaluate,
    new_lenet,
    normalization,
    train,
)
from tests.test_lenet import write_idx

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
# MNIST's class counts (train, test), from the standard files
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
SMALL = LeNetSettings(epochs=2, train_images=1_000)  # about a second


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Jobs train on one torch thread (``nets/training/jobs.py``); two threads on a busy 2-core machine wait for
    each other at every small operation and can be ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data() -> mnist.MnistData:
    return mnist.training_data("subset")


def run(settings: LeNetSettings, data: mnist.MnistData, **callbacks) -> list:
    events = list(train(settings, data, **callbacks))
    assert isinstance(events[0], Started) and isinstance(events[-1], LeNetFinished)
    assert not any(isinstance(e, (Started, LeNetFinished)) for e in events[1:-1])
    return events


@pytest.fixture(scope="module")
def small_run(data) -> list:
    """Average pooling + ReLU, 2 epochs on 1,000 images (about a second)."""
    return run(SMALL, data)


@pytest.fixture(scope="module")
def default_run(data) -> list:
    """The app's default job: average pooling + ReLU, 2 epochs on 10,000 images (a few seconds)."""
    return run(LeNetSettings(), data)


# --- the data ----------------------------------------------------------------------------------


def test_subset_asset_holds_20000_training_and_2000_test_digits(data):
    assert data.source == "subset" and data.where == mnist.SUBSET_FILE
    assert mnist.SUBSET_FILE.stat().st_size < 5_000_000
    assert data.train_images.shape == (20_000, 28, 28) and data.test_images.shape == (2_000, 28, 28)
    assert data.train_images.dtype == data.test_images.dtype == torch.uint8
    assert data.train_labels.dtype == data.test_labels.dtype == torch.int64
    for labels in (data.train_labels, data.test_labels):
        assert set(labels.unique().tolist()) == set(range(10))
    # real MNIST ink: the shipped normalisation's mean brightness (of the 32x32 padded images)
    assert data.train_images.float().mean() / 255 * 28**2 / 32**2 == pytest.approx(normalization()[0], abs=0.002)
    assert data.fact() == fact("training_data_subset", train=20_000, test=2_000)
    with np.load(mnist.SUBSET_FILE) as subset:
        assert int(subset["seed"]) == mnist.SUBSET_SEED and "CC BY-SA" in str(subset["source"])
        for split, total in (("train", 60_000), ("test", 10_000)):
            indices = subset[f"{split}_indices"]
            assert np.all(np.diff(indices) > 0) and indices[0] >= 0 and indices[-1] < total


def test_subset_keeps_mnists_class_balance(data):
    for labels, counts, size in ((data.train_labels, TRAIN_COUNTS, 20_000), (data.test_labels, TEST_COUNTS, 2_000)):
        expected = np.array(counts) * size / sum(counts)
        assert np.abs(np.bincount(labels.numpy(), minlength=10) - expected).max() < 1


def test_stratified_choice_is_exact_seeded_and_sorted():
    labels = np.repeat(np.arange(3), [50, 30, 20])
    chosen = mnist.stratified_choice(labels, 11, seed=4)
    assert len(chosen) == len(set(chosen)) == 11 and np.all(np.diff(chosen) > 0)
    assert np.bincount(labels[chosen]).tolist() == [6, 3, 2]  # 5.5, 3.3, 2.2: the largest remainder wins
    assert np.array_equal(chosen, mnist.stratified_choice(labels, 11, seed=4))
    assert not np.array_equal(chosen, mnist.stratified_choice(labels, 11, seed=5))


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"MNIST files not found in {SHARED_MNIST}")
def test_subset_is_reproduced_from_the_standard_files(tmp_path):
    rewritten = mnist.write_subset(SHARED_MNIST, tmp_path / "subset.npz")
    with np.load(rewritten) as new, np.load(mnist.SUBSET_FILE) as shipped:
        assert sorted(new.files) == sorted(shipped.files)
        for name in new.files:
            assert np.array_equal(new[name], shipped[name]), name
        images, labels = mnist.load_split(SHARED_MNIST, "test")
        assert np.array_equal(images.numpy()[shipped["test_indices"]], shipped["test_images"])
        assert np.array_equal(labels.numpy()[shipped["test_indices"]], shipped["test_labels"])


@pytest.fixture
def no_full_mnist(tmp_path, monkeypatch):
    """Nowhere to find the whole MNIST (and no MNIST_DIR): as on a server without internet."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(mnist, "full_mnist_places", lambda: [tmp_path / "cache", tmp_path / "data"])


def test_auto_falls_back_to_the_subset_at_once_without_the_whole_mnist(no_full_mnist):
    started = time.perf_counter()
    data = mnist.training_data()
    assert data.source == "subset" and time.perf_counter() - started < 2
    with pytest.raises(mnist.MnistNotFoundError) as refused:
        mnist.training_data("full")
    assert refused.value.code == "mnist_not_found" and len(refused.value.values["places"]) == 2


def test_auto_uses_the_whole_mnist_where_its_files_are(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"  # torchvision's layout
    raw.mkdir(parents=True)
    for split, n in (("train", 1200), ("t10k", 300)):
        write_idx(raw / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    assert mnist.full_mnist_places()[0] == tmp_path and mnist.cache_dir() == tmp_path
    data = mnist.training_data()
    assert data.source == "full" and (data.train_count, data.test_count) == (1200, 300)
    assert data.fact() == fact("training_data_full", train=1200, test=300)
    assert mnist.training_data("subset").source == "subset"


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "values"),
    [
        ({"pooling": "min"}, "unknown_pooling", {"value": "min", "choices": ["avg", "max"]}),
        ({"activation": "gelu"}, "unknown_activation", {"value": "gelu", "choices": ["relu", "sigmoid", "tanh"]}),
        ({"epochs": 0}, "epochs_out_of_range", {"value": 0, "low": 1, "high": 20}),
        ({"epochs": 2.5}, "epochs_out_of_range", {"value": 2.5, "low": 1, "high": 20}),
        ({"train_images": 999}, "train_images_out_of_range", {"value": 999, "low": 1_000, "high": 20_000}),
        ({"train_images": 20_001}, "train_images_out_of_range", {"value": 20_001, "low": 1_000, "high": 20_000}),
        ({"batch_size": 0}, "setting_out_of_range", {"setting": "batch_size", "value": 0, "low": 8, "high": 512}),
        ({"lr": "fast"}, "setting_out_of_range", {"setting": "lr", "value": "fast", "low": 1e-5, "high": 0.1}),
    ],
)
def test_impossible_settings_are_refused_with_what_is_allowed(data, changes, code, values):
    settings = LeNetSettings(**changes)
    with pytest.raises(TrainingSettingsError) as refused:
        settings.check(data.train_count)
    assert refused.value.fact == fact(code, **values)
    with pytest.raises(TrainingSettingsError):
        next(train(settings, data))


def test_whole_numbers_from_a_slider_are_accepted_as_ints(data):
    checked = LeNetSettings(epochs=3.0, train_images="20000").check(data.train_count)
    assert (checked.epochs, checked.train_images) == (3, 20_000)
    assert isinstance(checked.epochs, int) and isinstance(checked.train_images, int)


# --- training ------------------------------------------------------------------------------------


def test_events_come_in_order_and_the_history_grows(small_run, data):
    events = small_run
    started, finished = events[0], events[-1]
    assert (started.epochs, started.train_images, started.test_images) == (2, 1_000, 2_000)
    assert started.steps_per_epoch == 32 and started.data == data.fact()
    epochs = [e for e in events if isinstance(e, EpochFinished)]
    assert [e.epoch for e in epochs] == [1, 2] and all(e.epochs == 2 for e in epochs)
    for n, event in enumerate(epochs, 1):
        assert list(event.history.columns) == HISTORY_COLUMNS
        assert event.history["epoch"].tolist() == list(range(1, n + 1))
    batches = [e for e in events if isinstance(e, BatchTrained)]
    progress = [e.progress for e in batches]
    assert progress == sorted(progress) and 0 < progress[0] <= progress[-1] < 1
    assert len(batches) >= 2 * 10 and all(0 < e.done < e.total == 1_000 for e in batches)
    # BatchTrained events come before the EpochFinished of their epoch
    order = [(e.epoch, isinstance(e, EpochFinished)) for e in events[1:-1]]
    assert order == sorted(order)
    history = finished.history
    assert history.equals(epochs[-1].history) and (history["seconds"].diff().dropna() > 0).all()
    assert finished.stopped is None and finished.images_seen == 2_000 and finished.epochs_done == 2
    assert finished.test_acc == history["test_acc"].iloc[-1] and history["test_acc"].iloc[-1] > 0.8
    assert history["train_loss"].is_monotonic_decreasing


def test_conv1_kernels_change_as_it_learns(small_run):
    events = small_run
    snapshots = [events[0].conv1_kernels] + [e.conv1_kernels for e in events if isinstance(e, EpochFinished)]
    assert len(snapshots) == 3 and all(s.shape == (6, 5, 5) and s.dtype == np.float32 for s in snapshots)
    for before, after in zip(snapshots, snapshots[1:], strict=False):
        assert np.abs(after - before).max() > 0.01
    final = events[-1].model.features[0].weight.detach()[:, 0].numpy()
    assert np.array_equal(final, snapshots[-1])  # a snapshot, not a view of the live weights


def test_the_same_seed_trains_the_same_model(small_run, data):
    before = torch.get_rng_state()
    again = run(SMALL, data)[-1].model
    assert all(
        torch.equal(a, b)
        for a, b in zip(again.state_dict().values(), small_run[-1].model.state_dict().values(), strict=True)
    )
    assert torch.equal(torch.get_rng_state(), before)  # the server's global random state is left alone
    seed_0, seed_1 = new_lenet("avg", "relu", 0), new_lenet("avg", "relu", 1)
    assert not torch.equal(seed_0.features[0].weight, seed_1.features[0].weight)


def test_the_default_job_reaches_96_percent_on_test_digits_it_never_saw(default_run):
    finished = default_run[-1]
    assert finished.stopped is None and len(finished.history) == 2
    assert finished.test_acc >= 0.96, finished.history
    assert finished.seconds < 60
    assert list(finished.history.columns) == HISTORY_COLUMNS and finished.history["epoch"].tolist() == [1, 2]


def test_training_never_writes_into_the_shared_data(default_run, data):
    """Every job reads the same tensors: training copies what it uses (checked after the default job)."""
    with np.load(mnist.SUBSET_FILE) as subset:
        assert np.array_equal(data.train_images.numpy(), subset["train_images"])
        assert np.array_equal(data.train_labels.numpy(), subset["train_labels"])


# --- stopping and cancelling -----------------------------------------------------------------------


def stop_after(calls: int):
    """A Stop button pressed on the ``calls``-th check (one check per batch, plus one per epoch)."""
    count = 0

    def should_stop() -> bool:
        nonlocal count
        count += 1
        return count >= calls

    return should_stop


def test_stop_keeps_what_was_learned_with_its_own_numbers(data):
    settings = LeNetSettings(epochs=2, train_images=2_000)  # 63 batches an epoch
    events = run(settings, data, should_stop=stop_after(1 + 63 + 1 + 20))  # 20 batches into epoch 2
    finished = events[-1]
    assert finished.stopped == fact("stopped_by_request")
    assert finished.images_seen == 2_000 + 20 * 32 and finished.epochs_done == pytest.approx(1.32)
    assert len(finished.history) == 1  # epoch 1 only: epoch 2 never finished
    test_loss, test_acc = evaluate(finished.model, data.test_images, data.test_labels)
    assert (finished.test_loss, finished.test_acc) == (pytest.approx(test_loss), test_acc)  # the stopped model's own
    assert finished.test_acc != finished.history["test_acc"].iloc[0]
    assert finished.test_acc > 0.8 and not finished.model.training


def test_stop_before_the_first_batch_gives_an_honest_untrained_model(data):
    finished = run(SMALL, data, should_stop=lambda: True)[-1]
    assert finished.stopped == fact("stopped_by_request") and finished.images_seen == 0 and finished.history.empty
    assert finished.test_acc < 0.3  # a random LeNet: about one digit in ten


def test_the_time_limit_stops_training_like_the_stop_button(data):
    finished = run(LeNetSettings(epochs=20, train_images=20_000, time_limit=0.5), data)[-1]
    assert finished.stopped == fact("stopped_at_time_limit", seconds=0.5)
    assert 0 < finished.epochs_done < 20 and finished.seconds < 5


def test_a_stop_after_the_last_batch_is_no_stop(data):
    finished = run(LeNetSettings(epochs=1, train_images=1_000), data, should_stop=stop_after(1 + 32))[-1]
    assert finished.stopped is None and finished.images_seen == 1_000 and len(finished.history) == 1


def test_cancel_raises_within_a_fraction_of_a_second(data):
    cancel = threading.Event()
    pressed_at = []

    def press() -> None:
        pressed_at.append(time.perf_counter())
        cancel.set()

    timer = threading.Timer(0.5, press)
    timer.start()
    events = []
    with pytest.raises(Cancelled):
        for event in train(LeNetSettings(epochs=20, train_images=20_000), data, cancelled=cancel.is_set):
            events.append(event)
    assert time.perf_counter() - pressed_at[0] < 0.5
    assert not any(isinstance(e, LeNetFinished) for e in events)


# --- the visitor's LeNet, in the app ----------------------------------------------------------------


def on_canvas(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit (light on dark) enlarged 10x, dark ink on a white 400x400 canvas, somewhere."""
    big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BICUBIC))
    canvas = np.zeros((400, 400), np.uint8)
    y, x = rng.integers(0, 121, size=2)
    canvas[y : y + 280, x : x + 280] = big
    return 255 - canvas


def test_a_trained_lenet_reads_test_digits_drawn_on_a_canvas(default_run, data):
    """Through the app's own preprocessing (what the browser engine repeats), as its test accuracy says."""
    finished = default_run[-1]
    mean, std = normalization()
    rng = np.random.default_rng(0)
    picks = rng.choice(data.test_count, 200, replace=False)
    right = 0
    for i in picks:
        digit = sketch_to_mnist(on_canvas(data.test_images[i].numpy(), rng), mean, std, 32)
        with torch.inference_mode():
            right += digit is not None and int(finished.model(digit.tensor).argmax()) == int(data.test_labels[i])
    assert right / len(picks) >= finished.test_acc - 0.04


def test_web_weights_of_a_max_tanh_lenet_round_trip(data):
    finished = run(LeNetSettings(pooling="max", activation="tanh", epochs=1, train_images=1_000), data)[-1]
    web = json.loads(json.dumps(finished.web_weights()))
    assert web == browser_weights(finished.model)
    state_dict, meta = read_web_weights(web)
    mean, std = normalization()
    assert (meta["pooling"], meta["activation"], meta["input_size"]) == ("max", "tanh", 32)
    assert (meta["mean"], meta["std"]) == (mean, std)
    rebuilt = lenet(in_channels=1, pooling=meta["pooling"], activation=meta["activation"])
    rebuilt.load_state_dict(state_dict)
    assert all(
        torch.equal(a, b)
        for a, b in zip(rebuilt.state_dict().values(), finished.model.state_dict().values(), strict=True)
    )
    x = torch.randn(4, 1, 32, 32)
    assert torch.equal(rebuilt.eval()(x), finished.model(x))


def test_history_is_a_dataframe_of_floats(default_run):
    history = default_run[-1].history
    assert isinstance(history, pd.DataFrame) and history["epoch"].tolist() == [1, 2]
    assert all(history[c].dtype == "float64" for c in HISTORY_COLUMNS[1:])
