"""Retrieved passages → an `Answer` whose every sentence is cited to an exact article span.

No LLM: the answer is made of article sentences. Each candidate sentence of the retrieved passages
is scored with several signals (dense similarity of the sentence to the question, question-term
overlap, the passage's retrieval score); the best one or two are returned, each with a citation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from citeqa.errors import ConfigError
from citeqa.retrieve import Candidate
from citeqa.schema import Answer, AnswerSentence, Citation, Hit
from citeqa.text import content_terms, squash


@dataclass(frozen=True)
class ArticleMeta:
    """What a citation shows about its article."""

    title: str = ""
    source: str = ""
    published: str = ""


@dataclass(frozen=True)
class ComposerSettings:
    """Weights of the sentence score and when to stop adding sentences."""

    w_dense: float = 1.0
    w_overlap: float = 0.35
    w_passage: float = 0.5
    max_sentences: int = 2
    second_margin: float = 0.05  # a second sentence must score within this of the best one
    redundancy: float = 0.85  # ...and differ from it (cosine below this)
    passages_considered: int = 3  # sentences come from the top passages only
    abstain_below: float = 0.0  # confidence under this → abstain (calibrated in bench/)

    def __post_init__(self) -> None:
        if not 1 <= self.max_sentences <= 5:
            raise ConfigError(f"max_sentences must be 1..5, got {self.max_sentences}")
        if not 0.0 <= self.abstain_below <= 1.0:
            raise ConfigError(f"abstain_below must be in [0, 1], got {self.abstain_below}")


@dataclass(frozen=True)
class Scored:
    """A candidate sentence: which hit it is in, its span and score."""

    hit: Hit
    start: int
    end: int
    text: str
    score: float
    dense: float
    vector: np.ndarray


def score_sentences(
    question: str, qvec: np.ndarray, candidates: Sequence[Candidate], settings: ComposerSettings
) -> list[Scored]:
    """Every sentence of the top passages with its combined score, best first (stable ties)."""
    qterms = set(content_terms(question))
    out: list[Scored] = []
    for cand in candidates[: settings.passages_considered]:
        p = cand.hit.passage
        dense = cand.sentence_vectors @ qvec if len(p.sentences) else np.zeros(0)
        for i, span in enumerate(p.sentences):
            text = p.text[span.start - p.start : span.end - p.start]
            overlap = len(qterms & set(content_terms(text))) / len(qterms) if qterms else 0.0
            score = (
                settings.w_dense * float(dense[i])
                + settings.w_overlap * overlap
                + settings.w_passage * cand.hit.dense_score
            )
            out.append(Scored(cand.hit, span.start, span.end, text, score, float(dense[i]),
                              cand.sentence_vectors[i]))
    out.sort(key=lambda s: (-s.score, s.hit.rank, s.start))
    return out


def compose(
    question: str,
    qvec: np.ndarray,
    candidates: Sequence[Candidate],
    meta: Mapping[str, ArticleMeta],
    settings: ComposerSettings = ComposerSettings(),
    *,
    query: str = "",
) -> Answer:
    hits = tuple(c.hit for c in candidates)
    scored = score_sentences(question, qvec, candidates, settings)
    if not scored:
        return _abstain(question, hits, "the knowledge base has no passages to answer from", query)
    best = scored[0]
    confidence = float(np.clip(best.dense, 0.0, 1.0))
    if confidence < settings.abstain_below:
        return _abstain(
            question, hits,
            f"the closest sentence matches with confidence {confidence:.2f}, "
            f"below the threshold {settings.abstain_below:.2f}",
            query, confidence,
        )
    chosen = [best]
    for s in scored[1:]:
        if len(chosen) >= settings.max_sentences or s.score < best.score - settings.second_margin:
            break
        if all(float(s.vector @ c.vector) < settings.redundancy and not _overlaps(s, c) for c in chosen):
            chosen.append(s)
    # Read in article order when the sentences come from the same article.
    chosen.sort(key=lambda s: (s.hit.passage.article_id != best.hit.passage.article_id, s.hit.rank, s.start))
    citations, sentences = [], []
    for n, s in enumerate(chosen, start=1):
        m = meta.get(s.hit.passage.article_id, ArticleMeta())
        citations.append(Citation(n, s.hit.passage.article_id, s.hit.passage.id, s.start, s.end,
                                  s.text, m.title, m.source, m.published))
        sentences.append(AnswerSentence(f"{squash(s.text)} [{n}]", (n,)))
    return Answer(
        question=question,
        text=" ".join(x.text for x in sentences),
        sentences=tuple(sentences),
        citations=tuple(citations),
        hits=hits,
        abstained=False,
        confidence=confidence,
        query=query or question,
    )


def _overlaps(a: Scored, b: Scored) -> bool:
    same = a.hit.passage.article_id == b.hit.passage.article_id
    return same and a.start < b.end and b.start < a.end


def _abstain(
    question: str, hits: tuple[Hit, ...], reason: str, query: str, confidence: float = 0.0
) -> Answer:
    return Answer(
        question=question,
        text="The articles don't say. " + reason[0].upper() + reason[1:] + ".",
        sentences=(),
        citations=(),
        hits=hits,
        abstained=True,
        confidence=confidence,
        reason=reason,
        query=query or question,
    )
