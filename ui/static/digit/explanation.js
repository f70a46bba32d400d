/*
 * One feature-map pixel, explained with LeNet's own numbers (LeNetEngine.explainConvolution, the
 * browser's nets/explaining/convolution.py): the patch of the layer's input it reads, times the
 * kernel, equals the products; their sum plus the bias, through ReLU, is the pixel; then the 2x2
 * pooling that follows. For layer 2, buttons choose which of the 6 input maps' numbers are shown.
 * Beside it, the 32x32 input LeNet reads with the pixel's receptive field outlined.
 *
 * Defines explanationView(panel, t, engine) for the lab's .dl-explain, returning
 * {show(reading, model, selected), firstInputMap()}: selected is {layer, channel, row, col};
 * firstInputMap() goes back to input map 0 (a new pixel was chosen). Maps count from 0, as rows and
 * columns do. Layer 1's patch is the normalised input, (x - mean) / std with the weights' own mean
 * and std, said in words (a blank pixel is not 0 there: it is -mean / std).
 */
function explanationView(panel, t, engine) {
  "use strict";
  let inputMap = 0; // layer 2: which input map's numbers are shown
  let shown = null; // [reading, model, selected]: what is explained, to show again with another input map

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

  function show(reading, model, selected) {
    shown = [reading, model, selected];
    if (!reading) {
      panel.innerHTML = `<p class="dl-muted">${t("digit_explain_empty")}</p>`;
      return;
    }
    const { layer, channel, row, col } = selected;
    const e = engine.explainConvolution(reading, model, layer, channel, row, col);
    const c = layer === 1 ? 0 : Math.min(inputMap, e.patch.length - 1);
    const channelSums = e.products.map((grid) => grid.flat().reduce((a, b) => a + b, 0));
    const picker = layer === 2 ? `<div class="dl-channels">${t("digit_explain_input_map")} ` +
      channelSums.map((s, i) => `<button type="button" data-input="${i}" class="${i === c ? "dl-on" : ""}">` +
        `${i}: ${fmt(s)}</button>`).join("") + "</div>" : "";
    const [top, left, bottom, right] = e.input_box;
    const source = layer === 1 ? t("digit_explain_source_input") : t("digit_explain_source_pool1", { map: c });
    const pooled = e.pool.block.flat();
    panel.innerHTML = `
      <h4>${t("digit_explain_title", { layer, channel, row, col })}</h4>
      <div class="dl-explain-row">
        <figure class="dl-field"><canvas class="dl-input" width="${model.inputSize}" height="${model.inputSize}"></canvas>
          <figcaption>${t("digit_explain_field", { size: bottom - top, top, left })}</figcaption></figure>
        <div class="dl-arith">
          ${picker}
          <div class="dl-grids">
            ${numberGrid(e.patch[c], source)}<span class="dl-op">×</span>
            ${numberGrid(e.kernel[c], t("digit_explain_kernel", { map: c }))}<span class="dl-op">=</span>
            ${numberGrid(e.products[c], t("digit_explain_products", { sum: fmt(channelSums[c]) }))}
          </div>
          <p class="dl-sum">${layer === 2 ? t("digit_explain_sum2", { sums: channelSums.map(fmt).join(" + ") }) :
            t("digit_explain_sum1", { sum: fmt(channelSums[0]) })}
            ${t("digit_explain_bias", { bias: fmt(e.bias), total: fmt(e.sum) })}
            ${t("digit_explain_relu", { total: fmt(e.sum), value: fmt(e.relu), map: fmt(e.value) })}</p>
          ${layer === 1 ? `<p class="dl-normalised">${t("digit_explain_normalised", {
            mean: model.mean, std: model.std, blank: -model.mean / model.std, ink: (1 - model.mean) / model.std })}</p>` : ""}
          <p class="dl-pool">${t("digit_explain_pool", { block: pooled.map(fmt).join(", "), value: fmt(e.pool.value) })}</p>
        </div>
      </div>`;
    panel.querySelectorAll("[data-input]").forEach((button) => button.addEventListener("click", () => {
      inputMap = Number(button.dataset.input);
      show(...shown);
    }));
    // The 32x32 input LeNet reads, with the receptive field of the explained pixel outlined.
    const input = Float32Array.from(reading.input, (v) => (v * model.std + model.mean));
    drawMap(panel.querySelector(".dl-input"), input, 0, model.inputSize, 1,
      { top, left, width: right - left, height: bottom - top });
  }

  return {
    show,
    firstInputMap: () => {
      inputMap = 0;
    },
  };
}
