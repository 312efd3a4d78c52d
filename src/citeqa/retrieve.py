"""Question → ranked passages (`Hit`s). Each ranker ranks on its own; `fuse` combines them.

Hybrid retrieval runs the dense ranker (MiniLM cosine over FAISS) and the lexical one (BM25, see
kb/lexical.py), takes the union of their top candidates and scores every candidate by both: a passage
that one ranker missed gets its exact score from that ranker (`score_of`), not a guess, so the
fused order does not depend on how deep each list was cut. The default fusion is a weighted sum of
signals on fixed scales: the passage's cosine, its best sentence's cosine (sentence vectors are
stored at ingest, so this costs a dot product) and BM25 divided by the most the query's terms could
score in this index (`scale`). Unlike min-max or z-score normalisation, that scale does not stretch
a weak lexical match into a strong one when nothing matches well. The weights (0.1, 0.4, 0.5) and
the method were chosen on training data only (bench/fusion_tune.py: SciFact train qrels, SQuAD dev
without XQuAD's paragraphs), where it beat RRF, weighted RRF, min-max and z-score fusion on both.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from citeqa.config import Fusion, FusionMethod
from citeqa.kb import KnowledgeBase
from citeqa.schema import Hit, Passage
from citeqa.stories import one_copy_per_story

if TYPE_CHECKING:
    from citeqa.config import Config


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

    def rank(self, query: Query, k: int, allowed: np.ndarray | None = None) -> list[Ranked]:
        """The top k passages (among `allowed` vector ids when given), best first, ties by vector id."""
        ...

    def score_of(self, query: Query, vids: Sequence[int]) -> dict[int, float]:
        """This ranker's score of any stored passages (those it did not rank in its top k)."""
        ...

    def scale(self, query: Query) -> float:
        """The score a perfect match would get for this query: fusion divides by it."""
        ...


class DenseRanker:
    """Exact inner product over the FAISS index (vectors are normalised, so cosine)."""

    name = "dense"

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def rank(self, query: Query, k: int, allowed: np.ndarray | None = None) -> list[Ranked]:
        found = self.kb.search(query.vector, k, allowed)
        # Stable tie-break on the vector id so equal scores always come out in the same order.
        found.sort(key=lambda t: (-t[1], t[0]))
        return [Ranked(vid, score, r) for r, (vid, score) in enumerate(found, start=1)]

    def score_of(self, query: Query, vids: Sequence[int]) -> dict[int, float]:
        q = np.asarray(query.vector, dtype=np.float32).ravel()
        return {vid: float(v[0] @ q) for vid, v in self.kb.vectors(vids).items()}

    def best_sentence(self, query: Query, vids: Sequence[int]) -> dict[int, float]:
        """Each passage's best sentence cosine: a passage holding one sentence that answers the
        question beats one that is only about the same topic (sentence vectors are stored)."""
        q = np.asarray(query.vector, dtype=np.float32).ravel()
        mats = self.kb.vectors(vids, sentences=True)
        out = dict.fromkeys(mats, 0.0)
        full = [vid for vid, m in mats.items() if len(m)]
        if full:  # one product over all sentences, then the max within each passage's rows
            sizes = np.array([len(mats[v]) for v in full])
            sims = np.concatenate([mats[v] for v in full]).astype(np.float32) @ q
            best = np.maximum.reduceat(sims, np.concatenate(([0], np.cumsum(sizes)[:-1])))
            out.update(zip(full, best.tolist(), strict=True))
        return out

    def scale(self, query: Query) -> float:
        return 1.0


def fuse(
    rankings: dict[str, list[Ranked]],
    fusion: Fusion | None = None,
    scores: dict[str, dict[int, float]] | None = None,
    scales: dict[str, float] | None = None,
) -> list[tuple[int, float]]:
    """(vid, fused score), best first, ties by vid. One ranking passes through with its own scores.

    `scores` holds each signal's score of every candidate: each ranker's, filled in beyond its own
    list, and optionally "sentence"; without it a passage missing from a list scores 0 there.
    `scales` default to 1.
    """
    fusion = fusion or Fusion()
    if len(rankings) == 1:
        (only,) = rankings.values()
        return [(x.vid, x.score) for x in only]
    out: dict[int, float] = {}
    for ranking in rankings.values():
        for x in ranking:
            out[x.vid] = 0.0
    if fusion.method == FusionMethod.RRF:
        for name, ranking in rankings.items():
            for x in ranking:
                out[x.vid] += fusion.weight(name) / (fusion.rrf_k + x.rank)
    else:
        signals = dict(scores or {})
        for name, ranking in rankings.items():
            signals.setdefault(name, {x.vid: x.score for x in ranking})
        for name, own in signals.items():
            w, scale = fusion.weight(name), (scales or {}).get(name, 1.0)
            if w == 0.0 or scale <= 0.0:  # scale 0: no query term is in the index, nothing to say
                continue
            for vid, s in own.items():
                if vid in out:
                    out[vid] += w * s / scale
    return sorted(out.items(), key=lambda t: (-t[1], t[0]))


@dataclass(frozen=True)
class Candidate:
    """A retrieved passage with the sentence vectors the answer composer needs."""

    hit: Hit
    sentence_vectors: np.ndarray
    vid: int


class LexicalRanker:
    """BM25 over title + passage text. A query sharing no term with any passage ranks nothing."""

    name = "lexical"

    def __init__(self, kb: KnowledgeBase) -> None:
        self.cache = kb.lexical

    def rank(self, query: Query, k: int, allowed: np.ndarray | None = None) -> list[Ranked]:
        found = self.cache.search(query.text, k, allowed)
        return [Ranked(vid, score, r) for r, (vid, score) in enumerate(found, start=1)]

    def score_of(self, query: Query, vids: Sequence[int]) -> dict[int, float]:
        return self.cache.score_of(query.text, vids)

    def scale(self, query: Query) -> float:
        return self.cache.upper_bound(query.text)


# How deep the rankers may search to fill k passages back after copies of one story collapsed
# (50, then 200, then 800: only a story in hundreds of copies goes past the first).
MAX_DEPTH = 800


class Retriever:
    """Runs the rankers, fuses their rankings and loads the winning passages from the store."""

    def __init__(self, kb: KnowledgeBase, rankers: Sequence[Ranker], fusion: Fusion | None = None) -> None:
        self.kb = kb
        self.rankers = list(rankers)
        self.fusion = fusion or Fusion()

    @classmethod
    def for_config(cls, kb: KnowledgeBase, config: Config) -> Retriever:
        """`config.retriever`: "dense", "lexical" or "hybrid" (both, fused by `config`'s fusion)."""
        rankers: list[Ranker] = []
        if config.retriever in ("dense", "hybrid"):
            rankers.append(DenseRanker(kb))
        if config.retriever in ("lexical", "hybrid"):
            rankers.append(LexicalRanker(kb))
        return cls(kb, rankers, config.fusion_settings())

    def retrieve(
        self, query: Query, k: int, depth: int = 50, allowed: np.ndarray | None = None
    ) -> list[Candidate]:
        """The top k passages, one copy of each story (stories.py: near copies of one story in
        several articles are shown once, citing the earliest); with `allowed` (a scope's vector ids)
        every ranker searches among those only, so a narrow scope still gets its best passages.
        When collapsing copies leaves fewer than k, the rankers search deeper to fill them back."""
        depth = max(k, depth)
        while True:
            rankings, scores, fused = self._fused(query, depth, allowed)
            picks = one_copy_per_story(self.kb, fused, k, allowed)
            cut = any(len(ranking) >= depth for ranking in rankings.values())
            if len(picks) >= k or not cut or depth >= MAX_DEPTH:
                break
            depth = min(4 * depth, MAX_DEPTH)
        loaded = self.kb.passages([p.vid for p in picks])
        ranks = {name: {x.vid: x.rank for x in ranking} for name, ranking in rankings.items()}
        out: list[Candidate] = []
        for pick in picks:
            vid = pick.vid
            if vid not in loaded:  # removed by another process between search and load
                continue
            passage, svecs = loaded[vid]
            hit = Hit(
                passage=passage,
                score=pick.score,
                rank=len(out) + 1,
                dense_rank=ranks.get("dense", {}).get(vid, 0),
                lexical_rank=ranks.get("lexical", {}).get(vid, 0),
                dense_score=scores.get("dense", {}).get(vid, 0.0),
                lexical_score=scores.get("lexical", {}).get(vid, 0.0),
                also_in=pick.also_in,
            )
            out.append(Candidate(hit, np.asarray(svecs, dtype=np.float32), vid))
        return out

    def _fused(
        self, query: Query, depth: int, allowed: np.ndarray | None
    ) -> tuple[dict[str, list[Ranked]], dict[str, dict[int, float]], list[tuple[int, float]]]:
        """(each ranker's top `depth`, every signal's score of every candidate, the fused order)."""
        rankings = {r.name: r.rank(query, depth, allowed) for r in self.rankers}
        scores = {name: {x.vid: x.score for x in ranking} for name, ranking in rankings.items()}
        scales: dict[str, float] = {}
        if len(self.rankers) > 1 and self.fusion.method == FusionMethod.SCORE:
            union = sorted({x.vid for ranking in rankings.values() for x in ranking})
            for r in self.rankers:
                missing = [v for v in union if v not in scores[r.name]]
                scores[r.name].update(r.score_of(query, missing) if missing else {})
                scales[r.name] = r.scale(query)
                if isinstance(r, DenseRanker) and self.fusion.sentence_weight > 0:
                    scores["sentence"] = r.best_sentence(query, union)
        return rankings, scores, fuse(rankings, self.fusion, scores, scales)


def passages_of(candidates: Sequence[Candidate]) -> list[Passage]:
    return [c.hit.passage for c in candidates]


# Added to the fused score (about 0 to 1) of a preferred article's passages. Searched without the
# company's name, Twitter's layoffs passage led Meta's by 0.07 after a question about Meta; 0.2 wins
# such close calls, not a passage that is clearly better. The dev conversations score the same
# anywhere from 0.05 to 0.5 (their follow-up queries carry the names already).
PREFER_BOOST = 0.2


def prefer_articles(candidates: Sequence[Candidate], prefer: Collection[str], k: int) -> list[Candidate]:
    """The top k once passages of the `prefer` articles get PREFER_BOOST on their fused score: a
    follow-up stays with the conversation's article unless another passage is clearly better."""
    return boost(candidates, lambda c: PREFER_BOOST if c.hit.passage.article_id in prefer else 0.0, k)


def boost(candidates: Sequence[Candidate], bonus: Callable[[Candidate], float], k: int) -> list[Candidate]:
    """The top k once each candidate's fused score gains `bonus(candidate)`. Scores are kept as
    retrieved (they are what the sources panel shows); ranks follow the new order."""
    boosted = sorted(candidates, key=lambda c: (-(c.hit.score + bonus(c)), c.hit.rank))
    return [replace(c, hit=replace(c.hit, rank=r)) for r, c in enumerate(boosted[:k], start=1)]
