"""Question → ranked passages (`Hit`s). Each ranker returns its own ranking; `fuse` combines them.

Only the dense ranker exists so far; a lexical one plugs in through the same `Ranker` interface
and `reciprocal_rank_fusion`, so every `Hit` already carries a dense and a lexical rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from citeqa.schema import Hit, Passage
from citeqa.store import KnowledgeBase


@dataclass(frozen=True)
class Query:
    """What rankers see: the text (for lexical matching) and its embedding (for dense search)."""

    text: str
    vector: np.ndarray


@dataclass(frozen=True)
class Ranked:
    """One ranker's view of a passage: vector id, score, 1-based rank."""

    vid: int
    score: float
    rank: int


class Ranker(Protocol):
    name: str

    def rank(self, query: Query, k: int) -> list[Ranked]: ...


class DenseRanker:
    """Exact inner product over the FAISS index (vectors are normalised, so cosine)."""

    name = "dense"

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def rank(self, query: Query, k: int) -> list[Ranked]:
        found = self.kb.search(query.vector, k)
        # Stable tie-break on the vector id so equal scores always come out in the same order.
        found.sort(key=lambda t: (-t[1], t[0]))
        return [Ranked(vid, score, r) for r, (vid, score) in enumerate(found, start=1)]


@dataclass(frozen=True)
class Candidate:
    """A retrieved passage with the sentence vectors the answer composer needs."""

    hit: Hit
    sentence_vectors: np.ndarray
    vid: int


class Retriever:
    """Runs the rankers, fuses their rankings and loads the winning passages from the store."""

    def __init__(self, kb: KnowledgeBase, rankers: Sequence[Ranker]) -> None:
        self.kb = kb
        self.rankers = list(rankers)

    def retrieve(self, query: Query, k: int, depth: int = 50) -> list[Candidate]:
        rankings = {r.name: r.rank(query, max(k, depth)) for r in self.rankers}
        fused = fuse(rankings)[:k]
        loaded = self.kb.passages([vid for vid, _ in fused])
        out = []
        dense = {x.vid: x for x in rankings.get("dense", [])}
        lexical = {x.vid: x for x in rankings.get("lexical", [])}
        for rank, (vid, score) in enumerate(fused, start=1):
            if vid not in loaded:  # removed by another process between search and load
                continue
            passage, svecs = loaded[vid]
            d, lx = dense.get(vid), lexical.get(vid)
            hit = Hit(
                passage=passage,
                score=score,
                rank=rank,
                dense_rank=d.rank if d else 0,
                lexical_rank=lx.rank if lx else 0,
                dense_score=d.score if d else 0.0,
                lexical_score=lx.score if lx else 0.0,
            )
            out.append(Candidate(hit, np.asarray(svecs, dtype=np.float32), vid))
        return out


def fuse(rankings: dict[str, list[Ranked]], k: int = 60) -> list[tuple[int, float]]:
    """A single ranking passes through with its own scores; several are fused by reciprocal rank."""
    if len(rankings) == 1:
        (only,) = rankings.values()
        return [(x.vid, x.score) for x in only]
    scores: dict[int, float] = {}
    for ranking in rankings.values():
        for x in ranking:
            scores[x.vid] = scores.get(x.vid, 0.0) + 1.0 / (k + x.rank)
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))


def passages_of(candidates: Sequence[Candidate]) -> list[Passage]:
    return [c.hit.passage for c in candidates]
