"""The fusion benchmarks' summary of a run: citeqa.evaluate.metrics's pytrec_eval definitions, averaged
with NaN (not None) for an empty list, so that a table prints without special cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from citeqa.evaluate.metrics import mrr_at_k, ndcg_at_k, recall_at_k


def mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def summary(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, R@1/10/100, MRR@10 over the queries that have judgements."""
    qs = [q for q in qrels if q in runs]
    return {
        "ndcg@10": mean([ndcg_at_k(runs[q], qrels[q], 10) for q in qs]),
        "recall@1": mean([recall_at_k(runs[q], qrels[q], 1) for q in qs]),
        "recall@10": mean([recall_at_k(runs[q], qrels[q], 10) for q in qs]),
        "recall@100": mean([recall_at_k(runs[q], qrels[q], 100) for q in qs]),
        "mrr@10": mean([mrr_at_k(runs[q], qrels[q], 10) for q in qs]),
        "n": float(len(qs)),
    }
