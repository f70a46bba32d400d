/*
 * The digit tab's words, in the page's language. Every sentence is Python's (ui/digit_tab.py's
 * page_texts sends them all, by language, as props.texts); Gradio tells the page which language
 * it shows through #page-language's text, which it translates.
 *
 * Defines digitWords(texts) -> t(key, values): the sentence `key` in the page's language (English
 * where it has none, the key itself where English has none either), its {name} placeholders filled
 * from values, with {name:.1f} (fixed decimals) and {name:.0%} (a percentage) for numbers.
 */
function digitWords(texts) {
  "use strict";
  const sentences = texts || { en: {} };

  /** The language the page shows: Gradio translates #page-language's text for us. */
  function language() {
    const shown = (document.querySelector("#page-language")?.innerText || "").trim();
    return sentences[shown] ? shown : "en";
  }

  /** A sentence of this page, with {name} placeholders filled in. */
  function t(key, values = {}) {
    const sentence = (sentences[language()] || {})[key] ?? sentences.en[key] ?? key;
    return sentence.replace(/\{(\w+)(?::([^}]*))?\}/g, (_, name, spec) => {
      const value = values[name];
      if (spec && typeof value === "number") {
        const digits = Number((spec.match(/\.(\d+)/) || [0, 0])[1]);
        return spec.endsWith("%") ? `${(value * 100).toFixed(digits)}%` : value.toFixed(digits);
      }
      return String(value);
    });
  }

  return t;
}
