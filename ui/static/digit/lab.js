/*
 * The digit tab's page: a canvas to draw on, LeNet's answer while you draw, what LeNet sees, every
 * feature map, any convolution explained number by number, the trained kernels, and a lesson on why
 * MNIST's preprocessing matters. All of it runs here, in the visitor's browser, with LeNetEngine
 * (ui/static/lenet/): drawing and reading send nothing to the server. This file lays out the page,
 * keeps its state (the model, the reading, the chosen pixel) and hands it to the views, one script
 * a panel (loaded before this one, in ui/static/__init__.py's order):
 *
 *   words.js         t(): the page's sentences, in its language
 *   pictures.js      drawMap(): numbers as grey pixels
 *   canvas.js        the drawing surface and its strokes
 *   answer.js        LeNet's answer (and the visitor's own LeNet's)
 *   feature_maps.js  what LeNet sees, and both conv layers' feature maps
 *   explanation.js   one feature-map pixel's arithmetic
 *   kernels.js       the trained kernels
 *   questions.js     predict, then see: two questions on the flatten
 *   flatten.js       pool2 flattened into one row of 400, fc1, fc2 and the 10 outputs
 *   lesson.js        the drawing read three ways
 *   links.js         links that carry a drawing
 *
 * ui/digit_tab.py hands the scripts to Gradio (a gr.HTML's js_on_load, which calls
 * startDigitLab(element, props)) with props:
 *   props.weights_url   where the shipped LeNet's web weights are (fetched once, then cached)
 *   props.examples      [{name, digit, src}] example digits (data: URLs: dark ink on white)
 *   props.texts         {en: {...}, ko: {...}} every sentence of this page, by language
 *   props.brush         the pen's width in canvas pixels (the canvas is 400 x 400)
 *
 * Handles other code relies on: the drawing surface is #digit-canvas (it holds the <canvas>), and
 * #digit-prediction's first line of text is the top digit. window.digitLab exposes load(), clear(),
 * undo(), reading() and shareLink() for visitors' own scripts (and the tests); the train tab hands
 * a visitor's LeNet to setMine(). Each reading dispatches a "digit-read" event (detail: the reading).
 */
function startDigitLab(element, props) {
  "use strict";
  const SIZE = 400; // the canvas's own pixels (it is shown smaller on a phone)
  const engine = LeNetEngine;
  const t = digitWords(props.texts);
  const unchosen = () => ({ layer: 1, channel: 0, row: 14, col: 14, chosen: false });
  let model = null; // the shipped LeNet, once fetched
  let mine = null; // {model, label}: the visitor's own LeNet, once trained (the train tab sends it)
  let reading = null; // LeNetEngine's reading of the drawing, or null (no digit)
  let selected = unchosen(); // the explained pixel; chosen: by the visitor (else the strongest is shown)
  let pending = false; // a reading is scheduled for the next frame

  // --- the page -------------------------------------------------------------------------------

  element.innerHTML = `
    <div class="dl-main">
      <div class="dl-draw">
        <div id="digit-canvas" class="dl-canvas-box">
          <canvas width="${SIZE}" height="${SIZE}" role="img" aria-label=""></canvas>
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
        <div id="digit-prediction" class="dl-prediction"></div>
        <div id="digit-mine" class="dl-prediction dl-mine" hidden></div>
        <p class="dl-announce" role="status" aria-live="polite" aria-atomic="true"></p>
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
      <div class="dl-explain" tabindex="-1"></div>
    </section>
    <section class="dl-after">
      <div class="dl-questions"></div>
      <div class="dl-flatten" hidden></div>
    </section>
    <section class="dl-kernels"><h3 class="dl-kernels-title"></h3><p class="dl-kernels-explain"></p>
      <div class="dl-kernel-rows"></div></section>
    <section class="dl-lesson"><h3 class="dl-lesson-title"></h3><p class="dl-lesson-explain"></p>
      <div class="dl-ways"></div></section>`;
  const $ = (selector) => element.querySelector(selector);

  const canvas = drawingCanvas($("#digit-canvas"), {
    size: SIZE, brush: props.brush || 16, onDraw: schedule, onStrokeEnd: () => readNow(),
  });
  const answer = answerView(element, t, engine);
  const showMaps = featureMapsView(element, t, engine, pick);
  const explanation = explanationView($(".dl-explain"), t, engine);
  const showKernels = kernelsView($(".dl-kernel-rows"), t);
  const showLesson = lessonView($(".dl-ways"), t, engine);
  const showFlatten = flattenView($(".dl-flatten"), t, engine);
  const questions = questionsView($(".dl-questions"), t, () => {
    $(".dl-flatten").hidden = false; // predicted: now the real numbers
    showFlatten(reading, model);
  });
  const links = digitLinks(SIZE);

  // --- reading (all in the browser) -------------------------------------------------------------

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      readNow(false);
    });
  }

  /**
   * Read the drawing with LeNet and show everything that follows from it; `settled` (a stroke ended,
   * an example or a link was loaded) also tells a screen reader the answer and labels the drawing.
   */
  function readNow(settled = true) {
    if (!model) return;
    const alpha = canvas.alpha();
    reading = engine.readDrawing(alpha, SIZE, SIZE, model);
    if (reading && !selected.chosen) selected = strongestPixel(reading);
    answer.show(reading, canvas.strokes().length > 0);
    answer.showMine(reading, mine);
    if (settled) answer.announce(reading, canvas.strokes().length > 0);
    showMaps(reading, model, selected);
    explanation.show(reading, model, selected);
    if (questions.answered()) showFlatten(reading, model);
    showLesson(reading ? engine.readWays(alpha, SIZE, SIZE) : null, model);
    element.dispatchEvent(new CustomEvent("digit-read", { detail: reading, bubbles: true }));
  }

  /** The brightest pixel of all layer-1 feature maps: explained until the visitor points at one. */
  function strongestPixel(result) {
    const maps = result.conv1;
    let best = 0;
    for (let i = 1; i < maps.length; i++) if (maps[i] > maps[best]) best = i;
    const { side } = engine.featureMaps(model)[0];
    return { layer: 1, channel: Math.floor(best / (side * side)), row: Math.floor(best / side) % side,
      col: best % side, chosen: false };
  }

  /**
   * The visitor pointed at a feature map's pixel: explain it. A tap (or a key) brings the explanation
   * into view: on a phone it sits below all 16 layer-2 maps, off-screen; a mouse's hover leaves the page be.
   */
  function pick(pixel, bringIntoView = false) {
    selected = { ...pixel, chosen: true };
    explanation.firstInputMap();
    showMaps(reading, model, selected);
    explanation.show(reading, model, selected);
    if (bringIntoView) $(".dl-explain").scrollIntoView({ block: "nearest" });
  }

  // --- words on the page ----------------------------------------------------------------------

  function showWords() {
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
    element.querySelectorAll(".dl-example").forEach((button) =>
      button.setAttribute("aria-label", t("digit_example_label", { digit: button.dataset.digit })));
    if (model) {
      showKernels(model);
      questions.show(model);
      readNow();
    } else {
      answer.show(null, false, t("digit_loading"));
      answer.announce(null, false);
      answer.showMine(null, mine);
    }
  }

  // --- tools: undo, clear, examples, share ----------------------------------------------------

  function clear() {
    canvas.clear();
    selected = unchosen();
    readNow();
  }

  function undo() {
    canvas.undo();
    readNow();
  }

  /** Put an example digit on the canvas (its ink becomes the first "stroke"), and read it. */
  function loadExample(example) {
    return canvas.showExample(example).then(() => {
      selected = unchosen();
      readNow();
      return reading;
    });
  }

  const examples = props.examples || [];
  for (const example of examples) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "dl-example";
    button.dataset.digit = example.digit;
    button.innerHTML = `<img src="${example.src}" alt="">`; // named by aria-label, in the page's language
    button.addEventListener("click", () => loadExample(example));
    $(".dl-examples").appendChild(button);
  }

  const shareLink = () => links.shareLink(canvas.strokes(), selected);

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
    const link = links.readLink(window.location.search, engine.featureMaps(model));
    const found = examples.find((e) => Number(e.digit) === link.example);
    if (found) await loadExample(found);
    else if (link.strokes) canvas.setStrokes(link.strokes);
    if (link.explain) {
      const [layer, channel, row, col] = link.explain;
      selected = { layer, channel, row, col, chosen: true };
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
    new MutationObserver(() => canvas.repaint()).observe(node, { attributes: true, attributeFilter: ["class"] });
  }
  window.digitLab = {
    load: (digit) => loadExample(examples.find((e) => Number(e.digit) === Number(digit))),
    clear, undo, shareLink,
    reading: () => reading,
    model: () => model,
    /** The visitor's own LeNet, in the web weights format (with a "label"): it answers beside the shipped one. */
    setMine: (weights) => {
      mine = { model: engine.parseWeights(weights), label: weights.label || "" };
      answer.showMine(reading, mine);
    },
    mine: () => (mine && reading ? engine.classify(mine.model, reading.mnist) : null),
    ready: fetch(props.weights_url).then((response) => response.json()).then((json) => {
      model = engine.parseWeights(json);
      showWords();
      return restoreFromLink();
    }),
  };
  showWords();
  canvas.repaint();
}
