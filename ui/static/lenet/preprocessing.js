/*
 * MNIST's preprocessing in the browser: a drawing (the stroke layer's alpha) to MNIST's 28x28 form,
 * as nets/data/sketch.py does it, function for function (each names the Python it mirrors), with
 * Python's arithmetic (PythonArithmetic, python_arithmetic.js). Its numbers and the ways' names are
 * Python's, read from LeNetFacts (assets/web/lenet_engine_facts.js, written from sketch.py).
 *
 * A plain script defining one name, MnistPreprocessing:
 *   WAYS                           the preprocessing lesson's ways, as sketch.py's WAYS spells them
 *   readWays(alpha, width, height) -> null when there is no digit (exactly when Python's
 *                                    sketch_to_mnist returns None), else {way: Uint8Array(28 * 28)}
 *                                    for every way (ink bright); alpha: width * height uint8 values
 *   readWay(way, alpha, width, height)  -> one of them (Uint8Array(28 * 28)), or null
 *   steps                          {toWorkSize, keepDigit, cropToInk, scaleIntoBox, centreInField}
 */
const MnistPreprocessing = (() => {
  "use strict";

  const { f32, identity, roundHalfEven, image, pairwiseSum, resize, percentileLinear } = PythonArithmetic;
  const {
    work_size: WORK_SIZE, // longest side the ink is analysed at
    ink_threshold: INK_THRESHOLD, // ink strength (0..1) that counts as part of a stroke
    speck_fraction: SPECK_FRACTION, // a blob with less than this share of the largest blob's ink is a speck
    min_digit_extent: MIN_DIGIT_EXTENT, // the digit must span this share of the canvas' longest side
    min_contrast: MIN_CONTRAST, // ink must reach this strength (0..1) to count at all
    box: BOX, // MNIST: each digit scaled into a 20x20 box...
    field: FIELD, // ...and centred in a 28x28 field
    ways: WAYS, // "squeezed", "cropped_not_centred", "mnist_style"
  } = LeNetFacts.sketch;
  // numpy compares a float32 array with a Python float in float32 (NEP 50): so does this file.
  const INK_THRESHOLD_F32 = f32(INK_THRESHOLD);

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

  /**
   * Whether any pixel of the mask within 2 along one direction is on: along rows (dx = 1) or
   * along columns (dy = 1). One pass of a separable 5x5 maximum.
   */
  function within2(mask, width, height, dx, dy) {
    const out = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let on = 0;
        for (let k = -2; k <= 2 && !on; k++) {
          const xx = x + k * dx, yy = y + k * dy;
          if (xx >= 0 && xx < width && yy >= 0 && yy < height) on = mask[yy * width + xx];
        }
        out[y * width + x] = on;
      }
    }
    return out;
  }

  /** Any of the mask's pixels within 2 pixels (a 5x5 square): max_pool2d(5, stride 1, padding 2). */
  function dilate5x5(mask, width, height) {
    return within2(within2(mask, width, height, 1, 0), width, height, 0, 1);
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
   * How each way reads the cleaned ink, by the name sketch.py's WAYS gives it (the one table
   * between Python's names and this file's functions): the whole canvas squeezed to 28x28; cropped
   * and scaled into the 20x20 box but left at the field's top-left corner (place_in_corner);
   * cropped, scaled, centred by mass (MNIST's way, what the app classifies).
   */
  const MAKE_WAY = {
    squeezed: (ink) => squeezeCanvas(ink),
    cropped_not_centred: (ink) => placeAt(scaleIntoBox(cropToInk(ink)), 0, 0),
    mnist_style: (ink) => centreInField(scaleIntoBox(cropToInk(ink))),
  };
  if (WAYS.length !== Object.keys(MAKE_WAY).length || !WAYS.every((way) => way in MAKE_WAY)) {
    throw new Error(`MnistPreprocessing: Python's ways ${WAYS} are not this file's ${Object.keys(MAKE_WAY)}`);
  }

  /** The drawing read every way of WAYS ({way: Uint8Array(28 * 28), ink bright}), or null when there is no digit. */
  function readWays(alpha, width, height) {
    const ink = cleanInk(alpha, width, height);
    if (ink === null) return null;
    return Object.fromEntries(WAYS.map((way) => [way, MAKE_WAY[way](ink)]));
  }

  /** The drawing read one way (a name of WAYS), or null when there is no digit. */
  function readWay(way, alpha, width, height) {
    if (!(way in MAKE_WAY)) throw new Error(`MnistPreprocessing: no way ${way}; the ways are ${WAYS}`);
    const ink = cleanInk(alpha, width, height);
    return ink === null ? null : MAKE_WAY[way](ink);
  }

  return { WAYS, readWays, readWay, steps: { toWorkSize, keepDigit, cropToInk, scaleIntoBox, centreInField } };
})();
