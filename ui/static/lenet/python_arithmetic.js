/*
 * Python's arithmetic, step for step, for the browser engine (ui/static/lenet/): Pillow's resampling
 * of float32 "F" images (src/libImaging/Resample.c), numpy's pairwise summation and linear
 * percentile, and Python's rounding (half to even). nets/data/sketch.py computes with these; the
 * engine repeats them with the same arithmetic (Math.fround where Python keeps float32) so a pixel
 * near a threshold, or a centre of mass near a half pixel, goes the same way in both.
 *
 * A plain script (no import/export, no build step) defining one name, PythonArithmetic:
 *   f32, identity                  float32 rounding (Math.fround), and no rounding (for float64 sums)
 *   roundHalfEven(x)               Python's round() and numpy's np.round
 *   image(data, width, height)     an image: {data: Float32Array(height * width), width, height}
 *   pairwiseSum(get, start, n, round)  numpy's sum of n values read by get(i)
 *   resize(image, width, height, "box" | "lanczos")  PIL.Image.resize of an "F" image
 *   percentileLinear(values, q)    np.percentile(values, q) of float32 values
 */
const PythonArithmetic = (() => {
  "use strict";

  const f32 = Math.fround;
  const identity = (x) => x;

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

  // --- numpy's percentile (numpy/lib/_function_base_impl.py, method "linear") -----------------

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

  return { f32, identity, roundHalfEven, image, pairwiseSum, resize, percentileLinear };
})();
