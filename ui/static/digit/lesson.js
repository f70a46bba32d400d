/*
 * Why MNIST's preprocessing matters: the same drawing read every way of sketch.py's WAYS (the
 * whole canvas squeezed to 28x28; cropped and scaled but not centred; MNIST's way, what the app
 * reads), each image with LeNet's answer for it. The ways' names are Python's, and so are their
 * words (the text keys preprocessing_way_<way>, as ui/digit_tab.py's /preprocessing_lesson uses).
 *
 * Defines lessonView(box, t, engine) for the lab's .dl-ways, returning show(ways, model): ways is
 * LeNetEngine.readWays' ({way: 28x28 image}, or null when there is no digit).
 */
function lessonView(box, t, engine) {
  "use strict";

  function show(ways, model) {
    box.innerHTML = engine.WAYS.map((way) => `<figure class="dl-way" data-way="${way}">` +
      `<canvas width="${engine.FIELD}" height="${engine.FIELD}"></canvas>` +
      `<figcaption><strong>${t(`preprocessing_way_${way}`)}</strong><br><span class="dl-way-answer"></span>` +
      "</figcaption></figure>").join("");
    for (const way of engine.WAYS) {
      const figure = box.querySelector(`[data-way="${way}"]`);
      if (!ways || !ways[way]) {
        figure.querySelector(".dl-way-answer").textContent = "–";
        continue;
      }
      drawMap(figure.querySelector("canvas"), Float32Array.from(ways[way], (v) => v / 255), 0, engine.FIELD, 1);
      const [best] = engine.classify(model, ways[way]).top;
      figure.querySelector(".dl-way-answer").textContent = t("digit_way_answer", { digit: best.label, p: best.p });
    }
  }

  return show;
}
