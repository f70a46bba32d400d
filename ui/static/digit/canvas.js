/*
 * The digit tab's drawing surface: a size x size <canvas> in #digit-canvas that keeps the strokes
 * (and an example's ink) so they can be undone, repainted in a new theme's ink colour, and shared.
 * The canvas's alpha is the ink LeNet reads (whatever the colour), as the Python reads a stroke layer.
 *
 * Defines drawingCanvas(box, {size, brush, onDraw, onStrokeEnd}) for the element #digit-canvas
 * (holding a <canvas> and a .dl-placeholder):
 *   onDraw()              called as the pen moves (the page reads at most once a frame)
 *   onStrokeEnd()         called when a stroke ends (the page reads at once)
 * and returns {strokes(), setStrokes(list), clear(), undo(), showExample(example) -> Promise,
 * alpha() -> Uint8Array(size * size), repaint()}. A stroke is {kind: "stroke", points: [[x, y], ...]}
 * in canvas pixels, or {kind: "example", digit, mask: {alpha, width, height}}.
 */
function drawingCanvas(box, options) {
  "use strict";
  const { size, brush, onDraw, onStrokeEnd } = options;
  const canvas = box.querySelector("canvas");
  const placeholder = box.querySelector(".dl-placeholder");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let strokes = []; // what is drawn, in order
  let current = null; // the stroke being drawn

  /** Colours from the page's theme (Gradio's CSS variables), read when painting. */
  function colour(name, fallback) {
    return getComputedStyle(box).getPropertyValue(name).trim() || fallback;
  }

  /** A pointer event's position in the canvas's own pixels (it is shown smaller on a phone). */
  function position(event) {
    const shown = canvas.getBoundingClientRect();
    return [(event.clientX - shown.left) * (size / shown.width), (event.clientY - shown.top) * (size / shown.height)];
  }

  /** Paint every stroke again (after undo, clear, an example, or a change of theme). */
  function repaint() {
    context.clearRect(0, 0, size, size);
    for (const stroke of strokes) paint(stroke);
    if (current) paint(current);
    placeholder.hidden = strokes.length > 0 || current !== null;
  }

  function paint(stroke) {
    if (stroke.kind === "example") {
      context.drawImage(tinted(stroke.mask), 0, 0, size, size);
      return;
    }
    context.strokeStyle = colour("--body-text-color", "#111");
    context.fillStyle = context.strokeStyle;
    context.lineWidth = brush;
    context.lineCap = context.lineJoin = "round";
    const points = stroke.points;
    if (points.length === 1) { // a tap: a dot
      context.beginPath();
      context.arc(points[0][0], points[0][1], context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill();
      return;
    }
    context.beginPath();
    context.moveTo(points[0][0], points[0][1]);
    for (const [x, y] of points.slice(1)) context.lineTo(x, y);
    context.stroke();
  }

  /** An example's ink (its alpha) in the page's ink colour, as a canvas to draw. */
  function tinted(mask) {
    const layer = document.createElement("canvas");
    layer.width = mask.width;
    layer.height = mask.height;
    const pixels = new ImageData(mask.width, mask.height);
    const ink = inkRGB();
    for (let i = 0; i < mask.alpha.length; i++) {
      pixels.data.set(ink, 4 * i);
      pixels.data[4 * i + 3] = mask.alpha[i];
    }
    layer.getContext("2d").putImageData(pixels, 0, 0);
    return layer;
  }

  function inkRGB() {
    const probe = document.createElement("canvas").getContext("2d");
    probe.fillStyle = colour("--body-text-color", "#111");
    probe.fillRect(0, 0, 1, 1);
    return probe.getImageData(0, 0, 1, 1).data.slice(0, 3);
  }

  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    current = { kind: "stroke", points: [position(event)] };
    repaint();
    onDraw();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) current.points.push(position(e));
    repaint();
    onDraw(); // the answer follows the pen, at most once a frame
  });
  const finish = (event) => {
    if (!current) return;
    event.preventDefault();
    strokes.push(current);
    current = null;
    repaint();
    onStrokeEnd(); // at the end of a stroke: at once, not a frame later
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());

  /** The canvas's alpha: the ink, 0..255, size x size. */
  function alpha() {
    const pixels = context.getImageData(0, 0, size, size).data;
    const ink = new Uint8Array(size * size);
    for (let i = 0; i < ink.length; i++) ink[i] = pixels[4 * i + 3];
    return ink;
  }

  /** Put an example digit ({digit, src}: dark ink on white) on the canvas as its only "stroke". */
  function showExample(example) {
    return new Promise((resolve) => {
      const picture = new Image();
      picture.onload = () => {
        const scratch = document.createElement("canvas");
        scratch.width = picture.width;
        scratch.height = picture.height;
        const scratchContext = scratch.getContext("2d");
        scratchContext.drawImage(picture, 0, 0);
        const rgba = scratchContext.getImageData(0, 0, picture.width, picture.height).data;
        const ink = new Uint8ClampedArray(picture.width * picture.height);
        for (let i = 0; i < ink.length; i++) { // dark ink on white: ink = 255 - brightness
          ink[i] = 255 - Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
        }
        strokes = [{ kind: "example", digit: example.digit, mask: { alpha: ink, width: picture.width, height: picture.height } }];
        repaint();
        resolve();
      };
      picture.src = example.src;
    });
  }

  return {
    strokes: () => strokes,
    setStrokes: (list) => {
      strokes = list;
      repaint();
    },
    clear: () => {
      strokes = [];
      current = null;
      repaint();
    },
    undo: () => {
      strokes.pop();
      repaint();
    },
    showExample, alpha, repaint,
  };
}
