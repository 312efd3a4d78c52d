"""Chat sessions: follow-up questions resolved without an LLM.

Whether a question follows up the previous turn is read from its words where they are clear:
- it refers back (he, she, it, they..., "this"/"that" used as a pronoun, a leading "and" or "what
  about", or no content word of its own) and names nothing of its own: a follow-up ("Who did he
  beat?"); the same when every name it has is already in the previous turn ("Who did she beat at
  Wimbledon?");
- it names its own subject and doesn't refer back: a new question ("When was OpenAI founded?").
The rest is settled by retrieval: a question that names a new subject but has a pronoun ("How old
was Bessie Hendricks when she died?") or that names nothing and has no pronoun ("Who gave the
sermon?") is answered on its own first. That answer is kept, as a new question, unless it comes from
an article the conversation is about (then the question continues it) or abstains while the
follow-up reading answers from a passage that holds the question's own names.

A follow-up's retrieval query is the user's words plus the names the previous turn was about (its
short answer when that is a name, the names its question had or carried; for "he"/"she" also the
names in the sentences that answered it, where the person a "who" answer introduced is): names, not
the previous question's other words, which would pull the previous answer back (those are added only
when the question has no predicate of its own: "Why?", "And who announced it?"). Its retrieval also
prefers passages of the articles the conversation cited (`retrieve.prefer_articles`), so "And who announced
it?" after Meta's layoffs stays with Meta rather than another company's layoffs. The displayed
question stays the user's own wording.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from citeqa.chat_markdown import conversation_markdown
from citeqa.config import Config
from citeqa.llm import uses_llm
from citeqa.schema import Answer
from citeqa.text import MONTHS, STOPWORDS, WEEKDAYS, content_terms, squash, words


class Asker(Protocol):
    """What a conversation needs of the assistant (citeqa.assistant.Assistant is one)."""

    config: Config

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        *,
        query: str | None = None,
        prefer: Collection[str] = (),
        history: Sequence[tuple[str, str]] = (),
        read_as: str | None = None,
        **scope: Any,
    ) -> Answer: ...


FOLLOW_UP, NEW, UNSURE = "follow-up", "new", "unsure"

_PRONOUNS = frozenset("he she it they him her them his hers its their theirs former latter".split())
_CONNECTIVES = ("and ", "but ", "also ", "what about", "how about", "so ", "then ", "what else")
_BE = frozenset("is are was were be been being".split())
# "that" is a pronoun before a verb like these or after a preposition ("after that"); elsewhere it
# mostly joins a clause ("Who said that ...", "the company that ran it").
_AFTER_THAT = _BE | frozenset("happen happened mean means cost costs take took last lasted".split())
_PREPOSITIONS = frozenset("about after before of for with to from by than like on at in".split())
_TIME_NOUNS = frozenset("year week month season day time morning evening night weekend".split())
# Capitalised, but no subject of their own: question and function words, weekdays ("May" is a month).
_NOT_NAMES = (
    (STOPWORDS - {"may"})
    | frozenset(WEEKDAYS)
    | frozenset("tell give list name describe explain please".split())
)
_CALENDAR = frozenset(MONTHS)
_NAME = re.compile(r"[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*")
_POSSESSIVE = re.compile(r"['’]s?$")

# Names a follow-up query carries from the previous turn; more for "he"/"she", whose person may
# come after a title or two in the sentence that answered ("Deputy Commander ... Rahim Jafarov").
MAX_NAMES, MAX_NAMES_PERSONAL = 3, 5
_PERSONAL = frozenset("he she him her his hers".split())


@dataclass
class Turn:
    question: str
    query: str
    answer: Answer
    follow_up: bool = False  # the question was answered as a follow-up of the turn before
    articles: tuple[str, ...] = ()  # the articles the conversation is about after this turn
    names: tuple[str, ...] = ()  # the names it was about: its own, then those it carried


def refers_back(question: str) -> bool:
    """A pronoun, a demonstrative used as one, a leading connective, or no content word at all."""
    q = question.strip().lower()
    toks = words(q)
    if not toks:
        return False
    if q.startswith(_CONNECTIVES) or not content_terms(question):
        return True
    return any(_refers(toks, i) for i in range(len(toks)))


def _refers(toks: Sequence[str], i: int) -> bool:
    t, prev = toks[i], toks[i - 1] if i else ""
    nxt = toks[i + 1] if i + 1 < len(toks) else ""
    if t in _PRONOUNS:
        return True
    if t in ("this", "these", "those"):  # "this deal" points back, "this year" doesn't
        return nxt not in _TIME_NOUNS
    if t == "that":
        return not nxt or nxt in _AFTER_THAT or (prev in _PREPOSITIONS and nxt not in _TIME_NOUNS)
    if t == "there":  # "Who lives there?" points back; "Are there any...", "there was" don't
        return not nxt or (nxt not in _BE and prev not in _BE)
    return t == "then" and not nxt  # "What happened then?"


def names(text: str, *, calendar: bool = True, lone_initial: bool = True) -> list[str]:
    """Capitalised names in order ("Bessie Hendricks", "Baku"), possessive 's dropped, without
    question and function words ("Who", "After", "The"). `calendar=False` drops months too;
    `lone_initial=False` drops a single capitalised word that starts a sentence ("Floods caused...",
    "Tens of thousands..."): in article prose that is as often an ordinary word as a name."""
    out = []
    for m in _NAME.finditer(text):
        parts = [_POSSESSIVE.sub("", p).strip(".") for p in m.group(0).split()]
        parts = [p for p in parts if p and p.lower() not in _NOT_NAMES]
        if not calendar:
            parts = [p for p in parts if p.lower() not in _CALENDAR]
        before = text[: m.start()].rstrip()
        initial = not before or before[-1] in '.?!"“'
        if parts and not (initial and not lone_initial and len(parts) == 1):
            out.append(" ".join(parts))
    return out


def _name_words(text: str) -> set[str]:
    return {w for n in names(text) for w in words(n)}


def _context(turn: Turn) -> set[str]:
    """The words the previous turn was about: its question, query, answer and cited titles."""
    cited = " ".join(f"{c.title} {c.quote}" for c in turn.answer.citations)
    return set(words(f"{turn.question} {turn.query} {turn.answer.text} {cited}"))


def classify(question: str, previous: Turn | None) -> str:
    """FOLLOW_UP or NEW when the words tell, else UNSURE (`ChatSession` then asks retrieval)."""
    if previous is None:
        return NEW
    own = _name_words(question)
    back = refers_back(question)
    if back and own <= _context(previous):  # nothing new named ("Who did he beat?")
        return FOLLOW_UP
    if not back and own:  # a subject of its own, nothing pointing back
        return NEW
    return UNSURE


def is_follow_up(question: str, previous: Turn | None = None) -> bool:
    """Whether the words alone make `question` a follow-up of `previous` (any turn when None)."""
    if previous is None:
        return refers_back(question) and not _name_words(question)
    return classify(question, previous) == FOLLOW_UP


def salient_names(turn: Turn, personal: bool = False) -> list[str]:
    """What "he", "it" or "the company" may point at: the previous short answer when it is a name
    and the names the previous turn was about. The names of the sentences that answered it come
    next only for "he"/"she" (the person a "who" answer introduced) or when there is no other: they
    also name what was said about the subject, which pulls the previous answer back. Weekdays and
    months are left out: every news article has them."""
    short = turn.answer.short.text if turn.answer.short is not None else ""
    ordered = names(short, calendar=False) + [n for n in turn.names if n.lower() not in _CALENDAR]
    if personal or not ordered:
        quoted: Counter[str] = Counter()
        for c in turn.answer.citations:
            quoted.update(names(c.quote, calendar=False, lone_initial=False))
        ordered += [n for n, _ in sorted(quoted.items(), key=lambda kv: -kv[1])]
    return _unique(ordered)[: MAX_NAMES_PERSONAL if personal else MAX_NAMES]


def _unique(items: Sequence[str]) -> list[str]:
    """Names in order without repeats: "Hendricks" after "Bessie Hendricks" is one, and "Chicago
    Bulls" after "Bulls" takes its place."""
    out: list[str] = []
    for x in items:
        ws = set(words(x))
        if not ws or any(ws <= set(words(o)) for o in out):
            continue
        wider = [i for i, o in enumerate(out) if set(words(o)) < ws]
        if wider:
            out[wider[0]] = x
            out = [o for i, o in enumerate(out) if i not in wider[1:]]
        else:
            out.append(x)
    return out


def continues(question: str) -> bool:
    """It has no predicate of its own or leans on the previous one ("Why?", "And who announced
    it?", "What about France?"): the previous question's words belong in its query too."""
    return not content_terms(question) or question.strip().lower().startswith(_CONNECTIVES)


def follow_up_query(question: str, previous: Turn) -> str:
    """The question plus the names the previous turn was about (and its question's words when the
    question `continues` it)."""
    personal = bool(_PERSONAL & set(words(question)))
    extra = [n for n in salient_names(previous, personal) if n.lower() not in question.lower()]
    if continues(question):
        have = set(words(question)) | {w for n in extra for w in words(n)}
        extra += _unique([w for w in words(previous.question) if w not in STOPWORDS and w not in have])
    return f"{question} {' '.join(extra)}".strip()


# A personal pronoun, and (looked at, not replaced) the word after it: "her rank" is possessive.
_PRONOUN = re.compile(r"\b(his|hers|her|he|him|she)\b(?=(?:\s+([A-Za-z]+))?)", re.IGNORECASE)


def reader_question(question: str, previous: Turn) -> str:
    """The question as the reader reads it: "he", "his", "her", ... replaced by the name that the
    previous answer was ("What was his rank?" after "Maj-Gen Rahim Jafarov" reads "What was Maj-Gen
    Rahim Jafarov's rank?"). The reader sees the question and one window, not the conversation, and
    a pronoun it cannot resolve leaves it unsure of the right span (the question as asked was
    refused at confidence 0.21). Unchanged when the previous short answer is not one name."""
    short = previous.answer.short.text if previous.answer.short is not None else ""
    found = names(short, calendar=False)
    if len(found) != 1 or squash(found[0]) != squash(short).rstrip("."):
        return question

    def named(m: re.Match[str]) -> str:
        word, after = m[1].lower(), (m[2] or "").lower()
        possessive = word in ("his", "hers") or (word == "her" and after and after not in STOPWORDS)
        return f"{found[0]}'s" if possessive else found[0]

    return _PRONOUN.sub(named, question)


def _turn(question: str, answer: Answer, follow: bool, prev: Turn | None) -> Turn:
    """What the next question may refer to: a follow-up carries the previous names along, and one
    that abstains keeps the conversation on the articles it was about."""
    own = names(question)
    if not follow or prev is None:
        return Turn(question, answer.query or question, answer, False, _cited(answer), tuple(own))
    carried = salient_names(prev)  # the topic only: "he"/"she" extras would pile up turn by turn
    articles = _cited(answer) or prev.articles
    return Turn(question, answer.query or question, answer, True, articles, tuple(_unique(own + carried)))


def _cited(answer: Answer) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.article_id for c in answer.citations))


def _holds(answer: Answer, own: set[str]) -> bool:
    """Its cited sentences (or their titles) hold at least one of the question's own names."""
    if not own:
        return True
    return bool(own & set(words(" ".join(f"{c.title} {c.quote}" for c in answer.citations))))


@dataclass
class ChatSession:
    """One conversation. Independent of other sessions; safe to call from several threads."""

    assistant: Asker
    history: list[Turn] = field(default_factory=list)
    max_turns: int = 50  # as many as the page shows, so an export holds the whole visible conversation
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def resolve(self, question: str) -> str:
        """The retrieval query for `question` when its words make it a follow-up, else the question."""
        prev = self.history[-1] if self.history else None
        if prev is None or classify(question, prev) != FOLLOW_UP:
            return question
        return follow_up_query(question, prev)

    def ask(self, question: str, top_k: int | None = None, **scope: Any) -> Answer:
        """Answer in this conversation. `scope`: Assistant.ask's as_of, articles, sources, since,
        until, llm and on_text, for this question (the page's scope controls send them with every
        question)."""
        with self._lock:
            q = question.strip()
            prev = self.history[-1] if self.history else None
            if prev is not None:  # what a language model is shown of the conversation (llm.py)
                scope = {**scope, "history": tuple((t.question, _said(t.answer)) for t in self.history)}
            verdict = classify(q, prev) if q else NEW
            if prev is not None and verdict == FOLLOW_UP:
                answer, follow = self._follow(q, prev, top_k, scope), True
            elif prev is not None and verdict == UNSURE:
                answer, follow = self._settle(q, prev, top_k, scope)
            else:
                answer, follow = self.assistant.ask(question, top_k=top_k, **scope), False
            self.history.append(_turn(q, answer, follow, prev))
            del self.history[: -self.max_turns]
            return answer

    def _follow(self, question: str, prev: Turn, top_k: int | None, scope: dict[str, Any]) -> Answer:
        query = follow_up_query(question, prev)
        read_as = reader_question(question, prev)
        return self.assistant.ask(
            question, top_k=top_k, query=query, prefer=prev.articles, read_as=read_as, **scope
        )

    def _settle(
        self, question: str, prev: Turn, top_k: int | None, scope: dict[str, Any]
    ) -> tuple[Answer, bool]:
        """Answer both ways only when needed: on its own first (one answer in the common case).
        The way is chosen on extractive answers; a language model, when on, then writes once for
        the way chosen (choosing on written answers could ask it twice, and stream both)."""
        writes = uses_llm(self.assistant.config, scope.get("llm"))
        plain = {**scope, "llm": False, "on_text": None} if writes else scope
        alone = self.assistant.ask(question, top_k=top_k, **plain)
        # on its own it lands where the conversation is: a follow-up, answered as asked
        answer, follow, as_follow_up = alone, bool(set(_cited(alone)) & set(prev.articles)), False
        if alone.abstained and not follow:
            followed = self._follow(question, prev, top_k, plain)
            if not followed.abstained and _holds(followed, _name_words(question)):
                answer, follow, as_follow_up = followed, True, True
        if not writes:
            return answer, follow
        if as_follow_up:
            return self._follow(question, prev, top_k, scope), True
        return self.assistant.ask(question, top_k=top_k, **scope), follow

    def reset(self) -> None:
        with self._lock:
            self.history.clear()

    def to_markdown(self) -> str:
        """The conversation as Markdown: each question, its answer with the [n] markers, and under it
        the numbered citations (title, date, quoted span). Article and user text is escaped, so a
        quote's markup reads as text wherever the file is rendered."""
        with self._lock:
            turns = list(self.history)
        return conversation_markdown([(t.question, t.answer) for t in turns])


def _said(answer: Answer) -> str:
    """What a language model is shown of an earlier answer: a written one without the sentences its
    citations didn't support (shown again, the model would build on what it invented)."""
    if answer.mode != "llm":
        return answer.text
    return " ".join(s.text for s in answer.sentences if s.supported is not False)
