/*
 * LeNet learning in the browser: the backward pass, Adam and the one-cycle schedule, as
 * nets/training/visitor_lenet.py's train does on the server with PyTorch, step for step.
 *
 * The model is the one network.js runs (nets/models/lenet.py's LeNet, 1 channel: average or max
 * pooling; ReLU, sigmoid or tanh after every layer but the last), its parameters kept under the
 * state_dict's names (features.0.weight ... classifier.4.bias) as Float32Arrays, so a trained model
 * is handed out in the web weights format (assets/web/lenet_mnist.json) and read back by
 * LeNetNetwork.parseWeights or by Python's read_web_weights. Every number that is Python's (the
 * normalisation, the defaults, PyTorch's OneCycleLR and Adam settings) comes from
 * LeNetTrainingFacts (assets/web/lenet_training_facts.js, written by python -m nets.models.lenet).
 *
 * Why it is fast enough: a batch goes through the network at once, each convolution as im2col
 * (every 5x5 patch of the batch laid out as a row) followed by dot products of those rows with the
 * kernels; the inner loops work on two or four patches (or rows) at a time, so a value read from
 * memory serves several products and the sums stay in registers (about 1.5x faster than one at a
 * time, measured); conv1 needs no input gradient, so its backward pass is its kernels' only. Every
 * array is allocated once per batch size and reused, and gradients are summed in Float64Arrays
 * (as exact as PyTorch's float32 sums, or more). tests/test_lenet_training_engine.py holds one
 * step of it to PyTorch's within 1e-4 for every pooling and activation.
 *
 * A plain script defining one name, LeNetTraining:
 *   oneCycle(maxLr, totalSteps)      -> at(step) = {lr, beta1}: torch's OneCycleLR for Adam (step 0 first)
 *   newModel(pooling, activation, seed) -> model, initialised as nn.Conv2d / nn.Linear do (seeded)
 *   modelFromWeights(web)            -> model: web weights (object or JSON) as a trainable model
 *   webWeights(model)                -> the model in the web weights format (a JSON-able object)
 *   conv1Kernels(model)              -> Float32Array(6 * 25): conv1's six 5x5 kernels, a copy
 *   createTrainer(model, batchSize)  -> {trainStep(images, labels, indices, lr, beta1), evaluate(images, labels)}
 *   balancedPrefix(labels, count)    -> the first count positions (the data file's order is balanced)
 *   train(settings, data, report, shouldStop) -> Promise of the finished run (see train below)
 * Images are uint8, 28x28 each, one after the other (ink bright, as MNIST); labels are uint8.
 */
const LeNetTraining = (() => {
  "use strict";

  const FACTS = LeNetTrainingFacts;
  const SIDE = FACTS.input_size; // 32: LeNet's input side
  const PAD = FACTS.pad; // 2: MNIST's 28x28 padded to 32x32
  const FIELD = SIDE - 2 * PAD; // 28
  const PIXELS = FIELD * FIELD; // 784 bytes an image
  const KERNEL = 5;
  const CLASSES = 10;
  // The layers' sizes: 32 -> conv1 28 -> pool 14 -> conv2 10 -> pool 5 -> 400 -> 120 -> 84 -> 10
  const C1 = 6, S1 = SIDE - KERNEL + 1, P1 = S1 / 2;
  const C2 = 16, S2 = P1 - KERNEL + 1, P2 = S2 / 2;
  const FLAT = C2 * P2 * P2, H1 = 120, H2 = 84;
  const LAYERS = [
    // [name, shape]: the state_dict's order and names (nets/models/lenet.py)
    ["features.0", [C1, 1, KERNEL, KERNEL]],
    ["features.3", [C2, C1, KERNEL, KERNEL]],
    ["classifier.0", [H1, FLAT]],
    ["classifier.2", [H2, H1]],
    ["classifier.4", [CLASSES, H2]],
  ];

  // --- seeded random numbers (mulberry32: small, fast, and the same in every browser) -----------

  /** A generator of floats in [0, 1) from a 32-bit seed. */
  function randomGenerator(seed) {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** 0..n-1 in a random order (Fisher-Yates with ``random``), as an Int32Array. */
  function permutation(n, random) {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }

  // --- the one-cycle schedule (torch.optim.lr_scheduler.OneCycleLR, two phases, cosine) ----------

  /**
   * The learning rate and Adam's beta1 of each step, as OneCycleLR(optimizer, max_lr, total_steps,
   * pct_start) sets them with PyTorch's defaults: the rate warms up from max_lr / div_factor to
   * max_lr over pct_start of the steps, then anneals to max_lr / div_factor / final_div_factor,
   * while beta1 (cycle_momentum) goes the other way, from max_momentum down to base_momentum and back.
   * at(step) is what the optimiser uses for step ``step`` (0 for the first).
   */
  function oneCycle(maxLr, totalSteps, pctStart = FACTS.one_cycle.pct_start) {
    const { div_factor: div, final_div_factor: finalDiv, base_momentum: low, max_momentum: high } = FACTS.one_cycle;
    const initialLr = maxLr / div;
    const minLr = initialLr / finalDiv;
    const phases = [
      { end: pctStart * totalSteps - 1, lr: [initialLr, maxLr], beta1: [high, low] },
      { end: totalSteps - 1, lr: [maxLr, minLr], beta1: [low, high] },
    ];
    // torch's _annealing_cos, with its order of operations (so the doubles are the same)
    const cosine = (start, end, pct) => end + ((start - end) / 2.0) * (Math.cos(Math.PI * pct) + 1);
    return function at(step) {
      let start = 0.0;
      for (let i = 0; i < phases.length; i++) {
        const phase = phases[i];
        if (step <= phase.end || i === phases.length - 1) {
          const pct = (step - start) / (phase.end - start);
          return { lr: cosine(phase.lr[0], phase.lr[1], pct), beta1: cosine(phase.beta1[0], phase.beta1[1], pct) };
        }
        start = phase.end;
      }
      throw new Error("LeNetTraining: unreachable");
    };
  }

  // --- the model: parameters, gradients and Adam's moments, by the state_dict's names -----------

  function emptyModel(pooling, activation) {
    const parameters = [];
    for (const [name, shape] of LAYERS) {
      const size = shape.reduce((a, b) => a * b, 1);
      for (const [suffix, count, tensorShape] of [["weight", size, shape], ["bias", shape[0], [shape[0]]]]) {
        parameters.push({
          name: `${name}.${suffix}`,
          shape: tensorShape,
          data: new Float32Array(count),
          grad: new Float64Array(count),
          m: new Float64Array(count), // Adam's exp_avg
          v: new Float64Array(count), // Adam's exp_avg_sq
        });
      }
    }
    const byName = Object.fromEntries(parameters.map((p) => [p.name, p]));
    const layer = (name) => ({ weight: byName[`${name}.weight`], bias: byName[`${name}.bias`] });
    return {
      pooling, activation, parameters, steps: 0,
      conv1: layer("features.0"), conv2: layer("features.3"),
      fc1: layer("classifier.0"), fc2: layer("classifier.2"), fc3: layer("classifier.4"),
    };
  }

  /**
   * A new model initialised as PyTorch's nn.Conv2d and nn.Linear do (kaiming_uniform_ with
   * a = sqrt(5) for the weights and uniform biases: both U(-1/sqrt(fan_in), 1/sqrt(fan_in))), from
   * a seeded generator of the browser's own (the same seed, the same model; not torch's numbers).
   */
  function newModel(pooling, activation, seed) {
    const model = emptyModel(pooling, activation);
    const random = randomGenerator(seed);
    for (const [name, shape] of LAYERS) {
      const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
      const bound = 1 / Math.sqrt(fanIn);
      for (const suffix of ["weight", "bias"]) {
        const data = model.parameters.find((p) => p.name === `${name}.${suffix}`).data;
        for (let i = 0; i < data.length; i++) data[i] = (2 * random() - 1) * bound;
      }
    }
    return model;
  }

  /** Web weights (the parsed object or its JSON) as a model to train further (Adam starts afresh). */
  function modelFromWeights(web) {
    const parsed = LeNetNetwork.parseWeights(web);
    const model = emptyModel(parsed.pooling, parsed.activation);
    const layers = { conv1: parsed.conv1, conv2: parsed.conv2, fc1: parsed.fc1, fc2: parsed.fc2, fc3: parsed.fc3 };
    for (const [key, layer] of Object.entries(layers)) {
      model[key].weight.data.set(layer.weight);
      model[key].bias.data.set(layer.bias);
    }
    return model;
  }

  /** Float32Array -> base64 of its little-endian bytes (the web weights' "data"). */
  function encodeFloat32(values) {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }

  /** The model in nets/models/lenet.py's web_weights format (what browser_weights gives on the server). */
  function webWeights(model) {
    const tensors = {};
    for (const p of model.parameters) tensors[p.name] = { shape: p.shape.slice(), data: encodeFloat32(p.data) };
    return {
      format: LeNetFacts.format, mean: FACTS.mean, std: FACTS.std, input_size: SIDE,
      pooling: model.pooling, activation: model.activation,
      categories: Array.from({ length: CLASSES }, (_, i) => String(i)),
      tensors,
    };
  }

  /** conv1's six 5x5 kernels, (6, 5, 5) flat: a copy. */
  function conv1Kernels(model) {
    return Float32Array.from(model.conv1.weight.data);
  }

  // --- the layers, a batch at a time (channel-major like torch: (B, C, H, W) flat) ---------------

  const f32 = Math.fround;

  /**
   * The 256 normalised values of a uint8 pixel, computed as visitor_lenet.py's to_input does in
   * float32: (v / 255 - mean) / std.
   */
  const NORMALISED = (() => {
    const mean = f32(FACTS.mean), std = f32(FACTS.std);
    return Float32Array.from({ length: 256 }, (_, v) => f32(f32(f32(v / 255) - mean) / std));
  })();

  /** Images (chosen by ``indices``) -> LeNet's input (n, 1, 32, 32): padded with black, normalised. */
  function toInputs(images, indices, n, out) {
    out.fill(NORMALISED[0]);
    for (let b = 0; b < n; b++) {
      const from = indices[b] * PIXELS;
      for (let y = 0; y < FIELD; y++) {
        const row = (b * SIDE + y + PAD) * SIDE + PAD;
        for (let x = 0; x < FIELD; x++) out[row + x] = NORMALISED[images[from + y * FIELD + x]];
      }
    }
  }

  /** im2col: every KxK patch of (n, C, side, side) as a row of C*K*K values -> cols (n * out^2, C*K*K). */
  function im2col(input, n, channels, side, cols) {
    const outSide = side - KERNEL + 1;
    let r = 0;
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < outSide; y++) {
        for (let x = 0; x < outSide; x++) {
          for (let c = 0; c < channels; c++) {
            for (let i = 0; i < KERNEL; i++) {
              const row = ((b * channels + c) * side + y + i) * side + x;
              for (let j = 0; j < KERNEL; j++) cols[r++] = input[row + j];
            }
          }
        }
      }
    }
  }

  /** Where each of a patch's C*K*K values sits in one image of (C, side, side), from its top-left corner. */
  function patchOffsets(channels, side) {
    const offsets = new Int32Array(channels * KERNEL * KERNEL);
    let k = 0;
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < KERNEL; i++) for (let j = 0; j < KERNEL; j++) offsets[k++] = (c * side + i) * side + j;
    }
    return offsets;
  }

  /**
   * The convolution as rows of cols . kernels + bias -> out (n, O, P) with P = out^2 positions.
   * Two patches at a time, with four kernels (conv2's 16) or two (conv1's 6): each value read
   * serves several products, and the sums stay in registers. LeNet's positions are all even.
   */
  function convForward(cols, n, positions, layer, out) {
    const weight = layer.weight.data, bias = layer.bias.data;
    const outputs = layer.weight.shape[0], size = weight.length / outputs; // O, C*K*K
    const kernelsAtOnce = outputs % 4 === 0 ? 4 : 2;
    for (let b = 0; b < n; b++) {
      for (let p = 0; p < positions; p += 2) {
        const from0 = (b * positions + p) * size, from1 = from0 + size;
        for (let o = 0; o < outputs; o += kernelsAtOnce) {
          const w0 = o * size, w1 = w0 + size, out0 = (b * outputs + o) * positions + p;
          if (kernelsAtOnce === 4) {
            const w2 = w1 + size, w3 = w2 + size;
            let s00 = 0.0, s01 = 0.0, s10 = 0.0, s11 = 0.0, s20 = 0.0, s21 = 0.0, s30 = 0.0, s31 = 0.0;
            for (let k = 0; k < size; k++) {
              const c0 = cols[from0 + k], c1 = cols[from1 + k];
              const k0 = weight[w0 + k], k1 = weight[w1 + k], k2 = weight[w2 + k], k3 = weight[w3 + k];
              s00 += k0 * c0;
              s01 += k0 * c1;
              s10 += k1 * c0;
              s11 += k1 * c1;
              s20 += k2 * c0;
              s21 += k2 * c1;
              s30 += k3 * c0;
              s31 += k3 * c1;
            }
            const out1 = out0 + positions, out2 = out1 + positions, out3 = out2 + positions;
            out[out0] = s00 + bias[o];
            out[out0 + 1] = s01 + bias[o];
            out[out1] = s10 + bias[o + 1];
            out[out1 + 1] = s11 + bias[o + 1];
            out[out2] = s20 + bias[o + 2];
            out[out2 + 1] = s21 + bias[o + 2];
            out[out3] = s30 + bias[o + 3];
            out[out3 + 1] = s31 + bias[o + 3];
          } else {
            let s00 = 0.0, s01 = 0.0, s10 = 0.0, s11 = 0.0; // kernel o or o + 1, patch p or p + 1
            for (let k = 0; k < size; k++) {
              const c0 = cols[from0 + k], c1 = cols[from1 + k], k0 = weight[w0 + k], k1 = weight[w1 + k];
              s00 += k0 * c0;
              s01 += k0 * c1;
              s10 += k1 * c0;
              s11 += k1 * c1;
            }
            out[out0] = s00 + bias[o];
            out[out0 + 1] = s01 + bias[o];
            out[out0 + positions] = s10 + bias[o + 1];
            out[out0 + positions + 1] = s11 + bias[o + 1];
          }
        }
      }
    }
  }

  /** Scratch arrays for convBackward: four patches' gradients dOut (4 x O) and the kernels transposed (K x O). */
  function convScratch(layer) {
    const outputs = layer.weight.shape[0], size = layer.weight.data.length / outputs;
    return { g: new Float64Array(4 * outputs), kernelsT: new Float64Array(size * outputs) };
  }

  /**
   * The convolution's gradients from dOut (n, O, P), four patches at a time (P is a multiple of 4):
   * the kernels' and the bias's (added to their .grad), and the input's (n, C, side, side): each
   * patch's gradient (dOut . kernels) added back where the patch came from (col2im).
   */
  function convBackward(cols, n, positions, layer, dOut, dInput, channels, side, scratch) {
    const weight = layer.weight.data, dWeight = layer.weight.grad, dBias = layer.bias.grad;
    const outputs = layer.weight.shape[0], size = weight.length / outputs;
    const outSide = Math.sqrt(positions), offsets = patchOffsets(channels, side);
    const { g, kernelsT } = scratch;
    for (let o = 0; o < outputs; o++) for (let k = 0; k < size; k++) kernelsT[k * outputs + o] = weight[o * size + k];
    for (let b = 0; b < n; b++) {
      for (let p = 0; p < positions; p += 4) {
        const from = (b * positions + p) * size;
        for (let q = 0; q < 4; q++) {
          for (let o = 0; o < outputs; o++) {
            const value = dOut[(b * outputs + o) * positions + p + q];
            g[q * outputs + o] = value;
            dBias[o] += value;
          }
        }
        // dW[o, k] += the four patches' values weighted by their dOut (one load and store of dW for four products)
        for (let o = 0; o < outputs; o++) {
          const g0 = g[o], g1 = g[outputs + o], g2 = g[2 * outputs + o], g3 = g[3 * outputs + o];
          if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue; // ReLU's zeros, max pooling's unpicked places
          const w = o * size;
          for (let k = 0; k < size; k++) {
            dWeight[w + k] +=
              g0 * cols[from + k] + g1 * cols[from + size + k] + g2 * cols[from + 2 * size + k] + g3 * cols[from + 3 * size + k];
          }
        }
        if (!dInput) continue;
        // each patch's gradient, value k: sum over o of dOut[o] * kernel[o, k] (a kernel value read serves four patches)
        const image = b * channels * side * side;
        const corner = (at) => image + Math.floor(at / outSide) * side + (at % outSide);
        const c0 = corner(p), c1 = corner(p + 1), c2 = corner(p + 2), c3 = corner(p + 3);
        for (let k = 0; k < size; k++) {
          const t = k * outputs;
          let s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
          for (let o = 0; o < outputs; o++) {
            const w = kernelsT[t + o];
            s0 += g[o] * w;
            s1 += g[outputs + o] * w;
            s2 += g[2 * outputs + o] * w;
            s3 += g[3 * outputs + o] * w;
          }
          const offset = offsets[k];
          dInput[c0 + offset] += s0;
          dInput[c1 + offset] += s1;
          dInput[c2 + offset] += s2;
          dInput[c3 + offset] += s3;
        }
      }
    }
  }

  /** The activation applied in place to the first ``count`` values. */
  function activateForward(values, count, activation) {
    if (activation === "relu") {
      for (let i = 0; i < count; i++) if (!(values[i] > 0)) values[i] = 0;
    } else if (activation === "sigmoid") {
      for (let i = 0; i < count; i++) values[i] = 1 / (1 + Math.exp(-values[i]));
    } else {
      for (let i = 0; i < count; i++) values[i] = Math.tanh(values[i]);
    }
  }

  /** dValues *= the activation's derivative, from its outputs y: ReLU y > 0; sigmoid y(1 - y); tanh 1 - y^2. */
  function activateBackward(outputs, dValues, count, activation) {
    if (activation === "relu") {
      for (let i = 0; i < count; i++) if (!(outputs[i] > 0)) dValues[i] = 0;
    } else if (activation === "sigmoid") {
      for (let i = 0; i < count; i++) dValues[i] *= outputs[i] * (1 - outputs[i]);
    } else {
      for (let i = 0; i < count; i++) dValues[i] *= 1 - outputs[i] * outputs[i];
    }
  }

  /**
   * 2x2 pooling, stride 2: (planes, side, side) -> (planes, side/2, side/2). Max pooling records
   * where each maximum was (the first of equal values, as PyTorch's CPU kernel) for the backward pass.
   */
  function poolForward(input, planes, side, pooling, out, picked) {
    const half = side >> 1;
    let r = 0;
    for (let c = 0; c < planes; c++) {
      for (let y = 0; y < half; y++) {
        for (let x = 0; x < half; x++, r++) {
          const i = (c * side + 2 * y) * side + 2 * x;
          if (pooling === "max") {
            let best = i;
            for (const j of [i + 1, i + side, i + side + 1]) if (input[j] > input[best]) best = j;
            out[r] = input[best];
            picked[r] = best;
          } else {
            out[r] = (input[i] + input[i + 1] + input[i + side] + input[i + side + 1]) / 4;
          }
        }
      }
    }
  }

  /** The pooling's gradient: dInput (planes, side, side) from dOut (planes, side/2, side/2). */
  function poolBackward(dOut, planes, side, pooling, picked, dInput) {
    const half = side >> 1;
    dInput.fill(0, 0, planes * side * side);
    let r = 0;
    for (let c = 0; c < planes; c++) {
      for (let y = 0; y < half; y++) {
        for (let x = 0; x < half; x++, r++) {
          if (pooling === "max") {
            dInput[picked[r]] += dOut[r];
          } else {
            const i = (c * side + 2 * y) * side + 2 * x, g = dOut[r] / 4;
            dInput[i] += g;
            dInput[i + 1] += g;
            dInput[i + side] += g;
            dInput[i + side + 1] += g;
          }
        }
      }
    }
  }

  /** A fully connected layer on n rows: out (n, O) = x (n, I) . W^T + b. */
  function linearForward(x, n, layer, out) {
    const weight = layer.weight.data, bias = layer.bias.data;
    const [outputs, inputs] = layer.weight.shape;
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < outputs; o++) {
        const w = o * inputs, from = b * inputs;
        let sum = 0.0;
        for (let i = 0; i < inputs; i++) sum += weight[w + i] * x[from + i];
        out[b * outputs + o] = sum + bias[o];
      }
    }
  }

  /**
   * Its gradients: W's and b's (added to .grad), four rows at a time (one load and store of dW for
   * four products), and when dX is given, x's (n, I) as dot products with W's columns (``weightT``:
   * scratch for W transposed, I x O).
   */
  function linearBackward(x, n, layer, dOut, dX, weightT) {
    const weight = layer.weight.data, dWeight = layer.weight.grad, dBias = layer.bias.grad;
    const [outputs, inputs] = layer.weight.shape;
    for (let b = 0; b < n; b++) for (let o = 0; o < outputs; o++) dBias[o] += dOut[b * outputs + o];
    let b = 0;
    for (; b + 4 <= n; b += 4) {
      const x0 = b * inputs, x1 = x0 + inputs, x2 = x1 + inputs, x3 = x2 + inputs;
      for (let o = 0; o < outputs; o++) {
        const g0 = dOut[b * outputs + o], g1 = dOut[(b + 1) * outputs + o];
        const g2 = dOut[(b + 2) * outputs + o], g3 = dOut[(b + 3) * outputs + o];
        if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
        const w = o * inputs;
        for (let i = 0; i < inputs; i++) dWeight[w + i] += g0 * x[x0 + i] + g1 * x[x1 + i] + g2 * x[x2 + i] + g3 * x[x3 + i];
      }
    }
    for (; b < n; b++) {
      for (let o = 0; o < outputs; o++) {
        const g = dOut[b * outputs + o], w = o * inputs, from = b * inputs;
        if (g !== 0) for (let i = 0; i < inputs; i++) dWeight[w + i] += g * x[from + i];
      }
    }
    if (!dX) return;
    for (let o = 0; o < outputs; o++) for (let i = 0; i < inputs; i++) weightT[i * outputs + o] = weight[o * inputs + i];
    for (let b = 0; b < n; b++) {
      const g = b * outputs;
      for (let i = 0; i < inputs; i++) {
        const t = i * outputs;
        let sum = 0.0;
        for (let o = 0; o < outputs; o++) sum += dOut[g + o] * weightT[t + o];
        dX[b * inputs + i] = sum;
      }
    }
  }

  /**
   * Softmax cross-entropy, averaged over the n rows as F.cross_entropy does: returns the summed
   * loss and the number right; dLogits (n, 10) gets (softmax - one_hot) / n.
   */
  function crossEntropy(logits, labels, n, dLogits) {
    let loss = 0.0, correct = 0;
    for (let b = 0; b < n; b++) {
      const row = b * CLASSES, label = labels[b];
      let top = -Infinity, best = 0;
      for (let k = 0; k < CLASSES; k++) {
        if (logits[row + k] > top) {
          top = logits[row + k];
          best = k;
        }
      }
      let total = 0.0;
      for (let k = 0; k < CLASSES; k++) total += Math.exp(logits[row + k] - top);
      loss += Math.log(total) + top - logits[row + label];
      correct += best === label ? 1 : 0;
      if (dLogits) {
        for (let k = 0; k < CLASSES; k++) dLogits[row + k] = (Math.exp(logits[row + k] - top) / total - (k === label ? 1 : 0)) / n;
      }
    }
    return { loss, correct };
  }

  // --- a batch through the network, and back ---------------------------------------------------

  /** The arrays a batch of up to ``size`` images needs, allocated once. */
  function buffers(size) {
    return {
      size,
      labels: new Int32Array(size),
      input: new Float32Array(size * SIDE * SIDE), // (B, 1, 32, 32)
      cols1: new Float32Array(size * S1 * S1 * KERNEL * KERNEL), // (B * 784, 25)
      conv1: new Float32Array(size * C1 * S1 * S1), // (B, 6, 28, 28) activated
      pool1: new Float32Array(size * C1 * P1 * P1), // (B, 6, 14, 14)
      picked1: new Int32Array(size * C1 * P1 * P1),
      cols2: new Float32Array(size * S2 * S2 * C1 * KERNEL * KERNEL), // (B * 100, 150)
      conv2: new Float32Array(size * C2 * S2 * S2), // (B, 16, 10, 10) activated
      pool2: new Float32Array(size * FLAT), // (B, 16, 5, 5) = (B, 400), flattened as torch.flatten
      picked2: new Int32Array(size * FLAT),
      fc1: new Float32Array(size * H1), // (B, 120) activated
      fc2: new Float32Array(size * H2), // (B, 84) activated
      logits: new Float32Array(size * CLASSES), // (B, 10)
      dLogits: new Float64Array(size * CLASSES),
      dFc2: new Float64Array(size * H2),
      dFc1: new Float64Array(size * H1),
      dPool2: new Float64Array(size * FLAT),
      dConv2: new Float64Array(size * C2 * S2 * S2),
      dPool1: new Float64Array(size * C1 * P1 * P1),
      dConv1: new Float64Array(size * C1 * S1 * S1),
      weightT: new Float64Array(FLAT * H1), // the largest fully connected layer's W, transposed
    };
  }

  /** The forward pass of n images (indices into images) into ``at``; returns {loss (summed), correct}. */
  function forward(model, at, images, labels, indices, n, withGradient) {
    const act = model.activation, pooling = model.pooling;
    toInputs(images, indices, n, at.input); // (n, 1, 32, 32)
    for (let b = 0; b < n; b++) at.labels[b] = labels[indices[b]];
    im2col(at.input, n, 1, SIDE, at.cols1); // (n * 784, 25)
    convForward(at.cols1, n, S1 * S1, model.conv1, at.conv1); // (n, 6, 28, 28)
    activateForward(at.conv1, n * C1 * S1 * S1, act);
    poolForward(at.conv1, n * C1, S1, pooling, at.pool1, at.picked1); // (n, 6, 14, 14)
    im2col(at.pool1, n, C1, P1, at.cols2); // (n * 100, 150)
    convForward(at.cols2, n, S2 * S2, model.conv2, at.conv2); // (n, 16, 10, 10)
    activateForward(at.conv2, n * C2 * S2 * S2, act);
    poolForward(at.conv2, n * C2, S2, pooling, at.pool2, at.picked2); // (n, 16, 5, 5) = (n, 400)
    linearForward(at.pool2, n, model.fc1, at.fc1); // (n, 120)
    activateForward(at.fc1, n * H1, act);
    linearForward(at.fc1, n, model.fc2, at.fc2); // (n, 84)
    activateForward(at.fc2, n * H2, act);
    linearForward(at.fc2, n, model.fc3, at.logits); // (n, 10)
    return crossEntropy(at.logits, at.labels, n, withGradient ? at.dLogits : null);
  }

  /** The backward pass after forward(..., withGradient = true): every parameter's .grad (summed). */
  function backward(model, at, n) {
    const act = model.activation, pooling = model.pooling;
    for (const p of model.parameters) p.grad.fill(0);
    linearBackward(at.fc2, n, model.fc3, at.dLogits, at.dFc2, at.weightT); // (n, 84)
    activateBackward(at.fc2, at.dFc2, n * H2, act);
    linearBackward(at.fc1, n, model.fc2, at.dFc2, at.dFc1, at.weightT); // (n, 120)
    activateBackward(at.fc1, at.dFc1, n * H1, act);
    linearBackward(at.pool2, n, model.fc1, at.dFc1, at.dPool2, at.weightT); // (n, 400)
    poolBackward(at.dPool2, n * C2, S2, pooling, at.picked2, at.dConv2); // (n, 16, 10, 10)
    activateBackward(at.conv2, at.dConv2, n * C2 * S2 * S2, act);
    at.dPool1.fill(0, 0, n * C1 * P1 * P1);
    convBackward(at.cols2, n, S2 * S2, model.conv2, at.dConv2, at.dPool1, C1, P1, at.conv2Scratch); // (n, 6, 14, 14)
    poolBackward(at.dPool1, n * C1, S1, pooling, at.picked1, at.dConv1); // (n, 6, 28, 28)
    activateBackward(at.conv1, at.dConv1, n * C1 * S1 * S1, act);
    convBackward(at.cols1, n, S1 * S1, model.conv1, at.dConv1, null, 1, SIDE, at.conv1Scratch); // conv1 needs no input gradient
  }

  /**
   * One Adam step (torch.optim.Adam, no weight decay) at this step's lr and beta1:
   * m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
   * p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
   */
  function adamStep(model, lr, beta1) {
    const { beta2, eps } = FACTS.adam;
    model.steps += 1;
    const t = model.steps;
    const stepSize = lr / (1 - beta1 ** t);
    const correction2 = Math.sqrt(1 - beta2 ** t);
    for (const p of model.parameters) {
      const { data, grad, m, v } = p;
      for (let i = 0; i < data.length; i++) {
        const g = grad[i];
        m[i] += (g - m[i]) * (1 - beta1); // torch's lerp_
        v[i] = v[i] * beta2 + (1 - beta2) * g * g;
        data[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / correction2 + eps);
      }
    }
  }

  /** Evaluation's batch: large enough to keep the loops busy, small enough for a few MB of arrays. */
  const EVAL_BATCH = 250;

  /**
   * A trainer for ``model`` with batches of ``batchSize``:
   *   trainStep(images, labels, indices, lr, beta1) -> {loss (mean), correct}: one step on the
   *     images at ``indices`` (forward, backward, Adam)
   *   evaluate(images, labels) -> {loss (mean cross-entropy), accuracy} on every image
   */
  function createTrainer(model, batchSize) {
    const at = buffers(batchSize);
    at.conv1Scratch = convScratch(model.conv1);
    at.conv2Scratch = convScratch(model.conv2);
    let atEval = null;
    function trainStep(images, labels, indices, lr, beta1) {
      const n = indices.length;
      const { loss, correct } = forward(model, at, images, labels, indices, n, true);
      backward(model, at, n);
      adamStep(model, lr, beta1);
      return { loss: loss / n, correct };
    }
    function evaluate(images, labels) {
      atEval = atEval || buffers(EVAL_BATCH);
      let loss = 0.0, correct = 0;
      const count = labels.length, indices = new Int32Array(EVAL_BATCH);
      for (let start = 0; start < count; start += EVAL_BATCH) {
        const n = Math.min(EVAL_BATCH, count - start);
        for (let i = 0; i < n; i++) indices[i] = start + i;
        const result = forward(model, atEval, images, labels, indices.subarray(0, n), n, false);
        loss += result.loss;
        correct += result.correct;
      }
      return { loss: loss / count, accuracy: correct / count };
    }
    return { trainStep, evaluate };
  }

  // --- a whole run, as visitor_lenet.py's train ------------------------------------------------

  /** The first ``count`` training images: the data file lists them in an order whose every prefix is
   * class-balanced (nets/data/mnist_web.py), as stratified_choice balances the server's. */
  function balancedPrefix(labels, count) {
    if (!(count >= 1 && count <= labels.length)) throw new Error(`LeNetTraining: cannot choose ${count} of ${labels.length} images`);
    return Int32Array.from({ length: count }, (_, i) => i);
  }

  /** Lets the thread read its messages (a Stop) between groups of batches. */
  const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

  /**
   * Train a new LeNet on ``data`` ({trainImages, trainLabels, testImages, testLabels}) as
   * ``settings`` say ({pooling, activation, epochs, trainImages, batchSize, lr, seed}; missing ones
   * are the server's defaults). ``report(event)`` receives, in order:
   *   {type: "started", epochs, trainImages, testImages, stepsPerEpoch, conv1Kernels}
   *   {type: "progress", epoch, epochs, done, total, loss}   (about 20 times an epoch)
   *   {type: "epoch", epoch, epochs, history: [{epoch, train_loss, train_acc, test_loss, test_acc, seconds}], conv1Kernels}
   * ``shouldStop()`` is asked after each group of batches; a stop keeps what was learned. Resolves
   * to {testLoss, testAccuracy, imagesSeen, epochsDone, stopped, seconds, history, weights (web format)}.
   */
  async function train(settings, data, report, shouldStop = () => false) {
    const d = FACTS.defaults; // the server's (LeNetSettings'), by their JavaScript names
    const chosen = {
      pooling: d.pooling, activation: d.activation, epochs: d.epochs, trainImages: d.train_images,
      batchSize: d.batch_size, lr: d.lr, seed: d.seed, ...settings,
    };
    const { epochs, batchSize, lr, seed } = chosen;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const positions = balancedPrefix(data.trainLabels, chosen.trainImages);
    const count = positions.length;
    const stepsPerEpoch = Math.ceil(count / batchSize);
    const model = newModel(chosen.pooling, chosen.activation, seed);
    const trainer = createTrainer(model, batchSize);
    const schedule = oneCycle(lr, epochs * stepsPerEpoch);
    const random = randomGenerator(seed + 1); // the order of each epoch (the model's init used seed)
    const reportEvery = Math.max(1, Math.floor(stepsPerEpoch / FACTS.progress_steps));
    const testCount = data.testLabels.length;
    report({ type: "started", epochs, trainImages: count, testImages: testCount, stepsPerEpoch, conv1Kernels: conv1Kernels(model) });

    const history = [];
    let seen = 0, step = 0, stopped = false, tested = null;
    for (let epoch = 1; epoch <= epochs && !stopped; epoch++) {
      const order = permutation(count, random);
      let epochLoss = 0.0, epochCorrect = 0, done = 0;
      for (let start = 0, batch = 1; start < count; start += batchSize, batch++) {
        const indices = order.subarray(start, Math.min(start + batchSize, count));
        for (let i = 0; i < indices.length; i++) indices[i] = positions[indices[i]];
        const { lr: rate, beta1 } = schedule(step++);
        const result = trainer.trainStep(data.trainImages, data.trainLabels, indices, rate, beta1);
        epochLoss += result.loss * indices.length;
        epochCorrect += result.correct;
        done += indices.length;
        seen += indices.length;
        if (batch % reportEvery === 0 && done < count) {
          report({ type: "progress", epoch, epochs, done, total: count, loss: epochLoss / done });
          await pause();
          if (shouldStop()) {
            stopped = true;
            break;
          }
        }
      }
      if (done < count) break; // stopped in the middle of the epoch: the history keeps complete epochs
      const test = trainer.evaluate(data.testImages, data.testLabels);
      tested = { seen, ...test };
      history.push({
        epoch, train_loss: epochLoss / count, train_acc: epochCorrect / count,
        test_loss: test.loss, test_acc: test.accuracy, seconds: seconds(),
      });
      report({ type: "epoch", epoch, epochs, history: history.slice(), conv1Kernels: conv1Kernels(model) });
      if (epoch < epochs) {
        await pause();
        stopped = shouldStop();
      }
    }
    if (tested === null || tested.seen !== seen) tested = { seen, ...trainer.evaluate(data.testImages, data.testLabels) };
    return {
      testLoss: tested.loss, testAccuracy: tested.accuracy, imagesSeen: seen, epochsDone: seen / count,
      stopped: stopped && seen < epochs * count, seconds: seconds(), history, weights: webWeights(model),
    };
  }

  return {
    oneCycle, newModel, modelFromWeights, webWeights, conv1Kernels, createTrainer, balancedPrefix, train,
    randomGenerator, permutation,
  };
})();
if (typeof globalThis !== "undefined") globalThis.LeNetTraining = LeNetTraining;
