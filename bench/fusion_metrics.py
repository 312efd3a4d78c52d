"""Retrieval metrics as pytrec_eval/trec_eval compute them (linear gains, log2 discount)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def ndcg_at(ranked: Sequence[str], rel: Mapping[str, int], k: int = 10) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], rel: Mapping[str, int], k: int) -> float:
    wanted = {d for d, g in rel.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: Sequence[str], rel: Mapping[str, int], k: int = 10) -> float:
    for i, d in enumerate(ranked[:k]):
        if rel.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def summary(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, R@1/10/100, MRR@10 over the queries that have judgements."""
    qs = [q for q in qrels if q in runs]
    return {
        "ndcg@10": mean([ndcg_at(runs[q], qrels[q]) for q in qs]),
        "recall@1": mean([recall_at(runs[q], qrels[q], 1) for q in qs]),
        "recall@10": mean([recall_at(runs[q], qrels[q], 10) for q in qs]),
        "recall@100": mean([recall_at(runs[q], qrels[q], 100) for q in qs]),
        "mrr@10": mean([mrr_at(runs[q], qrels[q]) for q in qs]),
        "n": float(len(qs)),
    }
