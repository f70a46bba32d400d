/*
 * What LeNet sees and what it makes of it: the 28x28 image it reads, then every feature map of
 * both conv layers (6 of 28x28, 16 of 10x10), bright where a kernel found its pattern. Pointing at
 * a map's pixel chooses it for the explanation below; the chosen pixel is outlined.
 *
 * Defines featureMapsView(element, t, engine, onPick) for the lab's .dl-seen-canvas and its two
 * .dl-layer blocks, returning show(reading, model, selected): reading is LeNetEngine's (null: no
 * digit), selected {layer, channel, row, col}. onPick({layer, channel, row, col}) is called with
 * the pixel pointed at (hovered with a mouse, touched with a finger, chosen with the keyboard: each map
 * is a focusable button, Enter explains it, the arrow keys move the pixel) and whether the
 * explanation should be brought into view (a tap or Enter: not a mouse's hover, not an arrow key).
 * Maps are numbered from 0, as their rows and columns and PyTorch's channels are.
 */
function featureMapsView(element, t, engine, onPick) {
  "use strict";
  const seen = element.querySelector(".dl-seen-canvas");

  /** A layer's grid of maps, made once: a canvas a map, each pickable pixel by pixel. */
  function grid(layer, maps, side) {
    const box = element.querySelector(`.dl-layer[data-layer="${layer}"] .dl-maps`);
    if (box.children.length === maps) return box;
    box.innerHTML = "";
    for (let channel = 0; channel < maps; channel++) {
      const map = document.createElement("canvas");
      map.className = "dl-map";
      map.dataset.channel = channel;
      map.tabIndex = 0; // keyboard: Tab to a map, Enter explains it, arrows move the explained pixel
      map.setAttribute("role", "button");
      const pick = (event) => {
        const shown = map.getBoundingClientRect();
        const col = Math.min(side - 1, Math.max(0, Math.floor((event.clientX - shown.left) / shown.width * side)));
        const row = Math.min(side - 1, Math.max(0, Math.floor((event.clientY - shown.top) / shown.height * side)));
        onPick({ layer, channel, row, col }, event.pointerType !== "mouse"); // a tap brings the explanation into view
      };
      map.addEventListener("pointermove", (event) => { if (event.pointerType === "mouse") pick(event); });
      map.addEventListener("pointerdown", pick);
      map.addEventListener("keydown", (event) => {
        const here = current.layer === layer && current.channel === channel ? current : { row: side >> 1, col: side >> 1 };
        const step = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[event.key];
        if (!step && event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault();
        const [row, col] = step ? [here.row + step[0], here.col + step[1]].map((v) => Math.min(side - 1, Math.max(0, v)))
          : [here.row, here.col];
        onPick({ layer, channel, row, col }, !step);
      });
      box.appendChild(map);
    }
    return box;
  }

  let current = {}; // the explained pixel, where the arrow keys start from

  function show(reading, model, selected) {
    current = selected;
    if (!reading) {
      seen.getContext("2d").clearRect(0, 0, seen.width, seen.height);
    } else {
      const grey = Float32Array.from(reading.mnist, (v) => v / 255);
      drawMap(seen, grey, 0, engine.FIELD, 1);
    }
    for (const { layer, maps, side } of engine.featureMaps(model)) {
      const box = grid(layer, maps, side);
      const values = reading ? (layer === 1 ? reading.conv1 : reading.conv2) : new Float32Array(maps * side * side);
      let peak = 0;
      for (const v of values) peak = Math.max(peak, v);
      [...box.children].forEach((map, channel) => {
        const here = selected.layer === layer && selected.channel === channel;
        drawMap(map, values, channel * side * side, side, peak,
          here ? { top: selected.row, left: selected.col, width: 1, height: 1 } : null);
        map.classList.toggle("dl-selected", here);
        map.title = t("digit_map_title", { layer, channel });
        map.setAttribute("aria-label", map.title);
        map.setAttribute("aria-pressed", String(here));
      });
    }
  }

  return show;
}
