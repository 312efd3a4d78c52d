"""What an evaluation produces: one `QuestionResult` per question and the `EvalReport` around them.

`EvalReport.flat()` is metrics.json (flat names, DESIGN.md); `QuestionResult.to_dict()` is one line
of results.jsonl. Both round floats so files diff cleanly between runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from citeqa.errors import InputError
from citeqa.evaluate.metrics import Metric
from citeqa.evaluate.report import render_html


@dataclass(frozen=True)
class Retrieved:
    """One retrieved document or passage. `relevant` is None when there is no gold to judge it."""

    rank: int
    id: str
    article_id: str
    score: float
    relevant: bool | None
    start: int = 0
    end: int = 0

    def to_dict(self, passage: bool) -> dict[str, object]:
        d: dict[str, object] = {"rank": self.rank}
        if passage:
            d |= {"passage_id": self.id, "start": self.start, "end": self.end}
        d |= {"article_id": self.article_id, "score": round(self.score, 5), "relevant": self.relevant}
        return d


@dataclass(frozen=True)
class CitationCheck:
    """A citation of the answer and what the evaluation found about it."""

    n: int
    article_id: str
    passage_id: str
    start: int
    end: int
    quote: str
    roundtrip: bool  # article.text[start:end] == quote
    correct: bool | None  # inside a relevant article/span, or holds a gold answer; None: no gold


@dataclass(frozen=True)
class QuestionResult:
    id: str
    question: str
    answerable: bool
    answers: tuple[str, ...]
    relevant_article_ids: tuple[str, ...]
    relevant_passage_ids: tuple[str, ...]  # given, or derived from gold spans
    docs: tuple[Retrieved, ...]  # documents ranked by their best passage (top 20 kept)
    passages: tuple[Retrieved, ...]  # top 10 passages
    first_relevant_rank: int  # document level, within the retrieval depth; 0 = not retrieved
    metrics: dict[str, Metric]
    timings_ms: dict[str, float]
    answer: str | None = None  # None when answers were not composed
    abstained: bool | None = None
    confidence: float | None = None
    short: str | None = None
    correct: bool | None = None  # the answer is right (answer-hit; answering an unanswerable is wrong)
    citations: tuple[CitationCheck, ...] = ()
    passage_texts: tuple[str, ...] = field(default=(), compare=False)  # top 3, for the HTML report only
    as_of: str = ""  # the day the question was asked as of, when the set gives one
    timed: bool = False  # the question holds a relative time expression ("this week", "latest")

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "question": self.question,
            "answerable": self.answerable,
            "gold": {
                "answers": list(self.answers),
                "relevant_article_ids": list(self.relevant_article_ids),
                "relevant_passage_ids": list(self.relevant_passage_ids),
            },
            "first_relevant_rank": self.first_relevant_rank,
            "articles": [d.to_dict(False) for d in self.docs],
            "passages": [p.to_dict(True) for p in self.passages],
            "answer": self.answer,
            "abstained": self.abstained,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "short": self.short,
            "correct": self.correct,
            "citations": [c.__dict__ for c in self.citations],
            "as_of": self.as_of,
            "timed": self.timed,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "metrics": {k: _round(v) for k, v in self.metrics.items()},
        }


@dataclass(frozen=True)
class EvalReport:
    """The numbers of one run. `metrics` uses the flat names of metrics.json."""

    metrics: dict[str, Metric]
    ci: dict[str, tuple[float, float]]  #: 95% bootstrap interval of headline metrics
    info: dict[str, str]  #: dataset, format, split, kb, model, retriever
    results: tuple[QuestionResult, ...]
    recall_curve: dict[str, list[tuple[int, float]]]  #: "document"/"passage" -> (k, recall@k)
    coverage_curve: list[tuple[float, float, float]]  #: (confidence threshold, coverage, accuracy)
    gold_texts: dict[str, str] = field(default_factory=dict)  #: id -> gold text (worst questions only)

    def __getitem__(self, name: str) -> Metric:
        return self.metrics[name]

    def flat(self) -> dict[str, object]:
        """metrics.json: metrics, their CIs as `<name>_ci_low/_ci_high`, then what was run."""
        out: dict[str, object] = {k: _round(v) for k, v in self.metrics.items()}
        for k, (lo, hi) in self.ci.items():
            out[f"{k}_ci_low"], out[f"{k}_ci_high"] = _round(lo), _round(hi)
        out.update(self.info)
        return out

    def write(self, out_dir: str | os.PathLike[str]) -> Path:
        """metrics.json, results.jsonl and report.html into `out_dir` (created if needed)."""
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / "metrics.json").write_text(json.dumps(self.flat(), indent=2) + "\n", encoding="utf-8")
            with (out / "results.jsonl").open("w", encoding="utf-8") as fh:
                for r in self.results:
                    fh.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
            (out / "report.html").write_text(render_html(self), encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"cannot write the evaluation to {out} ({exc.strerror or exc}); give --out a writable folder"
            ) from None
        return out


def _round(v: Metric) -> Metric:
    return None if v is None else round(float(v), 5)
