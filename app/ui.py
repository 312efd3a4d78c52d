"""The chat page: a thin Gradio layer over one `Assistant`. Nothing launches on import.

    demo = build_app(Assistant.open(kb))
    demo.launch(**launch_options())        # Gradio 6: css, head and theme go to launch()

Each browser tab (each Gradio session) has its own `Conversation`, so follow-up questions use
that tab's history only. Clicks on citation markers, sources, examples and remove buttons are
turned into Gradio events by the `js_on_load` snippets below (`trigger(name, data)`), and the
handlers get the clicked key from `gr.EventData`; no HTML from an article ever reaches the page
unescaped (render.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from citeqa_app import render
from citeqa_app.uploads import ALLOWED_SUFFIXES, UploadLimits, megabytes, stage

from citeqa.assistant import Assistant
from citeqa.chat import ChatSession
from citeqa.errors import CiteqaError, InputError
from citeqa.schema import IngestReport
from citeqa.text import check_question

log = logging.getLogger("citeqa.web")
HERE = Path(__file__).parent

DEMO_ARTICLE = "heydar-aliyev-2023-drills"
DEMO_EXAMPLES = (
    "Where will the Heydar Aliyev-2023 drills be held?",
    "Who spoke about the brotherhood between the two countries?",
    "When did military cooperation between Azerbaijan and Turkiye begin?",
    "What is the main purpose of the drills?",
)
MAX_TURNS = 50  # turns a tab keeps on screen (the chat session keeps its own, shorter, history)
STREAM_STEPS = 8  # an answer is revealed in about this many steps...
STREAM_DELAY = 0.015  # ...this many seconds apart (about 0.1 s in all: a reveal, not a wait)
ANSWERING = {"concurrency_id": "answer", "concurrency_limit": 4}  # the embedder serialises its own calls
WRITING = {"concurrency_id": "kb-write", "concurrency_limit": 1}  # one knowledge-base writer at a time

# --------------------------------------------------------------------------- browser-side glue
# Each snippet runs once per component with `element` (its root) and `trigger(event, data)`.

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

BRAND = """
<div class="cq-brand">
  <div class="cq-logo" aria-hidden="true">cq</div>
  <div><div class="cq-name">citeqa</div>
  <div class="cq-tagline">Answers from your articles, every sentence cited to the exact words.</div></div>
</div>
"""


def launch_options() -> dict[str, Any]:
    """What Gradio 6 wants at `launch()` rather than in `Blocks()`: theme, css, page title bits."""
    # System fonts: nothing to download, and every weight exists (the bundled Plex lacks 700).
    sans = (
        "Inter",
        "-apple-system",
        "BlinkMacSystemFont",
        "Segoe UI",
        "Roboto",
        "Helvetica Neue",
        "Arial",
        "Liberation Sans",
        "sans-serif",
    )
    mono = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace")
    theme = gr.themes.Base(
        primary_hue=gr.themes.colors.indigo,
        secondary_hue=gr.themes.colors.amber,
        neutral_hue=gr.themes.colors.slate,
        radius_size=gr.themes.sizes.radius_md,
        font=[gr.themes.Font(f) for f in sans],
        font_mono=[gr.themes.Font(f) for f in mono],
    )
    return {
        "theme": theme,
        "css": (HERE / "style.css").read_text(encoding="utf-8"),
        "footer_links": ["api"],
        "run_history": False,
    }


# --------------------------------------------------------------------------- per-tab state


@dataclass
class Conversation:
    """What one browser tab (or one gradio_client) has asked, and the chat session behind it."""

    session: ChatSession
    turns: list[render.Turn] = field(default_factory=list)
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, question: str) -> render.Turn:
        turn = render.Turn(self.next_id, question)
        self.next_id += 1
        self.turns.append(turn)
        del self.turns[:-MAX_TURNS]
        return turn

    def turn(self, turn_id: int) -> render.Turn | None:
        return next((t for t in self.turns if t.id == turn_id), None)

    def last_answered(self) -> render.Turn | None:
        return next((t for t in reversed(self.turns) if t.answer is not None), None)


class Conversations:
    """Conversations by Gradio session hash; the least recently used are dropped past `capacity`."""

    def __init__(self, qa: Assistant, capacity: int = 500) -> None:
        self.qa = qa
        self.capacity = capacity
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, request: gr.Request | None) -> Conversation:
        key = getattr(request, "session_hash", None) or "-"
        with self._lock:
            conv = self._items.get(key)
            if conv is None:
                conv = self._items[key] = Conversation(self.qa.chat())
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
            self._items.move_to_end(key)
            return conv

    def drop(self, request: gr.Request | None) -> None:
        with self._lock:
            self._items.pop(getattr(request, "session_hash", None) or "-", None)

    def __len__(self) -> int:
        return len(self._items)


def _sentence(text: str) -> str:
    """An error message as a sentence: capital first letter, full stop."""
    text = text.strip()
    first = text.split(" ", 1)[0]
    if first.isalpha():  # "the question is…" → "The question is…", but "top_k must…" stays
        text = text[:1].upper() + text[1:]
    return text + ("" if text.endswith((".", "!", "?")) else ".")


def _api_dict(fields: dict[str, Any]) -> dict[str, Any]:
    """gradio_client downloads any dict with a string "path" as a file: the field is called "file" here."""
    return {("file" if k == "path" else k): v for k, v in fields.items()}


def _parse_key(value: object) -> tuple[int, int] | None:
    """ "12:3" → (12, 3); anything else → None."""
    try:
        a, b = str(value).split(":")
        return int(a), int(b)
    except ValueError:
        return None


# --------------------------------------------------------------------------- the handlers


class ChatPage:
    """The page's event handlers. One instance per app; the `Assistant` is shared by all tabs."""

    def __init__(
        self,
        qa: Assistant,
        *,
        uploads: Path | None = None,
        limits: UploadLimits | None = None,
        examples: Sequence[str] | None = None,
    ) -> None:
        self.qa = qa
        self.uploads = Path(uploads) if uploads is not None else Path(qa.kb.path) / "uploads"
        self.limits = limits or UploadLimits()
        self._examples = tuple(examples) if examples is not None else None
        self.conversations = Conversations(qa)

    # ---- rendering helpers

    def examples(self) -> list[str]:
        if self._examples is not None:
            return list(self._examples)
        ids = {a.id for a in self.qa.articles()}
        return list(DEMO_EXAMPLES) if DEMO_ARTICLE in ids else []

    def chat_html(self, conv: Conversation, **kw: Any) -> str:
        n = self.qa.kb.counts()["articles"] if not conv.turns else 0
        examples = self.examples() if not conv.turns else ()
        return render.conversation(conv.turns, examples=examples, n_articles=n, **kw)

    def stats_html(self) -> str:
        counts = self.qa.kb.counts()
        return render.stats(counts["articles"], counts["passages"])

    def sources_html(self, turn: render.Turn | None) -> str:
        if turn is None or turn.answer is None:
            return render.sources(None)
        titles = {}
        for aid in {h.passage.article_id for h in turn.answer.hits}:
            art = self.qa.kb.get_article(aid)
            titles[aid] = art.title if art is not None else ""
        return render.sources(turn, titles)

    def library_html(self) -> str:
        return render.article_list(self.qa.articles())

    # ---- page life cycle

    def on_load(self, request: gr.Request) -> tuple[str, str, str]:
        conv = self.conversations.get(request)
        return self.stats_html(), self.chat_html(conv), self.library_html()

    def on_unload(self, request: gr.Request) -> None:
        self.conversations.drop(request)

    # ---- chat

    def chat(self, question: str, top_k: float, request: gr.Request) -> Iterator[tuple[Any, Any, Any]]:
        """Ask in this tab's conversation; the answer is streamed in, then the sources panel updates."""
        conv = self.conversations.get(request)
        try:
            q = check_question(question, self.qa.config.max_question_chars)
            k = int(top_k)
        except (InputError, TypeError, ValueError) as exc:
            gr.Warning(_sentence(str(exc)), title="Can't ask that")
            yield gr.skip(), gr.skip(), gr.skip()
            return
        with conv.lock:
            turn = conv.start(q)
            yield self.chat_html(conv, pending=True), "", gr.skip()
            try:
                turn.answer = conv.session.ask(q, top_k=k)
            except CiteqaError as exc:
                turn.error = f"Couldn't answer: {exc}"
            except Exception:  # never show a traceback; the server log has it
                log.exception("answering %r failed", q)
                turn.error = "Something went wrong while answering. The server log has the details."
            if turn.answer is not None and not turn.answer.abstained:
                words = render.word_count(turn.answer)
                step = max(1, -(-words // STREAM_STEPS))
                for shown in range(step, words, step):
                    yield self.chat_html(conv, reveal=shown), gr.skip(), gr.skip()
                    time.sleep(STREAM_DELAY)
            yield self.chat_html(conv), gr.skip(), self.sources_html(turn)

    def ask_example(
        self, top_k: float, evt: gr.EventData, request: gr.Request
    ) -> Iterator[tuple[Any, Any, Any]]:
        yield from self.chat(str(evt._data.get("example", "")), top_k, request)

    def new_chat(self, request: gr.Request) -> tuple[str, str, str, str]:
        conv = self.conversations.get(request)
        with conv.lock:
            conv.turns.clear()
            conv.session.reset()
        return self.chat_html(conv), render.sources(None), render.article_placeholder(), ""

    # ---- citations and sources

    def open_citation(self, evt: gr.EventData, request: gr.Request) -> str:
        conv = self.conversations.get(request)
        key = _parse_key(evt._data.get("cite"))
        turn = conv.turn(key[0]) if key else None
        cite = (
            next((c for c in turn.answer.citations if c.n == key[1]), None) if turn and turn.answer else None
        )
        if key is None or cite is None:
            return render.article_missing("That citation belongs to an earlier conversation; ask again.")
        try:
            article = self.qa.article(cite.article_id)
        except CiteqaError:
            return render.article_missing(
                f"The article {cite.article_id!r} has been removed from the library."
            )
        return render.article_view(
            article, cite.start, cite.end, label=f"Citation [{cite.n}]", quote=cite.quote
        )

    def open_source(self, evt: gr.EventData, request: gr.Request) -> str:
        conv = self.conversations.get(request)
        key = _parse_key(evt._data.get("source"))
        turn = conv.turn(key[0]) if key else None
        hit = next((h for h in turn.answer.hits if h.rank == key[1]), None) if turn and turn.answer else None
        if key is None or hit is None:
            return render.article_missing("That source belongs to an earlier conversation; ask again.")
        p = hit.passage
        try:
            article = self.qa.article(p.article_id)
        except CiteqaError:
            return render.article_missing(f"The article {p.article_id!r} has been removed from the library.")
        return render.article_view(article, p.start, p.end, label=f"Source #{hit.rank}", quote=p.text)

    def toggle_sources(self, show: bool) -> Any:
        return gr.update(visible=bool(show))

    # ---- library

    def ingest(
        self, files: Sequence[str], progress: Any = None
    ) -> tuple[IngestReport, list[tuple[str, str]]]:
        """Save uploaded files under the knowledge base and add them: (report, [(file, why refused)])."""
        n = len(files)
        if progress:
            progress(0.05, desc=f"Saving {n} file{'s' if n != 1 else ''}")
        saved, refused = stage(files, self.uploads, self.limits)
        if not saved:
            return IngestReport(), refused
        if progress:
            progress(0.2, desc=f"Reading and embedding {len(saved)} file{'s' if len(saved) != 1 else ''}")
        return self.qa.add(saved, progress=False), refused

    def add_files(self, files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        """The Library's upload: ingest, then show what happened and the updated list."""
        if not files:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            report, refused = self.ingest(files, progress)
        except CiteqaError as exc:
            return None, render.message(_sentence(str(exc)), "error"), gr.skip(), gr.skip()
        except Exception:
            log.exception("upload failed")
            return (
                None,
                render.message("The upload failed. The server log has the details.", "error"),
                gr.skip(),
                gr.skip(),
            )
        titles = {a.id: a.title for a in self.qa.articles()}
        summary = render.ingest_summary(report, titles, refused)
        return None, summary, self.library_html(), self.stats_html()

    def remove(self, evt: gr.EventData) -> tuple[str, str, str]:
        article_id = str(evt._data.get("remove", ""))
        try:
            title = self.qa.article(article_id).title or article_id
            self.qa.remove(article_id)
            note = render.message(f"Removed “{title}” ({article_id}).", "ok")
        except CiteqaError as exc:
            note = render.message(_sentence(str(exc)), "error")
        return note, self.library_html(), self.stats_html()

    # ---- the documented API (gradio_client); Gradio derives the schema from the type hints

    def api_ask(self, question: str, top_k: int = 5, request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """Ask in this client's conversation (a follow-up uses the earlier questions). Returns the JSON
        of `citeqa ask --json`: answer, sentences, citations (exact article offsets), passages."""
        conv = self.conversations.get(request)
        try:
            q = check_question(question, self.qa.config.max_question_chars)
            with conv.lock:
                answer = conv.session.ask(q, top_k=top_k)
                conv.start(q).answer = answer  # the browser tab of this session shows it too
        except CiteqaError as exc:
            raise gr.Error(_sentence(str(exc))) from None
        return answer.to_dict()

    def api_add(self, files: list[str] | None) -> dict[str, Any]:
        """Add article files (txt, md, html, json, jsonl). Returns what happened to each."""
        try:
            report, refused = self.ingest(files or [])
        except CiteqaError as exc:
            raise gr.Error(_sentence(str(exc))) from None
        skipped = [{"file": s.path, "reason": s.reason} for s in report.skipped]
        skipped += [{"file": name, "reason": why} for name, why in refused]
        return {
            "added": list(report.added),
            "updated": list(report.updated),
            "unchanged": list(report.unchanged),
            "skipped": skipped,
            "passages": report.passages,
            "seconds": round(report.seconds, 3),
        }

    def api_remove(self, article_id: str) -> list:
        """Remove an article (by id) from every index; returns the ids removed."""
        try:
            return self.qa.remove(article_id)
        except CiteqaError as exc:
            raise gr.Error(_sentence(str(exc))) from None

    def api_new_chat(self, request: gr.Request = None) -> None:  # type: ignore[assignment]
        """Forget this client's conversation: the next question is not a follow-up."""
        self.new_chat(request)

    def api_articles(self) -> list:
        """The articles in the knowledge base: id, title, source, published, file, passages, chars."""
        return [_api_dict(a.__dict__) for a in self.qa.articles()]

    def api_article(self, article_id: str) -> dict:
        """One article: id, title, text, source, url, published, file. Citations index into `text`."""
        try:
            a = self.qa.article(article_id)
        except CiteqaError as exc:
            raise gr.Error(_sentence(str(exc))) from None
        return _api_dict(a.__dict__)


# --------------------------------------------------------------------------- the page


def build_app(
    qa: Assistant,
    *,
    uploads: Path | None = None,
    limits: UploadLimits | None = None,
    examples: Sequence[str] | None = None,
) -> gr.Blocks:
    """The chat page over `qa`. Launch it with `demo.launch(**launch_options())`."""
    page = ChatPage(qa, uploads=uploads, limits=limits, examples=examples)
    lim = page.limits
    # delete_cache: Gradio keeps its own copy of every upload; drop those after an hour or two.
    with gr.Blocks(
        title="citeqa · cited answers from your articles", analytics_enabled=False, delete_cache=(3600, 7200)
    ) as demo:
        with gr.Row(elem_classes="cq-header", equal_height=True):
            gr.HTML(BRAND, js_on_load=None, elem_classes="cq-brand-wrap")
            stats = gr.HTML(page.stats_html(), js_on_load=None, elem_id="cq-stats")
        with gr.Tabs(elem_classes="cq-tabs"):
            with (
                gr.Tab("Chat", id="chat", elem_id="cq-tab-chat"),
                gr.Row(equal_height=False, elem_classes="cq-main"),
            ):
                with gr.Column(scale=6, min_width=360, elem_classes="cq-left"):
                    chat = gr.HTML(
                        page.chat_html(Conversation(qa.chat())),
                        js_on_load=CHAT_JS,
                        elem_id="cq-chat",
                    )
                    with gr.Row(elem_classes="cq-composer", equal_height=True):
                        question = gr.Textbox(
                            placeholder="Ask a question about the articles…",
                            show_label=False,
                            container=False,
                            lines=1,
                            max_lines=6,
                            scale=8,
                            elem_id="cq-question",
                            autofocus=True,
                            submit_btn=False,
                        )
                        send = gr.Button("Send", variant="primary", scale=1, min_width=88, elem_id="cq-send")
                    with gr.Accordion("Settings", open=False, elem_classes="cq-settings"):
                        with gr.Row():
                            top_k = gr.Slider(
                                1,
                                20,
                                value=min(qa.config.top_k, 20),
                                step=1,
                                label="Passages to retrieve",
                                info="How many passages the answer may draw on.",
                                elem_id="cq-top-k",
                            )
                            show_sources = gr.Checkbox(
                                value=True,
                                label="Show sources",
                                info="The retrieved passages, beside the answer.",
                                elem_id="cq-show-sources",
                            )
                        new_chat = gr.Button("New conversation", size="sm", elem_id="cq-new-chat")
                with gr.Column(scale=5, min_width=320, elem_classes="cq-right"):
                    article = gr.HTML(
                        render.article_placeholder(), js_on_load=ARTICLE_JS, elem_id="cq-article"
                    )
                    sources = gr.HTML(render.sources(None), js_on_load=SOURCES_JS, elem_id="cq-sources")
            with gr.Tab("Library", id="library", elem_id="cq-tab-library"), gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=300):
                    help_html = render.library_help(
                        ALLOWED_SUFFIXES,
                        lim.max_files,
                        megabytes(lim.max_file_bytes),
                        megabytes(lim.max_total_bytes),
                    )
                    gr.HTML(help_html, js_on_load=None)
                    files = gr.File(
                        file_count="multiple",
                        file_types=list(ALLOWED_SUFFIXES),
                        type="filepath",
                        label="Upload articles",
                        elem_id="cq-upload",
                    )
                    ingest = gr.HTML("", js_on_load=None, elem_id="cq-ingest")
                with gr.Column(scale=3, min_width=360):
                    library = gr.HTML(page.library_html(), js_on_load=LIBRARY_JS, elem_id="cq-library")

        chat_out = [chat, question, sources]
        gr.on(
            [question.submit, send.click],
            page.chat,
            [question, top_k],
            chat_out,
            api_name="chat",
            api_visibility="undocumented",
            show_progress="hidden",
            **ANSWERING,
        )
        chat.select(
            page.ask_example,
            [top_k],
            chat_out,
            api_name="ask_example",
            api_visibility="undocumented",
            show_progress="hidden",
            **ANSWERING,
        )
        chat.click(
            page.open_citation,
            None,
            article,
            api_name="open_citation",
            api_visibility="undocumented",
            show_progress="hidden",
        )
        sources.click(
            page.open_source,
            None,
            article,
            api_name="open_source",
            api_visibility="undocumented",
            show_progress="hidden",
        )
        new_chat.click(
            page.new_chat,
            None,
            [chat, sources, article, question],
            api_name="new_conversation",
            api_visibility="undocumented",
            show_progress="hidden",
        )
        show_sources.change(
            page.toggle_sources,
            show_sources,
            sources,
            api_name="toggle_sources",
            api_visibility="undocumented",
            show_progress="hidden",
            queue=False,
        )
        files.upload(
            page.add_files,
            files,
            [files, ingest, library, stats],
            api_name="upload",
            api_visibility="undocumented",
            show_progress_on=[ingest],
            **WRITING,
        )
        library.click(
            page.remove,
            None,
            [ingest, library, stats],
            api_name="remove_article",
            api_visibility="undocumented",
            **WRITING,
        )
        demo.load(
            page.on_load,
            None,
            [stats, chat, library],
            api_name="refresh",
            api_visibility="undocumented",
            show_progress="hidden",
        )
        demo.unload(page.on_unload)

        # Uploading through the API needs File components to carry the files; they are never shown.
        with gr.Row(visible=False):
            api_files = gr.File(file_count="multiple", type="filepath", label="files")
            api_report = gr.JSON(label="report")
            api_add = gr.Button("add")
        api_add.click(page.api_add, api_files, api_report, api_name="add", **WRITING)
        gr.api(page.api_ask, api_name="ask", **ANSWERING)
        gr.api(page.api_new_chat, api_name="new_chat")
        gr.api(page.api_articles, api_name="articles")
        gr.api(page.api_article, api_name="article")
        gr.api(page.api_remove, api_name="remove", **WRITING)
    demo.citeqa_page = page  # type: ignore[attr-defined]  # for tests and benchmarks
    return demo
