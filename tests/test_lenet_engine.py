"""One model, two engines, one answer: LeNet in the browser (``ui/static/lenet/``) reads a drawing
exactly as the Python on the server does, with the numbers the Python defines.

The engine's numbers and names are Python's, shipped in ``assets/web/lenet_engine_facts.js``; a test
checks that file is what ``nets/`` says now. The engine runs in Chromium on a blank page. Drawings
go in as the stroke layer's alpha (what the browser's canvas holds), and each answer is checked
against the Python reference: the same 28x28 image (within 1 of 255), the same "no digit" decisions,
the same probabilities (within 1e-3), the same three lesson images, the same explained convolutions
(within 1e-4), and the same forward pass as torch for the other LeNets a visitor may train (max
pooling, sigmoid, tanh).
"""

from __future__ import annotations

import base64
import json
import statistics

import numpy as np
import pytest
import torch
from PIL import Image

from harness.browser import page_with_scripts
from harness.digit_drawings import Drawing, random_drawing, render
from nets.data import sketch
from nets.data.sketch import centre_in_field, sketch_ways
from nets.explaining import convolution
from nets.explaining.convolution import ConvolutionError, explain_convolution, layer_outputs
from nets.explaining.digits import DigitReader
from nets.models.lenet import (
    ACTIVATIONS,
    ENGINE_FACTS_FILE,
    POOLINGS,
    WEB_FORMAT,
    WEB_WEIGHTS_FILE,
    LeNet,
    engine_facts,
    engine_facts_script,
    lenet,
    mnist_web_weights,
    mnist_weights,
    read_web_weights,
    web_weights,
)
from ui.static import ENGINE_SCRIPTS, browser_code

# --- the web weights format (Python only) --------------------------------------------------


def test_web_weights_round_trip_exactly():
    torch.manual_seed(0)
    model = LeNet(in_channels=1, pooling="max", activation="tanh")
    web = web_weights(model.state_dict(), mean=0.1, std=0.3, pooling="max", activation="tanh")
    web = json.loads(json.dumps(web))  # JSON-able, and unchanged by the trip
    assert web["format"] == WEB_FORMAT
    assert {k: web[k] for k in ("mean", "std", "input_size", "pooling", "activation")} == {
        "mean": 0.1,
        "std": 0.3,
        "input_size": 32,
        "pooling": "max",
        "activation": "tanh",
    }
    assert web["categories"] == [str(d) for d in range(10)]
    state_dict, meta = read_web_weights(web)
    assert (
        list(state_dict)
        == list(model.state_dict())
        == [
            "features.0.weight",
            "features.0.bias",
            "features.3.weight",
            "features.3.bias",
            "classifier.0.weight",
            "classifier.0.bias",
            "classifier.2.weight",
            "classifier.2.bias",
            "classifier.4.weight",
            "classifier.4.bias",
        ]
    )
    for name, tensor in model.state_dict().items():
        assert web["tensors"][name]["shape"] == list(tensor.shape)
        assert torch.equal(state_dict[name], tensor), name  # bit for bit
    assert "tensors" not in meta and meta["pooling"] == "max"


def test_the_served_weights_file_is_the_shipped_model():
    """assets/web/lenet_mnist.json is what python -m nets.models.lenet writes from assets/lenet_mnist.pth."""
    on_disk = json.loads(WEB_WEIGHTS_FILE.read_text())
    assert on_disk == mnist_web_weights()
    state_dict, meta = read_web_weights(on_disk)
    shipped = mnist_weights()
    for name, tensor in shipped.get_state_dict().items():
        assert torch.equal(state_dict[name], tensor), name
    assert (meta["mean"], meta["std"], meta["input_size"]) == (shipped.mean, shipped.std, shipped.input_size)
    assert (meta["pooling"], meta["activation"]) == ("avg", "relu")


def test_the_engine_facts_file_holds_pythons_numbers(monkeypatch):
    """assets/web/lenet_engine_facts.js is what python -m nets.models.lenet writes from nets/ today:
    change a threshold, the box or a way's name in Python, and the file no longer agrees."""
    text = ENGINE_FACTS_FILE.read_text()
    assert text == engine_facts_script(engine_facts()), "stale: run python -m nets.models.lenet"
    shipped = json.loads(text.split("const LeNetFacts = ", 1)[1].rstrip().removesuffix(";"))
    assert (shipped["format"], shipped["poolings"], shipped["activations"]) == (WEB_FORMAT, [*POOLINGS], [*ACTIVATIONS])
    assert shipped["sketch"]["ways"] == list(sketch.WAYS) == ["squeezed", "cropped_not_centred", "mnist_style"]
    assert (shipped["sketch"]["box"], shipped["sketch"]["field"]) == (sketch.BOX, sketch.FIELD) == (20, 28)
    numbers = ("WORK_SIZE", "INK_THRESHOLD", "SPECK_FRACTION", "MIN_DIGIT_EXTENT", "MIN_CONTRAST", "BOX", "FIELD")
    assert {key: shipped["sketch"][key.lower()] for key in numbers} == {key: getattr(sketch, key) for key in numbers}
    for key in numbers:  # each is read from sketch.py when the file is written, not copied
        with monkeypatch.context() as changed:
            changed.setattr(sketch, key, getattr(sketch, key) * 2)
            assert engine_facts()["sketch"][key.lower()] == 2 * shipped["sketch"][key.lower()], key
            assert engine_facts_script(engine_facts()) != text, key
    with monkeypatch.context() as changed:
        changed.setattr(sketch, "WAYS", ("squeezed", "mnist_style"))
        assert engine_facts_script(engine_facts()) != text


def test_lenet_variants_keep_the_names_and_the_defaults():
    default = LeNet(in_channels=1)
    assert (default.pooling, default.activation) == ("avg", "relu")
    for pooling in ("avg", "max"):
        for activation in ("relu", "sigmoid", "tanh"):
            variant = lenet(in_channels=1, pooling=pooling, activation=activation)
            assert {k: v.shape for k, v in variant.state_dict().items()} == {
                k: v.shape for k, v in default.state_dict().items()
            }
            kinds = [type(m).__name__ for m in variant.features]
            assert kinds[2] == kinds[5] == {"avg": "AvgPool2d", "max": "MaxPool2d"}[pooling]
            assert kinds[1] == kinds[4] == {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}[activation]
    with pytest.raises(ValueError, match="pooling"):
        LeNet(pooling="min")
    with pytest.raises(ValueError, match="activation"):
        LeNet(activation="gelu")


# --- the engine in Chromium ------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(browser):
    """A blank page with the engine's scripts loaded in order and the shipped model parsed into ``window.model``."""
    page = page_with_scripts(browser, ENGINE_SCRIPTS)
    page.evaluate("json => { window.model = LeNetEngine.parseWeights(json); }", WEB_WEIGHTS_FILE.read_text())
    yield page
    assert page.errors == []
    page.close()


@pytest.fixture(scope="module")
def reader() -> DigitReader:
    return DigitReader()


def alpha_of(drawing: Drawing) -> np.ndarray:
    """The stroke layer's alpha of a drawing: ink 255, paper 0, anti-aliased."""
    return 255 - np.asarray(render(drawing, ink=0, paper=255))


def stroke_layer(alpha: np.ndarray) -> dict:
    """The Sketchpad value the browser sends with that alpha (Python reads the layer's alpha)."""
    return {"background": None, "layers": [np.dstack([np.zeros_like(alpha)] * 3 + [alpha])], "composite": None}


def shifted(drawing: Drawing, dx: float, dy: float) -> Drawing:
    strokes = [[(x + dx, y + dy) for x, y in stroke] for stroke in drawing.strokes]
    return Drawing(drawing.label, strokes, drawing.width, drawing.canvas)


def parity_drawings() -> dict[str, np.ndarray]:
    """Hand-drawn-style digits of every size, place, stroke and canvas shape, and the edge cases."""
    rng = np.random.default_rng(2024)
    canvases = [(400, 400), (600, 400), (300, 500), (280, 280), (150, 150), (123, 321), (161, 97), (512, 512)]
    drawings = {}
    for i in range(32):
        canvas = canvases[i % len(canvases)]
        drawing = random_drawing(i % 10, rng, canvas=canvas, size=(0.12, 0.9), width=(0.04, 0.2))
        drawings[f"digit {i % 10} on {canvas[0]}x{canvas[1]} #{i}"] = alpha_of(drawing)

    blank = np.zeros((400, 400), np.uint8)
    drawings["blank"] = blank
    dot = blank.copy()
    dot[196:210, 196:210] = 255  # one click with the brush
    drawings["a dot"] = dot
    speck = blank.copy()
    speck[20:23, 380:383] = 200
    drawings["a speck"] = speck
    drawings["faint noise"] = np.random.default_rng(1).integers(0, 25, (400, 400)).astype(np.uint8)
    drawings["stronger noise"] = np.random.default_rng(2).integers(0, 60, (300, 300)).astype(np.uint8)

    two = alpha_of(random_drawing(2, np.random.default_rng(4), size=(0.5, 0.5)))
    specked = two.copy()
    for y, x in [(10, 10), (380, 20), (15, 370), (385, 385)]:
        specked[y : y + 4, x : x + 4] = 255
    drawings["specks next to a digit"] = specked
    blob = two.copy()
    blob[350:380, 30:60] = 255  # a blob too big to be a speck: kept with the digit
    drawings["a blob next to a digit"] = blob
    seven = random_drawing(7, np.random.default_rng(5), size=(0.6, 0.6))
    drawings["touching the left and top edges"] = alpha_of(
        shifted(seven, -min(x for s in seven.strokes for x, _ in s), -min(y for s in seven.strokes for _, y in s))
    )
    drawings["very thin (2 px on 400)"] = alpha_of(random_drawing(4, np.random.default_rng(6), width=(0.001, 0.001)))
    drawings["faint ink (alpha <= 50)"] = (alpha_of(random_drawing(5, np.random.default_rng(7))) * 0.2).astype(np.uint8)
    drawings["too faint (alpha <= 25)"] = (alpha_of(random_drawing(6, np.random.default_rng(8))) * 0.1).astype(np.uint8)
    drawings["two digits"] = np.maximum(
        alpha_of(random_drawing(1, np.random.default_rng(9), size=(0.4, 0.4))),
        alpha_of(random_drawing(8, np.random.default_rng(10), size=(0.4, 0.4))),
    )
    mnist_like = random_drawing(9, np.random.default_rng(11), canvas=(28, 28), size=(0.7, 0.7), width=(0.12, 0.12))
    drawings["28x28, MNIST-like"] = alpha_of(mnist_like)
    # Sizes that put Python's round() on a half, which goes to the even integer (not up):
    bar = np.zeros((100, 100), np.uint8)
    bar[30:70, 40:65] = 255  # 40x25: scaled to 20 x 12.5 -> 12; centred from 14 - 9.5 = 4.5 -> 4
    drawings["40x25 bar: .5 sizes and centres"] = bar
    tall = np.zeros((320, 33), np.uint8)
    tall[40:280, 8:25] = 255  # a 33x320 canvas shrinks to 16.5 -> 16 px wide
    drawings["33x320 canvas: .5 working size"] = tall
    line = np.zeros((150, 150), np.uint8)
    line[10:140, 75] = 255  # one pixel wide and 130 tall: Pillow resizes it vertically first
    drawings["a 1-pixel line"] = line
    return drawings


def packed(alpha: np.ndarray) -> str:
    """A uint8 image as base64 text, unpacked in the page by ``unpack`` below: Playwright takes
    over a second to pass a 400x400 image as a list of numbers, and milliseconds as text."""
    return base64.b64encode(np.ascontiguousarray(alpha, np.uint8).tobytes()).decode("ascii")


UNPACK = "const unpack = (text) => Uint8ClampedArray.from(atob(text), (c) => c.charCodeAt(0));"


def js_read(page, alpha: np.ndarray) -> dict | None:
    """The engine's reading and its three ways for one alpha; arrays come back as plain lists."""
    return page.evaluate(
        """([packed, width, height]) => {
            UNPACK
            const alpha = unpack(packed);
            const reading = LeNetEngine.readDrawing(alpha, width, height, window.model);
            const ways = LeNetEngine.readWays(alpha, width, height);
            if (reading === null) return {none: true, ways};
            const plain = (w) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Array.from(v)]));
            return {mnist: Array.from(reading.mnist), input: Array.from(reading.input),
                    probabilities: Array.from(reading.probabilities), top: reading.top, ways: plain(ways)};
        }""".replace("UNPACK", UNPACK),
        [packed(alpha), int(alpha.shape[1]), int(alpha.shape[0])],
    )


def test_the_engine_reads_drawings_as_python_does(page, reader):
    drawings = parity_drawings()
    assert len(drawings) >= 40
    image_diff, way_diff, input_diff, probability_diff, identical, none = 0, 0, 0.0, 0.0, 0, 0
    for name, alpha in drawings.items():
        python = reader.read(stroke_layer(alpha))
        js = js_read(page, alpha)
        assert (python is None) == ("none" in js), name
        if python is None:
            assert js["ways"] is None, name
            none += 1
            continue
        mnist = np.array(js["mnist"]).reshape(28, 28)
        diff = int(np.abs(mnist - python.digit.mnist.astype(int)).max())
        assert diff <= 1, name
        image_diff, identical = max(image_diff, diff), identical + (diff == 0)
        input_diff = max(input_diff, float(np.abs(np.array(js["input"]) - python.digit.tensor.numpy().ravel()).max()))
        p = float(np.abs(np.array(js["probabilities"]) - python.probabilities).max())
        assert p <= 1e-3, name
        probability_diff = max(probability_diff, p)
        best = np.argsort(-python.probabilities)[:3]
        assert [t["digit"] for t in js["top"]] == best.tolist() or p > 0, name
        for way, image in sketch_ways(stroke_layer(alpha)).items():
            d = int(np.abs(np.array(js["ways"][way]).reshape(28, 28) - image.astype(int)).max())
            assert d <= 1, (name, way)
            way_diff = max(way_diff, d)
    print(
        f"\nengine parity on {len(drawings)} drawings ({none} without a digit): 28x28 images identical in "
        f"{identical} of {len(drawings) - none}, max diff {image_diff}/255; lesson images max diff {way_diff}/255; "
        f"input max diff {input_diff:.2g}; probabilities max diff {probability_diff:.2g}"
    )
    assert input_diff <= 1e-5 or image_diff > 0


def floats(array: np.ndarray) -> str:
    """A float32 array as base64 text of its little-endian bytes (exact, and fast to pass)."""
    return base64.b64encode(np.ascontiguousarray(array, "<f4").tobytes()).decode("ascii")


UNPACK_FLOATS = """const unpackFloats = (text) => {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return new Float32Array(bytes.buffer);
};"""


def test_the_steps_are_pillows_and_numpys_bit_for_bit(page):
    """The steps where float32 rounding decides a threshold or a half pixel give the very same
    bits as Pillow's resampling and numpy's percentile and sums, on random images."""
    rng = np.random.default_rng(0)
    resizes, percentiles, centred = [], [], []
    for _ in range(60):
        h, w = rng.integers(1, 200, 2)
        image = (rng.random((h, w)) ** 3).astype(np.float32)
        out_w, out_h = int(rng.integers(1, 60)), int(rng.integers(1, 60))
        kind = str(rng.choice(["box", "lanczos"]))
        resample = Image.Resampling.BOX if kind == "box" else Image.Resampling.LANCZOS
        expected = np.asarray(Image.fromarray(image, mode="F").resize((out_w, out_h), resample))
        resizes.append(([floats(image), int(w), int(h), out_w, out_h, kind], expected))
    for h, w, out_w, out_h, kind in [(230, 2, 1, 23, "lanczos"), (301, 3, 2, 20, "box")]:  # Pillow's tall-image path
        image = rng.random((h, w)).astype(np.float32)
        resample = Image.Resampling.BOX if kind == "box" else Image.Resampling.LANCZOS
        expected = np.asarray(Image.fromarray(image, mode="F").resize((out_w, out_h), resample))
        resizes.append(([floats(image), w, h, out_w, out_h, kind], expected))
    for _ in range(1000):  # the interpolation between two values is rounded as numpy rounds it
        values = (rng.random(int(rng.integers(1, 300))) * rng.uniform(0.1, 1)).astype(np.float32)
        percentiles.append((floats(values), np.float32(np.percentile(values, 90))))
    for _ in range(300):  # digits symmetric up to float32 noise: centres of mass on a half pixel
        h, w = int(rng.integers(1, 11)) * 2, int(rng.integers(1, 21))
        half = rng.random((h // 2, w)).astype(np.float32)
        boxed = np.concatenate([half, half[::-1]]) * np.float32(rng.uniform(0.5, 1))
        boxed = (boxed + rng.normal(0, 1e-7, boxed.shape)).astype(np.float32).clip(0, 1)
        boxed = boxed if rng.random() < 0.5 else boxed.T.copy()
        centred.append(([floats(boxed), boxed.shape[1], boxed.shape[0]], centre_in_field(boxed)))
    js = page.evaluate(
        """([resizes, percentiles, centred]) => {
            UNPACK_FLOATS
            const steps = LeNetEngine.steps;
            const image = (data, width, height) => ({data: unpackFloats(data), width, height});
            return {
                resizes: resizes.map(([data, w, h, outW, outH, kind]) =>
                    Array.from(steps.resize(image(data, w, h), outW, outH, kind).data)),
                percentiles: percentiles.map((data) => steps.percentileLinear(unpackFloats(data), 90)),
                centred: centred.map(([data, w, h]) => Array.from(steps.centreInField(image(data, w, h)))),
            };
        }""".replace("UNPACK_FLOATS", UNPACK_FLOATS),
        [[args for args, _ in resizes], [data for data, _ in percentiles], [args for args, _ in centred]],
    )
    for (args, expected), got in zip(resizes, js["resizes"], strict=True):
        assert np.array_equal(np.array(got, np.float32), expected.ravel()), args[1:]
    for (_, expected), got in zip(percentiles, js["percentiles"], strict=True):
        assert np.float32(got) == expected
    for (_, expected), got in zip(centred, js["centred"], strict=True):
        assert np.array_equal(np.array(got), expected.ravel())


def close(a, b, tolerance: float = 1e-4) -> bool:
    return np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=0, atol=tolerance)


def test_explained_convolutions_match_python(page, reader):
    reading = reader.read(stroke_layer(alpha_of(random_drawing(3, np.random.default_rng(1)))))
    positions = [(1, 0, 0, 0), (1, 2, 13, 14), (1, 5, 27, 27), (2, 0, 0, 0), (2, 7, 4, 5), (2, 15, 9, 9)]
    explained = page.evaluate(
        """([mnist, positions]) => {
            const reading = LeNetEngine.classify(window.model, mnist);
            return positions.map(([l, c, r, k]) => LeNetEngine.explainConvolution(reading, window.model, l, c, r, k));
        }""",
        [reading.digit.mnist.ravel().tolist(), positions],
    )
    for position, js in zip(positions, explained, strict=True):
        python = explain_convolution(reader.model, reading.digit.tensor, *position)
        for key in ("patch", "kernel", "products", "bias", "sum", "relu", "activated", "value"):
            assert close(js[key], python[key]), (position, key)
        assert js["input_box"] == python["input_box"] and js["activation"] == python["activation"]
        for key in ("block", "value"):
            assert close(js["pool"][key], python["pool"][key]), (position, key)
        assert (js["pool"]["top"], js["pool"]["left"], js["pool"]["pooling"]) == (
            python["pool"]["top"],
            python["pool"]["left"],
            python["pool"]["pooling"],
        )


@pytest.mark.parametrize("position", [(3, 0, 0, 0), (1, 6, 0, 0), (2, 0, 10, 0), (1, 0, 0, -1), (1, 0, 1.5, 0)])
def test_the_engine_refuses_what_python_refuses(page, reader, position):
    digit = reader.read(stroke_layer(alpha_of(random_drawing(3, np.random.default_rng(1))))).digit
    with pytest.raises(ConvolutionError) as refused:
        explain_convolution(reader.model, digit.tensor, *position)
    js = page.evaluate(
        """([mnist, position]) => {
            const reading = LeNetEngine.classify(window.model, mnist);
            try { LeNetEngine.explainConvolution(reading, window.model, ...position); return null; }
            catch (error) { return {code: error.code, values: error.values, message: error.message}; }
        }""",
        [digit.mnist.ravel().tolist(), list(position)],
    )
    assert js is not None and js["code"] == refused.value.code and js["values"] == refused.value.values
    assert str(refused.value.values["low"]) in js["message"] and str(refused.value.values["high"]) in js["message"]


@pytest.mark.parametrize(
    ("in_channels", "pooling", "activation"),
    [(1, "max", "tanh"), (1, "max", "sigmoid"), (1, "avg", "tanh"), (1, "max", "relu"), (3, "avg", "relu")],
)
def test_forward_matches_torch_for_every_variant(page, in_channels, pooling, activation):
    torch.manual_seed(in_channels * 10 + len(pooling + activation))
    model = LeNet(in_channels=in_channels, pooling=pooling, activation=activation).eval()
    web = web_weights(model.state_dict(), mean=0.1, std=0.3, pooling=pooling, activation=activation)
    x = torch.randn(1, in_channels, 32, 32)
    js = page.evaluate(
        """([web, input]) => {
            const out = LeNetEngine.forward(LeNetEngine.parseWeights(web), Float32Array.from(input));
            return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v)]));
        }""",
        [web, x.ravel().tolist()],
    )
    stages = layer_outputs(model, x)
    with torch.inference_mode():
        fc1 = model.classifier[1](model.classifier[0](stages["pool2"].flatten()[None]))
        fc2 = model.classifier[3](model.classifier[2](fc1))
        logits = model(x)
    expected = {
        **{k: stages[k] for k in ("conv1", "pool1", "conv2", "pool2")},
        "fc1": fc1,
        "fc2": fc2,
        "logits": logits,
        "probabilities": logits.softmax(1),
    }
    for key, tensor in expected.items():
        assert close(js[key], tensor.numpy().ravel()), key


def test_the_engine_runs_inlined_in_a_function_body(page):
    """Gradio's js_on_load inlines the script into a function: no top-level return, import or export."""
    assert (
        page.evaluate(
            "source => typeof new Function(source + '\\nreturn LeNetEngine;')().readDrawing",
            browser_code(ENGINE_SCRIPTS),
        )
        == "function"
    )


def test_the_engine_uses_pythons_numbers_and_names(page):
    """What the engine reads from the facts and the weights is what nets/ says: the ways (one
    spelling, Python's), MNIST's field, the web format, and LeNet's layers and kernel size."""
    js = page.evaluate("""() => ({
        ways: LeNetEngine.WAYS, field: LeNetEngine.FIELD, format: LeNetEngine.FORMAT,
        layers: LeNetEngine.featureMaps(window.model), kernel: window.model.conv1.shape.slice(2),
    })""")
    assert js["ways"] == list(sketch.WAYS) and js["field"] == sketch.FIELD and js["format"] == WEB_FORMAT
    assert {m["layer"]: (m["maps"], m["side"]) for m in js["layers"]} == convolution.LAYERS
    assert js["kernel"] == [convolution.KERNEL, convolution.KERNEL]


def test_reading_a_400x400_drawing_takes_milliseconds(page):
    alpha = alpha_of(random_drawing(8, np.random.default_rng(12)))
    times = page.evaluate(
        """packed => {
            UNPACK
            const a = unpack(packed), times = [];
            for (let i = 0; i < 50; i++) {
                const start = performance.now();
                LeNetEngine.readDrawing(a, 400, 400, window.model);
                times.push(performance.now() - start);
            }
            return times;
        }""".replace("UNPACK", UNPACK),
        packed(alpha),
    )
    median = statistics.median(times)
    print(
        f"\nreadDrawing on a 400x400 alpha in Chromium: median {median:.1f} ms over 50 runs "
        f"(min {min(times):.1f}, max {max(times):.1f})"
    )
    assert median < 30
