"""Per-question results → the run's metrics, bootstrap intervals and curves (an `EvalReport`).

Averages are over the questions a metric applies to (a question without document gold has no
nDCG, an unanswerable one no answer-hit); `n_*` counts say how many that was.
"""

from __future__ import annotations

from collections.abc import Sequence

from citeqa.evaluate.metrics import Metric, bootstrap_ci, coverage_accuracy, mean, percentile, ratio
from citeqa.evaluate.names import ANSWER, HEADLINE, RETRIEVAL
from citeqa.evaluate.results import EvalReport, QuestionResult


def aggregate(
    rows: Sequence[QuestionResult],
    info: dict[str, str],
    *,
    seconds: float,
    setup_seconds: float,
    seed: int,
    n_boot: int,
    with_answers: bool,
) -> EvalReport:
    m: dict[str, Metric] = {"n_questions": float(len(rows))}
    names = RETRIEVAL + (ANSWER if with_answers else ())
    for name in names:
        m[name] = mean(r.metrics.get(name) for r in rows)
    m["n_with_document_gold"] = float(sum(1 for r in rows if r.relevant_article_ids))
    m["n_with_passage_gold"] = float(sum(1 for r in rows if r.relevant_passage_ids))
    coverage_curve: list[tuple[float, float, float]] = []
    if with_answers:
        m |= _answers(rows)
        answered = [r for r in rows if not r.abstained and r.correct is not None]
        coverage_curve = coverage_accuracy(
            [r.confidence or 0.0 for r in answered], [bool(r.correct) for r in answered], len(rows)
        )
    latencies = [r.timings_ms["latency"] for r in rows]
    m["latency_p50_ms"] = percentile(latencies, 50)
    m["latency_p95_ms"] = percentile(latencies, 95)
    m["latency_max_ms"] = max(latencies) if latencies else None
    m["throughput_qps"] = len(rows) / seconds if seconds > 0 else None
    m["seconds"] = seconds
    m["setup_seconds"] = setup_seconds

    ci = {}
    for name in HEADLINE:
        if name in names:
            interval = bootstrap_ci(
                [v for r in rows if (v := r.metrics.get(name)) is not None], seed=seed, n_boot=n_boot
            )
            if interval is not None:
                ci[name] = interval
    # As deep as results keep: 20 documents, 10 passages.
    curves = {"document": _recall_curve(rows, "docs", 20), "passage": _recall_curve(rows, "passages", 10)}
    return EvalReport(
        metrics=m, ci=ci, info=info, results=tuple(rows), recall_curve=curves, coverage_curve=coverage_curve
    )


def _answers(rows: Sequence[QuestionResult]) -> dict[str, Metric]:
    abstained = [r for r in rows if r.abstained]
    unanswerable = [r for r in rows if not r.answerable]
    right = sum(1 for r in abstained if not r.answerable)
    citations = [c for r in rows for c in r.citations]
    return {
        # Over all citations, not per question: a single broken quote must show.
        "citation_roundtrip": ratio(sum(c.roundtrip for c in citations), len(citations)),
        "n_citations": float(len(citations)),
        # short_em/short_f1 average over these: questions whose answer carried a short span
        "n_short": float(sum(1 for r in rows if r.metrics.get("short_f1") is not None)),
        "abstain_precision": ratio(right, len(abstained)),
        "abstain_recall": ratio(right, len(unanswerable)),
        "coverage": 1 - len(abstained) / len(rows) if rows else None,
        "n_unanswerable": float(len(unanswerable)),
        # News questions with relative time ("this week", "latest") are the hard ones: split them out.
        "answer_hit_timed": mean(r.metrics.get("answer_hit") for r in rows if r.timed),
        "answer_hit_untimed": mean(r.metrics.get("answer_hit") for r in rows if not r.timed),
        "n_timed": float(sum(1 for r in rows if r.timed)),
    }


def _recall_curve(rows: Sequence[QuestionResult], level: str, max_k: int) -> list[tuple[int, float]]:
    """Mean recall@k for k = 1..max_k over the questions with gold at that level."""
    out = []
    for k in range(1, max_k + 1):
        vals = []
        for r in rows:
            kept = r.docs if level == "docs" else r.passages
            n_rel = len(r.relevant_article_ids if level == "docs" else r.relevant_passage_ids)
            if n_rel:
                vals.append(sum(bool(x.relevant) for x in kept[:k]) / n_rel)
        if vals:
            out.append((k, sum(vals) / len(vals)))
    return out
