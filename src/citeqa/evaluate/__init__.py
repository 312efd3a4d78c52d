"""Batch evaluation: `citeqa eval`, and `Assistant.evaluate(dataset) -> EvalReport`.

    cli.py        the `eval` subcommand                              compare.py  `eval compare`
    kb.py         which knowledge base to evaluate (the dataset's own corpus, cached by content hash)
    runner.py     ask/search every question and score it        gold.py   what counts as relevant
    aggregate.py  per-question results -> metrics, bootstrap CIs, curves
    results.py    EvalReport, QuestionResult; metrics.json and results.jsonl
    report.py     report.html (svg.py draws its charts)
    metrics.py    the metric functions (pytrec_eval / SQuAD definitions)
    names.py      the names metrics.json holds; which get an interval, which are better low

Each module imports only from those listed below it (tests/test_imports.py checks there is no
loop). The runner is handed an `Assistant` and never imports it, so that `Assistant.evaluate` can
call the runner; kb.py, which opens one, sits above the facade.

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
