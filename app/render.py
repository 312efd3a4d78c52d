"""HTML for the chat page, built from citeqa's dataclasses. Pure functions: no Gradio here.

Python decides what to show (which words of a streaming answer, where the short answer stands in
its sentence, which window of a huge article); the macros in templates/chat.html and panels.html
say how, and escape everything (markup.py). Nothing is ever rendered as Markdown: an uploaded
`<script>` or `<img onerror=…>` shows up as the characters it is made of. Clickable things carry
`data-*` attributes only; the page's own script (scripts.py) turns a click into a Gradio event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlparse

from citeqa.schema import Answer, Article, Citation, Hit
from citeqa_app.markup import render

ARTICLE_WINDOW = 200_000  # characters of a huge article shown around the highlight


@dataclass
class Turn:
    """One question of a conversation as the page shows it: an answer, or an error message."""

    id: int
    question: str
    answer: Answer | None = None
    error: str = ""
    draft: str = ""  # a language model's words as they stream in, before they are checked


# ---------------------------------------------------------------- what the templates are given


@dataclass(frozen=True)
class SentenceView:
    """An answer sentence as shown: `text`, then the short answer's words (`mark`, highlighted) and
    the `rest` of the sentence when it holds them. `cut`: the first words of a sentence still
    streaming in (no markers yet)."""

    text: str
    mark: str | None = None
    rest: str = ""
    citations: tuple[Citation, ...] = ()
    cut: bool = False
    supported: bool | None = None
    """Written by a language model: whether its citation supports it (None: extractive)."""
    flagged: tuple[str, ...] = ()
    """Its numbers, names and dates that no cited passage holds."""


@dataclass(frozen=True)
class AnswerView:
    """An answer as shown in turn `turn_id`."""

    turn_id: int
    answer: Answer
    short: str | None
    """The short answer, white space squashed; None when there is none."""
    sentences: tuple[SentenceView, ...]
    references: tuple[tuple[Citation, ...], ...]
    """Each cited article once, with its citations; none while the answer streams in."""
    meta: str
    final: bool
    """False while the answer streams in."""


@dataclass(frozen=True)
class SourceItem:
    """A retrieved passage in the Sources panel: its article's title, the citations that quote it,
    and its text cut to a preview."""

    hit: Hit
    title: str
    cited: tuple[int, ...]
    text: str


# ---------------------------------------------------------------- small pieces


def _safe_url(url: str) -> str:
    """Only plain http(s) links become anchors; `javascript:` and friends stay text."""
    try:
        ok = urlparse(url).scheme in ("http", "https")
    except ValueError:
        return ""
    return url if ok else ""


def word_count(answer: Answer) -> int:
    return sum(len(s.text.split()) for s in answer.sentences)


def _sentence_case(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------- the conversation


def empty_state(examples: Sequence[str], n_articles: int) -> str:
    return render("chat.html", "empty_state", examples, n_articles)


def conversation(
    turns: Sequence[Turn],
    *,
    examples: Sequence[str] = (),
    n_articles: int = 0,
    pending: bool = False,
    reveal: int | None = None,
) -> str:
    """The whole chat. `pending`: the last turn is still being answered; `reveal`: it is streaming."""
    shown = [
        (turn, _answer_view(turn.id, turn.answer, reveal if i == len(turns) - 1 else None))
        if turn.answer is not None
        else (turn, None)
        for i, turn in enumerate(turns)
    ]
    return render("chat.html", "conversation", shown, examples, n_articles, pending)


def answer_body(turn_id: int, answer: Answer, reveal: int | None = None) -> str:
    """The answer with its markers; `reveal` words only while it streams in (markers come with
    the last word of their sentence)."""
    return render("chat.html", "answer_body", _answer_view(turn_id, answer, reveal))


def _answer_view(turn_id: int, answer: Answer, reveal: int | None) -> AnswerView:
    by_n = {c.n: c for c in answer.citations}
    budget = reveal if reveal is not None else 1 << 60
    sentences: list[SentenceView] = []
    for s in answer.sentences:
        words = s.text.split()
        if budget < len(words):
            sentences.append(SentenceView(" ".join(words[:budget]), cut=True))
            break
        budget -= len(words)
        cites = tuple(by_n[n] for n in s.citations if n in by_n)
        view = _with_span(s.text, answer, s.citations, cites)
        sentences.append(replace(view, supported=s.supported, flagged=s.flagged))
    short = " ".join(answer.short.text.split()) if answer.short is not None else None
    final = reveal is None
    groups: dict[str, list[Citation]] = {}
    for c in answer.citations if final else ():
        groups.setdefault(c.article_id, []).append(c)
    took = answer.timings_ms.get("total")
    if answer.mode == "llm":
        ok = sum(bool(s.supported) for s in answer.sentences)
        meta = f"written by the language model · {ok} of {len(answer.sentences)} sentences supported"
    else:
        meta = f"confidence {answer.confidence:.2f}"
    meta += f" · {took:,.0f} ms" if took is not None else ""
    refs = tuple(tuple(cs) for cs in groups.values())
    return AnswerView(turn_id, answer, short, tuple(sentences), refs, meta, final)


def _with_span(
    text: str, answer: Answer, numbers: Sequence[int], cites: tuple[Citation, ...]
) -> SentenceView:
    """The sentence, with the short answer marked where it stands in it (the sentence is shown with
    its whitespace squashed, so the span is found by its squashed text)."""
    short = answer.short
    if short is None or short.citation not in numbers:
        return SentenceView(text, citations=cites)
    needle = " ".join(short.text.split())
    at = text.find(needle)
    if at < 0:
        return SentenceView(text, citations=cites)
    end = at + len(needle)
    return SentenceView(text[:at], text[at:end], text[end:], cites)


# ---------------------------------------------------------------- sources panel


def sources(turn: Turn | None, titles: dict[str, str] | None = None, *, max_chars: int = 320) -> str:
    """The retrieved passages of the last answer: rank, scores, cited ones marked."""
    if turn is None or turn.answer is None:
        return _panel_placeholder("Sources", "The passages retrieved for your question will appear here.")
    answer = turn.answer
    cited: dict[str, list[int]] = {}
    for c in answer.citations:
        cited.setdefault(c.passage_id, []).append(c.n)
    titles = titles or {}
    items = [
        SourceItem(
            h,
            titles.get(h.passage.article_id, ""),
            tuple(cited.get(h.passage.id, [])),
            _preview(h.passage.text, max_chars),
        )
        for h in answer.hits
    ]
    searched = answer.query if answer.query and answer.query != answer.question else ""
    why = (_sentence_case(answer.reason) or "No passage answers the question") if answer.abstained else ""
    return render("panels.html", "sources", turn.id, items, searched, why)


def _preview(text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + " …"
    return text


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
    return render(
        "panels.html",
        "article",
        article,
        label,
        warning,
        start,
        end,
        before=text[lo:start],
        marked=text[start:end] if end > start else "",
        after=text[end:hi],
        cut_before=lo > 0,
        cut_after=hi < len(text),
        url=_safe_url(article.url),
    )


def article_placeholder() -> str:
    return _panel_placeholder(
        "Article", "Click a numbered citation in an answer, or a source, to read the exact words in context."
    )


def article_missing(message: str) -> str:
    return _panel_placeholder("Article", message)


def _panel_placeholder(title: str, text: str) -> str:
    return render("panels.html", "placeholder", title, text)
