"""Retrieval benchmark data for the fusion work: BEIR folders and the SQuAD/XQuAD knowledge bases.

Run as a script to build (or reuse) the cached knowledge bases, which is slow the first time
(SciFact's 5,183 abstracts take several minutes to embed on two cores):

    nohup python -m bench.fusion_data > runs/fusion_data.log 2>&1 &
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.common import DATA, REPO, SQUAD_DEV
from citeqa import Assistant, datasets
from citeqa.config import Config
from citeqa.datasets import load_squad, sample
from citeqa.schema import Article

SCIFACT = DATA / "beir_scifact"
XQUAD_BEIR = DATA / "xquad_en" / "beir_mteb_style"
XQUAD_JSON = DATA / "xquad_en" / "xquad.en.json"


@dataclass(frozen=True)
class RetrievalSet:
    """Queries with graded document relevance, over a corpus of articles."""

    name: str
    queries: dict[str, str]  # query id -> text
    qrels: dict[str, dict[str, int]]  # query id -> {article id: grade}
    articles: tuple[Article, ...]


def load_beir(folder: Path, split: str, name: str) -> RetrievalSet:
    """The folder as `citeqa eval` reads it (citeqa.datasets), less the queries with no relevant document."""
    ds = datasets.load_beir(folder, split=split)
    judged = [q for q in ds.questions if q.relevance]
    qrels = {q.id: dict(q.relevance) for q in judged}
    return RetrievalSet(f"{name}-{split}", {q.id: q.question for q in judged}, qrels, ds.articles)


def scifact(split: str) -> RetrievalSet:
    if split == "test" and "--allow-test" not in sys.argv:
        # Test qrels are for the final, one-off measurement only; never for choosing parameters.
        raise SystemExit("SciFact test qrels need --allow-test (final measurement only)")
    return load_beir(SCIFACT, split, "scifact")


def xquad() -> RetrievalSet:
    if "--allow-test" not in sys.argv:
        raise SystemExit("XQuAD is a test set; pass --allow-test (final measurement only)")
    return load_beir(XQUAD_BEIR, "validation", "xquad")


def xquad_contexts() -> set[str]:
    """XQuAD's 240 paragraphs (a subset of SQuAD dev): excluded from tuning so XQuAD stays unseen."""
    raw = json.loads(XQUAD_JSON.read_text(encoding="utf-8"))
    return {p["context"].strip() for d in raw["data"] for p in d["paragraphs"]}


def squad_tuning_questions(n: int = 2000, seed: int = 1) -> list:  # type: ignore[type-arg]
    """SQuAD dev questions for tuning, minus those on XQuAD's paragraphs."""
    data = load_squad(SQUAD_DEV, unit="article")
    arts = {a.id: a for a in data.articles}
    held = xquad_contexts()
    keep = [
        q
        for q in data.questions
        if arts[q.relevant_spans[0].article_id].text[q.relevant_spans[0].start : q.relevant_spans[0].end]
        not in held
    ]
    return sample(keep, n, seed=seed)


def squad_target_questions() -> list:  # type: ignore[type-arg]
    """The issue's SQuAD target set: all 48 articles, 2,000 questions seeded with 0."""
    return sample(load_squad(SQUAD_DEV, unit="article").questions, 2000, seed=0)


def eval_kb(folder: Path, split: str, config: Config | None = None) -> Assistant:
    """The same cached knowledge base `citeqa eval` builds for a BEIR corpus (embeddings/eval-*)."""
    from citeqa.evaluate.kb import open_for

    return open_for(datasets.load_beir(folder, split=split), config=config, cache_root=REPO / "embeddings")


def scifact_assistant(config: Config | None = None) -> Assistant:
    return eval_kb(SCIFACT, "train", config)


def xquad_assistant(config: Config | None = None) -> Assistant:
    return eval_kb(XQUAD_BEIR, "validation", config)


def squad_assistant(config: Config | None = None) -> Assistant:
    from bench.squad_kb import squad_assistant as build

    return build("article", config)[0]


if __name__ == "__main__":
    for build in (squad_assistant, xquad_assistant, scifact_assistant):
        qa = build()
        print(build.__name__, qa.kb.path, qa.kb.counts(), flush=True)
        qa.close()
