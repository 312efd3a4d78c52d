"""Chat sessions: follow-up questions resolved without an LLM.

A follow-up ("What did he say about it?", "And when was it signed?") is detected from pronouns,
leading connectives and missing content words. Its retrieval query is the user's words plus the
salient terms of the previous turn: the previous question's content words and the capitalised names
in the sentences that answered it. The displayed question stays the user's own wording.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from citeqa.schema import Answer, Citation
from citeqa.text import STOPWORDS, content_terms, squash, words

if TYPE_CHECKING:
    from citeqa.assistant import Assistant

_PRONOUNS = frozenset(
    "he she it they him her them his hers its their theirs this that these those there then such "
    "former latter".split()
)
_CONNECTIVES = ("and ", "but ", "also ", "what about", "how about", "so ", "then ", "what else", "why")
_NAME = re.compile(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*")


@dataclass
class Turn:
    question: str
    query: str
    answer: Answer


def is_follow_up(question: str) -> bool:
    """Pronouns, a leading connective, or too few content words to stand alone."""
    q = question.strip().lower()
    toks = words(q)
    if not toks:
        return False
    if q.startswith(_CONNECTIVES):
        return True
    if any(t in _PRONOUNS for t in toks[1:]) or (toks[0] in _PRONOUNS and toks[0] != "there"):
        return True
    return len(content_terms(question)) <= 1


def salient_terms(turn: Turn, limit: int = 8) -> list[str]:
    """Names from the cited sentences first (they are what "he"/"it" point at), then question words."""
    names: Counter[str] = Counter()
    for c in turn.answer.citations:
        for m in _NAME.finditer(c.quote):
            name = m.group(0)
            if name.lower() not in STOPWORDS:
                names[name] += 1
    ordered = [n for n, _ in names.most_common(limit)]
    q_words = [w for w in turn.query.split() if w.lower().strip("?,.!") not in STOPWORDS]
    out: list[str] = []
    for t in ordered + q_words:
        t = t.strip("?,.!")
        if t and t.lower() not in {x.lower() for x in out}:
            out.append(t)
    return out[:limit]


@dataclass
class ChatSession:
    """One conversation. Independent of other sessions; safe to call from several threads."""

    assistant: Assistant
    history: list[Turn] = field(default_factory=list)
    max_turns: int = 50  # as many as the page shows, so an export holds the whole visible conversation
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def resolve(self, question: str) -> str:
        """The retrieval query for `question` given the conversation so far."""
        if not self.history or not is_follow_up(question):
            return question
        prev = self.history[-1]
        extra = [t for t in salient_terms(prev) if t.lower() not in question.lower()]
        return f"{question} {' '.join(extra)}".strip()

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        with self._lock:
            query = self.resolve(question.strip()) if question.strip() else question
            answer = self.assistant.ask(question, top_k=top_k, query=query)
            self.history.append(Turn(question.strip(), query, answer))
            del self.history[: -self.max_turns]
            return answer

    def reset(self) -> None:
        with self._lock:
            self.history.clear()

    def to_markdown(self) -> str:
        """The conversation as Markdown: each question, its answer with the [n] markers, and under it
        the numbered citations (title, date, quoted span). Article and user text is escaped, so a
        quote's markup reads as text wherever the file is rendered."""
        with self._lock:
            turns = list(self.history)
        parts = ["# citeqa conversation", ""]
        if not turns:
            parts += ["_No questions yet._", ""]
        for i, turn in enumerate(turns, start=1):
            parts += [f"## {i}. {md_escape(turn.question)}", "", _answer_markdown(turn.answer), ""]
            cites = [_citation_markdown(c) for c in turn.answer.citations]
            if cites:
                parts += [*cites, ""]
        return "\n".join(parts)


# Characters that start emphasis, code, links, HTML, entities or headings anywhere in a line
# ("(" and "!" need a "[" first, so escaping "[" is enough); a backslash makes each literal.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#~&])")
_MD_LIST_START = re.compile(r"^(\d+)([.)])|^([-+=])")


def md_escape(text: str) -> str:
    """One line of plain text that renders as itself in Markdown (whitespace runs become one space)."""
    out = _MD_SPECIAL.sub(r"\\\1", squash(text))
    # A line that starts like a list item or a setext underline would change the block it is in.
    return _MD_LIST_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", out)


def _answer_markdown(answer: Answer) -> str:
    """The answer's sentences, escaped, each followed by its own unescaped [n] markers."""
    if not answer.sentences:  # an abstention: "The articles don't say. <reason>."
        return md_escape(answer.text)
    out = []
    for s in answer.sentences:
        markers = "".join(f" [{n}]" for n in s.citations)
        body = s.text[: -len(markers)] if markers and s.text.endswith(markers) else s.text
        out.append(md_escape(body) + markers)
    return " ".join(out)


def _citation_markdown(c: Citation) -> str:
    title = md_escape(c.title or c.article_id)
    date = f" ({md_escape(c.published)})" if c.published else ""
    return f"- [{c.n}] **{title}**{date}: “{md_escape(c.quote)}”"
