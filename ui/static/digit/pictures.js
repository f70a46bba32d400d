/*
 * Numbers as small pictures, for the digit tab's views: what LeNet sees, its feature maps, the
 * input with a receptive field outlined, the lesson's 28x28 images.
 *
 * Defines drawMap(target, values, offset, side, peak, mark): the side x side numbers of `values`
 * from `offset` (a flat, row-major array) drawn on the canvas `target` as greys, 0 black and `peak`
 * (or more) white; `mark` ({top, left, width, height} in map pixels) is outlined in red.
 */
function drawMap(target, values, offset, side, peak, mark) {
  "use strict";
  const pixels = new ImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = Math.round(255 * Math.max(0, Math.min(1, values[offset + i] / (peak || 1))));
    pixels.data.set([v, v, v, 255], 4 * i);
  }
  target.width = side;
  target.height = side;
  const context = target.getContext("2d");
  context.putImageData(pixels, 0, 0);
  if (mark) {
    context.strokeStyle = "#ff3b30";
    context.lineWidth = Math.max(0.5, side / 60);
    context.strokeRect(mark.left + 0.25, mark.top + 0.25, mark.width - 0.5, mark.height - 0.5);
  }
}
