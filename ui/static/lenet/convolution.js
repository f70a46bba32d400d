/*
 * One feature-map pixel, explained, in the browser: nets/explaining/convolution.py's
 * explain_convolution, number for number, on a reading of LeNetNetwork.classify. CNN Explainer's
 * idea: the real numbers of the real model, so a learner can check the arithmetic by hand.
 *
 * A plain script defining one name, LeNetConvolution:
 *   explainConvolution(reading, model, layer, channel, row, col)
 *       -> {patch, kernel, products (nested in_channels x 5 x 5), bias, sum, relu, activated,
 *           activation, value, input_box: [top, left, bottom, right), pool: {block (2x2), top, left,
 *           value, pooling}}. Bad arguments throw an Error carrying .code and .values (the codes of
 *           Python's ConvolutionError, worded in assets/i18n/digit_engine.json).
 */
const LeNetConvolution = (() => {
  "use strict";

  const { featureMaps, activate } = LeNetNetwork;

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
   * [top, left, bottom, right) of the input pixels a conv layer's pixel (row, col) depends on.
   * Layer 1 reads a 5x5 patch of the input; layer 2 reads 5x5 pooled pixels = 10x10 conv1 pixels,
   * which read 10 + 4 = 14 input pixels a side.
   */
  function receptiveField(model, layer, row, col) {
    const first = model.conv1.shape[2]; // 5
    if (layer === 1) return [row, col, row + first, col + first];
    const reach = 2 * model.conv2.shape[2] + first - 1; // 2 x 5 + 5 - 1 = 14
    return [2 * row, 2 * col, 2 * row + reach, 2 * col + reach];
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
    const layers = featureMaps(model); // [{layer, maps, side}] for conv1, conv2
    checkRange(layer, 1, layers.length, "convolution_layer_out_of_range", "layer");
    const { maps, side } = layers[layer - 1];
    checkRange(channel, 0, maps - 1, "convolution_channel_out_of_range", "channel", layer);
    checkRange(row, 0, side - 1, "convolution_row_out_of_range", "row", layer);
    checkRange(col, 0, side - 1, "convolution_col_out_of_range", "col", layer);

    const conv = layer === 1 ? model.conv1 : model.conv2;
    const [, inChannels, size] = conv.shape; // (maps, C_in, 5, 5)
    const source = layer === 1 ? reading.input : reading.pool1; // (C_in, side + 4, side + 4)
    const sourceSide = side + size - 1;
    const patch = [], kernel = [], products = [];
    let sum = 0.0;
    for (let c = 0; c < inChannels; c++) {
      patch.push([]);
      kernel.push([]);
      products.push([]);
      for (let i = 0; i < size; i++) {
        const p = [], k = [], pk = [];
        for (let j = 0; j < size; j++) {
          p.push(source[(c * sourceSide + row + i) * sourceSide + col + j]);
          k.push(conv.weight[((channel * inChannels + c) * size + i) * size + j]);
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
      activated: activate(model, sum),
      activation: model.activation,
      value: at(row, col),
      input_box: receptiveField(model, layer, row, col),
      pool: {
        block: [[at(top, left), at(top, left + 1)], [at(top + 1, left), at(top + 1, left + 1)]],
        top, left,
        value: pooled[(channel * half + (row >> 1)) * half + (col >> 1)],
        pooling: model.pooling,
      },
    };
  }

  return { explainConvolution };
})();
