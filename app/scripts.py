"""The page's browser-side glue, as strings for `gr.HTML(js_on_load=...)`.

Each snippet runs once per component, with `element` (the component's root), `trigger(event, data)`
(fires the component's Gradio event; the handler reads `data` as a `PageClick`, events.py) and
`watch(prop, fn)` (runs `fn` after the component re-renders with a new value).
"""

CHAT_JS = """
element.addEventListener('click', (e) => {
  const cite = e.target.closest('[data-cite]');
  if (cite && element.contains(cite)) {
    e.preventDefault();
    element.querySelectorAll('.cq-active').forEach((x) => x.classList.remove('cq-active'));
    const same = element.querySelectorAll(`[data-cite="${cite.dataset.cite}"]`);
    same.forEach((x) => x.classList.add('cq-active'));
    trigger('click', {cite: cite.dataset.cite});
    return;
  }
  const ex = e.target.closest('[data-example]');
  if (ex && element.contains(ex)) { e.preventDefault(); trigger('select', {example: ex.dataset.example}); }
});
// Follow the conversation as it grows (the chat box scrolls, not the page).
watch('value', () => {
  const box = element.querySelector('.cq-chat');
  if (box) box.scrollTop = box.scrollHeight;
});
"""

SOURCES_JS = """
element.addEventListener('click', (e) => {
  const src = e.target.closest('[data-source]');
  if (!src || !element.contains(src)) return;
  e.preventDefault();
  element.querySelectorAll('.cq-active').forEach((x) => x.classList.remove('cq-active'));
  src.classList.add('cq-active');
  trigger('click', {source: src.dataset.source});
});
"""

# Scroll the highlight to the middle of the article's own scroll box, then make sure the panel
# itself is on screen (it is below the chat on a narrow window).
ARTICLE_JS = """
const show = () => {
  const mark = element.querySelector('mark.cq-hl');
  const box = element.querySelector('.cq-article-body');
  if (!mark || !box) return;
  box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 2 + mark.offsetHeight / 2);
  mark.classList.remove('cq-flash'); void mark.offsetWidth; mark.classList.add('cq-flash');
  const r = element.getBoundingClientRect();
  if (r.top < 0 || r.top > window.innerHeight - 80) {
    element.scrollIntoView({block: 'start', behavior: 'smooth'});
  }
};
watch('value', show);
show();
"""

# Remove asks for a second click within four seconds instead of a modal dialog; the filter box
# hides the rows that don't contain what is typed.
LIBRARY_JS = """
element.addEventListener('input', (e) => {
  if (!e.target.classList.contains('cq-filter')) return;
  const q = e.target.value.trim().toLowerCase();
  element.querySelectorAll('.cq-table tbody tr').forEach((tr) => {
    tr.hidden = q !== '' && !tr.textContent.toLowerCase().includes(q);
  });
});
element.addEventListener('click', (e) => {
  const ask = e.target.closest('[data-scope]');
  if (ask && element.contains(ask)) { trigger('click', {scope: ask.dataset.scope}); return; }
  const b = e.target.closest('[data-remove]');
  if (!b || !element.contains(b) || b.disabled) return;
  if (b.dataset.armed === '1') {
    b.disabled = true; b.textContent = 'Removing…';
    trigger('click', {remove: b.dataset.remove});
    return;
  }
  b.dataset.armed = '1'; b.textContent = 'Confirm'; b.classList.add('cq-armed');
  setTimeout(() => {
    if (b.isConnected && b.dataset.armed === '1' && !b.disabled) {
      b.dataset.armed = ''; b.textContent = 'Remove'; b.classList.remove('cq-armed');
    }
  }, 4000);
});
"""

# The Library's upload panel is a drop target: dropped files go to the upload button's own file
# input, exactly as if they had been chosen with it (same type filter, same upload event).
# Registered once per panel, however often Gradio mounts this snippet.
DROP_JS = """
const zone = element.closest('#cq-dropzone') || element;
if (!zone.dataset.cqDrop) {
  zone.dataset.cqDrop = '1';
  const hasFiles = (e) => Array.from(e.dataTransfer?.types || []).includes('Files');
  zone.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    zone.classList.add('cq-dragging');
  });
  zone.addEventListener('dragleave', (e) => {
    if (!zone.contains(e.relatedTarget)) zone.classList.remove('cq-dragging');
  });
  zone.addEventListener('drop', (e) => {
    zone.classList.remove('cq-dragging');
    const input = zone.querySelector('input[type=file]');
    if (!input || !e.dataTransfer?.files.length) return;
    e.preventDefault();
    const chosen = new DataTransfer();
    for (const f of e.dataTransfer.files) chosen.items.add(f);
    input.files = chosen.files;
    input.dispatchEvent(new Event('change', {bubbles: true}));
  });
}
"""

# Gradio's date box neither takes nor sends text that is not a date ("tomorrow"): it keeps showing it
# while questions use the last day it took. Leaving the box redraws the scope line, which reads what
# the box shows (AS_OF_TYPED_JS) and says so. (Enter is the box's own submit event.) The listener is
# on the document because the box is in the Scope panel, drawn only once the panel opens.
SCOPE_LINE_JS = """
const left = (e) => {
  if (!element.isConnected) { document.removeEventListener('focusout', left); return; }
  if (e.target.matches && e.target.matches('#cq-as-of input')) trigger('input');
};
document.addEventListener('focusout', left);
"""

# The scope line's events: the handler gets the text the As of box shows as its last input (null
# while the box is not drawn), besides the value Gradio took.
AS_OF_TYPED_JS = """
(as_of, articles, sources, typed) =>
  [as_of, articles, sources, document.querySelector('#cq-as-of input')?.value ?? null]
"""

# Clear scope empties the As of box's text too: Gradio leaves text it never took in the box when
# its value does not change (nothing taken, then cleared).
CLEAR_AS_OF_JS = """
() => {
  const box = document.querySelector('#cq-as-of input');
  if (box && box.value) { box.value = ''; box.dispatchEvent(new Event('input', {bubbles: true})); }
  return [];
}
"""
