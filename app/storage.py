"""A conversation as plain JSON, for the browser's own storage (`gr.BrowserState`, localStorage).

The page keeps each browser's conversation there rather than in a server database: a reload (or a
server restart) brings it back, and the server holds conversations only while their tabs are open.
The stored form is `Answer.to_dict()` (the `citeqa ask --json` contract) plus what the page needs
to draw a turn again, and for each answer the chat session's own turn (what a follow-up may refer
to), so a follow-up after a reload is resolved exactly as it would have been before it.

What comes back from the browser is the user's to edit, so `load` trusts nothing: a value it
can't read, from an older page or hand-edited, gives an empty conversation or drops the bad turn,
never an error. Rendering escapes everything anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from citeqa.chat import Turn as ChatTurn
from citeqa.markers import strip_markers
from citeqa.schema import Answer, AnswerSentence, Citation, Hit, Passage, ShortAnswer, StoryCopy
from citeqa_app.render import Turn

VERSION = 1
EMPTY: dict[str, Any] = {"version": VERSION, "turns": []}


@dataclass
class Restored:
    """A stored conversation read back: the page's turns, and the chat session's history."""

    turns: list[Turn] = field(default_factory=list)
    history: list[ChatTurn] = field(default_factory=list)


def dump(turns: Sequence[Turn], history: Sequence[ChatTurn] = ()) -> dict[str, Any]:
    """The conversation as JSON; `history` is the chat session's (its turns hold the same answers).
    Only the last answer keeps its retrieved passages: the Sources panel shows no other, and passages
    are most of an answer's size (localStorage holds about 5 MB)."""
    chat = {id(t.answer): t for t in history}
    out = []
    for i, turn in enumerate(turns):
        item: dict[str, Any] = {"question": turn.question}
        if turn.error:
            item["error"] = turn.error
        if turn.answer is not None:
            item["answer"] = _answer_dict(turn.answer, with_passages=i == len(turns) - 1)
            if id(turn.answer) in chat:
                item["chat"] = _chat_dict(chat[id(turn.answer)])
        out.append(item)
    return {"version": VERSION, "turns": out}


def load(value: object, max_turns: int) -> Restored:
    """The conversation stored by `dump`, turns numbered from 1; empty for anything unreadable."""
    if not isinstance(value, Mapping) or value.get("version") != VERSION:
        return Restored()
    items = value.get("turns")
    if not isinstance(items, list):
        return Restored()
    restored = Restored()
    for item in items[-max_turns:]:
        turn = _turn(item)
        if turn is None:
            continue
        turn.id = len(restored.turns) + 1
        restored.turns.append(turn)
        chat = _chat_turn(item.get("chat"), turn.question, turn.answer) if turn.answer else None
        if chat is not None:
            restored.history.append(chat)
    return restored


def _answer_dict(answer: Answer, *, with_passages: bool) -> dict[str, Any]:
    d = answer.to_dict()
    d.setdefault("query", answer.query)  # to_dict leaves it out when it is the question itself
    d["reason"] = answer.reason
    if "total" in answer.timings_ms:
        d["total_ms"] = answer.timings_ms["total"]
    if not with_passages:
        d["passages"] = []
    return d


# The chat session's turn is stored field by field, whatever fields it has (citeqa.chat decides what
# a follow-up needs: the names and articles the conversation is about); each value must be text, a
# number, a flag or a list of text, and one that doesn't fit its field falls back to the default.


def _chat_dict(turn: ChatTurn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(turn):
        value = getattr(turn, f.name)
        if isinstance(value, tuple | list) and all(isinstance(x, str) for x in value):
            out[f.name] = list(value)
        elif isinstance(value, str | bool | int | float):
            out[f.name] = value
    return out


def _chat_turn(stored: object, question: str, answer: Answer) -> ChatTurn | None:
    values: dict[str, Any] = {"question": question, "query": answer.query or question}
    if isinstance(stored, Mapping):
        for f in fields(ChatTurn):
            if f.name in stored and f.name not in ("question", "answer"):
                ok, value = _field_value(f, stored[f.name])
                if ok:
                    values[f.name] = value
    try:
        return ChatTurn(answer=answer, **values)
    except TypeError:  # a field this page doesn't know how to fill: the turn is shown, not followed up
        return None


def _field_value(f: Field[Any], value: object) -> tuple[bool, object]:
    """(True, value as the field holds it) when it has the field's type (that of its default; text
    when it has none), else (False, None)."""
    if f.default is not MISSING:
        expected: type = type(f.default)
    elif f.default_factory is not MISSING:
        expected = type(f.default_factory())
    else:
        expected = str
    if isinstance(value, list):
        if not all(isinstance(x, str) for x in value):
            return False, None
        value = expected(value) if expected in (tuple, list) else value
    return (True, value) if isinstance(value, expected) else (False, None)


def _turn(item: object) -> Turn | None:
    try:
        if not isinstance(item, Mapping):
            return None
        turn = Turn(0, _text(item["question"]), error=_text(item.get("error", "")))
        if "answer" in item:
            turn.answer = _answer(item["answer"])
        return turn if turn.answer is not None or turn.error else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _answer(d: Mapping[str, Any]) -> Answer:
    total = d.get("total_ms")
    # Stored as Answer.to_dict(), whose "answer" is rendered with markers (and sentences stored
    # before markers became a rendering carry them too): the Answer holds plain text.
    text = strip_markers(_text(d["answer"]))
    sentences = tuple(
        AnswerSentence(
            strip_markers(_text(s["text"])),
            tuple(int(n) for n in s["citations"]),
            # written by a language model: whether its citation supports it, and what it invented
            supported=s["supported"] if isinstance(s.get("supported"), bool) else None,
            flagged=tuple(_text(x) for x in s.get("flagged", [])),
        )
        for s in d["sentences"]
    )
    body = " ".join(s.text for s in sentences)
    return Answer(
        question=_text(d["question"]),
        text=text,
        sentences=sentences,
        citations=tuple(_citation(c) for c in d["citations"]),
        hits=tuple(_hit(p) for p in d.get("passages", [])),
        abstained=bool(d["abstained"]),
        confidence=float(d["confidence"]),
        short=_short(d["short"]) if d.get("short") else None,
        reason=_text(d.get("reason", "")),
        query=_text(d.get("query", "")),
        lead=text[: len(text) - len(body)] if sentences and text.endswith(body) else "",
        mode="llm" if d.get("mode") == "llm" else "extractive",
        notice=_text(d.get("notice", "")),
        timings_ms={"total": float(total)} if total is not None else {},
    )


def _short(s: Mapping[str, Any]) -> ShortAnswer:
    return ShortAnswer(_text(s["text"]), _text(s["article_id"]), int(s["start"]), int(s["end"]))


def _citation(c: Mapping[str, Any]) -> Citation:
    return Citation(
        n=int(c["n"]),
        article_id=_text(c["article_id"]),
        passage_id=_text(c["passage_id"]),
        start=int(c["start"]),
        end=int(c["end"]),
        quote=_text(c["quote"]),
        title=_text(c.get("title", "")),
        source=_text(c.get("source", "")),
        published=_text(c.get("published", "")),
        also_in=_copies(c.get("also_in", ())),
    )


def _copies(values: object) -> tuple[StoryCopy, ...]:
    """The other copies of a story ("also in"), as stored; anything malformed is a ValueError."""
    if not isinstance(values, (list, tuple)):
        raise ValueError("also_in is not a list")
    return tuple(
        StoryCopy(
            _text(v["article_id"]),
            _text(v.get("title", "")),
            _text(v.get("source", "")),
            _text(v.get("published", "")),
        )
        for v in values
    )


def _hit(p: Mapping[str, Any]) -> Hit:
    passage = Passage(
        id=_text(p["passage_id"]),
        article_id=_text(p["article_id"]),
        ordinal=0,  # not stored, and nothing on the page reads it
        text=_text(p["text"]),
        start=int(p["start"]),
        end=int(p["end"]),
    )
    return Hit(
        passage,
        float(p["score"]),
        int(p["rank"]),
        dense_rank=int(p.get("dense_rank", 0)),
        lexical_rank=int(p.get("lexical_rank", 0)),
        also_in=_copies(p.get("also_in", ())),
    )


def _text(value: object) -> str:
    """A stored string, or ValueError: a number or a list where text belongs means a damaged value."""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return value
