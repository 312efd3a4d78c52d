"""HTML for the chat page, built from citeqa's dataclasses. Pure functions: no Gradio here.

Everything that comes from an article or a user (titles, text, ids, questions, file names) goes
through `esc` before it touches markup, and nothing is ever rendered as Markdown: an uploaded
`<script>` or `<img onerror=…>` shows up as the characters it is made of. Clickable things carry
`data-*` attributes only; the page's own script (ui.py) turns a click into a Gradio event.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import urlparse

from citeqa.schema import Answer, Article, Citation, Hit

ARTICLE_WINDOW = 200_000  # characters of a huge article shown around the highlight


def esc(value: object) -> str:
    """Text → HTML text or attribute value (quotes escaped too)."""
    return escape(str(value), quote=True)


@dataclass
class Turn:
    """One question of a conversation as the page shows it: an answer, or an error message."""

    id: int
    question: str
    answer: Answer | None = None
    error: str = ""


# ---------------------------------------------------------------- small pieces


def nice_date(iso: str) -> str:
    """ "2023-04-18" → "18 April 2023"; anything else is shown as given."""
    try:
        d = dt.date.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    return f"{d.day} {d.strftime('%B')} {d.year}"


def _byline(source: str, published: str) -> str:
    """ "Source · 18 April 2023", already escaped."""
    parts = [esc(p) for p in (source, nice_date(published)) if p]
    return " · ".join(parts)


def _safe_url(url: str) -> str:
    """Only plain http(s) links become anchors; `javascript:` and friends stay text."""
    try:
        ok = urlparse(url).scheme in ("http", "https")
    except ValueError:
        return ""
    return url if ok else ""


def _marker(turn_id: int, c: Citation) -> str:
    tip = " · ".join(x for x in (c.title or c.article_id, nice_date(c.published)) if x)
    return (
        f'<button type="button" class="cq-cite" data-cite="{turn_id}:{c.n}" '
        f'title="{esc(tip)}" aria-label="Open citation {c.n}: {esc(tip)}">{c.n}</button>'
    )


def _strip_markers(text: str, numbers: Sequence[int]) -> str:
    """The composer writes " [1]" into sentence text; the page draws its own markers instead."""
    return re.sub(r"\s*\[(\d+)\]", lambda m: "" if int(m[1]) in numbers else m[0], text).strip()


def sentence_parts(answer: Answer) -> list[tuple[str, tuple[int, ...]]]:
    """(plain sentence text, citation numbers) for each answer sentence."""
    return [(_strip_markers(s.text, s.citations), s.citations) for s in answer.sentences]


def word_count(answer: Answer) -> int:
    return sum(len(text.split()) for text, _ in sentence_parts(answer))


# ---------------------------------------------------------------- the conversation


def empty_state(examples: Sequence[str], n_articles: int) -> str:
    chips = "".join(
        f'<button type="button" class="cq-example" data-example="{esc(q)}">{esc(q)}</button>'
        for q in examples
    )
    if n_articles:
        hint = (
            f"Questions are answered from the {n_articles:,} article{'s' if n_articles != 1 else ''} in "
            "the library. Every sentence of an answer cites the exact words it comes from."
        )
    else:
        hint = "The library is empty. Add articles in the Library tab, then ask about them."
    return (
        '<div class="cq-empty">'
        '<div class="cq-empty-mark" aria-hidden="true">“ ”</div>'
        "<h2>Ask about your articles</h2>"
        f"<p>{esc(hint)}</p>"
        + (f'<div class="cq-examples" aria-label="Example questions">{chips}</div>' if chips else "")
        + "</div>"
    )


def _user(turn: Turn) -> str:
    return f'<div class="cq-msg cq-user"><div class="cq-bubble">{esc(turn.question)}</div></div>'


def _assistant(body: str, classes: str = "") -> str:
    return (
        f'<div class="cq-msg cq-bot {classes}"><div class="cq-avatar" aria-hidden="true">cq</div>'
        f'<div class="cq-bubble">{body}</div></div>'
    )


def answer_body(turn_id: int, answer: Answer, reveal: int | None = None) -> str:
    """The answer with its markers; `reveal` words only while it streams in (markers come with
    the last word of their sentence)."""
    if answer.abstained:
        # The refusal in plain words; the scores behind it are in the Sources panel.
        return (
            f'<p class="cq-abstain-title">{esc(answer.text)}</p>'
            '<p class="cq-abstain-why">The closest passages, and why they were not enough, are listed '
            "under Sources.</p>"
        )
    by_n = {c.n: c for c in answer.citations}
    budget = reveal if reveal is not None else 1 << 60
    out: list[str] = []
    for text, numbers in sentence_parts(answer):
        words = text.split()
        if budget < len(words):
            out.append(
                f'<span class="cq-sent">{esc(" ".join(words[:budget]))}</span><span class="cq-caret"></span>'
            )
            break
        budget -= len(words)
        marks = "".join(_marker(turn_id, by_n[n]) for n in numbers if n in by_n)
        out.append(f'<span class="cq-sent">{_with_span(text, answer, numbers)}</span>{marks}')
    body = f'<p class="cq-answer">{" ".join(out)}</p>'
    if answer.short is not None:  # the answer first, then the evidence (shown while it streams too)
        body = (
            f'<div class="cq-short"><span>Answer</span>{esc(" ".join(answer.short.text.split()))}</div>'
            + body
        )
    if reveal is not None:
        return body
    return body + _references(turn_id, answer)


def _with_span(text: str, answer: Answer, numbers: Sequence[int]) -> str:
    """The sentence, escaped, with the short answer highlighted where it stands in it (the sentence
    is shown with its whitespace squashed, so the span is found by its squashed text)."""
    short = answer.short
    if short is None or short.citation not in numbers:
        return esc(text)
    needle = " ".join(short.text.split())
    at = text.find(needle)
    if at < 0:
        return esc(text)
    end = at + len(needle)
    return f'{esc(text[:at])}<mark class="cq-span">{esc(text[at:end])}</mark>{esc(text[end:])}'


def _references(turn_id: int, answer: Answer) -> str:
    """Under the answer: each cited article once, with the markers that point into it."""
    if not answer.citations:
        return ""
    groups: dict[str, list[Citation]] = {}
    for c in answer.citations:
        groups.setdefault(c.article_id, []).append(c)
    rows = "".join(
        f'<div class="cq-ref"><span class="cq-ref-title" title="{esc(cs[0].article_id)}">'
        f"{esc(cs[0].title or cs[0].article_id)}</span>"
        + (
            f'<span class="cq-ref-date">{_byline(cs[0].source, cs[0].published)}</span>'
            if cs[0].source or cs[0].published
            else ""
        )
        + '<span class="cq-ref-marks">'
        + "".join(_marker(turn_id, c) for c in cs)
        + "</span></div>"
        for cs in groups.values()
    )
    took = answer.timings_ms.get("total")
    meta = f"confidence {answer.confidence:.2f}" + (f" · {took:,.0f} ms" if took is not None else "")
    return f'<div class="cq-refs">{rows}</div><div class="cq-meta">{esc(meta)}</div>'


def _sentence_case(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:]


def conversation(
    turns: Sequence[Turn],
    *,
    examples: Sequence[str] = (),
    n_articles: int = 0,
    pending: bool = False,
    reveal: int | None = None,
) -> str:
    """The whole chat. `pending`: the last turn is still being answered; `reveal`: it is streaming."""
    if not turns:
        return f'<div class="cq-chat">{empty_state(examples, n_articles)}</div>'
    parts: list[str] = []
    for i, turn in enumerate(turns):
        last = i == len(turns) - 1
        parts.append(_user(turn))
        if turn.error:
            parts.append(_assistant(f'<p class="cq-error-text">{esc(turn.error)}</p>', "cq-error cq-final"))
        elif turn.answer is not None:
            streaming = reveal if last else None
            classes = "cq-abstained" if turn.answer.abstained else ""
            classes += " cq-final" if streaming is None else " cq-streaming"
            parts.append(_assistant(answer_body(turn.id, turn.answer, streaming), classes))
        elif last and pending:
            parts.append(
                _assistant('<span class="cq-typing" aria-label="Answering"><i></i><i></i><i></i></span>')
            )
    return f'<div class="cq-chat">{"".join(parts)}</div>'


# ---------------------------------------------------------------- sources panel


def sources(turn: Turn | None, titles: dict[str, str] | None = None, *, max_chars: int = 320) -> str:
    """The retrieved passages of the last answer: rank, scores, cited ones marked."""
    if turn is None or turn.answer is None:
        return _panel_placeholder("Sources", "The passages retrieved for your question will appear here.")
    answer = turn.answer
    cited: dict[str, list[int]] = {}
    for c in answer.citations:
        cited.setdefault(c.passage_id, []).append(c.n)
    head = (
        '<div class="cq-panel-head"><span class="cq-panel-title">Sources</span>'
        f'<span class="cq-panel-sub">{len(answer.hits)} passage{"s" if len(answer.hits) != 1 else ""}'
        " retrieved</span></div>"
    )
    note = ""
    if answer.query and answer.query != answer.question:
        note += f'<div class="cq-note">Searched for: <q>{esc(answer.query)}</q></div>'
    if answer.abstained:
        why = _sentence_case(answer.reason) or "No passage answers the question"
        note += (
            '<div class="cq-note cq-note-warn"><strong>Not enough to answer.</strong> '
            f"{esc(why)}. These were the closest passages.</div>"
        )
    titles = titles or {}
    items = "".join(
        _source_item(turn.id, h, titles.get(h.passage.article_id, ""), cited.get(h.passage.id, []), max_chars)
        for h in answer.hits
    )
    if not items:
        items = '<li class="cq-muted">Nothing was retrieved: the library is empty.</li>'
    return f'<div class="cq-panel cq-sources">{head}{note}<ol class="cq-source-list">{items}</ol></div>'


def _source_item(turn_id: int, hit: Hit, title: str, cited: list[int], max_chars: int) -> str:
    text = " ".join(hit.passage.text.split())
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + " …"
    ranks = [f"score {hit.score:.3f}"]
    if hit.dense_rank:
        ranks.append(f"dense #{hit.dense_rank}")
    if hit.lexical_rank:
        ranks.append(f"lexical #{hit.lexical_rank}")
    badge = "".join(f'<span class="cq-badge">cited [{n}]</span>' for n in cited)
    cls = "cq-source cq-cited" if cited else "cq-source"
    return (
        f'<li class="{cls}"><button type="button" class="cq-source-btn" data-source="{turn_id}:{hit.rank}">'
        f'<span class="cq-source-top"><span class="cq-rank">#{hit.rank}</span>'
        f'<span class="cq-source-title" title="{esc(hit.passage.article_id)}">'
        f"{esc(title or hit.passage.article_id)}</span>{badge}</span>"
        f'<span class="cq-source-scores">{esc(" · ".join(ranks))}</span>'
        f'<span class="cq-source-text">{esc(text)}</span></button></li>'
    )


# ---------------------------------------------------------------- article view


def article_view(article: Article, start: int, end: int, *, label: str = "", quote: str | None = None) -> str:
    """The article with `text[start:end]` in a `<mark>`, and its title, source and date.

    When `quote` is given and the article no longer holds it at those offsets (it was updated
    since the answer), the quote is looked up again and the change is said out loud."""
    text = article.text
    warning = ""
    if quote is not None and text[start:end] != quote:
        found = text.find(quote) if quote else -1
        if found >= 0:
            start, end = found, found + len(quote)
            warning = "This article changed after the answer was given; the cited words were found again."
        else:
            start = end = 0
            warning = "This article changed after the answer was given; the cited words are no longer in it."
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    lo, hi = 0, len(text)
    if len(text) > ARTICLE_WINDOW:  # a book-length upload: show a window around the highlight
        lo = max(0, start - ARTICLE_WINDOW // 2)
        hi = min(len(text), max(end, lo + ARTICLE_WINDOW))
    body = (
        ("…" if lo else "")
        + esc(text[lo:start])
        + (f'<mark class="cq-hl">{esc(text[start:end])}</mark>' if end > start else "")
        + esc(text[end:hi])
        + ("…" if hi < len(text) else "")
    )
    url = _safe_url(article.url)
    link = (
        f'<a class="cq-link" href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">'
        "Original ↗</a>"
        if url
        else ""
    )
    byline = _byline(article.source, article.published)
    return (
        '<article class="cq-panel cq-article">'
        f'<div class="cq-panel-head"><span class="cq-panel-title">Article</span>'
        f'<span class="cq-panel-sub">{esc(label)}</span></div>'
        f'<h3 class="cq-article-title">{esc(article.title or article.id)}</h3>'
        f'<div class="cq-byline">{byline}{" · " if byline and link else ""}{link}</div>'
        f'<div class="cq-article-id">{esc(article.id)} · characters {start:,}–{end:,}</div>'
        + (f'<div class="cq-note cq-note-warn">{esc(warning)}</div>' if warning else "")
        + f'<div class="cq-article-body">{body}</div></article>'
    )


def article_placeholder() -> str:
    return _panel_placeholder(
        "Article", "Click a numbered citation in an answer, or a source, to read the exact words in context."
    )


def article_missing(message: str) -> str:
    return _panel_placeholder("Article", message)


def _panel_placeholder(title: str, text: str) -> str:
    return (
        f'<div class="cq-panel cq-placeholder"><div class="cq-panel-head"><span class="cq-panel-title">'
        f'{esc(title)}</span></div><p class="cq-muted">{esc(text)}</p></div>'
    )
