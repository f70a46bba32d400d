/*
 * The digit tab's page: a canvas to draw on, LeNet's answer while you draw, what LeNet sees, every
 * feature map, any convolution explained number by number, the trained kernels, and a lesson on why
 * MNIST's preprocessing matters. All of it runs here, in the visitor's browser, with
 * LeNetEngine (lenet_engine.js, loaded before this file): drawing and reading send nothing to the
 * server. ui/digit_tab.py hands this file to Gradio (a gr.HTML's js_on_load) with props:
 *
 *   props.weights_url   where the shipped LeNet's web weights are (fetched once, then cached)
 *   props.examples      [{name, digit, src}] example digits (data: URLs: dark ink on white)
 *   props.texts         {en: {...}, ko: {...}} every sentence of this page, by language
 *   props.brush         the pen's width in canvas pixels (the canvas is 400 x 400)
 *
 * Handles other code relies on: the drawing surface is #digit-canvas (it holds the <canvas>), and
 * #digit-prediction's first line of text is the top digit. window.digitLab exposes load(), clear(),
 * undo(), reading() and shareLink() for visitors' own scripts (and the tests).
 *
 * A link can carry a drawing: ?tab=digit&draw=<strokes>&explain=<layer>.<map>.<row>.<col> (made by
 * "Share this view"), or ?tab=digit&digit=7 (an example).
 */
function startDigitLab(element, props) {
  "use strict";
  const SIZE = 400; // the canvas's own pixels (it is shown smaller on a phone)
  const engine = LeNetEngine;
  const texts = props.texts || { en: {} };
  let model = null; // the shipped LeNet, once fetched
  let mine = null; // {model, label}: the visitor's own LeNet, once trained (the train tab sends it)
  let strokes = []; // [{kind: "stroke", points: [[x, y], ...]} | {kind: "example", digit, mask}]
  let current = null; // the stroke being drawn
  let reading = null; // LeNetEngine's reading of the drawing, or null (no digit)
  let selected = { layer: 1, channel: 0, row: 14, col: 14, chosen: false }; // the explained pixel
  let explainChannel = 0; // layer 2: which input map's numbers are shown
  let pending = false; // a reading is scheduled for the next frame

  // --- words, in the page's language ----------------------------------------------------------

  /** The language the page shows: Gradio translates #page-language's text for us. */
  function language() {
    const shown = (document.querySelector("#page-language")?.innerText || "").trim();
    return texts[shown] ? shown : "en";
  }

  /** A sentence of this page, with {name} placeholders filled in. */
  function t(key, values = {}) {
    const sentence = (texts[language()] || {})[key] ?? texts.en[key] ?? key;
    return sentence.replace(/\{(\w+)(?::([^}]*))?\}/g, (_, name, spec) => {
      const value = values[name];
      if (spec && typeof value === "number") {
        const digits = Number((spec.match(/\.(\d+)/) || [0, 0])[1]);
        return spec.endsWith("%") ? `${(value * 100).toFixed(digits)}%` : value.toFixed(digits);
      }
      return String(value);
    });
  }

  // --- the page -------------------------------------------------------------------------------

  element.innerHTML = `
    <div class="dl-main">
      <div class="dl-draw">
        <div id="digit-canvas" class="dl-canvas-box">
          <canvas width="${SIZE}" height="${SIZE}" aria-label=""></canvas>
          <div class="dl-placeholder"></div>
        </div>
        <div class="dl-tools">
          <button type="button" data-act="undo"></button>
          <button type="button" data-act="clear"></button>
          <button type="button" data-act="share"></button>
          <span class="dl-share-note" aria-live="polite"></span>
        </div>
        <div class="dl-examples"><span class="dl-examples-title"></span></div>
      </div>
      <div class="dl-side">
        <div id="digit-prediction" class="dl-prediction" aria-live="polite"></div>
        <div id="digit-mine" class="dl-prediction dl-mine" aria-live="polite" hidden></div>
        <p class="dl-hint"></p>
        <figure class="dl-seen">
          <canvas class="dl-seen-canvas" width="28" height="28"></canvas>
          <figcaption><strong class="dl-seen-title"></strong><br><span class="dl-seen-explain"></span></figcaption>
        </figure>
      </div>
    </div>
    <section class="dl-inside">
      <h3 class="dl-inside-title"></h3>
      <p class="dl-inside-explain"></p>
      <div class="dl-layers">
        <div class="dl-layer" data-layer="1"><h4></h4><div class="dl-maps"></div><p class="dl-layer-explain"></p></div>
        <div class="dl-layer" data-layer="2"><h4></h4><div class="dl-maps"></div><p class="dl-layer-explain"></p></div>
      </div>
      <div class="dl-explain"></div>
    </section>
    <section class="dl-kernels"><h3 class="dl-kernels-title"></h3><p class="dl-kernels-explain"></p>
      <div class="dl-kernel-rows"></div></section>
    <section class="dl-lesson"><h3 class="dl-lesson-title"></h3><p class="dl-lesson-explain"></p>
      <div class="dl-ways"></div></section>`;
  const $ = (selector) => element.querySelector(selector);
  const canvas = $("#digit-canvas canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });

  /** Colours from the page's theme (Gradio's CSS variables), read when drawing. */
  function colour(name, fallback) {
    return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
  }

  // --- drawing --------------------------------------------------------------------------------

  /** A pointer event's position in the canvas's own pixels. */
  function position(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (SIZE / box.width), (event.clientY - box.top) * (SIZE / box.height)];
  }

  /** Paint every stroke again (after undo, clear, an example, or a change of theme). */
  function repaint() {
    context.clearRect(0, 0, SIZE, SIZE);
    for (const stroke of strokes) paint(stroke);
    if (current) paint(current);
    $(".dl-placeholder").hidden = strokes.length > 0 || current !== null;
  }

  function paint(stroke) {
    if (stroke.kind === "example") {
      context.drawImage(tinted(stroke.mask), 0, 0, SIZE, SIZE);
      return;
    }
    context.strokeStyle = colour("--body-text-color", "#111");
    context.fillStyle = context.strokeStyle;
    context.lineWidth = props.brush || 16;
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
    schedule();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) current.points.push(position(e));
    repaint();
    schedule(); // the answer follows the pen, at most once a frame
  });
  const finish = (event) => {
    if (!current) return;
    event.preventDefault();
    strokes.push(current);
    current = null;
    repaint();
    readNow(); // at the end of a stroke: at once, not a frame later
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());

  // --- reading (all in the browser) -------------------------------------------------------------

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      readNow();
    });
  }

  /** Read the drawing with LeNet and show everything that follows from it. */
  function readNow() {
    if (!model) return;
    const pixels = context.getImageData(0, 0, SIZE, SIZE).data;
    const alpha = new Uint8Array(SIZE * SIZE);
    for (let i = 0; i < alpha.length; i++) alpha[i] = pixels[4 * i + 3];
    reading = engine.readDrawing(alpha, SIZE, SIZE, model);
    if (reading && !selected.chosen) selected = strongestPixel(reading, 1);
    showAnswer();
    showMaps();
    showExplanation();
    showLesson(reading ? engine.readWays(alpha, SIZE, SIZE) : null);
    element.dispatchEvent(new CustomEvent("digit-read", { detail: reading, bubbles: true }));
  }

  function strongestPixel(result, layer) {
    const maps = layer === 1 ? result.conv1 : result.conv2;
    let best = 0;
    for (let i = 1; i < maps.length; i++) if (maps[i] > maps[best]) best = i;
    const side = layer === 1 ? 28 : 10;
    return { layer, channel: Math.floor(best / (side * side)), row: Math.floor(best / side) % side,
      col: best % side, chosen: false };
  }

  /** The answer: the top digit, big, then the top 3 as bars (empty rows when there is no digit, so
   * nothing below moves when an answer appears). */
  function showAnswer(label = t("digit_answer")) {
    const box = $("#digit-prediction");
    const top = reading ? reading.top : [null, null, null];
    box.innerHTML = `<div class="dl-top${reading ? "" : " dl-empty"}">${reading ? top[0].label : "–"}</div>` +
      `<div class="dl-top-label">${label}</div>` +
      top.map((guess) => `<div class="dl-bar"><span class="dl-bar-digit">${guess ? guess.label : ""}</span>` +
        `<span class="dl-bar-track"><span class="dl-bar-fill" style="width:${guess ? (100 * guess.p).toFixed(1) : 0}%">` +
        `</span></span><span class="dl-bar-value">${guess ? (100 * guess.p).toFixed(1) + "%" : ""}</span></div>`).join("");
    $(".dl-hint").textContent = !reading ? t(strokes.length ? "digit_hint_no_digit" : "digit_hint_blank")
      : t(top[0].p < 0.6 ? "digit_hint_unsure" : "digit_hint_ok");
    showMine();
  }

  /** The visitor's own LeNet (trained on the train tab) reads the same 28x28 image, beside the shipped one. */
  function showMine() {
    const box = $("#digit-mine");
    box.hidden = mine === null;
    if (mine === null) return;
    const top = reading ? engine.classify(mine.model, reading.mnist).top : [null, null, null];
    box.innerHTML = `<div class="dl-top${reading ? "" : " dl-empty"}">${reading ? top[0].label : "–"}</div>` +
      `<div class="dl-top-label">${t("digit_mine_answer")} · ${mine.label}</div>` +
      top.map((guess) => `<div class="dl-bar"><span class="dl-bar-digit">${guess ? guess.label : ""}</span>` +
        `<span class="dl-bar-track"><span class="dl-bar-fill dl-mine-fill" style="width:${guess ? (100 * guess.p).toFixed(1) : 0}%">` +
        `</span></span><span class="dl-bar-value">${guess ? (100 * guess.p).toFixed(1) + "%" : ""}</span></div>`).join("");
  }

  /** Draw a (side x side) float map on a canvas, bright = high, scaled by `peak`. */
  function drawMap(target, values, offset, side, peak, mark) {
    const pixels = new ImageData(side, side);
    for (let i = 0; i < side * side; i++) {
      const v = Math.round(255 * Math.max(0, Math.min(1, values[offset + i] / (peak || 1))));
      pixels.data.set([v, v, v, 255], 4 * i);
    }
    target.width = side;
    target.height = side;
    const ctx = target.getContext("2d");
    ctx.putImageData(pixels, 0, 0);
    if (mark) {
      ctx.strokeStyle = "#ff3b30";
      ctx.lineWidth = Math.max(0.5, side / 60);
      ctx.strokeRect(mark.left + 0.25, mark.top + 0.25, mark.width - 0.5, mark.height - 0.5);
    }
  }

  function showMaps() {
    const seen = $(".dl-seen-canvas");
    if (!reading) {
      seen.getContext("2d").clearRect(0, 0, 28, 28);
    } else {
      const grey = Float32Array.from(reading.mnist, (v) => v / 255);
      drawMap(seen, grey, 0, 28, 1);
    }
    for (const layer of [1, 2]) {
      const grid = element.querySelector(`.dl-layer[data-layer="${layer}"] .dl-maps`);
      const count = layer === 1 ? 6 : 16, side = layer === 1 ? 28 : 10;
      if (grid.children.length !== count) {
        grid.innerHTML = "";
        for (let channel = 0; channel < count; channel++) {
          const map = document.createElement("canvas");
          map.className = "dl-map";
          map.dataset.channel = channel;
          map.title = t("digit_map_title", { layer, channel: channel + 1 });
          const pick = (event) => {
            const box = map.getBoundingClientRect();
            const col = Math.min(side - 1, Math.max(0, Math.floor((event.clientX - box.left) / box.width * side)));
            const row = Math.min(side - 1, Math.max(0, Math.floor((event.clientY - box.top) / box.height * side)));
            selected = { layer, channel, row, col, chosen: true };
            explainChannel = 0;
            showMaps();
            showExplanation();
          };
          map.addEventListener("pointermove", (event) => { if (event.pointerType === "mouse") pick(event); });
          map.addEventListener("pointerdown", pick);
          grid.appendChild(map);
        }
      }
      const values = reading ? (layer === 1 ? reading.conv1 : reading.conv2) : new Float32Array(count * side * side);
      let peak = 0;
      for (const v of values) peak = Math.max(peak, v);
      [...grid.children].forEach((map, channel) => {
        const here = selected.layer === layer && selected.channel === channel;
        drawMap(map, values, channel * side * side, side, peak,
          here ? { top: selected.row, left: selected.col, width: 1, height: 1 } : null);
        map.classList.toggle("dl-selected", here);
      });
    }
  }

  const fmt = (x) => (Math.abs(x) < 0.005 ? "0.00" : x.toFixed(2));

  /** A 5x5 grid of numbers as a small table, shaded by sign and size. */
  function numberGrid(rows, caption) {
    let peak = 0;
    for (const row of rows) for (const v of row) peak = Math.max(peak, Math.abs(v));
    const cells = rows.map((row) => `<tr>${row.map((v) => {
      const strength = peak ? Math.abs(v) / peak : 0;
      const hue = v >= 0 ? "230, 80, 60" : "60, 110, 230";
      return `<td style="background: rgba(${hue}, ${(0.55 * strength).toFixed(2)})">${fmt(v)}</td>`;
    }).join("")}</tr>`).join("");
    return `<figure class="dl-grid"><table>${cells}</table><figcaption>${caption}</figcaption></figure>`;
  }

  function showExplanation() {
    const panel = $(".dl-explain");
    if (!reading) {
      panel.innerHTML = `<p class="dl-muted">${t("digit_explain_empty")}</p>`;
      return;
    }
    const { layer, channel, row, col } = selected;
    const e = engine.explainConvolution(reading, model, layer, channel, row, col);
    const c = layer === 1 ? 0 : Math.min(explainChannel, e.patch.length - 1);
    const channelSums = e.products.map((grid) => grid.flat().reduce((a, b) => a + b, 0));
    const picker = layer === 2 ? `<div class="dl-channels">${t("digit_explain_input_map")} ` +
      channelSums.map((s, i) => `<button type="button" data-input="${i}" class="${i === c ? "dl-on" : ""}">` +
        `${i + 1}: ${fmt(s)}</button>`).join("") + "</div>" : "";
    const [top, left, bottom, right] = e.input_box;
    const source = layer === 1 ? t("digit_explain_source_input") : t("digit_explain_source_pool1", { map: c + 1 });
    const pooled = e.pool.block.flat();
    panel.innerHTML = `
      <h4>${t("digit_explain_title", { layer, channel: channel + 1, row, col })}</h4>
      <div class="dl-explain-row">
        <figure class="dl-field"><canvas class="dl-input" width="32" height="32"></canvas>
          <figcaption>${t("digit_explain_field", { size: bottom - top, top, left })}</figcaption></figure>
        <div class="dl-arith">
          ${picker}
          <div class="dl-grids">
            ${numberGrid(e.patch[c], source)}<span class="dl-op">×</span>
            ${numberGrid(e.kernel[c], t("digit_explain_kernel", { map: c + 1 }))}<span class="dl-op">=</span>
            ${numberGrid(e.products[c], t("digit_explain_products", { sum: fmt(channelSums[c]) }))}
          </div>
          <p class="dl-sum">${layer === 2 ? t("digit_explain_sum2", { sums: channelSums.map(fmt).join(" + ") }) :
            t("digit_explain_sum1", { sum: fmt(channelSums[0]) })}
            ${t("digit_explain_bias", { bias: fmt(e.bias), total: fmt(e.sum) })}
            ${t("digit_explain_relu", { total: fmt(e.sum), value: fmt(e.relu), map: fmt(e.value) })}</p>
          <p class="dl-pool">${t("digit_explain_pool", { block: pooled.map(fmt).join(", "), value: fmt(e.pool.value) })}</p>
        </div>
      </div>`;
    panel.querySelectorAll("[data-input]").forEach((button) => button.addEventListener("click", () => {
      explainChannel = Number(button.dataset.input);
      showExplanation();
    }));
    // The 32x32 input LeNet reads, with the receptive field of the explained pixel outlined.
    const input = Float32Array.from(reading.input, (v) => (v * model.std + model.mean));
    drawMap(panel.querySelector(".dl-input"), input, 0, model.inputSize, 1,
      { top, left, width: right - left, height: bottom - top });
  }

  /** The trained kernels: conv1's 6 (5x5) and conv2's 16 x 6, blue negative, red positive. */
  function showKernels() {
    const rows = $(".dl-kernel-rows");
    rows.innerHTML = "";
    for (const [layer, conv] of [[1, model.conv1], [2, model.conv2]]) {
      const [outputs, inputs] = conv.shape;
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
          const cell = document.createElement("canvas");
          cell.width = cell.height = 5;
          cell.className = layer === 1 ? "dl-kernel dl-kernel-big" : "dl-kernel";
          cell.title = t("digit_kernel_title", { layer, map: o + 1, input: c + 1 });
          const pixels = new ImageData(5, 5);
          for (let i = 0; i < 25; i++) {
            const v = conv.weight[(o * inputs + c) * 25 + i] / peak; // -1..1
            const rgb = v >= 0 ? [255, 255 * (1 - v), 255 * (1 - v)] : [255 * (1 + v), 255 * (1 + v), 255];
            pixels.data.set([...rgb.map(Math.round), 255], 4 * i);
          }
          cell.getContext("2d").putImageData(pixels, 0, 0);
          grid.appendChild(cell);
        }
      }
      block.appendChild(grid);
      rows.appendChild(block);
    }
  }

  function showLesson(ways) {
    const box = $(".dl-ways");
    box.innerHTML = engine.WAYS.map((way) => `<figure class="dl-way" data-way="${way}"><canvas width="28" height="28">` +
      `</canvas><figcaption><strong>${t(`preprocessing_way_${way}`)}</strong><br><span class="dl-way-answer"></span>` +
      "</figcaption></figure>").join("");
    for (const way of engine.WAYS) {
      const figure = box.querySelector(`[data-way="${way}"]`);
      if (!ways || !ways[way]) {
        figure.querySelector(".dl-way-answer").textContent = "–";
        continue;
      }
      drawMap(figure.querySelector("canvas"), Float32Array.from(ways[way], (v) => v / 255), 0, 28, 1);
      const [best] = engine.classify(model, ways[way]).top;
      figure.querySelector(".dl-way-answer").textContent = t("digit_way_answer", { digit: best.label, p: best.p });
    }
  }

  // --- words on the page ----------------------------------------------------------------------

  function showWords() {
    canvas.setAttribute("aria-label", t("digit_canvas"));
    $(".dl-placeholder").textContent = t("digit_placeholder");
    $('[data-act="undo"]').textContent = t("digit_undo");
    $('[data-act="clear"]').textContent = t("digit_clear");
    $('[data-act="share"]').textContent = t("digit_share");
    $(".dl-examples-title").textContent = t("digit_examples");
    $(".dl-seen-title").textContent = t("digit_seen");
    $(".dl-seen-explain").textContent = t("digit_seen_explain");
    $(".dl-inside-title").textContent = t("digit_inside_title");
    $(".dl-inside-explain").textContent = t("digit_inside_explain");
    for (const layer of [1, 2]) {
      const block = element.querySelector(`.dl-layer[data-layer="${layer}"]`);
      block.querySelector("h4").textContent = t(`digit_conv${layer}`);
      block.querySelector(".dl-layer-explain").textContent = t(`digit_conv${layer}_explain`);
    }
    $(".dl-kernels-title").textContent = t("digit_kernels_title");
    $(".dl-kernels-explain").textContent = t("digit_kernels_explain");
    $(".dl-lesson-title").textContent = t("digit_lesson_title");
    $(".dl-lesson-explain").textContent = t("digit_lesson_explain");
    if (model) {
      showKernels();
      readNow();
    } else {
      showAnswer(t("digit_loading"));
    }
  }

  // --- tools: undo, clear, examples, share ----------------------------------------------------

  function clear() {
    strokes = [];
    current = null;
    selected = { layer: 1, channel: 0, row: 14, col: 14, chosen: false };
    repaint();
    readNow();
  }

  function undo() {
    strokes.pop();
    repaint();
    readNow();
  }

  /** Put an example digit on the canvas (its ink becomes the first "stroke"), and read it. */
  function loadExample(example) {
    return new Promise((resolve) => {
      const picture = new Image();
      picture.onload = () => {
        const scratch = document.createElement("canvas");
        scratch.width = picture.width;
        scratch.height = picture.height;
        const ctx = scratch.getContext("2d");
        ctx.drawImage(picture, 0, 0);
        const rgba = ctx.getImageData(0, 0, picture.width, picture.height).data;
        const alpha = new Uint8ClampedArray(picture.width * picture.height);
        for (let i = 0; i < alpha.length; i++) { // dark ink on white: ink = 255 - brightness
          alpha[i] = 255 - Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
        }
        strokes = [{ kind: "example", digit: example.digit, mask: { alpha, width: picture.width, height: picture.height } }];
        selected = { layer: 1, channel: 0, row: 14, col: 14, chosen: false };
        repaint();
        readNow();
        resolve(reading);
      };
      picture.src = example.src;
    });
  }

  const examples = props.examples || [];
  for (const example of examples) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "dl-example";
    button.dataset.digit = example.digit;
    button.innerHTML = `<img src="${example.src}" alt="${example.digit}">`;
    button.addEventListener("click", () => loadExample(example));
    $(".dl-examples").appendChild(button);
  }

  /** The drawing as text for a link: strokes of whole canvas pixels, each point as a base-36 pair. */
  function encodeDrawing() {
    if (strokes.length === 1 && strokes[0].kind === "example") return `e${strokes[0].digit}`;
    return strokes.filter((s) => s.kind === "stroke").map((s) => s.points
      .filter((p, i, all) => i === 0 || i === all.length - 1 || Math.hypot(p[0] - all[i - 1][0], p[1] - all[i - 1][1]) >= 2)
      .map(([x, y]) => Math.round(x).toString(36).padStart(2, "0") + Math.round(y).toString(36).padStart(2, "0"))
      .join("")).join("-");
  }

  function decodeDrawing(code) {
    if (/^e\d$/.test(code)) return { example: Number(code.slice(1)) };
    const parsed = code.split("-").filter(Boolean).map((text) => {
      const points = [];
      for (let i = 0; i + 4 <= text.length; i += 4) {
        points.push([parseInt(text.slice(i, i + 2), 36), parseInt(text.slice(i + 2, i + 4), 36)]
          .map((v) => Math.min(SIZE, Math.max(0, v || 0))));
      }
      return { kind: "stroke", points };
    }).filter((s) => s.points.length);
    return { strokes: parsed.slice(0, 200) };
  }

  function shareLink() {
    const url = new URL(window.location.href);
    url.search = "";
    url.searchParams.set("tab", "digit");
    if (strokes.length) url.searchParams.set("draw", encodeDrawing());
    if (selected.chosen) {
      url.searchParams.set("explain", [selected.layer, selected.channel, selected.row, selected.col].join("."));
    }
    return url.toString();
  }

  $('[data-act="undo"]').addEventListener("click", undo);
  $('[data-act="clear"]').addEventListener("click", clear);
  $('[data-act="share"]').addEventListener("click", async () => {
    const link = shareLink();
    const note = $(".dl-share-note");
    try {
      await navigator.clipboard.writeText(link);
      note.textContent = t("digit_share_copied");
    } catch {
      window.prompt(t("digit_share_copy"), link); // no clipboard (http, old browser): show it to copy
    }
    setTimeout(() => { note.textContent = ""; }, 4000);
  });

  /** A shared link's drawing and explained pixel, if the page was opened with one. */
  async function restoreFromLink() {
    const query = new URLSearchParams(window.location.search);
    const draw = query.get("draw") || (query.get("digit") ? `e${query.get("digit")}` : null);
    if (draw) {
      const { example, strokes: shared } = decodeDrawing(draw);
      const found = examples.find((e) => Number(e.digit) === example);
      if (found) await loadExample(found);
      else if (shared) {
        strokes = shared;
        repaint();
      }
    }
    const explain = (query.get("explain") || "").split(".").map(Number);
    if (explain.length === 4 && explain.every(Number.isInteger)) {
      const [layer, channel, row, col] = explain;
      const side = layer === 1 ? 28 : 10, count = layer === 1 ? 6 : 16;
      if ((layer === 1 || layer === 2) && channel >= 0 && channel < count && row >= 0 && row < side && col >= 0 && col < side) {
        selected = { layer, channel, row, col, chosen: true };
      }
    }
    readNow();
  }

  // --- start ------------------------------------------------------------------------------------

  // A change of language (Gradio's Settings) rewords the page; #page-language may render after us.
  (function watchLanguage(tries) {
    const marker = document.querySelector("#page-language");
    if (marker) {
      new MutationObserver(() => showWords()).observe(marker, { childList: true, subtree: true, characterData: true });
      showWords();
    } else if (tries > 0) {
      setTimeout(() => watchLanguage(tries - 1), 250);
    }
  })(40);
  // A change of theme (light/dark) repaints the ink in the new colour.
  for (const node of [document.documentElement, document.body]) {
    new MutationObserver(() => repaint()).observe(node, { attributes: true, attributeFilter: ["class"] });
  }
  window.digitLab = {
    load: (digit) => loadExample(examples.find((e) => Number(e.digit) === Number(digit))),
    clear, undo, shareLink,
    reading: () => reading,
    model: () => model,
    /** The visitor's own LeNet, in the web weights format (with a "label"): it answers beside the shipped one. */
    setMine: (weights) => {
      mine = { model: engine.parseWeights(weights), label: weights.label || "" };
      showMine();
    },
    mine: () => (mine && reading ? engine.classify(mine.model, reading.mnist) : null),
    ready: fetch(props.weights_url).then((response) => response.json()).then((json) => {
      model = engine.parseWeights(json);
      showWords();
      return restoreFromLink();
    }),
  };
  showWords();
  repaint();
}
