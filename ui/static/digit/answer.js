/*
 * LeNet's answer while the visitor draws: the top digit, big, then the top 3 as bars, and a hint
 * (draw something, that is not a digit, LeNet is unsure). Beside it, once the visitor has trained
 * their own LeNet on the train tab, that LeNet's answer for the same 28x28 image.
 *
 * Defines answerView(element, t, engine) for the lab's #digit-prediction, #digit-mine and .dl-hint,
 * returning {show(reading, drawn, label), showMine(reading, mine), announce(reading, drawn)}: reading
 * is LeNetEngine's (null: no digit), drawn whether anything is on the canvas, label the line under
 * the digit ("LeNet's answer" unless given), mine null or the visitor's LeNet, {model, label}.
 * announce() is for screen readers, once a reading has settled (not on every frame of a stroke): it
 * says the answer in the .dl-announce live region and names the drawing (the canvas is role="img").
 */
function answerView(element, t, engine) {
  "use strict";
  const shipped = element.querySelector("#digit-prediction");
  const own = element.querySelector("#digit-mine");
  const hint = element.querySelector(".dl-hint");

  /** The top digit and three bars (empty rows when there is no digit, so nothing below moves). */
  function answerHTML(top, label, fillClass) {
    const known = top[0] !== null;
    return `<div class="dl-top${known ? "" : " dl-empty"}">${known ? top[0].label : "–"}</div>` +
      `<div class="dl-top-label">${label}</div>` +
      top.map((guess) => `<div class="dl-bar"><span class="dl-bar-digit">${guess ? guess.label : ""}</span>` +
        `<span class="dl-bar-track"><span class="${fillClass}" style="width:${guess ? (100 * guess.p).toFixed(1) : 0}%">` +
        `</span></span><span class="dl-bar-value">${guess ? (100 * guess.p).toFixed(1) + "%" : ""}</span></div>`).join("");
  }

  const NOTHING = [null, null, null];

  function show(reading, drawn, label = t("digit_answer")) {
    const top = reading ? reading.top : NOTHING;
    shipped.innerHTML = answerHTML(top, label, "dl-bar-fill");
    hint.textContent = !reading ? t(drawn ? "digit_hint_no_digit" : "digit_hint_blank")
      : t(top[0].p < 0.6 ? "digit_hint_unsure" : "digit_hint_ok");
  }

  /** The visitor's own LeNet (trained on the train tab) reads the same 28x28 image, beside the shipped one. */
  function showMine(reading, mine) {
    own.hidden = mine === null;
    if (mine === null) return;
    const theirs = reading ? engine.classify(mine.model, reading.mnist).top : NOTHING;
    own.innerHTML = answerHTML(theirs, `${t("digit_mine_answer")} · ${mine.label}`, "dl-bar-fill dl-mine-fill");
  }

  const live = element.querySelector(".dl-announce");
  const drawing = element.querySelector("#digit-canvas canvas");

  function announce(reading, drawn) {
    const top = reading ? reading.top[0] : null;
    const state = top ? t("digit_canvas_reads", { digit: top.label })
      : t(drawn ? "digit_canvas_no_digit" : "digit_canvas_blank");
    drawing.setAttribute("aria-label", `${t("digit_canvas")}. ${state}`);
    live.textContent = top ? t("digit_announce", { digit: top.label, p: top.p }) : drawn ? t("digit_hint_no_digit") : "";
  }

  return { show, showMine, announce };
}
