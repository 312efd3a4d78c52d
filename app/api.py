"""The page's documented API (gradio_client): ask, add, remove, new_chat, articles, article.
Gradio derives the schema from the type hints. A caller's mistake is a `gr.Error` with the message,
never a traceback in the server's log."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import gradio as gr

from citeqa.errors import CiteqaError
from citeqa.text import check_question

if TYPE_CHECKING:
    from citeqa.assistant import Assistant
    from citeqa.schema import IngestReport
    from citeqa_app.sessions import Conversations


def api_error(exc: Exception) -> gr.Error:
    """A caller's mistake (or a damaged knowledge base) for the client: its message, and no
    traceback in the server's log, where it would look like a crash."""
    return gr.Error(sentence(str(exc)), print_exception=False)


def sentence(text: str) -> str:
    """An error message as a sentence: capital first letter, full stop."""
    text = text.strip()
    first = text.split(" ", 1)[0]
    if first.isalpha():  # "the question is…" → "The question is…", but "top_k must…" stays
        text = text[:1].upper() + text[1:]
    return text + ("" if text.endswith((".", "!", "?")) else ".")


def _api_dict(fields: dict[str, Any]) -> dict[str, Any]:
    """gradio_client downloads any dict with a string "path" as a file: the field is called "file" here."""
    return {("file" if k == "path" else k): v for k, v in fields.items()}


class ApiMethods:
    """ChatPage's API methods. ChatPage provides `qa`, `conversations` and the methods below."""

    qa: Assistant
    conversations: Conversations

    def ingest(self, files: list[str]) -> tuple[IngestReport, list[tuple[str, str]]]:
        raise NotImplementedError

    def new_chat(self, request: gr.Request) -> tuple[Any, ...]:
        raise NotImplementedError

    def remove_article(self, article_id: str) -> Any:
        raise NotImplementedError

    def api_ask(
        self,
        question: str,
        top_k: int = 5,
        as_of: str = "",
        articles: list[str] | None = None,
        sources: list[str] | None = None,
        llm: bool = True,
        request: gr.Request = None,  # type: ignore[assignment]
    ) -> dict:
        """Ask in this client's conversation (a follow-up uses the earlier questions), optionally
        as of a day ("2024-03-05") and only over some articles (ids) or sources. Returns the JSON of
        `citeqa ask --json`: answer, sentences, citations (exact article offsets), passages. With a
        language model configured, it writes the answer unless `llm` is false (each sentence then
        says whether its citation supports it)."""
        conv = self.conversations.get(request)
        try:
            q = check_question(question, self.qa.config.max_question_chars)
            scope = {"as_of": as_of or None, "articles": articles or (), "sources": sources or ()}
            scope["llm"] = None if llm else False  # None: written when a model is configured
            with conv.lock:
                answer = conv.session.ask(q, top_k=top_k, **scope)
                conv.start(q).answer = answer  # the browser tab of this session shows it too
        except CiteqaError as exc:
            raise api_error(exc) from None
        return answer.to_dict()

    def api_add(self, files: list[str] | None) -> dict[str, Any]:
        """Add article files (txt, md, html, json, jsonl). Returns what happened to each."""
        try:
            report, refused = self.ingest(files or [])
        except CiteqaError as exc:
            raise api_error(exc) from None
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
            self.remove_article(article_id)
            return [article_id]
        except CiteqaError as exc:
            raise api_error(exc) from None

    def api_new_chat(self, request: gr.Request = None) -> None:  # type: ignore[assignment]
        """Forget this client's conversation: the next question is not a follow-up."""
        self.new_chat(request)

    def api_articles(self) -> list:
        """The articles in the knowledge base: id, title, source, published, file, passages, chars."""
        return [_api_dict(asdict(a)) for a in self.qa.articles()]

    def api_article(self, article_id: str) -> dict:
        """One article: id, title, text, source, url, published, file. Citations index into `text`."""
        try:
            a = self.qa.article(article_id)
        except CiteqaError as exc:
            raise api_error(exc) from None
        return _api_dict(asdict(a))
