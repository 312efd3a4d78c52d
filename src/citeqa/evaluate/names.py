"""The names metrics.json holds, and how they are read: shown with an interval, or lower is better.

Kept apart from the code that computes them so that the report, `eval compare` and the CLI's
--fail-under checks read one list.
"""

from __future__ import annotations

#: Retrieval metrics, per question, at document and passage level.
RETRIEVAL = tuple(
    f"{p}{m}" for p in ("", "passage_") for m in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
)
#: Answer metrics, per question (when answers are composed).
ANSWER = (
    "answer_hit",
    "answer_em",
    "answer_f1",
    "short_em",
    "short_f1",
    "short_em_all",
    "short_f1_all",
    "citation_precision",
    "sentence_citation_rate",
    "llm_written",  # written by the language model (not its fallback); null without one (llm.py)
    "supported_sentence_rate",  # share of a written answer's sentences their citation supports
)
#: Metrics that get a 95% bootstrap interval (in the report's headline table and metrics.json).
HEADLINE = (
    "ndcg@10",
    "recall@1",
    "recall@10",
    "mrr@10",
    "passage_recall@1",
    "passage_ndcg@10",
    "answer_hit",
    "answer_f1",
    "short_f1",
    "short_f1_all",
    "citation_precision",
)
#: Metrics where lower is better (compare and --fail-under read them the other way round).
LOWER_IS_BETTER = ("latency_p50_ms", "latency_p95_ms", "latency_max_ms", "seconds", "setup_seconds")
#: Every name metrics.json can hold (a metric that does not apply to a set is null).
METRIC_NAMES = (
    ("n_questions", "n_with_document_gold", "n_with_passage_gold")
    + RETRIEVAL
    + ANSWER
    + (
        "citation_roundtrip",
        "n_citations",
        "n_short",
        "abstain_precision",
        "abstain_recall",
        "coverage",
        "n_unanswerable",
        "answer_hit_timed",
        "answer_hit_untimed",
        "n_timed",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_max_ms",
        "throughput_qps",
        "seconds",
        "setup_seconds",
    )
)
