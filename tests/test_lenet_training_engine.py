"""LeNet learns in the browser as it learns on the server: ``ui/static/lenet/training.js`` against
``nets/training/visitor_lenet.py``'s PyTorch training, in Chromium.

The trainer's numbers are Python's (``assets/web/lenet_training_facts.js`` is what ``nets/`` says
now); the one-cycle schedule gives torch's learning rate and Adam's beta1 at every step; one
training step from the same weights on the same batch gives PyTorch's loss, gradients and updated
weights for every pooling and activation; the Web Worker trains, reports, stops when asked and
hands back weights that PyTorch reads and scores as the page did; and the images reach the page as
one static file of a few MB (``assets/web/mnist_subset.bin.gz``) that the page reads as Python does.
"""

from __future__ import annotations

import base64
import functools
import http.server
import threading

import numpy as np
import pytest
import torch

from harness.browser import page_with_scripts
from harness.lenet_reference import pytorch_accuracy, torch_step
from nets.data.mnist import SUBSET_FILE, stratified_choice
from nets.data.mnist_web import DEFAULT_TRAIN_IMAGES, WEB_DATA_FILE, read_web_data, training_order, web_data_bytes
from nets.models.lenet import ACTIVATIONS, POOLINGS, read_web_weights
from nets.paths import ROOT
from nets.training.visitor_lenet import (
    TRAINING_FACTS_FILE,
    WARMUP,
    LeNetSettings,
    browser_weights,
    new_lenet,
    normalization,
    training_facts,
    training_facts_script,
)
from ui.static import TRAINING_DATA_SCRIPT, TRAINING_SCRIPTS, TRAINING_WORKER

SWITCHES = [(pooling, activation) for pooling in POOLINGS for activation in ACTIVATIONS]


@functools.cache
def subset() -> dict[str, np.ndarray]:
    with np.load(SUBSET_FILE) as data:
        return {key: data[key] for key in ("train_images", "train_labels", "test_images", "test_labels")}


def floats_of(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4")


def packed(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


UNPACK = "const unpack = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));"

# --- the trainer's numbers (Python only) ----------------------------------------------------


def test_the_training_facts_file_holds_pythons_numbers():
    """assets/web/lenet_training_facts.js is what python -m nets.models.lenet writes now."""
    text = TRAINING_FACTS_FILE.read_text()
    assert text == training_facts_script(training_facts()), "stale: run python -m nets.models.lenet"
    facts = training_facts()
    settings = LeNetSettings()
    assert facts["defaults"] == {
        "pooling": "avg",
        "activation": "relu",
        "epochs": 2,
        "train_images": 10_000,
        "batch_size": 32,
        "lr": 5e-3,
        "seed": 0,
    }
    assert (facts["defaults"]["epochs"], facts["defaults"]["train_images"]) == (settings.epochs, settings.train_images)
    assert (facts["mean"], facts["std"]) == normalization()
    assert facts["one_cycle"] == {
        "anneal_strategy": "cos",
        "cycle_momentum": True,
        "base_momentum": 0.85,
        "max_momentum": 0.95,
        "div_factor": 25.0,
        "final_div_factor": 1e4,
        "three_phase": False,
        "pct_start": WARMUP,
    }
    assert facts["adam"] == {"beta2": 0.999, "eps": 1e-8, "weight_decay": 0} and facts["amsgrad"] is False


# --- the trainer in Chromium ------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(browser):
    """A blank page with the trainer's scripts loaded in order."""
    page = page_with_scripts(browser, TRAINING_SCRIPTS)
    yield page
    assert page.errors == []
    page.close()


def test_the_one_cycle_schedule_is_torchs_step_by_step(page):
    """The learning rate and beta1 of every step of the default run (2 epochs of 313 batches) and of
    a short odd one, as OneCycleLR sets them on Adam."""
    for total, max_lr in [(626, 5e-3), (37, 0.1)]:
        optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=max_lr)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total, pct_start=WARMUP)
        torch_steps = []
        for _ in range(total):
            group = optimizer.param_groups[0]
            torch_steps.append((group["lr"], group["betas"][0]))
            optimizer.step()
            schedule.step()
        js = page.evaluate(
            """([maxLr, total]) => {
                const at = LeNetTraining.oneCycle(maxLr, total);
                return Array.from({length: total}, (_, step) => [at(step).lr, at(step).beta1]);
            }""",
            [max_lr, total],
        )
        expected = np.array(torch_steps)
        assert np.allclose(np.array(js), expected, rtol=1e-12, atol=0), total
        assert expected[0, 0] == pytest.approx(max_lr / 25) and expected[0, 1] == pytest.approx(0.95)
        peak = int(np.argmax(expected[:, 0]))
        assert expected[peak, 0] == pytest.approx(max_lr, rel=0.01) and expected[peak, 1] == pytest.approx(
            0.85, rel=0.01
        )
        assert expected[-1, 0] < max_lr / 25 / 1e4 * 1.01 and expected[-1, 1] > 0.949  # annealed, beta1 back up


@pytest.mark.parametrize(("pooling", "activation"), SWITCHES)
def test_one_training_step_is_pytorchs(page, pooling, activation):
    """From the same weights, on the same batch of 32 MNIST images, at the schedule's first rate:
    the same loss, gradients and updated weights as PyTorch (within 1e-4; measured far closer)."""
    data = subset()
    rng = np.random.default_rng(len(pooling) * 7 + len(activation))
    chosen = rng.choice(len(data["train_labels"]), 32, replace=False)
    images, labels = data["train_images"][chosen], data["train_labels"][chosen]
    model = new_lenet(pooling, activation, seed=3)
    before = browser_weights(model)
    loss, grads = torch_step(model, images, labels, lr=5e-3, total_steps=626)
    after, _ = read_web_weights(browser_weights(model))

    js = page.evaluate(
        """([weights, images, labels]) => {
            UNPACK
            const model = LeNetTraining.modelFromWeights(weights);
            const trainer = LeNetTraining.createTrainer(model, 32);
            const {lr, beta1} = LeNetTraining.oneCycle(5e-3, 626)(0);
            const indices = Int32Array.from({length: 32}, (_, i) => i);
            const step = trainer.trainStep(unpack(images), unpack(labels), indices, lr, beta1);
            const grads = Object.fromEntries(model.parameters.map((p) => [p.name, Array.from(p.grad)]));
            return {loss: step.loss, correct: step.correct, grads, weights: LeNetTraining.webWeights(model)};
        }""".replace("UNPACK", UNPACK),
        [before, packed(images), packed(labels)],
    )
    assert abs(js["loss"] - loss) <= 1e-4, (js["loss"], loss)
    assert js["weights"]["pooling"] == pooling and js["weights"]["activation"] == activation
    worst_grad, worst_weight = 0.0, 0.0
    for name, grad in grads.items():
        js_grad = np.array(js["grads"][name]).reshape(grad.shape)
        worst_grad = max(worst_grad, float(np.abs(js_grad - grad).max()))
        js_after = floats_of(js["weights"]["tensors"][name]["data"]).reshape(grad.shape)
        assert js["weights"]["tensors"][name]["shape"] == list(grad.shape)
        worst_weight = max(worst_weight, float(np.abs(js_after - after[name].numpy()).max()))
        moved = np.abs(after[name].numpy() - floats_of(before["tensors"][name]["data"]).reshape(grad.shape)).max()
        assert 1e-4 < moved <= 2.1e-4, (name, moved)  # Adam's first step moves weights by about lr = 5e-3 / 25
    assert worst_grad <= 1e-4 and worst_weight <= 1e-4, (worst_grad, worst_weight)
    print(
        f"\n{pooling}/{activation}: loss {loss:.6f} (diff {abs(js['loss'] - loss):.1e}), "
        f"gradients max diff {worst_grad:.1e}, weights max diff {worst_weight:.1e}"
    )


# --- the Web Worker, served as the app serves it (a static file) ------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def static_url():
    """The checkout served over HTTP on a free port (a Worker needs a same-origin script URL)."""
    handler = functools.partial(QuietHandler, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


RUN_IN_WORKER = """async ([worker, scripts, settings, data, stopAfter]) => {
    UNPACK
    const events = [];
    const w = new Worker(worker);
    const finished = new Promise((resolve) => {
        w.onmessage = (event) => {
            const message = event.data;
            if (message.type === "finished" || message.type === "failed") resolve(message);
            else if (message.type !== "loaded") {
                events.push({type: message.type, epoch: message.epoch, done: message.done,
                             kernels: message.conv1Kernels ? Array.from(message.conv1Kernels) : null,
                             history: message.history || null});
                if (message.type === "progress" && events.filter((e) => e.type === "progress").length === stopAfter) {
                    w.postMessage({type: "stop"});
                }
            }
        };
    });
    w.postMessage({type: "load", scripts});
    const arrays = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, unpack(v)]));
    w.postMessage({type: "train", settings, data: arrays});
    const end = await finished;
    w.terminate();
    return {events, end};
}""".replace("UNPACK", UNPACK)


def worker_data(train: int, test: int) -> dict[str, str]:
    data = subset()
    return {
        "trainImages": packed(data["train_images"][:train]),
        "trainLabels": packed(data["train_labels"][:train]),
        "testImages": packed(data["test_images"][:test]),
        "testLabels": packed(data["test_labels"][:test]),
    }


def first_test_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    data = subset()
    return data["test_images"][:count], data["test_labels"][:count]


def test_the_worker_trains_reports_and_hands_back_its_weights(page, static_url):
    page.goto(f"{static_url}/ui/static/lenet/")
    scripts = [f"{static_url}/{path.relative_to(ROOT)}" for path in TRAINING_SCRIPTS]
    settings = {"pooling": "max", "activation": "tanh", "epochs": 2, "trainImages": 2000}
    run = page.evaluate(
        RUN_IN_WORKER,
        [f"{static_url}/{TRAINING_WORKER.relative_to(ROOT)}", scripts, settings, worker_data(2000, 500), -1],
    )
    assert run["end"]["type"] == "finished", run["end"]
    result, events = run["end"]["result"], run["events"]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "started" and kinds.count("epoch") == 2 and kinds.count("progress") >= 2 * 19
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [row["epoch"] for row in epochs[-1]["history"]] == [1, 2]
    assert epochs[0]["kernels"] != epochs[1]["kernels"] != events[0]["kernels"]  # conv1 learns, epoch by epoch
    assert len(events[0]["kernels"]) == 6 * 25
    assert result["stopped"] is False and result["imagesSeen"] == 4000 and result["epochsDone"] == 2
    assert result["testAccuracy"] == epochs[-1]["history"][-1]["test_acc"] > 0.85  # 2,000 images, 2 epochs
    assert result["weights"]["pooling"] == "max" and result["weights"]["activation"] == "tanh"
    assert pytorch_accuracy(result["weights"], *first_test_images(500)) == pytest.approx(
        result["testAccuracy"], abs=0.002
    )


def test_stop_ends_the_run_and_keeps_what_was_learned(page, static_url):
    page.goto(f"{static_url}/ui/static/lenet/")
    scripts = [f"{static_url}/{path.relative_to(ROOT)}" for path in TRAINING_SCRIPTS]
    settings = {"epochs": 3, "trainImages": 2000}
    run = page.evaluate(
        RUN_IN_WORKER,
        [f"{static_url}/{TRAINING_WORKER.relative_to(ROOT)}", scripts, settings, worker_data(2000, 500), 5],
    )
    result = run["end"]["result"]
    # stop asked after the 5th report (every 3 batches of 32): the run ends a group or two later
    assert result["stopped"] is True and 5 * 96 <= result["imagesSeen"] <= 8 * 96, result["imagesSeen"]
    assert result["history"] == []  # the history keeps complete epochs only
    assert result["testAccuracy"] > 0.15  # some hundreds of images at a warming-up rate (random: about 10%)
    assert pytorch_accuracy(result["weights"], *first_test_images(500)) == pytest.approx(
        result["testAccuracy"], abs=0.002
    )


# --- the images, one static file ----------------------------------------------------------------


def test_the_images_file_is_the_shipped_subset_in_a_stratified_order():
    """assets/web/mnist_subset.bin.gz holds every image of assets/mnist_subset.npz, a few MB; its
    training images come in an order whose every prefix keeps the classes' shares, and whose first
    10,000 are the very images the server's default run chooses."""
    blob = WEB_DATA_FILE.read_bytes()
    assert 2e6 < len(blob) < 5e6  # 17 MB of pixels, gzipped
    web, shipped = read_web_data(blob), subset()
    order = training_order(shipped["train_labels"])
    assert sorted(order.tolist()) == list(range(20_000))
    for key in ("train_images", "train_labels"):
        assert np.array_equal(web[key], shipped[key][order]), key
    for key in ("test_images", "test_labels"):
        assert np.array_equal(web[key], shipped[key]), key
    assert LeNetSettings().train_images == DEFAULT_TRAIN_IMAGES
    server_choice = stratified_choice(shipped["train_labels"], DEFAULT_TRAIN_IMAGES, LeNetSettings().seed)
    assert np.array_equal(np.sort(order[:DEFAULT_TRAIN_IMAGES]), server_choice)
    shares = np.bincount(shipped["train_labels"], minlength=10) / 20_000
    for count in (10, 100, 1_000, 2_500, 9_999, 10_000, 14_321, 20_000):
        counts = np.bincount(web["train_labels"][:count], minlength=10)
        assert np.abs(counts - count * shares).max() <= 1.5, count  # MNIST's proportions, within an image
    assert web_data_bytes() == blob, "stale: run python -m nets.data.mnist_web"


def test_the_page_reads_the_images_file_served_as_a_static_file(page, static_url):
    """LeNetTrainingData.load fetches the file over HTTP, unzips it and finds the same images."""
    page.goto(f"{static_url}/ui/static/lenet/")
    for script in (*TRAINING_SCRIPTS, TRAINING_DATA_SCRIPT):
        page.add_script_tag(url=f"{static_url}/{script.relative_to(ROOT)}")
    js = page.evaluate(
        """async (url) => {
            const data = await LeNetTrainingData.load(url);
            const sum = (a) => a.reduce((s, v) => s + v, 0);
            return Object.fromEntries(Object.entries(data).map(([k, v]) =>
                [k, {length: v.length, sum: sum(v), first: Array.from(v.subarray(0, 784))}]));
        }""",
        f"{static_url}/{WEB_DATA_FILE.relative_to(ROOT)}",
    )
    web = read_web_data(WEB_DATA_FILE.read_bytes())
    for name, key in [
        ("trainImages", "train_images"),
        ("trainLabels", "train_labels"),
        ("testImages", "test_images"),
        ("testLabels", "test_labels"),
    ]:
        array = web[key].ravel()
        assert js[name]["length"] == array.size and js[name]["sum"] == int(array.sum(dtype=np.int64)), name
        assert js[name]["first"] == array[:784].tolist(), name
