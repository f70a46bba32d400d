/*
 * Links that carry a drawing: ?tab=digit&draw=<strokes>&explain=<layer>.<map>.<row>.<col> (made by
 * "Share this view"), or ?tab=digit&digit=7 (an example). ui/links.py makes the rest of the app's
 * links; this part is read here, in the browser, because the drawing never reaches the server.
 *
 * Defines digitLinks(size) for a size x size canvas, returning
 *   shareLink(strokes, selected)  -> this page's address with the drawing (and the chosen pixel,
 *                                    when the visitor chose one: selected.chosen)
 *   readLink(search, layers)      -> {example: digit} or {strokes: [...]} or {} for the drawing, and
 *                                    explain: [layer, channel, row, col] or null (a pixel LeNet has:
 *                                    layers is LeNetEngine.featureMaps'), from a location.search
 */
function digitLinks(size) {
  "use strict";

  /** The drawing as text for a link: strokes of whole canvas pixels, each point as a base-36 pair. */
  function encodeDrawing(strokes) {
    if (strokes.length === 1 && strokes[0].kind === "example") return `e${strokes[0].digit}`;
    return strokes.filter((s) => s.kind === "stroke").map((s) => s.points
      .filter((p, i, all) => i === 0 || i === all.length - 1 || Math.hypot(p[0] - all[i - 1][0], p[1] - all[i - 1][1]) >= 2)
      .map(([x, y]) => Math.round(x).toString(36).padStart(2, "0") + Math.round(y).toString(36).padStart(2, "0"))
      .join("")).join("-");
  }

  /** encodeDrawing's text back: {example: digit} or {strokes} (at most 200, inside the canvas). */
  function decodeDrawing(code) {
    if (/^e\d$/.test(code)) return { example: Number(code.slice(1)) };
    const parsed = code.split("-").filter(Boolean).map((text) => {
      const points = [];
      for (let i = 0; i + 4 <= text.length; i += 4) {
        points.push([parseInt(text.slice(i, i + 2), 36), parseInt(text.slice(i + 2, i + 4), 36)]
          .map((v) => Math.min(size, Math.max(0, v || 0))));
      }
      return { kind: "stroke", points };
    }).filter((s) => s.points.length);
    return { strokes: parsed.slice(0, 200) };
  }

  function shareLink(strokes, selected) {
    const url = new URL(window.location.href);
    url.search = "";
    url.searchParams.set("tab", "digit");
    if (strokes.length) url.searchParams.set("draw", encodeDrawing(strokes));
    if (selected.chosen) {
      url.searchParams.set("explain", [selected.layer, selected.channel, selected.row, selected.col].join("."));
    }
    return url.toString();
  }

  function readLink(search, layers) {
    const query = new URLSearchParams(search);
    const draw = query.get("draw") || (query.get("digit") ? `e${query.get("digit")}` : null);
    const drawing = draw ? decodeDrawing(draw) : {};
    const explain = (query.get("explain") || "").split(".").map(Number);
    let pixel = null;
    if (explain.length === 4 && explain.every(Number.isInteger)) {
      const [layer, channel, row, col] = explain;
      const known = layers.find((maps) => maps.layer === layer);
      if (known && channel >= 0 && channel < known.maps && row >= 0 && row < known.side && col >= 0 && col < known.side) {
        pixel = explain;
      }
    }
    return { ...drawing, explain: pixel };
  }

  return { shareLink, readLink };
}
