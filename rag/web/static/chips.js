// Section chips in any chat message, earlier answers included, open their section when clicked.
// The chips are HTML inside the Chatbot, re-rendered on every update, so one listener on the document
// serves them all. It sends only the chip's "rag-ref-<turn>-<section>" class name (written by
// rag/web/render.py; the Chatbot's sanitiser keeps classes, not data-* attributes) to the server, as
// the 'open_section' event of the empty gr.HTML this code is loaded by.
// `trigger` belongs to that component's current mount, so it is refreshed on every mount; the
// listener itself is added once per page.
window.ragOpenSection = (ref) => trigger('open_section', {ref: ref});
if (!window.ragChipListener) {
  window.ragChipListener = true;
  const open = (event) => {
    const chip = event.target instanceof Element ? event.target.closest('.rag-open') : null;
    const ref = chip ? Array.from(chip.classList).find((name) => name.startsWith('rag-ref-')) : null;
    if (!ref) return;
    if (event.type === 'keydown' && event.key !== 'Enter' && event.key !== ' ') return;
    event.preventDefault();
    window.ragOpenSection(ref);
  };
  document.addEventListener('click', open);
  document.addEventListener('keydown', open);
}
