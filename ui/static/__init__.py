"""The digit tab's browser code: which scripts, in which order (the one list of them).

The engine (``lenet/``) is LeNet in the browser, each script the mirror of the Python it names and
tested against it in Chromium (``tests/test_lenet_engine.py``); its numbers and names come from
``assets/web/lenet_engine_facts.js``, which ``python -m nets.models.lenet`` writes from ``nets/``.
The trainer (``lenet/training.js``, run by the train tab's Web Worker ``lenet/training_worker.js``)
is ``nets/training/visitor_lenet.py``'s training, tested against PyTorch in Chromium
(``tests/test_lenet_training_engine.py``). The page (``digit/``) is the tab's views, one script a
panel, started by ``startDigitLab``.
Every script is plain JavaScript defining one name and reading only the ones before it, so the
list works inlined as one function body (``gr.HTML``'s ``js_on_load``) or as ``<script>`` tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nets.models.lenet import ENGINE_FACTS_FILE
from nets.paths import ROOT
from nets.training.visitor_lenet import TRAINING_FACTS_FILE

HERE = ROOT / "ui" / "static"

ENGINE_SCRIPTS = (
    ENGINE_FACTS_FILE,  # LeNetFacts: nets/' numbers and names
    HERE / "lenet" / "python_arithmetic.js",  # PythonArithmetic: Pillow's resampling, numpy's sums, Python's round
    HERE / "lenet" / "preprocessing.js",  # MnistPreprocessing: nets/data/sketch.py
    HERE / "lenet" / "network.js",  # LeNetNetwork: nets/models/lenet.py
    HERE / "lenet" / "convolution.js",  # LeNetConvolution: nets/explaining/convolution.py
    HERE / "lenet" / "engine.js",  # LeNetEngine: what the page (and a visitor's own script) calls
)
PAGE_SCRIPTS = tuple(
    HERE / "digit" / name
    for name in (
        "words.js",  # digitWords: the page's sentences, in its language
        "pictures.js",  # drawMap: numbers as grey pixels
        "canvas.js",  # drawingCanvas: the drawing surface and its strokes
        "answer.js",  # answerView: LeNet's answer (and the visitor's own LeNet's)
        "feature_maps.js",  # featureMapsView: what LeNet sees, both conv layers' maps
        "explanation.js",  # explanationView: one feature-map pixel's arithmetic
        "kernels.js",  # kernelsView: the trained kernels
        "questions.js",  # questionsView: predict, then see: two questions on the flatten
        "flatten.js",  # flattenView: pool2 flattened into one row of 400, fc1, fc2, the 10 outputs
        "lesson.js",  # lessonView: the drawing read three ways
        "links.js",  # digitLinks: links that carry a drawing
        "lab.js",  # startDigitLab: the page, its state, the views wired together
    )
)
SCRIPTS = (*ENGINE_SCRIPTS, *PAGE_SCRIPTS)
TRAINING_SCRIPTS = (  # what the train tab's Web Worker loads (importScripts, in this order)
    ENGINE_FACTS_FILE,  # LeNetFacts
    HERE / "lenet" / "python_arithmetic.js",  # PythonArithmetic (network.js reads f32 from it)
    HERE / "lenet" / "network.js",  # LeNetNetwork: the web weights
    TRAINING_FACTS_FILE,  # LeNetTrainingFacts: nets/training/visitor_lenet.py's numbers and PyTorch's defaults
    HERE / "lenet" / "training.js",  # LeNetTraining: backward pass, Adam, one-cycle (visitor_lenet.py's train)
)
TRAINING_WORKER = HERE / "lenet" / "training_worker.js"  # the Web Worker that runs LeNetTraining.train
TRAINING_DATA_SCRIPT = HERE / "lenet" / "training_data.js"  # LeNetTrainingData: the images, fetched by the page


def browser_code(scripts: Sequence[Path] = SCRIPTS) -> str:
    """The scripts' text, one after the other, as one body of code."""
    return "\n".join(path.read_text(encoding="utf-8") for path in scripts)


# Page-wide scripts (each an arrow function that app.py's page-load script runs)
BUTTON_NAMES = HERE / "page" / "button_names.js"  # nameButtons: names for Gradio's nameless picture buttons
GRADIO_WORDS = HERE / "page" / "gradio_words.js"  # gradioWords: Gradio's own English names in the page's language


def gradio_words_script(text: dict[str, dict[str, str]]) -> str:
    """gradio_words.js with its WORDS: every ``gradio_*`` sentence of ``text`` ({language: {key:
    sentence}}), as {key: {language: sentence}}."""
    import json

    words = {
        key: {language: text[language][key] for language in text} for key in text["en"] if key.startswith("gradio_")
    }
    return GRADIO_WORDS.read_text(encoding="utf-8").replace("__GRADIO_WORDS__", json.dumps(words, ensure_ascii=False))
