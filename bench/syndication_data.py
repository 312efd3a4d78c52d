"""Labelled pairs for near-copy detection (bench/syndication.py), built from the shared data.

Copies: a paragraph as another outlet would run it: a new headline always, then a seeded random
choice (at least one) of a trimmed ending (the last one or more sentences dropped), the outlet's
boilerplate (a dateline before, a "Follow us on ..." or copyright line after) and a few words
replaced; a share of the copies get all three at once ("heavy").
Non-copies, the hard kind: two different paragraphs under the same title (same article, same
topic, many shared names), and the same with one outlet's boilerplate added to both (two different
stories from one outlet share its dateline and footer).

Training pairs come from SQuADShifts (new_wiki, reddit, amazon_reviews), test pairs from SQuAD v1.1
dev; nothing is copied into the repository (read from ../shared/data).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from bench.common import DATA, SQUAD_DEV

SHIFTS = [
    DATA / "squadshifts" / f for f in ("new_wiki_v1.0.json", "reddit_v1.0.json", "amazon_reviews_v1.0.json")
]

OUTLETS = ["Reuters", "AP", "AFP", "Bloomberg", "The Daily Star", "Azernews", "NewsWire", "Metro Herald"]
CITIES = ["WASHINGTON", "LONDON", "BAKU", "NEW YORK", "PARIS", "NAIROBI", "SYDNEY", "BERLIN"]
PREFIXES = ["{city} ({outlet}) - ", "({outlet}) — ", "{city}, March 5 ({outlet}) -- ", "{city} — "]
SUFFIXES = [
    "Follow us on Twitter @{handle} and on Facebook for the latest news.",
    "Reporting by Jane Doe; Editing by John Smith.",
    "Copyright 2024 {outlet}. All rights reserved. This material may not be published, broadcast, "
    "rewritten or redistributed.",
    "Read more stories like this at {handle}.com/news. Subscribe to our newsletter.",
    "This story was originally published by {outlet}.",
]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_WORD = re.compile(r"\b[A-Za-z]{3,}\b")


@dataclass(frozen=True)
class Doc:
    """A paragraph: `group` is its title (same topic), `key` unique."""

    key: str
    group: str
    title: str
    text: str


@dataclass(frozen=True)
class Pair:
    """Two bodies and whether they are copies of one story; `kind` says how the pair was made."""

    a: str
    b: str
    copy: bool
    kind: str


def load_docs(paths: list) -> list[Doc]:  # type: ignore[type-arg]
    out = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        for i, art in enumerate(data):
            for j, par in enumerate(art["paragraphs"]):
                title = art.get("title", "") or f"{path.stem}-{i}"
                out.append(Doc(f"{path.stem}/{i}/{j}", f"{path.stem}/{title}", title, par["context"].strip()))
    return out


def train_docs() -> list[Doc]:
    return load_docs(SHIFTS)


def test_docs() -> list[Doc]:
    return load_docs([SQUAD_DEV])


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def boilerplate(rng: random.Random, outlet: str) -> tuple[str, str]:
    handle = re.sub(r"\W", "", outlet).lower()
    prefix = rng.choice(PREFIXES).format(city=rng.choice(CITIES), outlet=outlet)
    suffix = rng.choice(SUFFIXES).format(outlet=outlet, handle=handle)
    return prefix, suffix


def trim(text: str, rng: random.Random) -> str:
    """Drop the ending: the last sentence or more (up to a third of them), keeping at least half of
    the words; a text with too few sentences for that loses its last 10-30% of words instead."""
    sents = sentences(text)
    total = len(text.split())
    cut = rng.randint(1, max(1, len(sents) // 3)) if len(sents) >= 2 else 0
    while cut and len(" ".join(sents[: len(sents) - cut]).split()) < total / 2:
        cut -= 1
    if cut:
        return " ".join(sents[: len(sents) - cut])
    words = text.split()
    return " ".join(words[: max(1, round(len(words) * rng.uniform(0.7, 0.9)))])


def substitute(text: str, rng: random.Random, vocab: list[str]) -> str:
    """Replace 1-5 words of three or more letters with other words of the corpus."""
    spots = list(_WORD.finditer(text))
    if not spots:
        return text
    chosen = sorted(rng.sample(spots, min(len(spots), rng.randint(1, 5))), key=lambda m: m.start())
    out, pos = [], 0
    for m in chosen:
        out += [text[pos : m.start()], rng.choice(vocab)]
        pos = m.end()
    return "".join(out) + text[pos:]


def syndicate(text: str, rng: random.Random, vocab: list[str], heavy: bool = False) -> tuple[str, str]:
    """(the copy's body, its edits joined by '+'). The new headline is implied: bodies only."""
    edits = ["trim", "boilerplate", "words"]
    if not heavy:
        edits = [e for e in edits if rng.random() < 0.5] or [rng.choice(edits)]
    body = text
    if "trim" in edits:
        body = trim(body, rng)
    if "words" in edits:
        body = substitute(body, rng, vocab)
    if "boilerplate" in edits:
        prefix, suffix = boilerplate(rng, rng.choice(OUTLETS))
        body = prefix + body + ("\n\n" + suffix if rng.random() < 0.8 else "")
    return body, "+".join(edits)


def vocabulary(docs: list[Doc]) -> list[str]:
    return sorted({w.lower() for d in docs[:400] for w in _WORD.findall(d.text)})


def pairs(docs: list[Doc], seed: int, neg_per_group: int = 60, heavy_share: float = 0.25) -> list[Pair]:
    """One copy per paragraph (a quarter of them heavy), and per title up to `neg_per_group`
    pairs of its different paragraphs, a third of those with one outlet's boilerplate on both."""
    rng = random.Random(seed)
    vocab = vocabulary(docs)
    out: list[Pair] = []
    for d in docs:
        heavy = rng.random() < heavy_share
        body, edits = syndicate(d.text, rng, vocab, heavy)
        out.append(Pair(d.text, body, True, "heavy" if heavy else edits))
    for _group, members in _by_group(docs):
        cands = [(i, j) for i in range(len(members)) for j in range(i + 1, len(members))]
        for i, j in rng.sample(cands, min(len(cands), neg_per_group)):
            a, b = members[i].text, members[j].text
            if rng.random() < 1 / 3:
                prefix, suffix = boilerplate(rng, rng.choice(OUTLETS))
                out.append(
                    Pair(prefix + a + "\n\n" + suffix, prefix + b + "\n\n" + suffix, False, "same outlet")
                )
            else:
                out.append(Pair(a, b, False, "same topic"))
    return out


def _by_group(docs: list[Doc]) -> Iterator[tuple[str, list[Doc]]]:
    groups: dict[str, list[Doc]] = {}
    for d in docs:
        groups.setdefault(d.group, []).append(d)
    yield from sorted(groups.items())
