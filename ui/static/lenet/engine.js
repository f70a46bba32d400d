/*
 * LeNet in the visitor's browser: the digit tab's preprocessing and network, number for number
 * the same as the Python on the server ("one model, two engines, one answer").
 *
 * The engine is six plain scripts, loaded in this order (ui/digit_tab.py's ENGINE_SCRIPTS), each
 * the mirror of the Python it names:
 *   assets/web/lenet_engine_facts.js   LeNetFacts: Python's numbers and names (written from nets/)
 *   python_arithmetic.js               Pillow's resampling, numpy's sums and percentile, Python's round
 *   preprocessing.js                   nets/data/sketch.py: a drawing -> MNIST's 28x28 form, three ways
 *   network.js                         nets/models/lenet.py: the web weights, LeNet's forward pass
 *   convolution.js                     nets/explaining/convolution.py: one feature-map pixel explained
 *   engine.js (this file)              LeNetEngine: what the page and the tests call
 * tests/test_lenet_engine.py runs them in Chromium and holds them to the Python: the same 28x28
 * image (within 1 of 255), the same "no digit" decisions, the same probabilities (within 1e-3).
 *
 * No import/export, no build step, no dependencies: each script defines one name, whether the
 * scripts are inlined one after the other into a function body (Gradio's js_on_load) or loaded as
 * <script>s; this one also puts LeNetEngine on globalThis.
 *
 * Public API (LeNetEngine.*). Images are flat, row-major arrays; "S" is the weights' input side (32).
 *
 *   FORMAT                        "classic-cnns/lenet-web/1", the web weights format read here
 *   WAYS                          ["squeezed", "cropped_not_centred", "mnist_style"] (sketch.py's WAYS)
 *   FIELD                         28: the side of MNIST's field (what LeNet sees before padding)
 *   parseWeights(json)            -> model (see network.js)
 *   readDrawing(alpha, width, height, model)
 *                                 -> null when there is no digit (blank, a dot, specks: exactly when
 *                                    Python's sketch_to_mnist returns None), else classify()'s reading
 *                                    of the "mnist_style" way. alpha: Uint8Array / Uint8ClampedArray /
 *                                    array, width*height, the stroke layer's alpha (ink = alpha).
 *   readWays(alpha, width, height)
 *                                 -> null, or {squeezed, cropped_not_centred, mnist_style}: the same
 *                                    drawing read every way (each a Uint8Array(28*28), ink bright)
 *   readWay(way, alpha, width, height) -> one way's Uint8Array(28*28), or null
 *   classify(model, mnist)        -> reading of a 28x28 uint8 image: {mnist, input: Float32Array(S*S),
 *                                    probabilities: Float64Array(10), top: [{digit, label, p}] x3,
 *                                    logits, conv1: (6x28x28), pool1: (6x14x14), conv2: (16x10x10),
 *                                    pool2: (16x5x5), fc1: (120), fc2: (84)} (Float32Arrays)
 *   featureMaps(model)            -> [{layer: 1, maps: 6, side: 28}, {layer: 2, maps: 16, side: 10}]
 *   toInput(mnist, model)         -> Float32Array(S*S): padded to S, normalised with mean/std
 *   forward(model, input)         -> {conv1, pool1, conv2, pool2, fc1, fc2, logits, probabilities}
 *                                    for any input of inChannels*S*S; avg or max pooling and ReLU,
 *                                    sigmoid or tanh, as the weights' metadata says
 *   topK(probabilities, k, categories) -> [{digit, label, p}], best first
 *   explainConvolution(reading, model, layer, channel, row, col)
 *                                 -> as nets/explaining/convolution.py's explain_convolution (see
 *                                    convolution.js); bad arguments throw an Error with .code, .values
 *   steps                         the preprocessing steps one by one, for tests: {roundHalfEven,
 *                                    resize(image, width, height, "box" | "lanczos"), toWorkSize,
 *                                    keepDigit, cropToInk, scaleIntoBox, centreInField,
 *                                    percentileLinear}; an image is {data: Float32Array, width, height}
 */
const LeNetEngine = (() => {
  "use strict";

  const { roundHalfEven, resize, percentileLinear } = PythonArithmetic;
  const { WAYS, readWays, readWay, steps } = MnistPreprocessing;
  const { FORMAT, parseWeights, featureMaps, forward, toInput, topK, classify } = LeNetNetwork;
  const { explainConvolution } = LeNetConvolution;
  const APP_WAY = "mnist_style"; // what the app classifies, as sketch_to_mnist: MNIST's own way

  /** The drawing (a stroke layer's alpha) read the app's way and classified; null if no digit. */
  function readDrawing(alpha, width, height, model) {
    const mnist = readWay(APP_WAY, alpha, width, height);
    return mnist === null ? null : classify(model, mnist);
  }

  return {
    FORMAT, WAYS, FIELD: LeNetFacts.sketch.field,
    parseWeights, readDrawing, readWays, readWay,
    classify, featureMaps, toInput, forward, topK, explainConvolution,
    // The steps, for tests and curious readers (each mirrors the nets/data/sketch.py function named).
    steps: { roundHalfEven, resize, percentileLinear, ...steps },
  };
})();
if (typeof globalThis !== "undefined") globalThis.LeNetEngine = LeNetEngine;
