/*
 * Predict, then see: two questions about the flatten before the page shows its answer. The
 * answers are computed from the model the page runs (pool2's maps and side, fc1's inputs), not
 * written down, so they stay right for any LeNet the weights describe.
 *
 *   count   How many numbers reach fc1 for one drawing?  maps x side x side (16 x 5 x 5 = 400)
 *   shape   A batch of 8 drawings leaves pool2 as (8, 16, 5, 5): what shape does the note's
 *           x.view(-1, self.flattened_features(x)) give?  (8, 400): every dimension but the first
 *           is multiplied, the batch keeps one row per drawing.
 *
 * Defines questionsView(panel, t, onAnswered) for the lab's .dl-questions, returning
 * {show(model), answered()}: show(model) (re)writes the questions in the page's language, keeping
 * what the visitor answered; onAnswered() is called when the count question has been answered (or
 * its answer asked for), the moment the flatten's own numbers may show.
 */
function questionsView(panel, t, onAnswered) {
  "use strict";
  const BATCH = 8; // the batch the shape question asks about
  const guesses = { count: null, shape: null }; // what the visitor answered ("" when they asked to be told)
  let facts = null;

  /** The numbers the answers come from, read from the model. */
  function factsOf(model) {
    const pool2 = LeNetEngine.featureMaps(model)[1]; // conv2's maps, side 10; pooling halves it
    const maps = pool2.maps;
    const side = pool2.side / 2;
    const features = maps * side * side;
    if (features !== model.fc1.shape[1]) throw new Error(`fc1 reads ${model.fc1.shape[1]} numbers, not ${features}`);
    const shape = (...sizes) => `(${sizes.join(", ")}${sizes.length === 1 ? "," : ""})`;
    return {
      maps, side, features, batch: BATCH, outputs: model.fc1.shape[0],
      shapes: [shape(BATCH, features), shape(BATCH * features), shape(1, BATCH * features), shape(BATCH, maps, side * side)],
      right: shape(BATCH, features),
      pool2: shape(BATCH, maps, side, side),
    };
  }

  /** The verdict and its reason, once answered. */
  function verdict(name) {
    const guess = guesses[name];
    if (guess === null) return "";
    const right = name === "count" ? Number(guess) === facts.features : guess === facts.right;
    const opening = guess === "" ? t("digit_question_told") : t(right ? "digit_question_right" : "digit_question_wrong");
    return `<strong>${opening}</strong> ${t(`digit_question_${name}_answer`, { ...facts, guess })}`;
  }

  function render() {
    const choices = facts.shapes.slice().sort().map((shape) =>
      `<button type="button" data-shape="${shape}" class="${guesses.shape === shape ? "dl-on" : ""}">${shape}</button>`).join("");
    panel.innerHTML = `
      <h4>${t("digit_questions_title")}</h4>
      <div class="dl-question" data-question="count">
        <label for="dl-count-guess">${t("digit_question_count", facts)}</label>
        <div class="dl-question-input"><input id="dl-count-guess" type="number" min="1" inputmode="numeric"
          value="${guesses.count || ""}"><button type="button" data-act="check-count">${t("digit_question_check")}</button>
          <button type="button" data-act="tell-count">${t("digit_question_tell")}</button></div>
        <p class="dl-answer-line" role="status">${verdict("count")}</p>
      </div>
      <div class="dl-question" data-question="shape">
        <p id="dl-shape-question">${t("digit_question_shape", facts)}</p>
        <div class="dl-question-input" role="group" aria-labelledby="dl-shape-question">${choices}
          <button type="button" data-act="tell-shape">${t("digit_question_tell")}</button></div>
        <p class="dl-answer-line" role="status">${verdict("shape")}</p>
      </div>`;
    const answer = (name, guess) => {
      guesses[name] = guess;
      render();
      // keyboard users stay where they were: on the question's answer line (it is read out)
      const line = panel.querySelector(`[data-question="${name}"] .dl-answer-line`);
      line.tabIndex = -1;
      line.focus({ preventScroll: true });
      if (name === "count") onAnswered();
    };
    const input = panel.querySelector("#dl-count-guess");
    panel.querySelector('[data-act="check-count"]').addEventListener("click", () => answer("count", input.value.trim() || ""));
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") answer("count", input.value.trim() || "");
    });
    panel.querySelector('[data-act="tell-count"]').addEventListener("click", () => answer("count", ""));
    panel.querySelector('[data-act="tell-shape"]').addEventListener("click", () => answer("shape", ""));
    panel.querySelectorAll("[data-shape]").forEach((button) =>
      button.addEventListener("click", () => answer("shape", button.dataset.shape)));
  }

  return {
    show(model) {
      facts = factsOf(model);
      render();
    },
    answered: () => guesses.count !== null,
  };
}
