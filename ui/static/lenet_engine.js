/*
 * LeNet in the visitor's browser: the digit tab's preprocessing and network, number for number
 * the same as the Python on the server ("one model, two engines, one answer").
 *
 * The Python reference is nets/data/sketch.py (a drawing -> MNIST's 28x28 form -> LeNet's 32x32 input),
 * nets/models/lenet.py (the network, and web_weights: the JSON this script reads) and nets/explaining/convolution.py
 * (one feature-map pixel explained; the preprocessing lesson). tests/test_lenet_engine.py runs
 * this file in Chromium and holds it to those: the same 28x28 image (within 1 of 255), the same
 * "no digit" decisions, the same probabilities (within 1e-3).
 *
 * To be the same, the preprocessing repeats the Python step by step, with the same arithmetic:
 * Pillow's resampling is reimplemented from its C source (src/libImaging/Resample.c), values
 * Python keeps in float32 are rounded to float32 here (Math.fround, Float32Array), numpy's
 * pairwise summation and linear percentile are followed, and rounding is Python's (half to even).
 * Otherwise a pixel near a threshold, or a centre of mass near a half pixel, could go the other way.
 *
 * A plain script: no import/export, no build step, no dependencies. It defines one global,
 * LeNetEngine, whether it is inlined into a function body (Gradio's js_on_load) or loaded as a
 * <script>.
 *
 * Public API (LeNetEngine.*). Images are flat, row-major arrays; "S" is the weights' input side (32).
 *
 *   FORMAT                        "classic-cnns/lenet-web/1", the web weights format read here
 *   WAYS                          ["squeezed", "croppedNotCentred", "mnistStyle"]
 *   parseWeights(json)            -> model: the web weights (a JSON string or the parsed object) as
 *                                    {format, mean, std, inputSize, pooling, activation, categories,
 *                                     inChannels, conv1, conv2, fc1, fc2, fc3}, each layer
 *                                    {weight: Float32Array, bias: Float32Array, shape: [...]}
 *   readDrawing(alpha, width, height, model)
 *                                 -> null when there is no digit (blank, a dot, specks: exactly when
 *                                    Python's sketch_to_mnist returns None), else classify()'s reading
 *                                    of mnistStyle(). alpha: Uint8Array / Uint8ClampedArray / array,
 *                                    width*height, the stroke layer's alpha (ink = alpha).
 *   readWays(alpha, width, height)
 *                                 -> null, or {squeezed, croppedNotCentred, mnistStyle}: the same
 *                                    drawing read three ways (each a Uint8Array(28*28), ink bright)
 *   squeezed(alpha, width, height), croppedNotCentred(...), mnistStyle(...)
 *                                 -> Uint8Array(28*28) or null: one way each (see readWays)
 *   classify(model, mnist)        -> reading of a 28x28 uint8 image: {mnist, input: Float32Array(S*S),
 *                                    probabilities: Float64Array(10), top: [{digit, label, p}] x3,
 *                                    logits, conv1: (6x28x28), pool1: (6x14x14), conv2: (16x10x10),
 *                                    pool2: (16x5x5), fc1: (120), fc2: (84)} (Float32Arrays)
 *   toInput(mnist, model)         -> Float32Array(S*S): padded to S, normalised with mean/std
 *   forward(model, input)         -> {conv1, pool1, conv2, pool2, fc1, fc2, logits, probabilities}
 *                                    for any input of inChannels*S*S; avg or max pooling and ReLU,
 *                                    sigmoid or tanh, as the weights' metadata says
 *   topK(probabilities, k, categories) -> [{digit, label, p}], best first
 *   explainConvolution(reading, model, layer, channel, row, col)
 *                                 -> {patch, kernel, products (nested in_channels x 5 x 5), bias, sum,
 *                                    relu, activated, activation, value, input_box: [top, left,
 *                                    bottom, right), pool: {block (2x2), top, left, value, pooling}}
 *                                    as nets/explaining/convolution.py's explain_convolution. Bad arguments
 *                                    throw an Error carrying .code and .values (the same codes as
 *                                    Python's ConvolutionError, worded in assets/i18n/digit_engine.json).
 *   steps                         the preprocessing steps one by one, for tests: {roundHalfEven,
 *                                    resize(image, width, height, "box" | "lanczos"), toWorkSize,
 *                                    keepDigit, cropToInk, scaleIntoBox, centreInField,
 *                                    percentileLinear}; an image is {data: Float32Array, width, height}
 */
const LeNetEngine = (() => {
  "use strict";

  // --- constants: nets/data/sketch.py's -------------------------------------------------------------

  const FORMAT = "classic-cnns/lenet-web/1";
  const WORK_SIZE = 160; // longest side the ink is analysed at
  const INK_THRESHOLD = 0.3; // ink strength (0..1) that counts as part of a stroke
  const SPECK_FRACTION = 0.08; // a blob with less than this share of the largest blob's ink is a speck
  const MIN_DIGIT_EXTENT = 0.08; // the digit must span this share of the canvas' longest side
  const MIN_CONTRAST = 0.12; // ink must reach this strength (0..1) to count at all
  const BOX = 20; // MNIST: each digit scaled into a 20x20 box...
  const FIELD = 28; // ...and centred in a 28x28 field
  const KERNEL = 5; // both conv layers' kernels are 5x5
  const WAYS = ["squeezed", "croppedNotCentred", "mnistStyle"];

  const f32 = Math.fround;
  // numpy compares a float32 array with a Python float in float32 (NEP 50): so does this file.
  const INK_THRESHOLD_F32 = f32(INK_THRESHOLD);

  /** Python's round() and numpy's np.round: to the nearest integer, halves to the even one. */
  function roundHalfEven(x) {
    const floor = Math.floor(x);
    const fraction = x - floor; // exact for doubles
    if (fraction > 0.5) return floor + 1;
    if (fraction < 0.5) return floor;
    return floor % 2 === 0 ? floor : floor + 1;
  }

  /** An image: {data: Float32Array(height*width), width, height}, as a Pillow "F" image or float32 array. */
  function image(data, width, height) {
    return { data, width, height };
  }

  // --- numpy's summation (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum) ---------------

  /**
   * numpy's pairwise sum of n values read by get(i), rounding every addition with round
   * (Math.fround for float32 arrays, identity for float64). numpy sums a contiguous run this way:
   * 8 running sums for up to 128 values, halves beyond. Used where Python's sums feed a rounding.
   */
  function pairwiseSum(get, start, n, round) {
    if (n < 8) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum = round(sum + get(start + i));
      return sum;
    }
    if (n <= 128) {
      const r = [];
      for (let j = 0; j < 8; j++) r.push(get(start + j));
      let i = 8;
      for (; i < n - (n % 8); i += 8) {
        for (let j = 0; j < 8; j++) r[j] = round(r[j] + get(start + i + j));
      }
      let sum = round(round(round(r[0] + r[1]) + round(r[2] + r[3])) + round(round(r[4] + r[5]) + round(r[6] + r[7])));
      for (; i < n; i++) sum = round(sum + get(start + i));
      return sum;
    }
    let half = Math.floor(n / 2);
    half -= half % 8;
    return round(pairwiseSum(get, start, half, round) + pairwiseSum(get, start + half, n - half, round));
  }

  const identity = (x) => x;

  // --- Pillow's resampling (src/libImaging/Resample.c), for float32 "F" images ------------------

  /** Pillow's BOX filter: 1 on (-0.5, 0.5], support 0.5. */
  function boxFilter(x) {
    return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
  }

  function sinc(x) {
    if (x === 0.0) return 1.0;
    x = x * Math.PI;
    return Math.sin(x) / x;
  }

  /** Pillow's LANCZOS filter: sinc(x) * sinc(x / 3) on [-3, 3), support 3. */
  function lanczosFilter(x) {
    return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
  }

  const FILTERS = {
    box: { filter: boxFilter, support: 0.5 },
    lanczos: { filter: lanczosFilter, support: 3.0 },
  };

  /**
   * Pillow's precompute_coeffs for the whole input (box 0..inSize): for each output pixel the
   * first input pixel it reads (bounds[2 * out]), how many (bounds[2 * out + 1]), and their weights
   * (weights[out * ksize + k], normalised by their sum). Shrinking widens the filter by the scale.
   */
  function precomputeCoeffs(inSize, outSize, { filter, support: filterSupport }) {
    const scale = inSize / outSize;
    const filterscale = scale < 1.0 ? 1.0 : scale;
    const support = filterSupport * filterscale;
    const ksize = Math.ceil(support) * 2 + 1;
    const bounds = new Int32Array(outSize * 2);
    const weights = new Float64Array(outSize * ksize);
    const invFilterscale = 1.0 / filterscale;
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      let xmin = Math.trunc(center - support + 0.5); // C's (int) cast: toward zero
      if (xmin < 0) xmin = 0;
      let xmax = Math.trunc(center + support + 0.5);
      if (xmax > inSize) xmax = inSize;
      xmax -= xmin;
      let ww = 0.0;
      for (let x = 0; x < xmax; x++) {
        const w = filter((x + xmin - center + 0.5) * invFilterscale);
        weights[xx * ksize + x] = w;
        ww += w;
      }
      if (ww !== 0.0) {
        for (let x = 0; x < xmax; x++) weights[xx * ksize + x] /= ww;
      }
      bounds[xx * 2] = xmin;
      bounds[xx * 2 + 1] = xmax;
    }
    return { bounds, weights, ksize };
  }

  /**
   * Pillow's ImagingResample on an "F" image: a horizontal pass then a vertical one, each
   * accumulating in double and storing float32; a pass whose size does not change is skipped.
   */
  function resample(src, outWidth, outHeight, kind) {
    let { data, width, height } = src;
    if (outWidth !== width) { // horizontal pass: (height, width) -> (height, outWidth)
      const { bounds, weights, ksize } = precomputeCoeffs(width, outWidth, FILTERS[kind]);
      const out = new Float32Array(height * outWidth);
      for (let y = 0; y < height; y++) {
        const row = y * width;
        for (let xx = 0; xx < outWidth; xx++) {
          const xmin = bounds[xx * 2], count = bounds[xx * 2 + 1], k = xx * ksize;
          let sum = 0.0;
          for (let x = 0; x < count; x++) sum += data[row + xmin + x] * weights[k + x];
          out[y * outWidth + xx] = sum; // Float32Array: rounds to float32, as Pillow's FLOAT32 line
        }
      }
      data = out;
      width = outWidth;
    }
    if (outHeight !== height) { // vertical pass: (height, width) -> (outHeight, width)
      const { bounds, weights, ksize } = precomputeCoeffs(height, outHeight, FILTERS[kind]);
      const out = new Float32Array(outHeight * width);
      for (let yy = 0; yy < outHeight; yy++) {
        const ymin = bounds[yy * 2], count = bounds[yy * 2 + 1], k = yy * ksize;
        for (let x = 0; x < width; x++) {
          let sum = 0.0;
          for (let y = 0; y < count; y++) sum += data[(ymin + y) * width + x] * weights[k + y];
          out[yy * width + x] = sum;
        }
      }
      data = out;
      height = outHeight;
    }
    return image(data, width, height);
  }

  /** PIL.Image.resize(size, filter) of an "F" image (no reducing_gap), shortcuts included. */
  function resize(src, outWidth, outHeight, kind) {
    if (outWidth === src.width && outHeight === src.height) {
      return image(Float32Array.from(src.data), src.width, src.height); // Pillow returns a copy
    }
    if (src.height > src.width * 100 && outHeight < src.height) {
      // Pillow resizes very tall images vertically first, then horizontally.
      return resample(resample(src, src.width, outHeight, kind), outWidth, outHeight, kind);
    }
    return resample(src, outWidth, outHeight, kind);
  }

  // --- 1. the ink, at the working size (sketch.py: find_ink's stroke layers, to_work_size) ------

  /** A stroke layer's alpha (uint8, height x width) as ink strength in [0, 1], float32. */
  function alphaToInk(alpha, width, height) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new Error(`LeNetEngine: width and height must be positive integers, not ${width} x ${height}`);
    }
    if (!alpha || alpha.length !== width * height) {
      throw new Error(`LeNetEngine: alpha must hold width * height = ${width * height} values, ` +
        `not ${alpha ? alpha.length : alpha}`);
    }
    const data = new Float32Array(width * height);
    for (let i = 0; i < data.length; i++) data[i] = alpha[i] / 255.0; // float32 / 255
    return image(data, width, height);
  }

  /** to_work_size: shrink (area average, BOX) so the longest side is at most WORK_SIZE; never enlarge. */
  function toWorkSize(ink) {
    const scale = WORK_SIZE / Math.max(ink.height, ink.width);
    if (scale >= 1) return ink;
    const width = Math.max(1, roundHalfEven(ink.width * scale));
    const height = Math.max(1, roundHalfEven(ink.height * scale));
    return resize(ink, width, height, "box");
  }

  // --- 2. specks and blank canvases (sketch.py: keep_digit, connected_components) --------------

  /**
   * numpy's np.percentile(values, q) with its default "linear" method, for float32 values: the
   * value at index (n - 1) * q / 100 of the sorted values, interpolated in float32 as numpy's _lerp.
   */
  function percentileLinear(values, q) {
    const sorted = Float32Array.from(values).sort();
    const n = sorted.length;
    const index = (n - 1) * (q / 100);
    if (index >= n - 1) return sorted[n - 1];
    const below = Math.floor(index);
    const gamma = index - below;
    const a = sorted[below], b = sorted[below + 1];
    const diff = f32(b - a);
    if (gamma >= 0.5) return f32(b - f32(diff * f32(1 - gamma)));
    return f32(a + f32(diff * f32(gamma)));
  }

  /**
   * 8-connected components of a mask (Uint8Array, height x width): labels (Int32Array, 0 =
   * background) numbered 1..count in the order a row-major scan first meets them, as
   * sketch.py's connected_components numbers them.
   */
  function connectedComponents(mask, width, height) {
    const parent = new Int32Array(width * height).fill(-1);
    const root = (i) => {
      while (parent[i] !== i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
      }
      return i;
    };
    const unite = (a, b) => {
      a = root(a);
      b = root(b);
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    };
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (!mask[i]) continue;
        parent[i] = i;
        if (x > 0 && mask[i - 1]) unite(i, i - 1);
        if (y > 0) {
          for (let dx = -1; dx <= 1; dx++) { // the three neighbours above, diagonals included
            const xx = x + dx;
            if (xx >= 0 && xx < width && mask[i - width + dx]) unite(i, i - width + dx);
          }
        }
      }
    }
    const labels = new Int32Array(width * height);
    const numberOf = new Map(); // root -> label, in order of first appearance
    for (let i = 0; i < labels.length; i++) {
      if (!mask[i]) continue;
      const r = root(i);
      if (!numberOf.has(r)) numberOf.set(r, numberOf.size + 1);
      labels[i] = numberOf.get(r);
    }
    return { labels, count: numberOf.size };
  }

  /** Any of the mask's pixels within 2 pixels (a 5x5 square): max_pool2d(5, stride 1, padding 2). */
  function dilate5x5(mask, width, height) {
    const across = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let on = 0;
        for (let xx = Math.max(0, x - 2); xx <= Math.min(width - 1, x + 2) && !on; xx++) on = mask[y * width + xx];
        across[y * width + x] = on;
      }
    }
    const out = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let on = 0;
        for (let yy = Math.max(0, y - 2); yy <= Math.min(height - 1, y + 2) && !on; yy++) on = across[yy * width + x];
        out[y * width + x] = on;
      }
    }
    return out;
  }

  /** keep_digit: stretch the ink's contrast, drop specks; null if no digit is left (blank, a dot). */
  function keepDigit(ink) {
    const { data, width, height } = ink;
    let peak = 0;
    for (let i = 0; i < data.length; i++) if (data[i] > peak) peak = data[i];
    if (peak < MIN_CONTRAST) return null;
    // Full-strength strokes ~ 1.0: divide by the 90th percentile of the strong ink.
    const strong = data.filter((v) => v >= 0.5 * peak);
    const p90 = percentileLinear(strong, 90);
    const stretched = new Float32Array(data.length);
    const mask = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      stretched[i] = Math.min(Math.max(f32(data[i] / p90), 0), 1);
      mask[i] = stretched[i] >= INK_THRESHOLD_F32 ? 1 : 0;
    }
    const { labels, count } = connectedComponents(mask, width, height);
    if (count === 0) return null;
    const mass = new Float64Array(count + 1); // ink per component, summed in pixel order (np.bincount)
    for (let i = 0; i < labels.length; i++) mass[labels[i]] += stretched[i];
    let largest = 1;
    for (let label = 2; label <= count; label++) if (mass[label] > mass[largest]) largest = label;
    let top = height, bottom = -1, left = width, right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (labels[y * width + x] !== largest) continue;
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
    const extent = Math.max(bottom - top + 1, right - left + 1);
    if (extent < MIN_DIGIT_EXTENT * Math.max(height, width)) return null; // only a dot or a speck
    const kept = new Uint8Array(count + 1);
    for (let label = 1; label <= count; label++) kept[label] = mass[label] >= SPECK_FRACTION * mass[largest] ? 1 : 0;
    const keep = new Uint8Array(labels.length);
    for (let i = 0; i < labels.length; i++) keep[i] = kept[labels[i]];
    // Keep the anti-aliased rim of the kept strokes too (it lies below the threshold).
    const near = dilate5x5(keep, width, height);
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = near[i] ? stretched[i] : 0;
    return image(out, width, height);
  }

  // --- 3. and 4. MNIST's own normalisation (sketch.py: crop_to_ink, scale_into_box, centre_in_field)

  /** crop_to_ink: the smallest rectangle holding every pixel with ink (> 0). */
  function cropToInk(ink) {
    const { data, width, height } = ink;
    let top = height, bottom = -1, left = width, right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (data[y * width + x] > 0) {
          top = Math.min(top, y);
          bottom = Math.max(bottom, y);
          left = Math.min(left, x);
          right = Math.max(right, x);
        }
      }
    }
    const w = right - left + 1, h = bottom - top + 1;
    const out = new Float32Array(w * h);
    for (let y = 0; y < h; y++) out.set(data.subarray((top + y) * width + left, (top + y) * width + left + w), y * w);
    return image(out, w, h);
  }

  /** Clip below 0, then divide by the maximum (at least 1e-6) and clip to [0, 1], in float32. */
  function normaliseByMax(img) {
    const data = img.data.map((v) => Math.max(v, 0)); // np.clip(x, 0, None)
    let peak = -Infinity;
    for (let i = 0; i < data.length; i++) if (data[i] > peak) peak = data[i];
    const divisor = f32(Math.max(peak, 1e-6));
    for (let i = 0; i < data.length; i++) data[i] = Math.min(Math.max(f32(data[i] / divisor), 0), 1);
    return image(data, img.width, img.height);
  }

  /** scale_into_box: longest side 20 px, aspect ratio kept, anti-aliased (Lanczos), max 1. */
  function scaleIntoBox(ink) {
    const scale = BOX / Math.max(ink.height, ink.width);
    const width = Math.max(1, roundHalfEven(ink.width * scale));
    const height = Math.max(1, roundHalfEven(ink.height * scale));
    return normaliseByMax(resize(ink, width, height, "lanczos"));
  }

  /** A float32 field in [0, 1] as uint8: np.round(field * 255) (the product in float32). */
  function toUint8(field) {
    const out = new Uint8Array(field.length);
    for (let i = 0; i < field.length; i++) out[i] = roundHalfEven(f32(field[i] * 255));
    return out;
  }

  /** The boxed digit placed in the 28x28 field at (top, left): uint8, (28 x 28). */
  function placeAt(boxed, top, left) {
    const field = new Float32Array(FIELD * FIELD);
    for (let y = 0; y < boxed.height; y++) {
      for (let x = 0; x < boxed.width; x++) field[(top + y) * FIELD + left + x] = boxed.data[y * boxed.width + x];
    }
    return toUint8(field);
  }

  /**
   * centre_in_field: the boxed digit in 28x28 with its centre of mass at pixel (14, 14). The
   * sums are numpy's (float32 pairwise for the total and the rows, float32 in order down the
   * columns, float64 for the moments), so a centre near a half pixel rounds as in Python.
   */
  function centreInField(boxed) {
    const { data, width: w, height: h } = boxed;
    const at = (i) => data[i];
    const total = pairwiseSum(at, 0, w * h, f32); // boxed.sum()
    const rows = new Float64Array(h); // boxed.sum(1)
    for (let y = 0; y < h; y++) rows[y] = pairwiseSum(at, y * w, w, f32);
    const cols = new Float64Array(w); // boxed.sum(0): one pass per row, unless a single column
    if (w === 1) {
      cols[0] = pairwiseSum(at, 0, h, f32);
    } else {
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) cols[x] = f32(cols[x] + data[y * w + x]);
    }
    const cy = pairwiseSum((y) => rows[y] * y, 0, h, identity) / total;
    const cx = pairwiseSum((x) => cols[x] * x, 0, w, identity) / total;
    const top = Math.min(Math.max(roundHalfEven(FIELD / 2 - cy), 0), FIELD - h);
    const left = Math.min(Math.max(roundHalfEven(FIELD / 2 - cx), 0), FIELD - w);
    return placeAt(boxed, top, left);
  }

  // --- the three ways of reading a drawing (sketch.py: sketch_ways) -----------------------------

  /** The cleaned ink of a stroke layer's alpha at the working size, or null when there is no digit. */
  function cleanInk(alpha, width, height) {
    return keepDigit(toWorkSize(alphaToInk(alpha, width, height)));
  }

  /** squeeze_canvas: the whole cleaned canvas squeezed to 28x28 (Lanczos), normalised by its max. */
  function squeezeCanvas(ink) {
    return toUint8(normaliseByMax(resize(ink, FIELD, FIELD, "lanczos")).data);
  }

  /**
   * The drawing read three ways, or null when there is no digit:
   * {squeezed: the whole canvas squeezed to 28x28, croppedNotCentred: cropped and scaled into the
   *  20x20 box but left at the field's top-left corner, mnistStyle: cropped, scaled, centred by mass
   *  (what the app classifies)}, each a Uint8Array(28 * 28), ink bright.
   */
  function readWays(alpha, width, height) {
    const ink = cleanInk(alpha, width, height);
    if (ink === null) return null;
    const boxed = scaleIntoBox(cropToInk(ink));
    return { squeezed: squeezeCanvas(ink), croppedNotCentred: placeAt(boxed, 0, 0), mnistStyle: centreInField(boxed) };
  }

  function oneWay(way) {
    return (alpha, width, height) => {
      const ink = cleanInk(alpha, width, height);
      if (ink === null) return null;
      if (way === "squeezed") return squeezeCanvas(ink);
      const boxed = scaleIntoBox(cropToInk(ink));
      return way === "mnistStyle" ? centreInField(boxed) : placeAt(boxed, 0, 0);
    };
  }

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
    if (!["avg", "max"].includes(spec.pooling) || !["relu", "sigmoid", "tanh"].includes(spec.activation)) {
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

  const ACTIVATIONS = {
    relu: (x) => (x > 0 ? x : 0),
    sigmoid: (x) => 1 / (1 + Math.exp(-x)),
    tanh: Math.tanh,
  };

  /** A 5x5 convolution, stride 1, no padding: (C, H, W) -> (O, H-4, W-4), then the activation. */
  function conv2d(input, channels, side, layer, activate) {
    const [outChannels] = layer.shape;
    const outSide = side - KERNEL + 1;
    const out = new Float32Array(outChannels * outSide * outSide);
    for (let o = 0; o < outChannels; o++) {
      for (let y = 0; y < outSide; y++) {
        for (let x = 0; x < outSide; x++) {
          let sum = 0.0;
          for (let c = 0; c < channels; c++) {
            for (let i = 0; i < KERNEL; i++) {
              const row = (c * side + y + i) * side + x;
              const w = ((o * channels + c) * KERNEL + i) * KERNEL;
              for (let j = 0; j < KERNEL; j++) sum += input[row + j] * layer.weight[w + j];
            }
          }
          out[(o * outSide + y) * outSide + x] = activate(sum + layer.bias[o]);
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
  function linear(input, layer, activate) {
    const [outputs, inputs] = layer.shape;
    if (input.length !== inputs) throw new Error(`LeNetEngine: a layer expects ${inputs} inputs, not ${input.length}`);
    const out = new Float32Array(outputs);
    for (let o = 0; o < outputs; o++) {
      let sum = 0.0;
      for (let i = 0; i < inputs; i++) sum += layer.weight[o * inputs + i] * input[i];
      out[o] = activate(sum + layer.bias[o]);
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
   * LeNet on one input (in_channels x S x S, flat): every layer's output. Shapes for S = 32:
   * conv1 (6, 28, 28) -> pool1 (6, 14, 14) -> conv2 (16, 10, 10) -> pool2 (16, 5, 5) -> fc1 (120)
   * -> fc2 (84) -> logits (10) -> probabilities (10). conv1, conv2, fc1, fc2 are activated.
   */
  function forward(model, input) {
    const side = model.inputSize;
    if (!input || input.length !== model.inChannels * side * side) {
      throw new Error(`LeNetEngine: the input must hold ${model.inChannels} x ${side} x ${side} values`);
    }
    const activate = ACTIVATIONS[model.activation];
    const c1 = model.conv1.shape[0], c2 = model.conv2.shape[0];
    const s1 = side - KERNEL + 1, p1 = s1 >> 1, s2 = p1 - KERNEL + 1;
    const conv1 = conv2d(input, model.inChannels, side, model.conv1, activate); // (6, 28, 28)
    const pool1 = pool2d(conv1, c1, s1, model.pooling); // (6, 14, 14)
    const conv2 = conv2d(pool1, c1, p1, model.conv2, activate); // (16, 10, 10)
    const pool2 = pool2d(conv2, c2, s2, model.pooling); // (16, 5, 5), flattened as torch.flatten does
    const fc1 = linear(pool2, model.fc1, activate); // (120)
    const fc2 = linear(fc1, model.fc2, activate); // (84)
    const logits = linear(fc2, model.fc3, identity); // (10)
    return { conv1, pool1, conv2, pool2, fc1, fc2, logits, probabilities: softmax(logits) };
  }

  /** A 28x28 uint8 image (ink bright) as LeNet's input: /255, padded to S, (x - mean) / std, float32. */
  function toInput(mnist, model) {
    const side = model.inputSize;
    const pad = (side - FIELD) / 2;
    if (!Number.isInteger(pad) || pad < 0) throw new Error(`LeNetEngine: input size ${side} is not 28 plus an even padding`);
    if (!mnist || mnist.length !== FIELD * FIELD) throw new Error("LeNetEngine: an MNIST image has 28 x 28 values");
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

  /** The drawing (a stroke layer's alpha) read the app's way and classified; null if no digit. */
  function readDrawing(alpha, width, height, model) {
    const mnist = oneWay("mnistStyle")(alpha, width, height);
    return mnist === null ? null : classify(model, mnist);
  }

  // --- one feature-map pixel, explained (nets/explaining/convolution.py: explain_convolution) ------------

  function refuse(code, values, message) {
    const error = new Error(`LeNetEngine.explainConvolution: ${message}`);
    error.code = code;
    error.values = values;
    return error;
  }

  function checkRange(value, low, high, code, name, layer) {
    if (!Number.isInteger(value) || value < low || value > high) {
      const values = layer === undefined ? { value, low, high } : { value, low, high, layer };
      const where = layer === undefined ? "" : ` of layer ${layer}`;
      throw refuse(code, values, `${name}${where} must be an integer from ${low} to ${high}, not ${value}`);
    }
  }

  /**
   * How LeNet computed conv layer `layer` (1 or 2), feature map `channel`, pixel (row, col), from a
   * reading (classify / readDrawing): the patch of the layer's input it reads (the S x S input for
   * layer 1, pool1 for layer 2), the kernel, their products (nested in_channels x 5 x 5), the bias,
   * sum = products + bias, relu = max(0, sum), activated = the model's activation of sum, value =
   * the feature map's own value there, input_box = [top, left, bottom, right) of its receptive
   * field on the input, pool = {block: the 2x2 block of the map holding it, top, left, value: the
   * pooled map's value (their average, or maximum)}.
   */
  function explainConvolution(reading, model, layer, channel, row, col) {
    checkRange(layer, 1, 2, "convolution_layer_out_of_range", "layer");
    const channels = (layer === 1 ? model.conv1 : model.conv2).shape[0];
    const side = layer === 1 ? model.inputSize - KERNEL + 1 : ((model.inputSize - KERNEL + 1) >> 1) - KERNEL + 1;
    checkRange(channel, 0, channels - 1, "convolution_channel_out_of_range", "channel", layer);
    checkRange(row, 0, side - 1, "convolution_row_out_of_range", "row", layer);
    checkRange(col, 0, side - 1, "convolution_col_out_of_range", "col", layer);

    const conv = layer === 1 ? model.conv1 : model.conv2;
    const source = layer === 1 ? reading.input : reading.pool1; // (C_in, side + 4, side + 4)
    const inChannels = conv.shape[1];
    const sourceSide = side + KERNEL - 1;
    const patch = [], kernel = [], products = [];
    let sum = 0.0;
    for (let c = 0; c < inChannels; c++) {
      patch.push([]);
      kernel.push([]);
      products.push([]);
      for (let i = 0; i < KERNEL; i++) {
        const p = [], k = [], pk = [];
        for (let j = 0; j < KERNEL; j++) {
          p.push(source[(c * sourceSide + row + i) * sourceSide + col + j]);
          k.push(conv.weight[((channel * inChannels + c) * KERNEL + i) * KERNEL + j]);
          pk.push(p[j] * k[j]);
          sum += pk[j];
        }
        patch[c].push(p);
        kernel[c].push(k);
        products[c].push(pk);
      }
    }
    const bias = conv.bias[channel];
    sum += bias;
    const map = layer === 1 ? reading.conv1 : reading.conv2; // (channels, side, side), activated
    const pooled = layer === 1 ? reading.pool1 : reading.pool2; // (channels, side / 2, side / 2)
    const at = (y, x) => map[(channel * side + y) * side + x];
    const top = 2 * (row >> 1), left = 2 * (col >> 1);
    const half = side >> 1;
    return {
      patch, kernel, products, bias, sum,
      relu: Math.max(0, sum),
      activated: ACTIVATIONS[model.activation](sum),
      activation: model.activation,
      value: at(row, col),
      // Layer 1 reads a 5x5 patch of the input; layer 2 reads 5x5 pooled pixels = 10x10 conv1
      // pixels, which read 10 + 4 = 14 input pixels a side.
      input_box: layer === 1 ? [row, col, row + KERNEL, col + KERNEL] : [2 * row, 2 * col, 2 * row + 14, 2 * col + 14],
      pool: {
        block: [[at(top, left), at(top, left + 1)], [at(top + 1, left), at(top + 1, left + 1)]],
        top, left,
        value: pooled[(channel * half + (row >> 1)) * half + (col >> 1)],
        pooling: model.pooling,
      },
    };
  }

  return {
    FORMAT, WAYS,
    parseWeights, readDrawing, readWays,
    squeezed: oneWay("squeezed"), croppedNotCentred: oneWay("croppedNotCentred"), mnistStyle: oneWay("mnistStyle"),
    classify, toInput, forward, topK, explainConvolution,
    // The steps, for tests and curious readers (each mirrors the nets/data/sketch.py function named).
    steps: { roundHalfEven, resize, toWorkSize, keepDigit, cropToInk, scaleIntoBox, centreInField, percentileLinear },
  };
})();
if (typeof globalThis !== "undefined") globalThis.LeNetEngine = LeNetEngine;
