"""The race of the ways to fine-tune, measured honestly: the note's LeNet from scratch beside the new head,
training accuracy measured as validation is, seeds and their spread, unfinished ways never compared."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from harness.zips import colour_dataset_zip
from nets.data.dataset_zip import read_image_zip
from nets.training import race
from nets.training.feature_cache import FeatureCache
from nets.training.finetune import EVAL_TRANSFORM, FineTuneSettings, finetune
from nets.training.scratch_lenet import lenet_parameters, train_scratch_lenet
from ui.race import race_status, race_table


@pytest.fixture(scope="module")
def colours():
    return read_image_zip(colour_dataset_zip("flat", ("red", "green", "blue"), 10))


@pytest.mark.parametrize("classes", [2, 3, 10])
def test_the_notes_lenet_from_scratch_trains_61156_plus_85_per_class(classes):
    assert lenet_parameters(classes) == race.trainable_parameters("lenet_scratch", classes) == 61_156 + 85 * classes
    assert lenet_parameters(10) == 62_006  # the note's LeNet with Conv2d(3, 6, 5), 10 classes


def test_lenet_from_scratch_measures_training_and_validation_alike(colours):
    *epochs, finished = train_scratch_lenet(colours, epochs=3, seed=1)
    assert [event.epoch for event in epochs] == [1, 2, 3] and finished.stopped is None
    best = finished.history[finished.history["epoch"] == finished.best_epoch].iloc[0]
    assert finished.val_acc == pytest.approx(finished.history["val_acc"].max(), abs=1e-4)
    assert finished.train_acc == pytest.approx(best["train_acc"], abs=1e-4)
    assert not finished.model.training  # the best epoch's weights, ready to measure
    again = train_scratch_lenet(colours, epochs=3, seed=1)
    assert list(again)[-1].history.equals(finished.history)  # a seed decides everything


def test_a_fine_tunes_training_accuracy_is_measured_in_evaluation_mode_on_plain_images(imagenet_alexnet, colours):
    settings = FineTuneSettings(strategy="classifier", epochs=2, lr=1e-4, regularise=True)
    *_, finished = finetune(imagenet_alexnet, colours, settings)
    tuned = finished.model
    truth = [colours.classes[item.label] for item in colours.train]
    guesses = [next(iter(tuned.predict(imagenet_alexnet, item.image))) for item in colours.train]
    expected = sum(g == t for g, t in zip(guesses, truth, strict=True)) / len(truth)  # one photo at a time, eval mode
    assert race.measured_accuracy(imagenet_alexnet, tuned, colours.train) == pytest.approx(expected)
    cache = FeatureCache(64 * 2**20)
    assert race.measured_accuracy(imagenet_alexnet, tuned, colours.train, cache=cache) == pytest.approx(expected)
    assert EVAL_TRANSFORM(colours.train[0].image).shape == (3, 224, 224)


def test_the_race_has_lenet_from_scratch_beside_the_new_head_and_three_seeds_when_time_allows(
    imagenet_alexnet, colours
):
    events = list(race.race(imagenet_alexnet, colours, epochs=1, ways=("head", "lenet_scratch", "classifier_plain")))
    finished = events[-1]
    assert isinstance(finished, race.RaceFinished) and finished.seeds == 3
    assert [e.seed for e in events if isinstance(e, race.WayStarted)] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    table = finished.table.set_index("way")
    assert list(table.index) == ["head", "lenet_scratch", "classifier_plain"]
    assert table.loc["lenet_scratch", "trainable_parameters"] == 61_156 + 85 * 3
    assert (table["status"] == "finished").all() and (table["seeds"] == 3).all()
    assert ((table["val_acc_spread"] >= 0) & (table["val_acc_spread"] <= 1)).all()
    assert (table["gap"] - (table["best_train_acc"] - table["best_val_acc"])).abs().max() < 1e-3
    runs = [e.run for e in events if isinstance(e, race.WayFinished) and e.way == "lenet_scratch"]
    assert table.loc["lenet_scratch", "best_val_acc"] == pytest.approx(sum(r["val_acc"] for r in runs) / 3, abs=1e-4)
    spread = max(r["val_acc"] for r in runs) - min(r["val_acc"] for r in runs)
    assert table.loc["lenet_scratch", "val_acc_spread"] == pytest.approx(spread, abs=1e-4)


def test_without_time_for_another_round_a_race_runs_one_seed_and_says_so(imagenet_alexnet, colours):
    events = list(race.race(imagenet_alexnet, colours, epochs=1, ways=("head", "lenet_scratch"), time_limit=0.01))
    assert [e.seed for e in events if isinstance(e, race.WayStarted)] == [0, 0]  # each way still gets a second
    assert events[-1].seeds <= 1
    one_seed = events[-1].table.assign(status="finished", seeds=1)
    assert "One run (seed) per way only" in race_status(None, one_seed)
    assert "a little optimistic" in race_status(None, one_seed)


def test_a_race_stopped_in_way_two_compares_only_the_ways_that_finished(imagenet_alexnet, colours):
    pressed = False

    def stop() -> bool:
        return pressed

    events = []
    for event in race.race(imagenet_alexnet, colours, epochs=2, should_stop=stop):
        events.append(event)
        if isinstance(event, race.WayStarted) and event.way == "lenet_scratch":
            pressed = True  # Stop, as the second way starts
    table = events[-1].table.set_index("way")
    assert list(table["status"]) == ["finished", "stopped", "not run", "not run"]
    assert math.isnan(table.loc["lenet_scratch", "best_val_acc"])  # no epoch: no figure, never a 0
    assert table.loc["classifier", "seeds"] == 0 and math.isnan(table.loc["classifier", "seconds"])
    status = race_status(None, events[-1].table)
    assert "Only **new head** finished" in status and "Fastest" not in status
    page = race_table(None, events[-1].table, api=False)
    assert list(page["status"]) == ["finished", "stopped", "not run", "not run"]
    assert page.loc[1, "validation accuracy"] == "—" and page.loc[2, "trainable parameters"] == "54,546,435"


def test_the_page_shows_percentages_and_the_api_keeps_fractions():
    table = pd.DataFrame([["head", "finished", 12_291, 1.23, 0.9765, 0.8, 0.1765, 0.05, 3, 2, 2]], columns=race.COLUMNS)
    page = race_table(None, table, api=False).iloc[0]
    assert page["training accuracy"] == "97.7%" and page["validation accuracy"] == "80.0%"
    assert page["gap"] == "+17.6%" and page["spread"] == "5.0%" and page["trainable parameters"] == "12,291"
    api = race_table(None, table, api=True).iloc[0]
    assert api["best_train_acc"] == 0.9765 and api["way"] == "new head" and api["status"] == "finished"
    assert "Each figure is the mean of 3 runs" in race_status(None, table)


def test_the_lenet_seed_leaves_the_servers_random_numbers_alone(colours):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    list(train_scratch_lenet(colours, epochs=1, seed=5))
    assert torch.equal(torch.rand(3), expected)
