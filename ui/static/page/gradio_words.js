/**
 * gradioWords: Gradio's own English names for its controls, in the page's language.
 *
 * Gradio names some of its controls in English whatever the page's language ("Reset to default
 * value", "range slider for Epochs", "Thumbnail 2 of 9", its footer's links): a screen reader reads
 * them to a Korean visitor in English. WORDS (filled in by ui/static/__init__.py from assets/i18n,
 * keys "gradio_*") holds each English name or pattern ({label}, {n}, {m} stand for its parts) and
 * its words in every language. Names are kept up as Gradio renders (one pass per animation frame).
 */
() => {
  const WORDS = __GRADIO_WORDS__;
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const patterns = Object.entries(WORDS).map(([key, words]) => {
    const parts = [];
    const source = escape(words.en).replace(/\\\{(\w+)\\\}/g, (_, name) => {
      parts.push(name);
      return "(.+?)";
    });
    return { key, parts, pattern: new RegExp("^" + source + "$") };
  });
  const say = (text, language) => {
    const trimmed = (text || "").trim();
    for (const { key, parts, pattern } of patterns) {
      const found = trimmed.match(pattern);
      if (!found) continue;
      let said = WORDS[key][language];
      parts.forEach((name, i) => (said = said.replace("{" + name + "}", found[i + 1])));
      return said;
    }
    return null;
  };
  window.gradioWords = { say };
  const ATTRIBUTES = ["aria-label", "title", "placeholder", "alt"];
  let planned = false;
  const sayAll = () => {
    planned = false;
    const language = document.documentElement.lang;
    if (!language || language === "en" || !(language in (Object.values(WORDS)[0] || {}))) return;
    for (const name of ATTRIBUTES) {
      for (const element of document.querySelectorAll(`[${name}]`)) {
        const said = say(element.getAttribute(name), language);
        if (said !== null) element.setAttribute(name, said);
      }
    }
  };
  new MutationObserver(() => {
    if (!planned) {
      planned = true;
      requestAnimationFrame(sayAll);
    }
  }).observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ["lang"] });
  sayAll();
}
