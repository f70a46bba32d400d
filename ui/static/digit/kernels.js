/*
 * The trained kernels: conv1's 6 (one 5x5 kernel each) and conv2's 16 x 6, red positive, blue
 * negative, white zero, each layer scaled by its largest weight. What the feature maps look for.
 *
 * Defines kernelsView(rows, t) for the lab's .dl-kernel-rows, returning show(model): model is
 * LeNetEngine.parseWeights'.
 */
function kernelsView(rows, t) {
  "use strict";

  /** One kernel (a size x size slice of the weights, from offset) as a canvas, scaled by peak. */
  function kernelPicture(weights, offset, size, peak) {
    const cell = document.createElement("canvas");
    cell.width = cell.height = size;
    const pixels = new ImageData(size, size);
    for (let i = 0; i < size * size; i++) {
      const v = weights[offset + i] / peak; // -1..1
      const rgb = v >= 0 ? [255, 255 * (1 - v), 255 * (1 - v)] : [255 * (1 + v), 255 * (1 + v), 255];
      pixels.data.set([...rgb.map(Math.round), 255], 4 * i);
    }
    cell.getContext("2d").putImageData(pixels, 0, 0);
    return cell;
  }

  function show(model) {
    rows.innerHTML = "";
    for (const [layer, conv] of [[1, model.conv1], [2, model.conv2]]) {
      const [outputs, inputs, size] = conv.shape; // (maps, input maps, 5, 5)
      let peak = 0;
      for (const v of conv.weight) peak = Math.max(peak, Math.abs(v));
      const block = document.createElement("div");
      block.className = "dl-kernel-layer";
      block.innerHTML = `<h4>${t(layer === 1 ? "digit_kernels_conv1" : "digit_kernels_conv2")}</h4>`;
      const grid = document.createElement("div");
      grid.className = "dl-kernel-grid";
      grid.style.gridTemplateColumns = `repeat(${layer === 1 ? outputs : inputs}, auto)`;
      for (let o = 0; o < outputs; o++) {
        for (let c = 0; c < inputs; c++) {
          const cell = kernelPicture(conv.weight, (o * inputs + c) * size * size, size, peak);
          cell.className = layer === 1 ? "dl-kernel dl-kernel-big" : "dl-kernel";
          cell.title = t("digit_kernel_title", { layer, map: o, input: c });
          grid.appendChild(cell);
        }
      }
      block.appendChild(grid);
      rows.appendChild(block);
    }
  }

  return show;
}
