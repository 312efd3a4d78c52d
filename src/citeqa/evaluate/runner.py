"""Run a question set through an `Assistant` and score every question; `evaluate` is the entry point.

Per question: `qa.search(question, top_k=depth)` gives the passage ranking (documents are ranked by
their best passage, as MaxP does); when answers are scored, `qa.ask(question)` gives the answer the
user would see, with the configured top_k. The latency measured is that of the user's call (ask, or
search when answers are off). The aggregate lives in `aggregate.py`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from citeqa.datasets import Dataset, EvalQuestion, load_dataset, sample
from citeqa.errors import ConfigError
from citeqa.evaluate import metrics as M
from citeqa.evaluate.aggregate import aggregate
from citeqa.evaluate.gold import Gold, Layouts, gold_for
from citeqa.evaluate.report import WORST, worst
from citeqa.evaluate.results import CitationCheck, EvalReport, QuestionResult, Retrieved
from citeqa.schema import Answer, Hit
from citeqa.scope import Scope
from citeqa.timewords import resolve

if TYPE_CHECKING:  # the facade calls evaluate(self, ...): the assistant comes in, it is never imported
    from citeqa.assistant import Assistant

KS = (1, 5, 10)  # the recall@k cut-offs reported
KEEP_DOCS = 20  # documents kept per question (the recall@k curve goes to 20)
KEEP_PASSAGES = 10  # passages kept per question: results.jsonl stays ~2 KB a question


def evaluate(
    qa: Assistant,
    dataset: Dataset | str | os.PathLike[str],
    *,
    limit: int | None = None,
    seed: int = 0,
    top_k: int | None = None,
    answers: bool | None = None,
    depth: int = 100,
    progress: bool = True,
    n_boot: int = 1000,
    split: str = "test",
) -> EvalReport:
    """Score `dataset` (a `Dataset` or a path) on `qa`. `answers=None` composes and scores answers
    for every format but BEIR (whose queries have no answers: retrieval and latency only)."""
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, split=split)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"limit must be a positive whole number, got {limit!r}")
    if not 1 <= depth <= 100:
        raise ConfigError(f"depth must be 1..100 passages, got {depth}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 100):
        raise ConfigError(f"top_k must be a whole number from 1 to 100, got {top_k!r}")
    with_answers = ds.format != "beir" if answers is None else bool(answers)
    questions = sample(ds.questions, limit, seed)
    layouts = Layouts(qa)

    t_setup = time.perf_counter()
    qa.warm_up(answers=with_answers)  # the models and indexes load outside the timed loop
    setup = time.perf_counter() - t_setup

    from tqdm.auto import tqdm

    rows: list[QuestionResult] = []
    t0 = time.perf_counter()
    for q in tqdm(questions, desc="Evaluating", unit="q", file=sys.stderr, disable=not progress):
        rows.append(score_question(qa, q, layouts, top_k=top_k, depth=depth, with_answers=with_answers))
    seconds = time.perf_counter() - t0

    info = {
        "dataset": ds.name,
        "format": ds.format,
        "split": ds.split,
        "dataset_path": ds.path,
        "kb": str(qa.kb.path),
        "model": qa.config.model,
        "retriever": qa.config.retriever,
        "answers": "yes" if with_answers else "no",
        "limit": "" if limit is None else str(limit),
        "seed": str(seed),
    }
    report = aggregate(
        rows, info, seconds=seconds, setup_seconds=setup, seed=seed, n_boot=n_boot, with_answers=with_answers
    )
    # The report shows the worst questions beside the text they should have found.
    by_id = {q.id: q for q in questions}
    gold = {r.id: _gold_text(by_id[r.id], layouts) for r in worst(report.results, WORST)}
    return replace(report, gold_texts={k: v for k, v in gold.items() if v})


def score_question(
    qa: Assistant, q: EvalQuestion, layouts: Layouts, *, top_k: int | None, depth: int, with_answers: bool
) -> QuestionResult:
    gold = gold_for(q, layouts)
    t = time.perf_counter()
    scope = Scope.of(as_of=q.as_of or None)
    hits = qa.search(q.question, top_k=depth, scope=scope)
    timings = {"search": (time.perf_counter() - t) * 1e3}
    answer = None
    if with_answers:
        t = time.perf_counter()
        answer = qa.ask(q.question, top_k=top_k, as_of=q.as_of or None)
        timings["ask"] = (time.perf_counter() - t) * 1e3
    timings["latency"] = timings["ask" if with_answers else "search"]

    best: dict[str, float] = {}
    for h in hits:  # hits come best first, so the first passage of an article is its best
        best.setdefault(h.passage.article_id, h.score)
    ranked_docs = M.trec_order(best)
    ranked_passages = [h.passage.id for h in hits]
    m: dict[str, M.Metric] = {}
    m |= _ranking_metrics("", ranked_docs, gold.doc_qrels)
    m |= _ranking_metrics("passage_", ranked_passages, gold.passage_qrels)

    docs = tuple(
        Retrieved(i, d, d, best[d], _judge(gold.doc_qrels, d))
        for i, d in enumerate(ranked_docs[:KEEP_DOCS], start=1)
    )
    passages = tuple(
        Retrieved(
            h.rank,
            h.passage.id,
            h.passage.article_id,
            h.score,
            _judge(gold.passage_qrels, h.passage.id),
            h.passage.start,
            h.passage.end,
        )
        for h in hits[:KEEP_PASSAGES]
    )
    result = QuestionResult(
        id=q.id,
        question=q.question,
        answerable=q.answerable,
        answers=q.answers,
        relevant_article_ids=tuple(d for d, r in gold.doc_qrels.items() if r >= 1),
        relevant_passage_ids=tuple(gold.passage_qrels),
        docs=docs,
        passages=passages,
        first_relevant_rank=M.first_relevant_rank(ranked_docs, gold.doc_qrels) if gold.doc_qrels else 0,
        metrics=m,
        timings_ms=timings,
        passage_texts=_texts(hits),
        as_of=q.as_of,
        timed=resolve(q.question, dt.date.today()) is not None,
    )
    return _with_answer(result, q, answer, gold, layouts) if answer is not None else result


def _gold_text(q: EvalQuestion, layouts: Layouts, limit: int = 600) -> str:
    """The gold span's text, else the start of the first relevant article that the KB holds."""
    for s in q.relevant_spans:
        text = layouts.text(s.article_id)
        if text is not None:
            return text[s.start : s.end][:limit]
    for aid in q.relevant_article_ids:
        text = layouts.text(aid)
        if text is not None:
            return text[:limit]
    return ""


def _ranking_metrics(prefix: str, ranked: Sequence[str], qrels: M.Qrels) -> dict[str, M.Metric]:
    """recall@1/5/10, mrr@10, ndcg@10; all None without gold."""
    has = any(r >= 1 for r in qrels.values())
    out: dict[str, M.Metric] = {}
    for k in KS:
        out[f"{prefix}recall@{k}"] = M.recall_at_k(ranked, qrels, k) if has else None
    out[f"{prefix}mrr@10"] = M.mrr_at_k(ranked, qrels, 10) if has else None
    out[f"{prefix}ndcg@10"] = M.ndcg_at_k(ranked, qrels, 10) if has else None
    return out


def _judge(qrels: M.Qrels, key: str) -> bool | None:
    return qrels.get(key, 0) >= 1 if qrels else None


def _texts(hits: Sequence[Hit]) -> tuple[str, ...]:
    return tuple(h.passage.text for h in hits[:3])


def _with_answer(
    r: QuestionResult, q: EvalQuestion, a: Answer, gold: Gold, layouts: Layouts
) -> QuestionResult:
    checks = []
    for c in a.citations:
        text = layouts.text(c.article_id)
        ok = text is not None and text[c.start : c.end] == c.quote
        checks.append(
            CitationCheck(
                c.n, c.article_id, c.passage_id, c.start, c.end, c.quote, ok, gold.citation_correct(c)
            )
        )
    valid = {c.n for c in checks if c.roundtrip}
    plain = a.text  # plain: markers are a rendering
    golds = q.answers if q.answerable else ()
    m = dict(r.metrics)
    m["answer_hit"] = float(not a.abstained and M.contains_answer(plain, golds)) if golds else None
    m["answer_em"] = (0.0 if a.abstained else M.best_over(M.exact_match, plain, golds)) if golds else None
    m["answer_f1"] = (0.0 if a.abstained else M.best_over(M.token_f1, plain, golds)) if golds else None
    short = a.short.text if a.short is not None and not a.abstained else None
    m["short_em"] = M.best_over(M.exact_match, short, golds) if golds and short is not None else None
    m["short_f1"] = M.best_over(M.token_f1, short, golds) if golds and short is not None else None
    # The same over every answerable question: no short answer (or an abstention) scores 0.
    m["short_em_all"] = (m["short_em"] or 0.0) if golds else None
    m["short_f1_all"] = (m["short_f1"] or 0.0) if golds else None
    judged = [c.correct for c in checks if c.correct is not None]
    m["citation_precision"] = sum(judged) / len(judged) if judged else None
    m["sentence_citation_rate"] = (
        sum(1 for s in a.sentences if valid & set(s.citations)) / len(a.sentences) if a.sentences else None
    )
    m["citation_roundtrip"] = sum(c.roundtrip for c in checks) / len(checks) if checks else None
    # The language-model mode: written (1), or its fallback, which says why in a notice (0).
    m["llm_written"] = 1.0 if a.mode == "llm" else (0.0 if a.notice else None)
    written = [s.supported for s in a.sentences] if a.mode == "llm" else []
    m["supported_sentence_rate"] = sum(map(bool, written)) / len(written) if written else None
    if not q.answerable:
        correct: bool | None = a.abstained  # right only by abstaining
    elif a.abstained:
        correct = False
    elif golds:
        correct = bool(m["answer_hit"])
    else:  # answerable, no gold answer: right when it cites a relevant place
        correct = bool(m["citation_precision"]) if judged else None
    return QuestionResult(
        **{
            **r.__dict__,
            "metrics": m,
            "answer": a.text,
            "abstained": a.abstained,
            "confidence": a.confidence,
            "short": short,
            "correct": correct,
            "citations": tuple(checks),
        }
    )
