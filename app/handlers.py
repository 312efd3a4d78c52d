"""The page's event handlers: each takes what Gradio gives (values, `gr.Request`, a `PageClick`) and
returns HTML from render.py. Errors from citeqa become messages on the page, never tracebacks.

Every change to a conversation also returns its stored form (storage.py, kept in the browser) and
the Export button's file, so the three never disagree.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from citeqa.assistant import Assistant
from citeqa.errors import CiteqaError, InputError
from citeqa.schema import IngestReport
from citeqa.text import check_question
from citeqa_app import llm_stream, render, render_library, scope_ui, storage
from citeqa_app.api import ApiMethods, sentence
from citeqa_app.demo import load_demo
from citeqa_app.events import PageClick
from citeqa_app.sessions import MAX_TURNS, Conversation, Conversations
from citeqa_app.uploads import UploadLimits, stage

log = logging.getLogger("citeqa.web")

STREAM_STEPS = 8  # an answer is revealed in about this many steps...
STREAM_DELAY = 0.015  # ...this many seconds apart (about 0.1 s in all: a reveal, not a wait)
EXPORT_NAME = "citeqa-conversation.md"  # the downloaded file's name


def _parse_key(value: object) -> tuple[int, int] | None:
    """ "12:3" → (12, 3); anything else → None."""
    try:
        a, b = str(value).split(":")
        return int(a), int(b)
    except ValueError:
        return None


def _skips(n: int) -> tuple[Any, ...]:
    """Leave n outputs as they are."""
    return tuple(gr.skip() for _ in range(n))


class ChatPage(ApiMethods):
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
        self.uploads = Path(uploads) if uploads is not None else qa.path / "uploads"
        self.limits = limits or UploadLimits()
        self._examples = tuple(examples) if examples is not None else None
        self.demo = load_demo()
        self.conversations = Conversations(qa)
        # Export files, one folder per conversation; removed with the page (or at exit).
        self._exports = tempfile.TemporaryDirectory(prefix="citeqa-export-")

    # ---- rendering helpers

    def examples(self) -> list[str]:
        if self._examples is not None:
            return list(self._examples)
        return self.demo.examples_for({a.id for a in self.qa.articles()})

    def chat_html(self, conv: Conversation, **kw: Any) -> str:
        n = self.qa.counts()["articles"] if not conv.turns else 0
        examples = self.examples() if not conv.turns else ()
        return render.conversation(conv.turns, examples=examples, n_articles=n, **kw)

    def stats_html(self) -> str:
        counts = self.qa.counts()
        return render_library.stats(counts["articles"], counts["passages"])

    def sources_html(self, turn: render.Turn | None) -> str:
        if turn is None or turn.answer is None:
            return render.sources(None)
        titles = {aid: self._title(aid) for aid in {h.passage.article_id for h in turn.answer.hits}}
        return render.sources(turn, titles)

    def _title(self, article_id: str) -> str:
        """An article's title; "" when it has been removed since the answer."""
        try:
            return self.qa.article(article_id).title
        except InputError:
            return ""

    def library_html(self) -> str:
        return render_library.article_list(self.qa.articles())

    def export_update(self, conv: Conversation) -> Any:
        """The Export button: the conversation's Markdown file, or disabled while nothing is answered.
        The file is written now, not on click: a download button hands out the file it already has."""
        if not conv.session.history:
            return gr.update(value=None, interactive=False)
        path = Path(self._exports.name) / conv.key / EXPORT_NAME
        path.parent.mkdir(exist_ok=True)
        path.write_text(conv.session.to_markdown(), encoding="utf-8")
        return gr.update(value=str(path), interactive=True)

    # ---- page life cycle

    def on_load(self, stored: object, request: gr.Request) -> tuple[Any, ...]:
        """A new page (or a reload): the conversation kept in this browser comes back."""
        conv = self.conversations.get(request)
        with conv.lock:
            if not conv.turns:
                restored = storage.load(stored, MAX_TURNS)
                conv.restore(restored.turns, restored.history)
            last = conv.turns[-1] if conv.turns else None
            return (
                self.stats_html(),
                self.chat_html(conv),
                self.library_html(),
                self.sources_html(last),
                self.export_update(conv),
            )

    def on_unload(self, request: gr.Request) -> None:
        conv = self.conversations.drop(request)
        if conv is not None:
            shutil.rmtree(Path(self._exports.name) / conv.key, ignore_errors=True)

    # ---- chat
    # The chat events' outputs: chat, question box, sources, article, stored conversation, export.

    def chat(
        self,
        question: str,
        top_k: float,
        as_of: object,
        articles: object,
        sources: object,
        request: gr.Request,
        use_llm: object = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Ask in this tab's conversation, within the Scope panel's choices (scope_ui.py); the
        answer is streamed in, then the panels update. `use_llm`: the language-model switch (shown
        when one is configured): its words stream in as it writes them (llm_stream.py)."""
        conv = self.conversations.get(request)
        try:
            q = check_question(question, self.qa.config.max_question_chars)
            k = int(top_k)
            scope = scope_ui.kwargs(as_of, articles, sources)
        except (InputError, TypeError, ValueError) as exc:
            gr.Warning(sentence(str(exc)), title="Can't ask that")
            yield _skips(6)
            return
        with conv.lock:
            turn = conv.start(q)
            yield self.chat_html(conv, pending=True), "", *_skips(4)
            if self.qa.config.llm and use_llm is not False:
                scope.update(llm=True)
                work = lambda on_text: self._answer(conv, turn, k, {**scope, "on_text": on_text})  # noqa: E731
                for draft in llm_stream.streamed(work):
                    turn.draft = draft
                    yield self.chat_html(conv, pending=True), *_skips(5)
                turn.draft = ""
            else:
                self._answer(conv, turn, k, {**scope, "llm": False} if self.qa.config.llm else scope)
            for shown in self._reveal_steps(turn):
                yield self.chat_html(conv, reveal=shown), *_skips(5)
                time.sleep(STREAM_DELAY)
            yield self._answered(conv, turn)

    def _answer(self, conv: Conversation, turn: render.Turn, top_k: int, scope: dict[str, Any]) -> None:
        try:
            turn.answer = conv.session.ask(turn.question, top_k=top_k, **scope)
        except CiteqaError as exc:
            turn.error = f"Couldn't answer: {exc}"
        except Exception:  # never show a traceback; the server log has it
            log.exception("answering %r failed", turn.question)
            turn.error = "Something went wrong while answering. The server log has the details."

    @staticmethod
    def _reveal_steps(turn: render.Turn) -> range:
        """How many words to show at each streaming step (none for an abstention or an error)."""
        if turn.answer is None or turn.answer.abstained:
            return range(0)
        words = render.word_count(turn.answer)
        step = max(1, -(-words // STREAM_STEPS))
        return range(step, words, step)

    def _answered(self, conv: Conversation, turn: render.Turn) -> tuple[Any, ...]:
        """The finished answer. The article panel is cleared: what it showed was cited by an
        earlier answer, and its "Citation [1]" would read as this answer's [1]."""
        return (
            self.chat_html(conv),
            gr.skip(),
            self.sources_html(turn),
            render.article_placeholder(),
            storage.dump(conv.turns, conv.session.history),
            self.export_update(conv),
        )

    def ask_example(
        self,
        top_k: float,
        as_of: object,
        articles: object,
        sources: object,
        evt: PageClick,
        request: gr.Request,
        use_llm: object = None,
    ) -> Iterator[tuple[Any, ...]]:
        yield from self.chat(evt.example, top_k, as_of, articles, sources, request, use_llm)

    def new_chat(self, request: gr.Request) -> tuple[Any, ...]:
        """Outputs: chat, sources, article, question box, stored conversation, export."""
        conv = self.conversations.get(request)
        with conv.lock:
            conv.clear()
            return (
                self.chat_html(conv),
                render.sources(None),
                render.article_placeholder(),
                "",
                storage.dump(conv.turns),
                self.export_update(conv),
            )

    # ---- citations and sources

    def open_citation(self, evt: PageClick, request: gr.Request) -> str:
        conv = self.conversations.get(request)
        key = _parse_key(evt.cite)
        turn = conv.turn(key[0]) if key else None
        cite = (
            next((c for c in turn.answer.citations if c.n == key[1]), None) if turn and turn.answer else None
        )
        if key is None or turn is None or cite is None:
            return render.article_missing("That citation belongs to an earlier conversation; ask again.")
        try:
            article = self.qa.article(cite.article_id)
        except CiteqaError:
            return render.article_missing(
                f"The article {cite.article_id!r} has been removed from the library."
            )
        # Every answer numbers its citations from [1]: say when this one is not the latest answer's.
        label = f"Citation [{cite.n}]" + ("" if conv.is_latest(turn) else " · an earlier answer")
        return render.article_view(article, cite.start, cite.end, label=label, quote=cite.quote)

    def open_source(self, evt: PageClick, request: gr.Request) -> str:
        conv = self.conversations.get(request)
        key = _parse_key(evt.source)
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
        report = self.qa.add(saved, progress=False)
        # A copy that was skipped whole (binary, empty, unreadable) would be skipped again by every
        # `make run`, which re-ingests the uploads folder, and the page could never remove it.
        unread = {str(s.path) for s in report.skipped}  # a file given by path is reported by its name
        for copy in saved:
            if str(copy) in unread or copy.name in unread:
                copy.unlink(missing_ok=True)
        return report, refused

    def add_files(self, files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        """The Library's upload: ingest, then show what happened and the updated list."""
        if not files:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            report, refused = self.ingest(files, progress)
        except CiteqaError as exc:
            return None, render_library.message(sentence(str(exc)), "error"), gr.skip(), gr.skip()
        except Exception:
            log.exception("upload failed")
            return (
                None,
                render_library.message("The upload failed. The server log has the details.", "error"),
                gr.skip(),
                gr.skip(),
            )
        titles = {a.id: a.title for a in self.qa.articles()}
        summary = render_library.ingest_summary(report, titles, refused)
        return None, summary, self.library_html(), self.stats_html()

    def library_click(self, chosen: object, evt: PageClick) -> tuple[Any, ...]:
        """A Library button: "Ask about" adds the article to the chat's scope and shows the Chat
        tab; a confirmed Remove removes it (and drops it from the scope).
        Outputs: ingest note, library, stats, scoped articles, sources list, tabs."""
        keep = [str(a) for a in (chosen or [])]  # type: ignore[attr-defined]
        if evt.scope:
            articles, sources = scope_ui.choices(
                self.qa, [*keep, evt.scope] if evt.scope not in keep else keep
            )
            return *_skips(3), articles, sources, gr.Tabs(selected="chat")
        note, library, stats = self.remove(evt)
        articles, sources = scope_ui.choices(self.qa, [a for a in keep if a != evt.remove])
        return note, library, stats, articles, sources, gr.skip()

    def remove(self, evt: PageClick) -> tuple[str, str, str]:
        article_id = evt.remove
        try:
            title = self.remove_article(article_id).title or article_id
            note = render_library.message(f"Removed “{title}” ({article_id}).", "ok")
        except CiteqaError as exc:
            note = render_library.message(sentence(str(exc)), "error")
        return note, self.library_html(), self.stats_html()

    def remove_article(self, article_id: str) -> Any:
        """Remove an article, and its uploaded copy when no other article came from that file:
        `make run` re-ingests the uploads folder, which would otherwise bring the article back."""
        article = self.qa.article(article_id)  # InputError for an unknown id
        self.qa.remove(article_id)
        copy = self._upload_copy(article)
        if copy is not None and all(a.path != article.path for a in self.qa.articles()):
            copy.unlink(missing_ok=True)
        return article

    def _upload_copy(self, article: Any) -> Path | None:
        """The file in the uploads folder this article was read from, or None. The page stores an
        upload's path as its bare file name; `make run` as a path to `<kb>/uploads/<name>`. An article
        from elsewhere with the same file name ("data/2023/report.txt") is not the upload."""
        if not article.path:
            return None
        copy = self.uploads / Path(article.path).name
        if not copy.is_file():
            return None
        if article.path == copy.name or Path(article.path).resolve() == copy.resolve():
            return copy
        return None
