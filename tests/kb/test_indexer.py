"""Ingest commits whole articles in batches: an interrupt keeps what was committed, says so, and the
next run continues with the rest (HashEmbedder: this is about storage, not embeddings)."""

from __future__ import annotations

import pytest

from citeqa import Assistant
from citeqa.config import Config
from citeqa.embed import HashEmbedder
from citeqa.errors import IngestInterrupted
from citeqa.kb.indexer import article_batches
from citeqa.schema import Article


def _docs(n: int) -> list[Article]:
    return [
        Article(id=f"a{i:02d}", title=f"Doc {i}", text=f"Report {i}. The river {i} rose again. " * 4)
        for i in range(n)
    ]


class Interrupting(HashEmbedder):
    """Embeds `calls` batches, then behaves like a Ctrl-C in the middle of the next one."""

    def __init__(self, calls: int) -> None:
        super().__init__(dim=32)
        self.calls = calls
        self.embedded: list[str] = []

    def encode_passages(self, texts, spans, progress=None):  # type: ignore[no-untyped-def]
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        self.embedded += list(texts)
        return super().encode_passages(texts, spans, progress)


def test_an_interrupted_ingest_keeps_whole_batches_and_the_next_run_continues(tmp_path):
    docs = _docs(10)  # one passage each; commit every 3 passages: batches of 3 articles
    emb = Interrupting(calls=2)
    qa = Assistant.create(tmp_path / "kb", embedder=emb, config=Config(commit_every=3))
    with pytest.raises(IngestInterrupted) as caught:
        qa.add(docs, progress=False)
    kept = caught.value.report
    assert kept.added == ("a00", "a01", "a02", "a03", "a04", "a05") and kept.passages == 6
    assert (
        "kept 6 articles of 10" in caught.value.message
        and "run the same ingest again" in caught.value.message
    )
    assert [a.id for a in qa.articles()] == list(kept.added) and qa.verify() == []
    qa.close()

    again = Interrupting(calls=99)
    qa = Assistant.open(tmp_path / "kb", embedder=again, config=Config(commit_every=3))
    report = qa.add(docs, progress=False)
    assert report.unchanged == kept.added and report.added == ("a06", "a07", "a08", "a09")
    assert len(again.embedded) == 4  # only the rest was embedded
    assert len(qa.articles()) == 10 and qa.verify() == []
    assert qa.search("river 8 rose", top_k=1)[0].passage.article_id == "a08"
    qa.close()


def test_batches_hold_whole_articles():
    class P:  # a stand-in for Prepared: only the passage count matters here
        def __init__(self, n: int) -> None:
            self.passages = [None] * n

    sizes = [[len(p.passages) for p in b] for b in article_batches([P(2), P(2), P(5), P(1), P(1)], 4)]  # type: ignore[list-item]
    assert sizes == [[2, 2], [5], [1, 1]]  # an article larger than a batch is a batch of its own


def test_commit_every_is_checked():
    with pytest.raises(Exception, match="commit_every"):
        Config(commit_every=0)
