/*
 * The train tab's page: the visitor's LeNet trains in their browser, in a Web Worker
 * (ui/static/lenet/training_worker.js running LeNetTraining.train), on the app's MNIST subset
 * fetched once as a static file (LeNetTrainingData) when the tab first shows. From pressing Train
 * to the result nothing is sent to the server: the status, the progress, the loss and accuracy
 * curves, conv1's kernels epoch by epoch, the history, the table of runs and the hand-over of the
 * trained LeNet to the digit tab (window.digitLab.setMine) all happen here. Stop keeps what was learned.
 *
 * Defines startTrainLab(element, props), the body of the train tab's gr.HTML (ui/train_tab.py):
 *   props.texts           the page's sentences by language (ui/train_tab.py's page_texts)
 *   props.data_url        assets/web/mnist_subset.bin.gz;  props.worker_url  the worker script
 *   props.scripts         the worker's scripts, in order (ui.static.TRAINING_SCRIPTS)
 *   props.data_counts     {train, test}: how many images the file holds (said in #train-data)
 *   props.history_columns the history's columns (visitor_lenet.HISTORY_COLUMNS)
 *   props.runs_columns    the runs table's columns (ui/train_tab.py's RUNS_COLUMNS)
 * and window.trainLab = {train(settings), stop(), weights(), running(), dataReady()}: the Train and
 * Stop buttons call the first two (browser-only events); weights() is the last run's LeNet in the
 * web weights format (what the digit tab and nets/models/lenet.py's read_web_weights read);
 * dataReady() says whether the images are here.
 * When a run ends, #train-status carries data-test-accuracy (0..1): its accuracy on every test image.
 */
function startTrainLab(element, props) {
  "use strict";

  const { lineChart, kernelGrid, escapeHtml } = trainCharts;
  const sentences = props.texts || { en: {} };

  // --- words (Python's sentences; {name:,} {name:.1f} {name:.1%} as Python formats them) --------

  function language() {
    const shown = (document.querySelector("#page-language")?.innerText || "").trim();
    return sentences[shown] ? shown : "en";
  }

  function format(value, spec) {
    if (typeof value !== "number" || !spec) return String(value);
    const digits = Number((spec.match(/\.(\d+)/) || [0, 0])[1]);
    if (spec.endsWith("%")) return `${(value * 100).toFixed(digits)}%`;
    if (spec.includes(",")) return value.toLocaleString("en-US", { maximumFractionDigits: digits });
    return value.toFixed(digits);
  }

  /** A sentence as plain text, its placeholders filled. */
  function t(key, values = {}) {
    const sentence = (sentences[language()] || {})[key] ?? sentences.en[key] ?? key;
    return sentence.replace(/\{(\w+)(?::([^}]*))?\}/g, (_, name, spec) => format(values[name], spec));
  }

  /** A sentence as HTML: escaped, its **bold** kept, a leading #### made a heading. */
  function html(key, values = {}) {
    const text = escapeHtml(t(key, values)).replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>");
    const heading = text.match(/^(#{1,6})\s+(.*)$/s);
    return heading ? `<h${heading[1].length}>${heading[2]}</h${heading[1].length}>` : text;
  }

  // --- the page's parts ----------------------------------------------------------------------

  element.innerHTML = `
    <div id="train-lab">
      <div id="train-data" class="tl-data"></div>
      <div id="train-progress" class="tl-progress" hidden><progress max="1" value="0"></progress> <span></span></div>
      <div id="train-status" class="tl-status" aria-live="polite"></div>
      <div class="tl-ready" hidden><button id="train-draw" class="lg primary tl-draw" type="button"></button></div>
      <div class="tl-results" hidden>
        <div class="tl-curves"><div id="train-loss"></div><div id="train-accuracy"></div></div>
        <div id="train-kernels"></div>
        <p class="tl-explain"></p>
        <div class="tl-history"><div class="tl-caption"></div><div id="train-history" tabindex="0" role="region"></div></div>
      </div>
      <div class="tl-runs" hidden><div class="tl-runs-title"></div><div class="tl-caption tl-runs-caption"></div><div id="train-runs" tabindex="0" role="region"></div></div>
    </div>`;
  const part = (selector) => element.querySelector(selector);
  const status = part("#train-status"), progressLine = part("#train-progress");
  const results = part(".tl-results"), ready = part(".tl-ready"), runsBox = part(".tl-runs");

  /** The page's words in the parts that have fixed ones (again when the language changes). */
  function wordFixedParts() {
    part("#train-data").textContent = t("train_browser_data", props.data_counts);
    part("#train-draw").textContent = t("train_draw");
    part(".tl-explain").textContent = t("train_kernels_explain");
    part(".tl-history .tl-caption").textContent = t("train_history");
    part("#train-history").setAttribute("aria-label", t("train_history")); // a table that scrolls: reachable by keyboard
    part("#train-runs").setAttribute("aria-label", t("train_runs"));
    part(".tl-runs-title").innerHTML = html("train_runs_title");
    part(".tl-runs-caption").textContent = t("train_runs");
  }
  wordFixedParts();

  /** A Gradio button by its elem_id (the id is on the <button> or on its wrapper). */
  function gradioButton(id) {
    const found = document.getElementById(id);
    return found && found.tagName !== "BUTTON" ? found.querySelector("button") : found;
  }

  /** A table of rows; ``spec(column, value)`` is how a number is written (Python's format spec). */
  function table(columns, rows, spec) {
    const head = columns.map((c) => `<th>${escapeHtml(t(`column_${c}`))}</th>`).join("");
    const cell = (c, value) => (typeof value === "number" ? format(value, spec(c, value)) : value);
    const body = rows
      .map((row) => `<tr>${columns.map((c) => `<td>${escapeHtml(cell(c, row[c]))}</td>`).join("")}</tr>`)
      .join("");
    return `<table class="tl-table"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
  }

  function showCurves(history) {
    const names = [t("curve_train"), t("curve_test")];
    const line = (split, kind) => history.map((row) => [row.epoch, row[`${split}_${kind}`]]);
    part("#train-loss").innerHTML = lineChart(
      [{ name: names[0], points: line("train", "loss") }, { name: names[1], points: line("test", "loss") }],
      { title: t("train_loss_plot"), xTitle: t("axis_epoch"), yTitle: t("axis_loss") },
    );
    const accuracies = history.flatMap((row) => [row.train_acc, row.test_acc]);
    const low = Math.round(Math.max(0, Math.min(...accuracies) - 0.1) * 10) / 10; // zoomed, as the server's
    part("#train-accuracy").innerHTML = lineChart(
      [{ name: names[0], points: line("train", "acc") }, { name: names[1], points: line("test", "acc") }],
      { title: t("train_accuracy_plot"), xTitle: t("axis_epoch"), yTitle: t("axis_accuracy"), yRange: [low, 1], percent: true },
    );
    // accuracies as percentages, as the status and the curves say them; losses to 4 decimals
    const spec = (c) => (c === "epoch" ? ".0f" : c === "seconds" ? ".1f" : c.endsWith("_acc") ? ".1%" : ".4f");
    part("#train-history").innerHTML = table(props.history_columns, history, spec);
  }

  function showKernels(kernels, key, epoch) {
    part("#train-kernels").innerHTML = kernelGrid(kernels, 6, 5, t(key, { epoch }));
  }

  // --- the worker and the images ---------------------------------------------------------------

  let data = null; // Promise of the images, fetched once, when the tab first shows
  let loaded = false;
  const loadData = () =>
    (data = data || LeNetTrainingData.load(props.data_url).then((images) => ((loaded = true), images)));
  new IntersectionObserver((entries, observer) => {
    if (entries.some((entry) => entry.isIntersecting)) {
      loadData().catch(() => { data = null; }); // a failed fetch is tried again on Train
      observer.disconnect();
    }
  }).observe(element);

  const worker = new Worker(props.worker_url);
  // importScripts resolves a relative URL against the worker's own: hand it the page's absolute ones
  worker.postMessage({ type: "load", scripts: props.scripts.map((url) => new URL(url, document.baseURI).href) });
  let run = null; // the run in progress: {settings, started, testImages}
  let lastWeights = null;
  const runs = [];

  function setRunning(running) {
    const start = gradioButton("train-start"), stop = gradioButton("train-stop");
    if (start) start.disabled = running;
    if (stop) stop.disabled = !running;
    progressLine.hidden = !running;
  }

  function finish(result) {
    const { settings } = run;
    const seconds = (performance.now() - run.started) / 1000;
    status.dataset.testAccuracy = String(result.testAccuracy);
    const acc = result.testAccuracy, images = run.testImages, whole = result.history.length, done = result.epochsDone;
    if (!result.stopped) {
      status.innerHTML = html("train_done", { acc, images, seconds: result.seconds });
    } else {
      // honest about a stop (as ui/train_tab.py's finished_status): the stopped model's own accuracy,
      // said next to where it stopped; the curves and the history keep finished epochs only
      const key = Math.abs(done - whole) < 1e-9 ? "train_stopped_between" : "train_stopped_within";
      const values = { epoch: whole + 1, epochs: done, finished: whole, acc, images, seconds: result.seconds };
      status.innerHTML = `${html(key, values)} ${html("train_stopped", { reason: t("stopped_by_request") })}`;
    }
    showKernels(conv1Of(result.weights), "train_kernels_end");
    if (result.history.length) showCurves(result.history);
    runs.push({
      run: runs.length + 1, // pooling and activation in words ("average", not the API's "avg")
      pooling: t(`train_run_pooling_${settings.pooling}`), activation: t(`train_run_activation_${settings.activation}`),
      epochs: Math.round(result.epochsDone * 100) / 100, train_images: settings.trainImages,
      seconds: Math.round(seconds * 10) / 10, test_acc: Math.round(result.testAccuracy * 1e4) / 1e4,
    });
    // epochs whole unless a run stopped within one (1.76); images with a thousands separator
    const spec = (c, value) =>
      c === "seconds" ? ".1f" : c === "test_acc" ? ".1%" : c === "epochs" && !Number.isInteger(value) ? ".2f" : ",.0f";
    part("#train-runs").innerHTML = table(props.runs_columns, runs, spec);
    runsBox.hidden = false;
    const label = t("train_mine_label", { pooling: settings.pooling, activation: settings.activation, acc: result.testAccuracy });
    lastWeights = { ...result.weights, label };
    if (window.digitLab) window.digitLab.setMine(lastWeights); // the digit tab reads drawings with it too
    ready.hidden = false;
    run = null;
    setRunning(false);
  }

  /** conv1's kernels from web weights (base64 float32, (6, 1, 5, 5)). */
  function conv1Of(weights) {
    const binary = atob(weights.tensors["features.0.weight"].data);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new Float32Array(bytes.buffer);
  }

  worker.onmessage = (event) => {
    const message = event.data;
    if (!run) return;
    if (message.type === "started") {
      results.hidden = false;
      for (const id of ["#train-loss", "#train-accuracy", "#train-history"]) part(id).innerHTML = ""; // a new run's
      run.testImages = message.testImages;
      showKernels(message.conv1Kernels, "train_kernels_start");
    } else if (message.type === "progress") {
      const share = (message.epoch - 1 + message.done / message.total) / message.epochs;
      progressLine.querySelector("progress").value = share;
      const seconds = (performance.now() - run.started) / 1000;
      const stage = `${t("train_stage", { epoch: message.epoch, epochs: message.epochs, seconds })} · ${(share * 100).toFixed(0)}%`;
      progressLine.querySelector("span").textContent = stage;
      progressLine.querySelector("progress").setAttribute("aria-label", stage);
    } else if (message.type === "epoch") {
      showCurves(message.history);
      showKernels(message.conv1Kernels, "train_kernels_epoch", message.epoch);
    } else if (message.type === "finished") {
      finish(message.result);
    } else if (message.type === "failed") {
      status.textContent = t("train_browser_failed", { message: message.message.split("\n")[0] });
      run = null;
      setRunning(false);
    }
  };

  worker.onerror = (event) => {
    // a script that did not load or a crash outside a run's own try: say so, let the visitor try again
    status.textContent = t("train_browser_failed", { message: event.message || "Web Worker" });
    run = null;
    setRunning(false);
  };

  /** Train a new LeNet with the tab's settings ({pooling, activation, epochs, trainImages}). */
  async function train(settings) {
    if (run) return;
    run = { settings: { ...settings, epochs: Number(settings.epochs), trainImages: Number(settings.trainImages) }, started: performance.now(), testImages: 0 };
    setRunning(true);
    delete status.dataset.testAccuracy;
    ready.hidden = true;
    status.innerHTML = html("train_browser_loading");
    let images;
    try {
      images = await loadData();
    } catch (error) {
      data = null;
      status.textContent = t("train_browser_failed", { message: String(error.message || error) });
      run = null;
      setRunning(false);
      return;
    }
    status.innerHTML = html("train_browser_started", { images: run.settings.trainImages });
    run.started = performance.now();
    worker.postMessage({ type: "train", settings: run.settings, data: images });
  }

  function stop() {
    if (run) worker.postMessage({ type: "stop" });
  }

  window.trainLab = { train, stop, weights: () => lastWeights, running: () => run !== null, dataReady: () => loaded };
  part("#train-draw").addEventListener("click", () => {
    const tabs = document.querySelectorAll('[role="tab"]');
    if (tabs.length) tabs[0].click(); // the digit tab comes first
  });
  const languageNode = document.querySelector("#page-language");
  if (languageNode) new MutationObserver(wordFixedParts).observe(languageNode, { childList: true, subtree: true, characterData: true });
}
