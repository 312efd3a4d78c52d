"""Batch evaluation: `citeqa eval`, and `Assistant.evaluate(dataset) -> EvalReport`.

    kb.py         which knowledge base to evaluate (the dataset's own corpus, cached by content hash)
    runner.py     ask/search every question and score it        gold.py   what counts as relevant
    metrics.py    the metric functions (pytrec_eval / SQuAD definitions)
    aggregate.py  per-question results -> metrics, bootstrap CIs, curves
    results.py    EvalReport, QuestionResult; metrics.json and results.jsonl
    report.py     report.html (svg.py draws its charts)              compare.py  `eval compare`
    cli.py        the `eval` subcommand

Imported lazily: `import citeqa.evaluate` costs nothing until a name below is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citeqa.evaluate.results import EvalReport, QuestionResult
    from citeqa.evaluate.runner import evaluate

__all__ = ["EvalReport", "QuestionResult", "evaluate"]


def __getattr__(name: str) -> object:
    if name in ("EvalReport", "QuestionResult"):
        from citeqa.evaluate import results

        return getattr(results, name)
    if name == "evaluate":
        from citeqa.evaluate.runner import evaluate

        return evaluate
    raise AttributeError(f"module 'citeqa.evaluate' has no attribute {name!r}")
