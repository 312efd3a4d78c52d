"""The page's scope: the day a question is asked as of, and the articles and sources it may draw on.

The controls (a date picker, two multi-select lists, Clear) sit in the Chat tab's Scope panel; the
Library's "Ask about" buttons add an article to it. Their values go with every question to
`ChatSession.ask(..., as_of=, articles=, sources=)`, which filters inside retrieval (scope.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import gradio as gr

from citeqa.assistant import Assistant
from citeqa.kb import ArticleInfo
from citeqa.scope import day
from citeqa.text import plural
from citeqa_app.markup import nice_date


def article_choices(rows: Sequence[ArticleInfo]) -> list[tuple[str, str]]:
    """(label, id) per article, newest first: "Title · 5 March 2024"."""
    rows = sorted(rows, key=lambda a: (a.published, a.id), reverse=True)
    return [
        (f"{a.title or a.id}" + (f" · {nice_date(a.published)}" if a.published else ""), a.id) for a in rows
    ]


def choices(qa: Assistant, articles: Sequence[str] | None = None) -> tuple[Any, Any]:
    """Fresh choices for both lists (the library may have changed; read once for both), keeping
    what is still chosen; `articles` replaces the chosen articles when given."""
    rows = qa.articles()
    known = article_choices(rows)
    sources = gr.update(choices=sorted({a.source for a in rows if a.source}))
    if articles is None:
        return gr.update(choices=known), sources
    ids = {i for _, i in known}
    return gr.update(choices=known, value=[a for a in articles if a in ids]), sources


def kwargs(as_of: object, articles: object, sources: object) -> dict[str, Any]:
    """The controls' values as `ask` keywords. The date picker gives "2024-03-05" (or "2024-03-05
    00:00:00" in some browsers); a bad one is an InputError naming the field."""
    text = str(as_of or "").strip()
    return {
        "as_of": day(text[:10], "the As of date") if text else None,
        "articles": [str(a) for a in (articles or [])],
        "sources": [str(s) for s in (sources or [])],
    }


def summary(as_of: object, articles: object, sources: object) -> str:
    """One line (HTML, escaped) under the question box while a scope is on ("" when it is off)."""
    parts = []
    if as_of:
        parts.append(f"as of {str(as_of)[:10]}")
    if articles:
        parts.append(plural(len(list(articles)), "article"))  # type: ignore[call-overload]
    if sources:
        parts.append("from " + ", ".join(map(str, sources)))  # type: ignore[call-overload]
    if not parts:
        return ""
    return '<div class="cq-scope-line">Scope: ' + escape(" · ".join(parts)) + "</div>"
