"""What counts as relevant for one question, against one knowledge base.

- Documents: graded qrels when the set has them (BEIR), else every `relevant_article_ids` at 1.
- Passages: `relevant_passage_ids` when given; for gold spans (SQuAD: the question's paragraph),
  every passage of that article overlapping the span. Passage boundaries come from the same
  `Indexer.prepare` that built the knowledge base, so they match the stored passages.
- Citations: inside a gold region (span or relevant passage) when the question has one, else inside
  a relevant article; or quoting a gold answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from citeqa.datasets import EvalQuestion
from citeqa.errors import InputError
from citeqa.evaluate.metrics import Qrels, contains_answer
from citeqa.kb import Indexer
from citeqa.schema import Citation

if TYPE_CHECKING:  # handed in by the runner; importing the facade would close a loop through it
    from citeqa.assistant import Assistant


@dataclass(frozen=True)
class Region:
    article_id: str
    start: int
    end: int

    def holds(self, article_id: str, start: int, end: int) -> bool:
        return article_id == self.article_id and self.start <= start and end <= self.end


class Layouts:
    """Passage boundaries and article texts of a knowledge base, loaded once per article."""

    def __init__(self, qa: Assistant) -> None:
        self.qa = qa
        self._texts: dict[str, str | None] = {}
        self._passages: dict[str, dict[str, Region]] = {}
        self._indexer: Indexer | None = None

    def text(self, article_id: str) -> str | None:
        if article_id not in self._texts:
            try:
                self._texts[article_id] = self.qa.article(article_id).text
            except InputError:  # not in this knowledge base (wrong --kb, or gold for another corpus)
                self._texts[article_id] = None
        return self._texts[article_id]

    def passages(self, article_id: str) -> dict[str, Region]:
        """passage id -> its span, for every passage of the article (empty if it is not stored)."""
        if article_id not in self._passages:
            found: dict[str, Region] = {}
            if self.text(article_id) is not None:
                if self._indexer is None:
                    self._indexer = Indexer(self.qa.kb, lambda: self.qa.embedder, self.qa.config.chunk)
                prepared = self._indexer.prepare(self.qa.article(article_id))
                found = {p.id: Region(article_id, p.start, p.end) for p in prepared.passages}
            self._passages[article_id] = found
        return self._passages[article_id]


@dataclass(frozen=True)
class Gold:
    doc_qrels: dict[str, int]
    passage_qrels: dict[str, int]
    regions: tuple[Region, ...]
    answers: tuple[str, ...]

    def citation_correct(self, c: Citation) -> bool | None:
        if self.answers and contains_answer(c.quote, self.answers):
            return True
        if self.regions:
            return any(r.holds(c.article_id, c.start, c.end) for r in self.regions)
        if self.doc_qrels:
            return self.doc_qrels.get(c.article_id, 0) >= 1
        return False if self.answers else None


def gold_for(q: EvalQuestion, layouts: Layouts) -> Gold:
    doc_qrels: Qrels = dict(q.relevance) if q.relevance else dict.fromkeys(q.relevant_article_ids, 1)
    regions: list[Region] = []
    passage_ids: set[str] = set(q.relevant_passage_ids)
    for pid in q.relevant_passage_ids:
        aid = pid.rsplit("#", 1)[0]  # stored passage ids are "<article id>#<ordinal>"
        span = layouts.passages(aid).get(pid)
        if span is not None:
            regions.append(span)
    for s in q.relevant_spans:
        regions.append(Region(s.article_id, s.start, s.end))
        for pid, p in layouts.passages(s.article_id).items():
            if p.start < s.end and s.start < p.end:
                passage_ids.add(pid)
    return Gold(dict(doc_qrels), dict.fromkeys(sorted(passage_ids), 1), tuple(regions), q.answers)
