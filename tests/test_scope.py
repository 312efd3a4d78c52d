"""Scopes: which articles a question may draw on (scope.py), applied inside retrieval."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from citeqa import Assistant, InputError
from citeqa.schema import Article
from citeqa.scope import Scope


def test_values_are_checked_and_normalised():
    s = Scope.of(articles="a1", sources=["Reuters", " "], since="2024-03-01", until=dt.date(2024, 3, 5))
    assert s.articles == ("a1",) and s.sources == ("Reuters",)
    assert s.since == dt.date(2024, 3, 1) and s.until == dt.date(2024, 3, 5) and s.filters
    assert s.describe() == "articles a1; from Reuters; 2024-03-01 to 2024-03-05"
    assert Scope.of(as_of="2024-03-05T23:00:00+02:00").as_of == dt.date(2024, 3, 5)
    assert not Scope.of().filters
    with pytest.raises(InputError, match="until must be a date"):
        Scope.of(until="next week")
    with pytest.raises(InputError, match="articles must be a list of names"):
        Scope.of(articles=5)


def _dated(n: int) -> list[Article]:
    return [
        Article(
            id=f"d{i}",
            title=f"Report {i}",
            text=f"The river R{i} flooded the town of X{i}. Water rose overnight.",
            source="A" if i % 2 else "B",
            published=f"2024-03-{i + 1:02d}" if i < 8 else "",
        )
        for i in range(n)
    ]


def test_a_narrow_scope_gets_its_best_passages_from_every_ranker(tmp_path, hash_embedder):
    qa = Assistant.build(_dated(10), kb=tmp_path / "kb", embedder=hash_embedder, progress=False)
    kb = qa.kb
    by_article = {a: kb.passage_ids_of(a) for a in (f"d{i}" for i in range(10))}
    assert all(by_article.values())

    def articles_of(scope: Scope) -> set[str]:
        vids = kb.vids_in(scope)
        assert vids is not None and np.all(np.diff(vids) > 0)
        return {p.article_id for p, _ in kb.passages(list(vids)).values()}

    assert articles_of(Scope.of(sources=["A"])) == {f"d{i}" for i in range(1, 10, 2)}
    assert articles_of(Scope.of(since="2024-03-03", until="2024-03-04")) == {"d2", "d3"}
    # undated articles: outside a date range, inside any "as of"
    assert articles_of(Scope.of(as_of="2024-03-02")) == {"d0", "d1", "d8", "d9"}
    assert kb.vids_in(Scope()) is None
    for retriever in ("dense", "lexical", "hybrid"):
        qa.retriever = type(qa.retriever).for_config(kb, qa.config.with_(retriever=retriever))
        hits = qa.search("river R7 flooded town X7", 3, scope=Scope.of(sources=["A"], until="2024-03-06"))
        assert hits and {h.passage.article_id for h in hits} <= {"d1", "d3", "d5"}, retriever
    qa.close()


def test_an_unknown_article_or_source_is_an_error_not_an_empty_scope(tmp_path, hash_embedder):
    from citeqa.config import Config
    from citeqa.errors import InputError

    cfg = Config(reader=False)  # plumbing: the scope's check, not the answer
    qa = Assistant.build(_dated(4), kb=tmp_path / "kb", embedder=hash_embedder, progress=False, config=cfg)
    with pytest.raises(InputError, match=r"no article with id 'nosuch' in this knowledge base"):
        qa.ask("Which river flooded?", articles=["d1", "nosuch"])
    with pytest.raises(InputError, match=r"no article from source 'Nobody' in this knowledge base") as err:
        qa.ask("Which river flooded?", sources=["Nobody"])
    assert "its sources are" in str(err.value)  # the names there are, as they must be typed
    source = qa.article("d1").source
    with pytest.raises(InputError, match=rf"did you mean '{source}'\?"):
        qa.ask("Which river flooded?", sources=[source.swapcase()])
    # A known scope that no passage falls in (every article is later) abstains and says why.
    answer = qa.ask("Which river flooded?", articles=["d2"], as_of="2024-01-01")
    assert answer.abstained and "scope leaves none" in answer.reason
    qa.close()


def test_today_and_now_are_days():
    import datetime as dt

    from citeqa.scope import day

    assert day("today", "as_of") == day("now", "--as-of") == dt.date.today()
    assert day("2024-03-05T22:30:00+01:00", "as_of") == dt.date(2024, 3, 5)  # its day
