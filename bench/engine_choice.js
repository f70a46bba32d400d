/*
 * The train tab's LeNet in TensorFlow.js, beside the hand-written trainer (ui/static/lenet/training.js),
 * so that python -m bench.engine_choice can time both on the same run in the same page. A bench
 * only: the app does not ship TF.js or this file.
 *
 * The model is nets/models/lenet.py's (1 channel; average or max pooling; ReLU, sigmoid or tanh),
 * written with TF.js's own ops (conv2d, avgPool, matMul, logSoftmax) and gradients
 * (tf.variableGrads), in TF.js's layout: images NHWC, kernels (5, 5, in, out), dense weights
 * (in, out). PyTorch's weights are turned into that layout when a trainer starts and back when it
 * hands them out, so both engines start from and end in the web weights format
 * (assets/web/lenet_mnist.json). Adam is written with TF.js ops, because TF.js's own AdamOptimizer
 * keeps beta1^t as a running product and so cannot follow OneCycleLR's beta1, which changes every
 * step; the learning rate and beta1 of each step are LeNetTraining.oneCycle's (PyTorch's). On the
 * wasm backend, which lacks conv2d's weight-gradient kernel (Conv2DBackpropFilter, TF.js 4.22),
 * each convolution is a conv3d over a depth of 1, whose gradient kernels it has.
 *
 * A plain script defining one name, EngineChoice (needs tf, LeNetTrainingFacts and LeNetTraining):
 *   trainer(engine, web, batchSize) -> Promise of {trainStep(images, labels, indices, lr, beta1),
 *       evaluate(images, labels), gradients(), weights(), dispose()}; engine is "hand-written",
 *       "tfjs-cpu", "tfjs-wasm" or "tfjs-webgl" (TF.js on that backend)
 *   firstOrder(count, seed) -> the run's first epoch's order of the training images
 *   run(engine, web, data, settings, steps) -> Promise of {trained, tested, trainSeconds,
 *       testSeconds, testAccuracy, weights}: the tab's loop (LeNetTraining.train's) from the weights
 *       ``web``, whole or its first ``steps`` steps
 *   oneStep(engine, web, images, labels, lr, beta1) -> Promise of {loss, gradients, weights}
 */
const EngineChoice = (() => {
  "use strict";

  const FACTS = LeNetTrainingFacts;
  const SIDE = FACTS.input_size; // 32
  const PAD = FACTS.pad; // 2
  const FIELD = SIDE - 2 * PAD; // 28
  const PIXELS = FIELD * FIELD;
  const CLASSES = 10;
  const EVAL_BATCH = 250; // as the hand-written trainer evaluates
  const f32 = Math.fround;
  // (v / 255 - mean) / std in float32, as visitor_lenet.py's to_input and training.js compute it
  const NORMALISED = (() => {
    const mean = f32(FACTS.mean), std = f32(FACTS.std);
    return Float32Array.from({ length: 256 }, (_, v) => f32(f32(f32(v / 255) - mean) / std));
  })();

  // --- PyTorch's layout <-> TF.js's ------------------------------------------------------------

  /**
   * Where each value of a PyTorch tensor goes in TF.js's: conv kernels (O, I, 5, 5) -> (5, 5, I, O);
   * fc1's (120, 400), whose inputs PyTorch flattens channel-first (c, h, w), -> (400, 120) with the
   * inputs in NHWC's order (h, w, c); the other dense layers (O, I) -> (I, O).
   */
  function tfIndex(name, shape) {
    const size = shape.reduce((a, b) => a * b, 1);
    const to = new Int32Array(size);
    if (shape.length === 1) return to.map((_, i) => i);
    if (shape.length === 4) {
      const [O, I, K] = shape;
      for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let y = 0; y < K; y++) for (let x = 0; x < K; x++) {
        to[((o * I + i) * K + y) * K + x] = ((y * K + x) * I + i) * O + o;
      }
      return to;
    }
    const [O, I] = shape;
    for (let o = 0; o < O; o++) {
      for (let i = 0; i < I; i++) {
        let row = i;
        if (name.startsWith("classifier.0")) { // i = c * 25 + h * 5 + w  ->  (h * 5 + w) * 16 + c
          const c = Math.floor(i / 25), hw = i % 25;
          row = hw * 16 + c;
        }
        to[o * I + i] = row * O + o;
      }
    }
    return to;
  }

  function tfShape(shape, depth) {
    if (shape.length === 4) return [...(depth ? [1] : []), shape[2], shape[3], shape[1], shape[0]];
    if (shape.length === 2) return [shape[1], shape[0]];
    return shape.slice();
  }

  // --- the TF.js trainer ------------------------------------------------------------------------

  let trainers = 0; // TF.js variable names are global: each trainer's get their own prefix

  /**
   * A TF.js trainer of the model ``web``. ``depth``: each convolution as a 3D one over a depth of 1
   * (the same sums), for the wasm backend, which has conv3d's kernel gradient but not conv2d's.
   */
  function tfjsTrainer(web, depth) {
    const template = LeNetTraining.modelFromWeights(web); // torch layout, names, shapes
    const act = { relu: tf.relu, sigmoid: tf.sigmoid, tanh: tf.tanh }[template.activation];
    const pool = template.pooling === "avg" ? (x) => tf.avgPool(x, 2, 2, "valid") : (x) => tf.maxPool(x, 2, 2, "valid");
    const conv = depth
      ? (x, w) => { // (n, H, W, C) -> (n, 1, H, W, C) -> conv3d -> (n, H', W', O)
        const [n, h, wide, c] = x.shape;
        const out = tf.conv3d(tf.reshape(x, [n, 1, h, wide, c]), w, 1, "valid");
        return tf.reshape(out, [n, out.shape[2], out.shape[3], out.shape[4]]);
      }
      : (x, w) => tf.conv2d(x, w, 1, "valid");
    const prefix = `lenet${trainers++}/`;
    const params = template.parameters.map((p) => {
      const index = tfIndex(p.name, p.shape);
      const values = new Float32Array(p.data.length);
      for (let k = 0; k < values.length; k++) values[index[k]] = p.data[k];
      const shape = tfShape(p.shape, depth);
      return tf.tidy(() => ({ // the variables stay; their starting tensors go
        name: p.name, index, torch: p,
        variable: tf.variable(tf.tensor(values, shape), true, prefix + p.name),
        m: tf.variable(tf.zeros(shape), false, `${prefix + p.name}/m`),
        v: tf.variable(tf.zeros(shape), false, `${prefix + p.name}/v`),
      }));
    });
    const [w1, b1, w2, b2, w3, b3, w4, b4, w5, b5] = params.map((p) => p.variable);
    const { beta2, eps } = FACTS.adam;
    let steps = 0, lastGradients = null;

    /** uint8 images at ``indices`` -> LeNet's input (n, 32, 32, 1), padded and normalised. */
    function inputs(images, indices) {
      const n = indices.length, out = new Float32Array(n * SIDE * SIDE).fill(NORMALISED[0]);
      for (let b = 0; b < n; b++) {
        const from = indices[b] * PIXELS;
        for (let y = 0; y < FIELD; y++) {
          const row = (b * SIDE + y + PAD) * SIDE + PAD;
          for (let x = 0; x < FIELD; x++) out[row + x] = NORMALISED[images[from + y * FIELD + x]];
        }
      }
      return tf.tensor4d(out, [n, SIDE, SIDE, 1]);
    }

    function forward(x) {
      let h = pool(act(tf.add(conv(x, w1), b1))); // (n, 14, 14, 6)
      h = pool(act(tf.add(conv(h, w2), b2))); // (n, 5, 5, 16)
      h = tf.reshape(h, [h.shape[0], 400]); // (n, 400), NHWC's order (fc1's rows match it)
      h = act(tf.add(tf.matMul(h, w3), b3)); // (n, 120)
      h = act(tf.add(tf.matMul(h, w4), b4)); // (n, 84)
      return tf.add(tf.matMul(h, w5), b5); // (n, 10)
    }

    /** Summed cross-entropy of the rows (F.cross_entropy's mean times n). */
    const summedLoss = (logits, labels) => tf.neg(tf.sum(tf.mul(tf.oneHot(labels, CLASSES), tf.logSoftmax(logits))));

    function correctOf(logits, labels) {
      const top = tf.argMax(logits, 1), guesses = top.dataSync();
      top.dispose();
      let correct = 0;
      for (let b = 0; b < guesses.length; b++) correct += guesses[b] === labels[b] ? 1 : 0;
      return correct;
    }

    function trainStep(images, labels, indices, lr, beta1) {
      const n = indices.length;
      const batchLabels = Int32Array.from(indices, (i) => labels[i]);
      const x = inputs(images, indices);
      const y = tf.tensor1d(batchLabels, "int32");
      let logits = null;
      const { value, grads } = tf.variableGrads(() => {
        logits = tf.keep(forward(x));
        return tf.div(summedLoss(logits, y), n);
      }, params.map((p) => p.variable));
      const loss = value.dataSync()[0];
      const correct = correctOf(logits, batchLabels);
      // Adam as torch.optim.Adam does it (no weight decay), at this step's lr and beta1
      steps += 1;
      const stepSize = lr / (1 - beta1 ** steps);
      const correction2 = Math.sqrt(1 - beta2 ** steps);
      tf.tidy(() => {
        for (const p of params) {
          const g = grads[p.variable.name];
          p.m.assign(tf.add(p.m, tf.mul(tf.sub(g, p.m), 1 - beta1)));
          p.v.assign(tf.add(tf.mul(p.v, beta2), tf.mul(tf.square(g), 1 - beta2)));
          p.variable.assign(tf.sub(p.variable, tf.div(tf.mul(p.m, stepSize), tf.add(tf.div(tf.sqrt(p.v), correction2), eps))));
        }
      });
      if (lastGradients) tf.dispose(Object.values(lastGradients));
      lastGradients = grads; // kept until the next step, for gradients()
      tf.dispose([x, y, logits, value]);
      return { loss, correct };
    }

    function evaluate(images, labels) {
      let loss = 0.0, correct = 0;
      for (let start = 0; start < labels.length; start += EVAL_BATCH) {
        const indices = Int32Array.from({ length: Math.min(EVAL_BATCH, labels.length - start) }, (_, i) => start + i);
        const batchLabels = Int32Array.from(indices, (i) => labels[i]);
        const [logits, summed] = tf.tidy(() => {
          const out = forward(inputs(images, indices));
          return [out, summedLoss(out, tf.tensor1d(batchLabels, "int32"))];
        });
        loss += summed.dataSync()[0];
        correct += correctOf(logits, batchLabels);
        tf.dispose([logits, summed]);
      }
      return { loss: loss / labels.length, accuracy: correct / labels.length };
    }

    /** TF.js values back in PyTorch's layout, by the state_dict's names. */
    function torchValues(tensorOf) {
      return Object.fromEntries(params.map((p) => {
        const values = tensorOf(p).dataSync(), out = new Float32Array(values.length);
        for (let k = 0; k < out.length; k++) out[k] = values[p.index[k]];
        return [p.name, out];
      }));
    }

    function weights() {
      const values = torchValues((p) => p.variable);
      for (const p of params) p.torch.data.set(values[p.name]);
      return LeNetTraining.webWeights(template);
    }

    return {
      trainStep, evaluate, weights,
      gradients: () => torchValues((p) => lastGradients[p.variable.name]),
      dispose: () => {
        if (lastGradients) tf.dispose(Object.values(lastGradients));
        for (const p of params) tf.dispose([p.variable, p.m, p.v]);
      },
    };
  }

  // --- either engine behind one face ------------------------------------------------------------

  function handWrittenTrainer(web, batchSize) {
    const model = LeNetTraining.modelFromWeights(web);
    const trainer = LeNetTraining.createTrainer(model, batchSize);
    return {
      ...trainer,
      weights: () => LeNetTraining.webWeights(model),
      gradients: () => Object.fromEntries(model.parameters.map((p) => [p.name, Float32Array.from(p.grad)])),
      dispose: () => {},
    };
  }

  async function trainer(engine, web, batchSize) {
    if (engine === "hand-written") return handWrittenTrainer(web, batchSize);
    const backend = { "tfjs-cpu": "cpu", "tfjs-wasm": "wasm", "tfjs-webgl": "webgl" }[engine];
    if (!backend) throw new Error(`EngineChoice: no engine ${engine}`);
    if (!(await tf.setBackend(backend))) throw new Error(`EngineChoice: TF.js's ${backend} backend did not start`);
    await tf.ready();
    return tfjsTrainer(web, backend === "wasm");
  }

  /** The training images' order of the run's first epoch (LeNetTraining.train's: seed + 1). */
  function firstOrder(count, seed) {
    return Array.from(LeNetTraining.permutation(count, LeNetTraining.randomGenerator(seed + 1)));
  }

  /**
   * The tab's default loop (LeNetTraining.train's): the first ``trainImages`` images, each epoch in
   * the order of LeNetTraining.permutation (seed + 1), one-cycle steps, the test images after each
   * epoch; from the weights ``web`` (Python's, the same for every engine) rather than a new model.
   * With ``steps``, only the run's first ``steps`` steps (the schedule still the whole run's), then
   * one test. Training and testing are timed apart.
   */
  async function run(engine, web, data, settings, steps = null) {
    const { epochs, trainImages: count, batchSize, lr, seed } = settings;
    const model = await trainer(engine, web, batchSize);
    const tensors = () => (engine === "hand-written" ? 0 : tf.memory().numTensors);
    const counts = new Set(); // TF.js's live tensors between steps and tests: one number, or a leak
    const stepsPerEpoch = Math.ceil(count / batchSize);
    const last = steps === null ? epochs * stepsPerEpoch : steps;
    const schedule = LeNetTraining.oneCycle(lr, epochs * stepsPerEpoch);
    const random = LeNetTraining.randomGenerator(seed + 1);
    let step = 0, trained = 0, tested = 0, training = 0.0, testing = 0.0, result = null;
    const test = () => {
      const started = performance.now();
      result = model.evaluate(data.testImages, data.testLabels);
      testing += performance.now() - started;
      tested += data.testLabels.length;
      counts.add(tensors());
    };
    for (let epoch = 1; epoch <= epochs && step < last; epoch++) {
      const order = LeNetTraining.permutation(count, random);
      const started = performance.now();
      for (let start = 0; start < count && step < last; start += batchSize) {
        const indices = order.subarray(start, Math.min(start + batchSize, count));
        const { lr: rate, beta1 } = schedule(step++);
        model.trainStep(data.trainImages, data.trainLabels, indices, rate, beta1);
        trained += indices.length;
        if (step === 1) counts.add(tensors());
      }
      training += performance.now() - started;
      counts.add(tensors());
      test();
    }
    const weights = model.weights();
    model.dispose();
    if (counts.size > 1) throw new Error(`EngineChoice: ${engine} leaks tensors: ${Array.from(counts)}`);
    return {
      trained, tested, trainSeconds: training / 1000, testSeconds: testing / 1000,
      testAccuracy: result.accuracy, weights,
    };
  }

  /** One training step from ``web`` on all of ``images`` (uint8, 28x28 each) at this lr and beta1. */
  async function oneStep(engine, web, images, labels, lr, beta1) {
    const model = await trainer(engine, web, labels.length);
    const indices = Int32Array.from({ length: labels.length }, (_, i) => i);
    const { loss } = model.trainStep(images, labels, indices, lr, beta1);
    const gradients = Object.fromEntries(Object.entries(model.gradients()).map(([k, v]) => [k, Array.from(v)]));
    const weights = model.weights();
    model.dispose();
    return { loss, gradients, weights };
  }

  return { trainer, firstOrder, run, oneStep };
})();
if (typeof globalThis !== "undefined") globalThis.EngineChoice = EngineChoice;
