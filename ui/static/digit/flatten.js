/*
 * After the convolutions: pool2's 16 maps of 5x5 laid end to end as one row of 400 numbers (the
 * note's flatten, `x.view(-1, self.flattened_features(x))`), then fc1 (120), fc2 (84) and the 10
 * outputs, each turned into a probability by softmax. All numbers are the current drawing's, from
 * LeNetEngine's reading (pool2, fc1, fc2, logits, probabilities).
 *
 * Why the first dimension is left out ("왜 첫번째 차원 제외?" in the note): PyTorch reads a batch of
 * images at once, shaped (batch, 16, 5, 5). Only each image's own (16, 5, 5) becomes a row of
 * 16 * 5 * 5 = 400; the batch dimension stays, so the page's one drawing is (1, 16, 5, 5) -> (1, 400).
 *
 * Defines flattenView(panel, t, engine) for the lab's .dl-flatten, returning show(reading, model):
 * reading is LeNetEngine's (null: no digit). Every strip is a <canvas> one number a pixel, titled
 * with its shape; the outputs are a table of logit and probability per digit.
 */
function flattenView(panel, t, engine) {
  "use strict";
  const fmt = (x) => (Math.abs(x) < 0.005 ? "0.00" : x.toFixed(2));

  /** The numbers' largest size (for the grey scale), at least a tiny positive number. */
  function peakOf(values) {
    let peak = 1e-6;
    for (const v of values) peak = Math.max(peak, Math.abs(v));
    return peak;
  }

  /** One row of numbers as a strip of grey pixels (a canvas `count` x 1). */
  function strip(values, name) {
    const canvas = panel.querySelector(`canvas[data-strip="${name}"]`);
    const pixels = new ImageData(values.length, 1);
    const peak = peakOf(values);
    values.forEach((v, i) => {
      const grey = Math.round(255 * Math.max(0, v) / peak);
      pixels.data.set([grey, grey, grey, 255], 4 * i);
    });
    canvas.width = values.length;
    canvas.height = 1;
    canvas.getContext("2d").putImageData(pixels, 0, 0);
  }

  function show(reading, model) {
    const [second] = engine.featureMaps(model).slice(1); // {maps: 16, side: 10} before pooling
    const maps = second.maps;
    const side = second.side / 2; // pool2 halves conv2's side: 5
    const features = maps * side * side; // 400: what fc1 reads (its weight is (120, 400))
    const hidden1 = model.fc1.shape[0];
    const hidden2 = model.fc2.shape[0];
    panel.innerHTML = `
      <h3 class="dl-flatten-title">${t("digit_flatten_title")}</h3>
      <p class="dl-flatten-explain">${t("digit_flatten_explain", { maps, side, features })}</p>
      <div class="dl-flow">
        <figure class="dl-stage" data-stage="pool2"><div class="dl-pool2"></div>
          <figcaption>${t("digit_flatten_pool2", { maps, side })}</figcaption></figure>
        <figure class="dl-stage" data-stage="flat"><canvas class="dl-strip" data-strip="flat"></canvas>
          <figcaption>${t("digit_flatten_row", { features })}</figcaption></figure>
        <figure class="dl-stage" data-stage="fc1"><canvas class="dl-strip" data-strip="fc1"></canvas>
          <figcaption>${t("digit_flatten_fc1", { inputs: features, outputs: hidden1 })}</figcaption></figure>
        <figure class="dl-stage" data-stage="fc2"><canvas class="dl-strip" data-strip="fc2"></canvas>
          <figcaption>${t("digit_flatten_fc2", { inputs: hidden1, outputs: hidden2 })}</figcaption></figure>
      </div>
      <div class="dl-outputs"></div>
      <p class="dl-flatten-softmax">${t("digit_flatten_softmax")}</p>`;
    if (!reading) {
      panel.querySelector(".dl-outputs").innerHTML = `<p class="dl-muted">${t("digit_explain_empty")}</p>`;
      return;
    }
    // pool2 as it is: 16 little 5x5 maps, in the order flatten reads them (map 0's 25, then map 1's, ...)
    const box = panel.querySelector(".dl-pool2");
    const peak = peakOf(reading.pool2);
    for (let channel = 0; channel < maps; channel++) {
      const map = document.createElement("canvas");
      map.className = "dl-pool2-map";
      map.title = t("digit_flatten_map", { channel, first: channel * side * side, last: (channel + 1) * side * side - 1 });
      drawMap(map, reading.pool2, channel * side * side, side, peak);
      box.appendChild(map);
    }
    strip(reading.pool2, "flat"); // the same 400 numbers, one row (torch.flatten keeps their order)
    strip(reading.fc1, "fc1");
    strip(reading.fc2, "fc2");
    const best = reading.top[0].digit;
    const rows = Array.from(reading.probabilities, (p, digit) =>
      `<tr class="${digit === best ? "dl-best" : ""}" data-digit="${digit}"><th scope="row">${model.categories[digit]}</th>` +
      `<td>${fmt(reading.logits[digit])}</td><td><span class="dl-bar-track"><span class="dl-bar-fill" ` +
      `style="width:${(100 * p).toFixed(1)}%"></span></span></td><td>${(100 * p).toFixed(1)}%</td></tr>`).join("");
    panel.querySelector(".dl-outputs").innerHTML = `<table class="dl-output-table">
      <caption>${t("digit_flatten_outputs", { outputs: reading.logits.length })}</caption>
      <thead><tr><th scope="col">${t("digit_flatten_digit")}</th><th scope="col">${t("digit_flatten_logit")}</th>
      <th scope="col" colspan="2">${t("digit_flatten_probability")}</th></tr></thead><tbody>${rows}</tbody></table>`;
  }

  return show;
}
