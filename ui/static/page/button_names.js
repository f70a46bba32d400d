/**
 * nameButtons: a name for each of Gradio's buttons that has none (axe's "button-name", critical).
 *
 * Gradio draws an example's thumbnail and an image box's picture as a <button> holding only an
 * <img alt="">, so a screen reader says "button" and nothing else. Each such button is named from
 * the label of the block it is in, and an example also from its picture's file name
 * ("Examples: astronaut"). Buttons appear whenever Gradio renders, so the names are kept up as
 * the page changes (one pass per animation frame at most).
 */
() => {
  const blockLabel = (button) => {
    const block = button.closest(".block");
    const label = block?.querySelector('[data-testid="block-info"], [data-testid="block-label"], .label');
    return (label?.textContent || "").trim();
  };
  const fileName = (button) => {
    const source = button.querySelector("img")?.getAttribute("src") || "";
    const last = decodeURIComponent(source.split("?")[0].split("/").pop() || "");
    return last.replace(/\.[a-z0-9]+$/i, "").replace(/[_-]+/g, " ");
  };
  const nameOne = (button) => {
    if (button.hasAttribute("aria-label") || button.textContent.trim() || button.title) return;
    const picture = button.querySelector("img");
    if (!picture) return;
    const label = blockLabel(button);
    const name = button.classList.contains("gallery-item") ? fileName(button) : "";
    const words = [label, name].filter(Boolean).join(": ");
    if (words) button.setAttribute("aria-label", words);
  };
  let planned = false;
  const nameAll = () => {
    planned = false;
    document.querySelectorAll("button").forEach(nameOne);
  };
  new MutationObserver(() => {
    if (!planned) {
      planned = true;
      requestAnimationFrame(nameAll);
    }
  }).observe(document.body, { childList: true, subtree: true });
  nameAll();
}
