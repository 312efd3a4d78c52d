"""Reading what a language model wrote (llm.py then checks it): its reasoning set aside, its
sentences and the passage numbers each cites.

Reasoning models think aloud first, in "<think>…</think>". That is not their answer: it is taken out
before anything is checked (`without_thinking`), and held back while the reply streams
(`ThinkingFilter`), so the user watches the answer, not the thinking. A block left open (the model ran
out of tokens while thinking) holds the rest of the reply; a reply that starts inside the block (the
server's chat template opened it in the prompt, as some do) ends it at "</think>" — the final answer
is right then, but what streamed before that tag was shown, since nothing marked it as thinking.

The prompt asks for "[2]" after every sentence, but models write what they were trained on: "(2)",
"[1-3]", "[^1]", "(source 1)", "【1】", "[1][2]", "[1, 2]". Each is read as a citation and taken out
of the sentence (left in, its digits would be checked as numbers the passages don't hold). A
parenthesised number is also what a sentence says ("Stage (2) of the drills", "John Smith (45)"), so
a bare "(n)" is read as a marker only at the end of a sentence, before or after its full stop, and
only when the model was given that many passages; a range only inside brackets or after "passages".
"""

from __future__ import annotations

import re

from citeqa.chunk import split_sentences
from citeqa.text import squash

MAX_RANGE = 20  # "[1-3]" cites 1, 2 and 3; "[1-300]" is no range of passages, so it cites 1 and 300

_KEY = r"(?:passages?|sources?)\s*"
_ITEM = rf"(?:{_KEY})?\^?\d{{1,3}}(?:\s*[-–—]\s*\d{{1,3}})?"
_ITEMS = rf"{_ITEM}(?:\s*(?:[,;&]|\band\b)\s*{_ITEM})*"
# Explicit markers, read wherever they are: brackets (also full-width, with a "†source" tail as
# some hosted models write) and parentheses that say "passage" or "source".
_EXPLICIT = re.compile(rf"\[\s*{_ITEMS}\s*\]|【\s*{_ITEMS}\s*(?:†[^】\n]*)?】|\(\s*{_KEY}{_ITEMS}\s*\)", re.I)
_BARE = r"\(\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\)"
# A run of them starts where no other one or its space ends, and is taken whole (a lookahead, then
# what it saw: Python 3.10 has no possessive "++"): else a reply of a thousand "(1) " would be
# tried from each, to its end, a thousand times.
_BARE_RUN = rf"(?=(?P<run>(?:\s*{_BARE})+))(?P=run)"
_BARE_BEFORE_STOP = re.compile(rf"(?<![)\s]){_BARE_RUN}(?=[.!?…]+[\"'”’]*(?:\s|$)|[ \t]*$)", re.M)
_BARE_AFTER_STOP = re.compile(rf"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’])){_BARE_RUN}(?=\s|$|\[)")
# A list numbered "(1) …", "(a) …": its parenthesised numbers are bullets, so none after a full
# stop is read as a marker of the sentence before it.
_ENUMERATED = re.compile(r"^\s*\((?:1|a|i)\)\s+\w", re.M | re.I)
_FOOTNOTE = re.compile(r"^[ \t]*\[\^\d{1,3}\]:.*(?:\n|$)", re.M)  # "[^1]: …", a markdown footnote
_THINK_TAG = re.compile(r"<(/?)(?:think|thinking)>", re.I)
_THINK_CLOSE = re.compile(r"</(?:think|thinking)>", re.I)
_OPENERS = ("<think>", "<thinking>")
_NOTHING_WORDS = r"information|mention|details?|answer|data|indication|reference"
# "The passages do not say …", "None of the passages …", "I cannot answer …": a model that found no
# answer, as asked to say. "The passages" must be the ones it was given ("the", "these", "the
# provided" …), since a news sentence says "military sources did not say" too.
_THE_PASSAGES = (
    r"\b(?:the|these|those)\s+(?:(?:provided|given|above|available|retrieved|numbered|supplied)\s+)?"
    r"(?:passages?|sources?|context|texts?|articles?|documents?|excerpts?)\b"
)
# A saying verb after the negation: "the sources were not named" and "the documents contain no
# signature, police said" are news, not a model that found no answer.
_SAY = r"(?:say|state|mention|specify|answer|indicate|provide|contain|include|give|discuss|address|cover)"
_NOT = rf"(?:do|does|did)\s*(?:not|n['’]t)\s+(?:\w+ly\s+)?{_SAY}\b"
# right after "the passages" ("The passages say the drills are not in Kars" is an answer)
_HAVE_NO = rf"(?:contain|provide|give|offer|include|hold|make)s?\s+no\s+(?:{_NOTHING_WORDS})\b"
_DENY = rf"(?:{_NOT}|{_HAVE_NO}|say\s+nothing\b)"
_NO_ANSWER = re.compile(
    "|".join(
        (
            rf"{_THE_PASSAGES}(?:\s+(?:provided|given|above|here|\w+ly))?\s+{_DENY}",
            rf"\b(?:none|neither)\s+of\s+{_THE_PASSAGES}",
            rf"\bno\s+(?:{_NOTHING_WORDS})\b.{{0,200}}?\b(?:in|from)\s+{_THE_PASSAGES}",
            rf"\bnot\s+(?:\w+\s+)?(?:in|by|from)\s+{_THE_PASSAGES}",
            r"^(?:sorry,?\s+)?I\s+(?:cannot|can['’]t|can\s+not|could\s*(?:not|n['’]t)|am\s+unable\s+to|do\s*(?:not|n['’]t)\s+know)\b",
        )
    ),
    re.I,
)
_MARK = re.compile(r"\[(\d{1,3}(?:, \d{1,3})*)\]")  # every marker, once normalised
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
_LEADING = re.compile(r"^(?:[-*•]|\d{1,2}[.)]|\([0-9a-z]{1,2}\))\s+")  # a list item's bullet


def without_thinking(text: str) -> str:
    """The reply without the model's reasoning: "<think>…</think>" blocks, whatever precedes a
    "</think>" that closes a block opened in the prompt, and an unclosed "<think>" to the end."""
    kept: list[str] = []
    pos, inside = 0, False
    for tag in _THINK_TAG.finditer(text):  # one pass over the tags (a pattern per block is quadratic)
        closing = bool(tag.group(1))
        if inside:
            if closing:
                inside, pos = False, tag.end()
        elif closing:  # closes a block the prompt opened: all before it was in that block
            kept, pos = [], tag.end()
        else:
            kept.append(text[pos : tag.start()])
            inside = True
    if not inside:  # else never closed: the rest is thinking
        kept.append(text[pos:])
    return " ".join(kept).strip()


class ThinkingFilter:
    """What of a streamed reply to show: all of it, unless it opens with a "<think>" block, which is
    held back (`feed` then returns "" until the block closes). Only a block at the start is known for
    thinking as it streams; `without_thinking` on the whole reply decides what is verified."""

    KEEP = 16  # characters of a held block kept while looking for its end (a tag may be split)

    def __init__(self) -> None:
        self.held = ""
        self.state = "start"  # start → (thinking → after) → text

    def feed(self, delta: str) -> str:
        """The part of `delta` to show now (may be "" and may include text held back before it)."""
        if self.state == "text":
            return delta
        self.held += delta
        if self.state == "start":
            head = self.held.lstrip().lower()
            if not head.startswith(_OPENERS):
                if any(tag.startswith(head) for tag in _OPENERS):
                    return ""  # "", "<thi": may still open a block
                self.state, shown, self.held = "text", self.held, ""
                return shown
            self.state = "thinking"
        if self.state == "thinking":
            close = _THINK_CLOSE.search(self.held)
            if close is None:
                self.held = self.held[-self.KEEP :]
                return ""
            self.state, self.held = "after", self.held[close.end() :]
        shown = self.held.lstrip()  # the blank lines after the block
        if shown:
            self.state, self.held = "text", ""
        return shown


def split_written(text: str, passages: int = 0) -> list[tuple[str, tuple[int, ...]]]:
    """The model's reply as (sentence without markers, the passage numbers it cites). Markers that
    open a sentence ("… in Kars. [1] The …") belong to the sentence before them. `passages`: how many
    the model was given (0: not known), the most a bare "(n)" can cite."""
    text = _normalised(text, passages)
    out: list[tuple[str, list[int]]] = []
    for span in split_sentences(text):
        raw = text[span.start : span.end]
        lead = re.match(rf"^(?:\s*{_MARK.pattern})+", raw)
        if lead and out:
            out[-1][1].extend(_numbers(lead.group(0)))
            raw = raw[lead.end() :]
        numbers = _numbers(raw)
        clean = _SPACE_BEFORE_PUNCT.sub(r"\1", squash(_MARK.sub(" ", raw)))
        clean = _LEADING.sub("", clean.replace("**", "")).strip()
        if not any(ch.isalnum() for ch in clean):  # markers alone: the sentence before cites them
            if out:
                out[-1][1].extend(numbers)
            continue
        out.append((clean, numbers))
    return [(s, tuple(dict.fromkeys(ns))) for s, ns in out]


def _normalised(text: str, passages: int) -> str:
    """The reply with every marker written "[1, 2]", the one form split_written reads."""
    text = _FOOTNOTE.sub("", text)
    text = _EXPLICIT.sub(lambda m: _marker(_cited(m.group(0))), text)

    def bare(m: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", m.group(0))]
        if passages and not all(1 <= n <= passages for n in numbers):
            return m.group(0)  # "(45)" with five passages: part of the sentence
        return " " + _marker(numbers)

    text = _BARE_BEFORE_STOP.sub(bare, text)
    return text if _ENUMERATED.search(text) else _BARE_AFTER_STOP.sub(bare, text)


def _cited(marker: str) -> list[int]:
    """The passage numbers of one marker, its ranges spelt out."""
    out: list[int] = []
    for a, b in re.findall(r"(\d{1,3})(?:\s*[-–—]\s*(\d{1,3}))?", marker):
        lo, hi = int(a), int(b or a)
        out += range(lo, hi + 1) if lo <= hi <= lo + MAX_RANGE else [lo, hi]
    return list(dict.fromkeys(out))


def _marker(numbers: list[int]) -> str:
    return "[" + ", ".join(map(str, numbers)) + "]"


def _numbers(text: str) -> list[int]:
    return [int(n) for m in _MARK.finditer(text) for n in m.group(1).split(", ")]


def says_no_answer(sentence: str) -> bool:
    """Whether a sentence of the reply says the passages don't answer the question (as the prompt
    asks the model to, when they don't) rather than answering it."""
    return bool(_NO_ANSWER.search(sentence))
