"""Which engine trains the train tab's LeNet in the browser: the hand-written one or TensorFlow.js, by figures.

    python -m bench.engine_choice                  # the run's first 80 steps, two rounds (minutes)
    python -m bench.engine_choice --full --runs 1  # the whole default run on every engine (11 minutes here)

Issue 20 asked for a hand-written engine or an existing one, chosen by measured speed, size and
parity. This trains the tab's default run (average pooling, ReLU, batch 32, Adam with PyTorch's
OneCycleLR, 2 epochs on the first 10,000 images of ``assets/web/mnist_subset.bin.gz``, the 2,000
test images after each epoch) from the same initial weights (PyTorch's ``new_lenet``, seed 0), in
the same image order, with:

- **hand-written**: ``ui/static/lenet/training.js``, what the app ships;
- **tfjs-cpu**: TensorFlow.js's plain-JavaScript backend (``bench/engine_choice.js``: the same
  model with TF.js's ops and gradients, Adam in TF.js ops, the one-cycle rate and beta1 of each step);
- **tfjs-wasm**: the same on TF.js's WebAssembly backend (SIMD; single-threaded, as its threads
  need a cross-origin-isolated page, which the app's is not). It has no kernel for conv2d's weight
  gradient, so its convolutions are written as 3D ones over a depth of 1 (the same sums);
- **tfjs-webgl**: the same on TF.js's WebGL backend. This headless Chromium has no GPU: its WebGL is
  SwiftShader, a GPU emulated on the CPU, so the figure says nothing of a visitor's real GPU.

TF.js comes from the npm registry (``npm pack``, the version pinned below) into
``~/.cache/cnn-lab-bench/`` (``CNN_LAB_BENCH_CACHE`` to move it): the app does not ship it; a
failed download stops the bench with npm's message. All engines run in one blank page of headless
Chromium (its main thread, not the tab's Worker), round after round in turns (the order rotating),
so the machine's load weighs on each alike.

By default each engine trains the run's first ``--steps`` steps (the schedule still the whole
run's) and tests once, and the whole run's time is estimated from those rates; TF.js's cpu
backend would need many minutes for the whole run, ``--full`` trains it all.

Printed: each engine's download (the gzip size of the scripts and WebAssembly the page fetches),
its training and test images a second, the default run's seconds (tests included, as
``bench.browser_training`` counts them), its test accuracy (re-scored by PyTorch from the
engine's weights: a wrong figure stops the bench), one training step against PyTorch from the
same weights on the same batch of 32 (max abs difference of the loss, the gradients and the
updated weights) and, without ``--full``, the weights after the steps trained against PyTorch's
after the same steps.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from harness.browser import CHROMIUM_ARGS, page_with_scripts
from harness.lenet_reference import pytorch_accuracy, torch_step
from nets.data.mnist_web import WEB_DATA_FILE, read_web_data
from nets.models.lenet import read_web_weights
from nets.training.visitor_lenet import WARMUP, browser_weights, new_lenet, normalization, to_input, training_facts
from ui.static import TRAINING_DATA_SCRIPT, TRAINING_SCRIPTS, TRAINING_WORKER

TFJS_VERSION = "4.22.0"  # npm's latest when measured; every TF.js package below at this version
CACHE = Path(os.environ.get("CNN_LAB_BENCH_CACHE", Path.home() / ".cache" / "cnn-lab-bench"))
TFJS_FILES = {  # npm package -> the files of its tarball the bench uses
    # the one-file bundle (core, every op's gradient, the cpu and webgl backends, layers): only
    # this bundle registers the gradients, so it is the smallest TF.js that trains without a build step
    "@tensorflow/tfjs": ["dist/tf.es2017.min.js"],
    # size only: core and its cpu backend, without gradients (a floor for any custom TF.js build)
    "@tensorflow/tfjs-core": ["dist/tf-core.es2017.min.js"],
    "@tensorflow/tfjs-backend-cpu": ["dist/tf-backend-cpu.es2017.min.js"],
    "@tensorflow/tfjs-backend-wasm": [
        "dist/tf-backend-wasm.es2017.min.js",
        # the backend fetches one of these, as the browser allows: SIMD here; threads need isolation
        "dist/tfjs-backend-wasm.wasm",
        "dist/tfjs-backend-wasm-simd.wasm",
        "dist/tfjs-backend-wasm-threaded-simd.wasm",
    ],
}
ENGINES = ("hand-written", "tfjs-cpu", "tfjs-wasm", "tfjs-webgl")
BENCH_JS = Path(__file__).with_name("engine_choice.js")
ORIGIN = "http://engine-choice.bench"  # the page fetches the images and TF.js's .wasm from here (routed)
WEBGL_RENDERER = """() => {
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
  if (!gl) return null;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
}"""


# --- TF.js from the npm registry, cached ---------------------------------------------------------


def npm_files(package: str, files: list[str], version: str = TFJS_VERSION) -> dict[str, Path]:
    """``files`` of npm's ``package@version`` tarball, from the cache or fetched with ``npm pack``.

    Raises ``RuntimeError`` with npm's own message when the download fails, and when a file is not
    in the tarball or is empty: never a quiet zero.
    """
    folder = CACHE / f"{package.replace('/', '+')}@{version}"
    paths = {name: folder / name for name in files}
    if all(path.is_file() and path.stat().st_size > 0 for path in paths.values()):
        return paths
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: it fetches TF.js for this bench (apt-get install -y npm)")
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [npm, "pack", f"{package}@{version}", "--pack-destination", scratch, "--loglevel=error"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        tarballs = list(Path(scratch).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            raise RuntimeError(
                f"npm pack {package}@{version} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
            )
        with tarfile.open(tarballs[0]) as tarball:
            for name, path in paths.items():
                try:
                    member = tarball.extractfile(f"package/{name}")
                except KeyError:
                    member = None
                if member is None:
                    raise RuntimeError(f"{package}@{version} has no {name}")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(member.read())
    for name, path in paths.items():
        if path.stat().st_size == 0:
            raise RuntimeError(f"{package}@{version}'s {name} is empty")
    return paths


def gzip_bytes(paths: list[Path]) -> int:
    """What the files weigh gzipped (level 9, as Starlette's GZipMiddleware), each on its own."""
    return sum(len(gzip.compress(path.read_bytes(), compresslevel=9)) for path in paths)


# --- PyTorch's reference step ---------------------------------------------------------------------


def first_rate(lr: float, total_steps: int) -> tuple[float, float]:
    """OneCycleLR's learning rate and Adam's beta1 for the first step."""
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=lr)
    torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps, pct_start=WARMUP)
    group = optimizer.param_groups[0]
    return group["lr"], group["betas"][0]


def packed(array: np.ndarray) -> list[int]:
    return np.ascontiguousarray(array).ravel().tolist()


# --- the page -------------------------------------------------------------------------------------


def open_page(browser, tfjs: dict[str, Path]):
    """A blank page with the hand-written trainer, TF.js (core, cpu, wasm) and EngineChoice; the
    images and TF.js's .wasm served from ``ORIGIN``. ``page.fetched`` names what it fetched there."""
    served = {WEB_DATA_FILE.name: WEB_DATA_FILE} | {path.name: path for path in tfjs.values()}
    scripts = [
        *TRAINING_SCRIPTS,
        TRAINING_DATA_SCRIPT,
        tfjs["dist/tf.es2017.min.js"],
        tfjs["dist/tf-backend-wasm.es2017.min.js"],
        BENCH_JS,
    ]
    page = page_with_scripts(browser, scripts)
    page.fetched = []

    def serve(route) -> None:
        name = route.request.url.rsplit("/", 1)[-1]
        if name not in served:
            route.fulfill(status=404, body="not served")
            return
        page.fetched.append(name)
        kind = "application/wasm" if name.endswith(".wasm") else "application/octet-stream"
        route.fulfill(path=served[name], headers={"Content-Type": kind, "Access-Control-Allow-Origin": "*"})

    page.route(f"{ORIGIN}/**", serve)
    page.evaluate("(origin) => { tf.enableProdMode(); tf.wasm.setWasmPaths(origin + '/'); }", ORIGIN)
    return page


def torch_slice(start: dict, data: dict, order: list[int], settings: dict, steps: int) -> dict[str, np.ndarray]:
    """PyTorch's weights after the run's first ``steps`` steps, from ``start``, in the page's order."""
    state_dict, meta = read_web_weights(start)
    model = new_lenet(meta["pooling"], meta["activation"], seed=0)
    model.load_state_dict(state_dict)
    batch, total = settings["batchSize"], settings["epochs"] * -(-settings["trainImages"] // settings["batchSize"])
    mean, std = normalization()
    optimizer = torch.optim.Adam(model.parameters(), lr=settings["lr"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=settings["lr"], total_steps=total, pct_start=WARMUP
    )
    for step in range(steps):
        index = np.asarray(order[step * batch : (step + 1) * batch])
        logits = model(to_input(torch.from_numpy(data["train_images"][index]), mean, std))  # (B, 10)
        loss = F.cross_entropy(logits, torch.from_numpy(data["train_labels"][index]).long())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return {name: tensor.detach().numpy().copy() for name, tensor in model.state_dict().items()}


def weight_difference(web: dict, reference: dict[str, np.ndarray]) -> float:
    """Max abs difference between web weights and a state_dict of arrays."""
    state_dict, _ = read_web_weights(web)
    return max(float(np.abs(state_dict[name].numpy() - array).max()) for name, array in reference.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="rounds; each runs every engine once, in turns")
    parser.add_argument("--steps", type=int, default=80, help="the run's first steps each engine trains")
    parser.add_argument("--full", action="store_true", help="the whole default run (TF.js's cpu: many minutes)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tfjs = {name: path for package, files in TFJS_FILES.items() for name, path in npm_files(package, files).items()}
    defaults = training_facts()["defaults"]
    settings = {
        "epochs": defaults["epochs"],
        "trainImages": defaults["train_images"],
        "batchSize": defaults["batch_size"],
        "lr": defaults["lr"],
        "seed": defaults["seed"],
    }
    steps_per_epoch = -(-settings["trainImages"] // settings["batchSize"])
    if not 1 <= args.steps <= steps_per_epoch:
        parser.error(f"--steps must be within the first epoch: 1 to {steps_per_epoch}")
    steps = None if args.full else args.steps
    start = browser_weights(new_lenet(defaults["pooling"], defaults["activation"], seed=defaults["seed"]))
    data = {key: array.copy() for key, array in read_web_data(WEB_DATA_FILE.read_bytes()).items()}  # writable

    # one step against PyTorch: the run's start, a batch of 32 of its images, the schedule's first rate
    chosen = np.random.default_rng(0).choice(settings["trainImages"], settings["batchSize"], replace=False)
    images, labels = data["train_images"][chosen], data["train_labels"][chosen]
    lr, beta1 = first_rate(settings["lr"], settings["epochs"] * steps_per_epoch)
    reference = new_lenet(defaults["pooling"], defaults["activation"], seed=defaults["seed"])
    loss, grads = torch_step(reference, images, labels, settings["lr"], settings["epochs"] * steps_per_epoch)
    after = {name: tensor.numpy() for name, tensor in reference.state_dict().items()}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = open_page(browser, tfjs)
        renderer = page.evaluate(WEBGL_RENDERER)
        page.evaluate(
            "async (url) => { window.benchData = await LeNetTrainingData.load(url); }", f"{ORIGIN}/{WEB_DATA_FILE.name}"
        )
        order = page.evaluate("([count, seed]) => EngineChoice.firstOrder(count, seed)", [settings["trainImages"], 0])
        sliced = None if steps is None else torch_slice(start, data, order, settings, steps)
        parity: dict[str, tuple[float, float, float]] = {}
        engines: list[str] = []
        for engine in args.engines:
            try:
                js = page.evaluate(
                    "([engine, web, images, labels, lr, beta1]) => EngineChoice.oneStep(engine, web, "
                    "Uint8Array.from(images), Uint8Array.from(labels), lr, beta1)",
                    [engine, start, packed(images), packed(labels), lr, beta1],
                )
            except Exception as error:  # a backend that does not start (or lacks a kernel) is reported, not hidden
                print(f"({engine} could not train here: {str(error).splitlines()[0]})")
                continue
            parity[engine] = (
                abs(js["loss"] - loss),
                max(float(np.abs(np.array(js["gradients"][n]).reshape(g.shape) - g).max()) for n, g in grads.items()),
                weight_difference(js["weights"], after),
            )
            engines.append(engine)
        if not engines:
            raise RuntimeError("no engine could train")

        runs: dict[str, list[dict]] = {engine: [] for engine in engines}
        for round_ in range(args.runs):
            for engine in engines[round_ % len(engines) :] + engines[: round_ % len(engines)]:  # turns rotate
                run = page.evaluate(
                    "([e, web, settings, steps]) => EngineChoice.run(e, web, window.benchData, settings, steps)",
                    [engine, start, settings, steps],
                )
                scored = pytorch_accuracy(run["weights"], data["test_images"], data["test_labels"])
                if abs(scored - run["testAccuracy"]) > 0.001:
                    raise RuntimeError(
                        f"{engine} says {run['testAccuracy']:.2%}, PyTorch scores its weights {scored:.2%}"
                    )
                run["drift"] = None if sliced is None else weight_difference(run["weights"], sliced)
                runs[engine].append(run)
                print(
                    f"({engine}: {run['trained']:,} images trained in {run['trainSeconds']:.1f} s, "
                    f"{run['tested']:,} tested in {run['testSeconds']:.1f} s, {run['testAccuracy']:.2%})",
                    flush=True,
                )
        fetched = list(page.fetched)
        assert page.errors == [], page.errors
        browser.close()

    report(engines, runs, parity, tfjs, fetched, renderer, settings, steps, args.runs, len(data["test_labels"]))


def report(engines, runs, parity, tfjs, fetched, renderer, settings, steps, rounds, test_images) -> None:
    """The table the README quotes."""
    bundle = tfjs["dist/tf.es2017.min.js"]
    wasm = [path for path in tfjs.values() if path.suffix == ".wasm" and path.name in fetched]
    sizes = {
        "hand-written": gzip_bytes([*TRAINING_SCRIPTS, TRAINING_WORKER]),
        "tfjs-cpu": gzip_bytes([bundle]),
        "tfjs-webgl": gzip_bytes([bundle]),
        "tfjs-wasm": gzip_bytes([bundle, tfjs["dist/tf-backend-wasm.es2017.min.js"], *wasm]),
    }
    epochs, count = settings["epochs"], settings["trainImages"]
    whole = (
        f"{epochs} epochs x {count:,} images, batch {settings['batchSize']}, {test_images:,} tested after each epoch"
    )
    if steps is None:
        print(f"\nThe default run ({whole}), median of {rounds} interleaved round(s); TF.js {TFJS_VERSION}:\n")
    else:
        print(
            f"\nThe default run's first {steps} steps ({steps * settings['batchSize']:,} images) and one test of "
            f"{test_images:,}, median of {rounds} interleaved round(s); the whole run ({whole}) estimated from "
            f"these rates; TF.js {TFJS_VERSION}:\n"
        )
    after = "test accuracy" + ("" if steps is None else f" after {steps} steps")
    drift = "" if steps is None else f" | after {steps} steps vs PyTorch: weights"
    print(
        f"| engine | download (gzip) | training images/s | test images/s | default run | {after} "
        f"| one step vs PyTorch: loss, gradients, weights{drift} |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |" + (" ---: |" if steps is not None else ""))
    for engine in engines:
        train_rate = statistics.median(run["trained"] / run["trainSeconds"] for run in runs[engine])
        test_rate = statistics.median(run["tested"] / run["testSeconds"] for run in runs[engine])
        seconds = epochs * count / train_rate + epochs * test_images / test_rate
        accuracy = ", ".join(f"{run['testAccuracy']:.2%}" for run in runs[engine])
        loss_diff, grad_diff, weight_diff = parity[engine]
        line = (
            f"| {engine} | {sizes[engine] / 1e3:,.0f} KB | {train_rate:,.0f} | {test_rate:,.0f} | "
            f"{'' if steps is None else '~'}{seconds:.0f} s | {accuracy} "
            f"| {loss_diff:.0e}, {grad_diff:.0e}, {weight_diff:.0e} |"
        )
        if steps is not None:
            line += f" {max(run['drift'] for run in runs[engine]):.0e} |"
        print(line)
    floor = gzip_bytes([tfjs["dist/tf-core.es2017.min.js"], tfjs["dist/tf-backend-cpu.es2017.min.js"]])
    print(
        f"\n(TF.js's core and cpu backend alone, without the gradients a custom build would add back: "
        f"{floor / 1e3:,.0f} KB gzipped)"
    )
    print(f"(the .wasm the page fetched: {', '.join(path.name for path in wasm) or 'none'})")
    print(f"(WebGL here: {renderer or 'none'})")


if __name__ == "__main__":
    main()
