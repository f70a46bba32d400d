"""LeNet learns in the browser as it learns on the server: ``ui/static/lenet/training.js`` against
``nets/training/visitor_lenet.py``'s PyTorch training, in Chromium.

The trainer's numbers are Python's (``assets/web/lenet_training_facts.js`` is what ``nets/`` says
now); and the Web Worker trains, reports, stops when asked and
hands back weights that PyTorch reads and scores as the page did.
"""

from __future__ import annotations

import base64
import functools
import http.server
import threading

import numpy as np
import pytest
import torch

from nets.data.mnist import SUBSET_FILE
from nets.models.lenet import ACTIVATIONS, POOLINGS, read_web_weights
from nets.paths import ROOT
from nets.training.visitor_lenet import (
    TRAINING_FACTS_FILE,
    WARMUP,
    LeNetSettings,
    new_lenet,
    normalization,
    to_input,
    training_facts,
    training_facts_script,
)
from ui.static import TRAINING_SCRIPTS, TRAINING_WORKER

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
    page = browser.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_content("<html><body></body></html>")
    for script in TRAINING_SCRIPTS:
        page.add_script_tag(content=script.read_text())
    yield page
    assert page.errors == []
    page.close()


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


def pytorch_accuracy(weights: dict, test: int) -> float:
    """The page's weights read by Python (read_web_weights) and scored by PyTorch on the test images."""
    state_dict, meta = read_web_weights(weights)
    model = new_lenet(meta["pooling"], meta["activation"], seed=0)
    model.load_state_dict(state_dict)
    model.eval()
    data = subset()
    with torch.inference_mode():
        logits = model(to_input(torch.from_numpy(data["test_images"][:test]), meta["mean"], meta["std"]))
    return float((logits.argmax(1).numpy() == data["test_labels"][:test]).mean())


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
    assert pytorch_accuracy(result["weights"], 500) == pytest.approx(result["testAccuracy"], abs=0.002)


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
    assert pytorch_accuracy(result["weights"], 500) == pytest.approx(result["testAccuracy"], abs=0.002)
