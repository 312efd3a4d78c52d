"""Metric functions, each small enough to check by hand (tests/test_evaluate_metrics.py does).

Retrieval metrics follow pytrec_eval/trec_eval, which is what BEIR and MTEB report:
- relevance is graded; a document with relevance >= 1 is relevant (trec_eval's relevance_level=1);
- nDCG uses linear gain (gain = relevance), discount 1/log2(rank + 1), and the ideal ranking of all
  judged relevant documents, both cut at k;
- ties in score are broken by document id, descending, as trec_eval sorts its run (`trec_order`).
Answer metrics follow the official SQuAD v1.1 evaluation script (normalisation, EM, token F1).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

Qrels = Mapping[str, int]  # document id -> graded relevance (<= 0: judged not relevant)
Metric = float | None  # None: the metric does not apply (no gold for it); written as null


def trec_order(scores: Mapping[str, float]) -> list[str]:
    """Document ids best first: score descending, ties by id descending (trec_eval's order)."""
    by_id = sorted(scores, reverse=True)  # a stable sort keeps this order among equal scores
    return sorted(by_id, key=lambda d: -scores[d])


def _relevant(qrels: Qrels) -> set[str]:
    return {d for d, r in qrels.items() if r >= 1}


def recall_at_k(ranked: Sequence[str], qrels: Qrels, k: int) -> float:
    """|relevant ∩ top-k| / |relevant|."""
    rel = _relevant(qrels)
    if not rel:
        return 0.0
    return len(rel & set(ranked[:k])) / len(rel)


def mrr_at_k(ranked: Sequence[str], qrels: Qrels, k: int) -> float:
    """1 / rank of the first relevant document within the top k, else 0."""
    rel = _relevant(qrels)
    for i, d in enumerate(ranked[:k], start=1):
        if d in rel:
            return 1.0 / i
    return 0.0


def dcg(gains: Iterable[float]) -> float:
    return sum(g / math.log2(i + 1) for i, g in enumerate(gains, start=1))


def ndcg_at_k(ranked: Sequence[str], qrels: Qrels, k: int) -> float:
    """DCG of the top k over the DCG of the best possible top k (linear gains)."""
    ideal = dcg(sorted((max(r, 0) for r in qrels.values()), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    return dcg(max(qrels.get(d, 0), 0) for d in ranked[:k]) / ideal


def first_relevant_rank(ranked: Sequence[str], qrels: Qrels) -> int:
    """1-based rank of the first relevant document, 0 when none was retrieved."""
    rel = _relevant(qrels)
    return next((i for i, d in enumerate(ranked, start=1) if d in rel), 0)


# ---------------------------------------------------------------- SQuAD answer metrics

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower case, drop punctuation, articles and extra whitespace (the official SQuAD script)."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", s).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def best_over(metric: object, prediction: str, golds: Sequence[str]) -> float:
    """Max over the gold alternatives, as the SQuAD script scores several references."""
    return max((metric(prediction, g) for g in golds), default=0.0)  # type: ignore[operator]


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """Some normalised gold answer appears in the normalised text, on word boundaries."""
    hay = f" {normalize_answer(text)} "
    return any(n and f" {n} " in hay for n in (normalize_answer(g) for g in golds))


# ---------------------------------------------------------------- aggregates


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; None when there are none (the metric does not apply)."""
    xs = [v for v in values if v is not None]
    return float(sum(xs) / len(xs)) if xs else None


def ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def bootstrap_ci(
    values: Sequence[float], *, seed: int = 0, n_boot: int = 1000, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap CI of the mean, resampling questions with replacement (seeded)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return None
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    step = max(1, 2_000_000 // len(x))  # bounded memory: ~2M indices per block
    for b in range(0, n_boot, step):
        m = min(step, n_boot - b)
        means[b : b + m] = x[rng.integers(0, len(x), size=(m, len(x)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def coverage_accuracy(
    confidences: Sequence[float], correct: Sequence[bool], n_total: int, points: int = 20
) -> list[tuple[float, float, float]]:
    """(threshold, coverage, accuracy) as the confidence threshold rises over the answered questions.

    Answering only the questions with confidence >= threshold: coverage = answered / all questions,
    accuracy = correct among the answered. Thresholds are the answered confidences' quantiles.
    """
    if not confidences or n_total <= 0:
        return []
    order = sorted(range(len(confidences)), key=lambda i: -confidences[i])
    conf = [confidences[i] for i in order]
    hits = np.cumsum([1.0 if correct[i] else 0.0 for i in order])
    out: list[tuple[float, float, float]] = []
    for j in sorted({max(1, round(len(conf) * (p + 1) / points)) for p in range(points)}):
        # Include every question tied with the j-th confidence: a threshold cannot split a tie.
        while j < len(conf) and conf[j] == conf[j - 1]:
            j += 1
        if out and out[-1][1] == j / n_total:
            continue
        out.append((conf[j - 1], j / n_total, float(hits[j - 1] / j)))
    return out
