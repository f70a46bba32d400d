/*
 * The train tab's pictures, drawn in the page while LeNet trains in the browser: the loss and
 * accuracy curves and conv1's kernels, as SVG. The same pictures as ui/charts.py's line_chart and
 * kernel_grid draw on the server for /train_lenet (a phone-width view box, a legend above the
 * plot, whole-epoch ticks; kernels red positive, blue negative, on one scale), so a run looks the
 * same whichever trains it. Every text is given by the caller, in the page's language, and escaped here.
 *
 * Defines trainCharts = {lineChart(series, options), kernelGrid(kernels, count, side, title), escapeHtml(text)}:
 *   series   [{name, points: [[x, y], ...]}], one line each
 *   options  {title, xTitle, yTitle, yRange: [low, high] | null, percent}
 *   kernels  Float32Array(count * side * side), (count, side, side)
 */
const trainCharts = (() => {
  "use strict";

  const SERIES_COLOURS = ["#2f7ed8", "#f28f43", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]; // ui/charts.py's

  const escapeHtml = (text) =>
    String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  /** Round tick values spanning [low, high] (ui/charts.py's _ticks). */
  function ticks(low, high, count = 5) {
    if (high <= low) return [low];
    const raw = (high - low) / count;
    let step = 10 ** Math.floor(Math.log10(raw));
    step *= [1, 2, 2.5, 5, 10].find((m) => raw <= step * m);
    const first = Math.ceil(low / step) * step;
    const out = [];
    for (let i = 0; i <= Math.floor((high - first) / step + 1e-9); i++) out.push(Number((first + i * step).toFixed(10)));
    return out;
  }

  /** Lines of (x, y) points as SVG; x is a whole-number count (epochs). */
  function lineChart(series, { title, xTitle, yTitle, yRange = null, percent = false }) {
    const width = 360;
    const points = series.flatMap((line) => line.points);
    if (points.length === 0) return "";
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const xLo = Math.min(...xs), xHi = Math.max(Math.max(...xs), xLo + 1);
    const [yLo, yHi] = yRange || [Math.min(0, ...ys), Math.max(...ys) * 1.08 || 1];
    const legend = [];
    let rowX = 0, rows = 0;
    for (const line of series) {
      const entry = 38 + 8 * line.name.length;
      if (rowX > 0 && rowX + entry - 16 > width) {
        rowX = 0;
        rows += 1;
      }
      legend.push([rowX, rows]);
      rowX += entry;
    }
    const left = 56, right = 14, top = 56 + 20 * rows, bottom = 46, height = 260 + 20 * rows;
    const plotW = width - left - right, plotH = height - top - bottom;
    const px = (x) => left + (plotW * (x - xLo)) / (xHi - xLo);
    const py = (y) => top + plotH * (1 - (Math.min(Math.max(y, yLo), yHi) - yLo) / (yHi - yLo));
    const label = (y) => (percent ? `${(y * 100).toFixed(0)}%` : String(y));
    const out = [
      `<svg class="cc-lines" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escapeHtml(title)}" ` +
        `style="max-width:${(width * 1.3).toFixed(0)}px;font-family:var(--font);font-size:14px;color:var(--body-text-color)">`,
      `<text x="0" y="16" fill="currentColor" font-weight="600">${escapeHtml(title)}</text>`,
    ];
    series.forEach((line, i) => {
      const [x, row] = legend[i], colour = SERIES_COLOURS[i % SERIES_COLOURS.length], y = 35 + 20 * row;
      out.push(`<line x1="${x}" y1="${y}" x2="${x + 18}" y2="${y}" stroke="${colour}" stroke-width="3"/>`);
      out.push(`<text x="${x + 23}" y="${y + 5}" fill="currentColor">${escapeHtml(line.name)}</text>`);
    });
    for (const y of ticks(yLo, yHi)) {
      out.push(`<line x1="${left}" y1="${py(y).toFixed(1)}" x2="${width - right}" y2="${py(y).toFixed(1)}" stroke="currentColor" stroke-opacity="0.12"/>`);
      out.push(`<text x="${left - 6}" y="${(py(y) + 4).toFixed(1)}" fill="currentColor" fill-opacity="0.75" text-anchor="end">${label(y)}</text>`);
    }
    const xStep = Math.max(1, Math.ceil((xHi - xLo) / 8)); // whole epochs, at most ~9 labels
    for (let x = Math.ceil(xLo); x <= Math.floor(xHi); x += xStep) {
      out.push(`<text x="${px(x).toFixed(1)}" y="${height - bottom + 18}" fill="currentColor" fill-opacity="0.75" text-anchor="middle">${x}</text>`);
    }
    out.push(`<line x1="${left}" y1="${top + plotH}" x2="${width - right}" y2="${top + plotH}" stroke="currentColor" stroke-opacity="0.4"/>`);
    out.push(`<text x="${(left + plotW / 2).toFixed(0)}" y="${height - 6}" fill="currentColor" text-anchor="middle">${escapeHtml(xTitle)}</text>`);
    out.push(`<text transform="translate(14 ${(top + plotH / 2).toFixed(0)}) rotate(-90)" fill="currentColor" text-anchor="middle">${escapeHtml(yTitle)}</text>`);
    series.forEach((line, i) => {
      const colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
      const path = line.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
      out.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2.5" stroke-linejoin="round"/>`);
      for (const [x, y] of line.points) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${colour}"/>`);
    });
    out.push("</svg>");
    return out.join("");
  }

  /** Kernels (count, side, side) as a row of squares: red positive, blue negative, white zero, one scale. */
  function kernelGrid(kernels, count, side, title, cell = 12, gap = 10) {
    let peak = 0;
    for (const v of kernels) peak = Math.max(peak, Math.abs(v));
    peak = peak || 1;
    const sizeW = count * (side * cell + gap) - gap, sizeH = side * cell;
    const out = [
      `<figure class="cc-chart" role="img" aria-label="${escapeHtml(title)}"><figcaption class="cc-title">${escapeHtml(title)}</figcaption>` +
        `<svg viewBox="0 0 ${sizeW} ${sizeH}" width="100%" style="max-width:${(sizeW * 1.5).toFixed(0)}px">`,
    ];
    for (let k = 0; k < count; k++) {
      const left = k * (side * cell + gap);
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const v = kernels[(k * side + y) * side + x] / peak; // -1..1
          const shade = Math.round(255 * (1 - Math.abs(v)));
          const colour = v >= 0 ? `rgb(255,${shade},${shade})` : `rgb(${shade},${shade},255)`;
          out.push(`<rect x="${left + x * cell}" y="${y * cell}" width="${cell}" height="${cell}" fill="${colour}"/>`);
        }
      }
      out.push(`<rect x="${left}" y="0" width="${side * cell}" height="${sizeH}" fill="none" stroke="currentColor" stroke-opacity="0.3"/>`);
    }
    out.push("</svg></figure>");
    return out.join("");
  }

  return { lineChart, kernelGrid, escapeHtml };
})();
