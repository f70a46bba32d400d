/*
 * LeNet's forward pass in the browser, as nets/models/lenet.py's LeNet computes it, on the web
 * weights nets/models/lenet.py's web_weights writes (the shipped model's: assets/web/lenet_mnist.json;
 * a visitor's, from the train tab). The weights say everything about the model: its normalisation,
 * input size, pooling, activation and categories, and (by their shapes) its kernels and feature
 * maps. The format's name and the kinds of pooling and activation are Python's, from LeNetFacts.
 *
 * A plain script defining one name, LeNetNetwork:
 *   parseWeights(json)       -> model: the web weights (a JSON string or the parsed object) as
 *                               {format, mean, std, inputSize, pooling, activation, categories,
 *                                inChannels, conv1, conv2, fc1, fc2, fc3}, each layer
 *                               {weight: Float32Array, bias: Float32Array, shape: [...]}
 *   featureMaps(model)       -> [{layer: 1, maps: 6, side: 28}, {layer: 2, maps: 16, side: 10}]:
 *                               the conv layers' feature maps (nets/explaining/convolution.py's LAYERS)
 *   forward(model, input)    -> {conv1, pool1, conv2, pool2, fc1, fc2, logits, probabilities}
 *   toInput(mnist, model)    -> Float32Array(S * S): a 28x28 uint8 image padded to S, normalised
 *   topK(probabilities, k, categories) -> [{digit, label, p}], best first
 *   classify(model, mnist)   -> {mnist, input, top, ...forward's outputs} for a 28x28 uint8 image
 *   activate(model, x)       the model's activation of one number
 */
const LeNetNetwork = (() => {
  "use strict";

  const { f32, identity } = PythonArithmetic;
  const { format: FORMAT, poolings: POOLINGS, activations: ACTIVATION_NAMES } = LeNetFacts;
  const FIELD = LeNetFacts.sketch.field; // MNIST's 28x28 field, padded to the input size S

  // --- the web weights (nets/models/lenet.py: web_weights) --------------------------------------------

  /** Base64 of little-endian float32 bytes -> Float32Array. */
  function decodeFloat32(base64) {
    const binary = typeof atob === "function" ? atob(base64) : Buffer.from(base64, "base64").toString("binary");
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const view = new DataView(bytes.buffer);
    const out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }

  /** The web weights (JSON text or its parsed object) -> the model forward() runs. */
  function parseWeights(json) {
    const spec = typeof json === "string" ? JSON.parse(json) : json;
    if (!spec || spec.format !== FORMAT) {
      throw new Error(`LeNetEngine: not LeNet web weights (${FORMAT}): format is ${spec && spec.format}`);
    }
    if (!POOLINGS.includes(spec.pooling) || !ACTIVATION_NAMES.includes(spec.activation)) {
      throw new Error(`LeNetEngine: unknown pooling ${spec.pooling} or activation ${spec.activation}`);
    }
    const tensor = (name) => {
      const entry = spec.tensors[name];
      if (!entry) throw new Error(`LeNetEngine: the weights have no tensor ${name}`);
      const data = decodeFloat32(entry.data);
      if (data.length !== entry.shape.reduce((a, b) => a * b, 1)) {
        throw new Error(`LeNetEngine: tensor ${name} holds ${data.length} values, not shape ${entry.shape}`);
      }
      return { data, shape: entry.shape.slice() };
    };
    const layer = (prefix) => {
      const weight = tensor(`${prefix}.weight`);
      return { weight: weight.data, bias: tensor(`${prefix}.bias`).data, shape: weight.shape };
    };
    const conv1 = layer("features.0"); // (6, C, 5, 5)
    return {
      format: spec.format, mean: spec.mean, std: spec.std, inputSize: spec.input_size,
      pooling: spec.pooling, activation: spec.activation, categories: spec.categories.slice(),
      inChannels: conv1.shape[1],
      conv1,
      conv2: layer("features.3"), // (16, 6, 5, 5)
      fc1: layer("classifier.0"), // (120, 400)
      fc2: layer("classifier.2"), // (84, 120)
      fc3: layer("classifier.4"), // (10, 84)
    };
  }

  // --- LeNet's forward pass (nets/models/lenet.py: LeNet) ---------------------------------------------

  /** The activations by the names Python gives them (lenet.py's ACTIVATIONS), used after every layer but the last. */
  const ACTIVATIONS = {
    relu: (x) => (x > 0 ? x : 0),
    sigmoid: (x) => 1 / (1 + Math.exp(-x)),
    tanh: Math.tanh,
  };
  if (!ACTIVATION_NAMES.every((name) => name in ACTIVATIONS)) {
    throw new Error(`LeNetNetwork: Python's activations ${ACTIVATION_NAMES} are not all here`);
  }

  /** The model's activation of one number (x). */
  function activate(model, x) {
    return ACTIVATIONS[model.activation](x);
  }

  /** A KxK convolution (K from the weights, 5 for LeNet), stride 1, no padding: (C, H, W) -> (O, H-K+1, W-K+1), activated. */
  function conv2d(input, channels, side, layer, activation) {
    const [outChannels, , kernel] = layer.shape; // (O, C, K, K)
    const outSide = side - kernel + 1;
    const out = new Float32Array(outChannels * outSide * outSide);
    for (let o = 0; o < outChannels; o++) {
      for (let y = 0; y < outSide; y++) {
        for (let x = 0; x < outSide; x++) {
          let sum = 0.0;
          for (let c = 0; c < channels; c++) {
            for (let i = 0; i < kernel; i++) {
              const row = (c * side + y + i) * side + x;
              const w = ((o * channels + c) * kernel + i) * kernel;
              for (let j = 0; j < kernel; j++) sum += input[row + j] * layer.weight[w + j];
            }
          }
          out[(o * outSide + y) * outSide + x] = activation(sum + layer.bias[o]);
        }
      }
    }
    return out;
  }

  /** 2x2 pooling, stride 2 (average or maximum): (C, H, W) -> (C, H/2, W/2). */
  function pool2d(input, channels, side, pooling) {
    const half = side >> 1;
    const out = new Float32Array(channels * half * half);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < half; y++) {
        for (let x = 0; x < half; x++) {
          const i = (c * side + 2 * y) * side + 2 * x;
          const block = [input[i], input[i + 1], input[i + side], input[i + side + 1]];
          out[(c * half + y) * half + x] = pooling === "max" ? Math.max(...block) : (block[0] + block[1] + block[2] + block[3]) / 4;
        }
      }
    }
    return out;
  }

  /** A fully connected layer, out = W x + b, then the activation (none for the last layer). */
  function linear(input, layer, activation) {
    const [outputs, inputs] = layer.shape;
    if (input.length !== inputs) throw new Error(`LeNetEngine: a layer expects ${inputs} inputs, not ${input.length}`);
    const out = new Float32Array(outputs);
    for (let o = 0; o < outputs; o++) {
      let sum = 0.0;
      for (let i = 0; i < inputs; i++) sum += layer.weight[o * inputs + i] * input[i];
      out[o] = activation(sum + layer.bias[o]);
    }
    return out;
  }

  /** Softmax in double precision, shifted by the largest logit so exp never overflows. */
  function softmax(logits) {
    const top = Math.max(...logits);
    const exps = Array.from(logits, (z) => Math.exp(z - top));
    const total = exps.reduce((a, b) => a + b, 0);
    return Float64Array.from(exps, (e) => e / total);
  }

  /**
   * The conv layers' feature maps: how many each layer makes and their side. For S = 32 and 5x5
   * kernels: conv1 6 maps of 28x28 (32 - 5 + 1), pooled to 14x14; conv2 16 maps of 10x10.
   */
  function featureMaps(model) {
    const side1 = model.inputSize - model.conv1.shape[2] + 1;
    const side2 = (side1 >> 1) - model.conv2.shape[2] + 1;
    return [
      { layer: 1, maps: model.conv1.shape[0], side: side1 },
      { layer: 2, maps: model.conv2.shape[0], side: side2 },
    ];
  }

  /**
   * LeNet on one input (in_channels x S x S, flat): every layer's output. Shapes for S = 32:
   * conv1 (6, 28, 28) -> pool1 (6, 14, 14) -> conv2 (16, 10, 10) -> pool2 (16, 5, 5) -> fc1 (120)
   * -> fc2 (84) -> logits (10) -> probabilities (10). conv1, conv2, fc1, fc2 are activated.
   */
  function forward(model, input) {
    const side = model.inputSize;
    if (!input || input.length !== model.inChannels * side * side) {
      throw new Error(`LeNetEngine: the input must hold ${model.inChannels} x ${side} x ${side} values`);
    }
    const activation = ACTIVATIONS[model.activation];
    const [first, second] = featureMaps(model);
    const conv1 = conv2d(input, model.inChannels, side, model.conv1, activation); // (6, 28, 28)
    const pool1 = pool2d(conv1, first.maps, first.side, model.pooling); // (6, 14, 14)
    const conv2 = conv2d(pool1, first.maps, first.side >> 1, model.conv2, activation); // (16, 10, 10)
    const pool2 = pool2d(conv2, second.maps, second.side, model.pooling); // (16, 5, 5), flattened as torch.flatten does
    const fc1 = linear(pool2, model.fc1, activation); // (120)
    const fc2 = linear(fc1, model.fc2, activation); // (84)
    const logits = linear(fc2, model.fc3, identity); // (10)
    return { conv1, pool1, conv2, pool2, fc1, fc2, logits, probabilities: softmax(logits) };
  }

  /** A 28x28 uint8 image (ink bright) as LeNet's input: /255, padded to S, (x - mean) / std, float32. */
  function toInput(mnist, model) {
    const side = model.inputSize;
    const pad = (side - FIELD) / 2;
    if (!Number.isInteger(pad) || pad < 0) {
      throw new Error(`LeNetEngine: input size ${side} is not ${FIELD} plus an even padding`);
    }
    if (!mnist || mnist.length !== FIELD * FIELD) throw new Error(`LeNetEngine: an MNIST image has ${FIELD} x ${FIELD} values`);
    const mean = f32(model.mean), std = f32(model.std);
    const normalise = (v) => f32(f32(f32(v / 255.0) - mean) / std);
    const input = new Float32Array(model.inChannels * side * side).fill(normalise(0));
    for (let c = 0; c < model.inChannels; c++) {
      for (let y = 0; y < FIELD; y++) {
        for (let x = 0; x < FIELD; x++) input[(c * side + y + pad) * side + x + pad] = normalise(mnist[y * FIELD + x]);
      }
    }
    return input;
  }

  /** The k most likely classes, best first: [{digit: index, label: category, p}]. */
  function topK(probabilities, k = 3, categories = null) {
    return Array.from(probabilities, (p, digit) => ({ digit, label: categories ? categories[digit] : String(digit), p }))
      .sort((a, b) => b.p - a.p || a.digit - b.digit)
      .slice(0, k);
  }

  /** LeNet's reading of a 28x28 uint8 image: the image, the input, every layer, the top 3. */
  function classify(model, mnist) {
    const image28 = Uint8Array.from(mnist);
    const input = toInput(image28, model);
    const outputs = forward(model, input);
    return { mnist: image28, input, ...outputs, top: topK(outputs.probabilities, 3, model.categories) };
  }

  return { FORMAT, parseWeights, featureMaps, forward, toInput, topK, classify, activate };
})();
