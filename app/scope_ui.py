"""The page's scope: the day a question is asked as of, and the articles and sources it may draw on.

The controls (a date picker, two multi-select lists, Clear) sit in the Chat tab's Scope panel; the
Library's "Ask about" buttons add an article to it. Their values go with every question to
`ChatSession.ask(..., as_of=, articles=, sources=)`, which filters inside retrieval (scope.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Any

import gradio as gr

from citeqa.assistant import Assistant
from citeqa.errors import InputError
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


def summary(as_of: object, articles: object, sources: object, typed: object = None) -> str:
    """One line (HTML, escaped) under the question box while a scope is on ("" when it is off), and
    a warning under it while the As of box holds something that is not a date.

    `typed` is the text the box shows, read in the browser (scripts.AS_OF_TYPED_JS): Gradio's date box
    keeps showing text it refuses ("tomorrow", "5 May 2024") but never sends it, so without this the
    line would go on saying the last day it took while the box shows something else."""
    text = str(as_of or "").strip()
    usable = _is_day(text)
    parts = []
    if text and usable:
        parts.append(f"as of {text[:10]}")
    if articles:
        parts.append(plural(len(list(articles)), "article"))  # type: ignore[call-overload]
    if sources:
        parts.append("from " + ", ".join(map(str, sources)))  # type: ignore[call-overload]
    html = '<div class="cq-scope-line">Scope: ' + escape(" · ".join(parts)) + "</div>" if parts else ""
    warning = _warning(str(typed or "").strip(), text, usable)
    if warning:
        html += '<div class="cq-scope-line cq-scope-warn" role="alert">' + escape(warning) + "</div>"
    return html


# What Gradio 6's date box (include_time=False) takes, as its own script checks it: a day, "now" or
# "now - 3d", or nothing. It sends only these; anything else stays in the box, unsent.
BOX_TAKES = re.compile(r"\d{4}-\d{2}-\d{2}|(?:\s*now\s*(?:-\s*\d+\s*[dmhs])?)?\s*")


def _is_day(text: str) -> bool:
    try:
        day(text, "the As of date")
    except InputError:
        return False
    return True


def _warning(typed: str, as_of: str, usable: bool) -> str:
    """What is wrong with the As of box and which day questions use; "" when nothing is."""
    shown = typed if typed and not BOX_TAKES.fullmatch(typed) else as_of
    if not usable:  # the box took a day that does not exist ("2024-02-30"): `kwargs` refuses it
        why = f"“{shown}” in As of is not a date (YYYY-MM-DD)"
        return why + ": questions are refused until it is corrected or cleared."
    if shown == as_of:
        return ""
    use = (
        f"questions are still asked as of {as_of[:10]}" if as_of else "questions are asked with no As of day"
    )
    return f"“{shown}” in As of is not a date (YYYY-MM-DD), so it is not used: {use}."
