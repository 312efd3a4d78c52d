"""The lexical (BM25) index: analysis, golden scores, and its life as a cache of the knowledge base."""

from __future__ import annotations

import math

import numpy as np
import pytest

from citeqa import Assistant
from citeqa.analyzer import Analyzer
from citeqa.config import Config
from citeqa.kb import KnowledgeBase
from citeqa.kb.lexical import LexicalIndex
from citeqa.retrieve import DenseRanker, LexicalRanker, Query
from citeqa.schema import Article


def _docs(n: int, tag: str = "") -> list[Article]:
    return [
        Article(id=f"a{i}", title=f"Doc {i}", text=f"Report {i}{tag}. The river {i} flooded town X{i}.")
        for i in range(n)
    ]


def _build(tmp_path, hash_embedder, docs, **cfg):
    config = Config(**cfg) if cfg else None
    return Assistant.build(docs, kb=tmp_path / "kb", embedder=hash_embedder, progress=False, config=config)


def _q(qa: Assistant, text: str) -> Query:
    return Query(text, qa.embedder.encode_queries([text])[0])


def _articles(qa: Assistant, ranked) -> list[str]:
    loaded = qa.kb.passages([r.vid for r in ranked])
    return [loaded[r.vid][0].article_id for r in ranked]


def test_analyzer_lowercases_drops_stopwords_and_stems():
    assert Analyzer().terms("The drills WERE held in Kars, and 2 studies of p53 ran.") == [
        "drill",
        "were",
        "held",
        "kar",
        "studi",
        "p53",
        "ran",
    ]  # "the", "in", "and" are stopwords; "2" is one character


def test_bm25_scores_match_the_formula_by_hand():
    # Three passages; query "apple". Lucene BM25: idf = ln(1 + (N - df + .5) / (df + .5)),
    # tf part = tf / (tf + k1 * (1 - b + b * len / avglen)) (Lucene 8+ drops the k1 + 1), k1 .9, b .4.
    rows = [(10, "apple apple pear"), (11, "pear plum"), (12, "apple plum plum kiwi")]
    index = LexicalIndex.build(rows, 0, Analyzer())
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    avg = (3 + 2 + 4) / 3

    def bm25(tf: int, n: int) -> float:
        return idf * tf / (tf + 0.9 * (0.6 + 0.4 * n / avg))

    found = index.search(["appl"], 10)
    assert [v for v, _ in found] == [10, 12]
    assert found[0][1] == pytest.approx(bm25(2, 3), rel=1e-5)
    assert found[1][1] == pytest.approx(bm25(1, 4), rel=1e-5)
    assert index.upper_bound(["appl"]) == pytest.approx(bm25(2, 3), rel=1e-5)
    assert index.score_of(["appl"], [11, 12, 99]) == pytest.approx({11: 0.0, 12: bm25(1, 4)}, rel=1e-5)


def test_ties_break_by_vid_and_the_cut_keeps_the_lowest_vids():
    rows = [(v, "same words here") for v in (7, 3, 9, 5)]
    index = LexicalIndex.build(rows, 0, Analyzer())
    assert [v for v, _ in index.search(["word"], 2)] == [3, 5]
    assert [v for v, _ in index.search(["word"], 10)] == [3, 5, 7, 9]


def test_no_term_in_common_ranks_nothing():
    index = LexicalIndex.build([(1, "alpha beta")], 0, Analyzer())
    assert index.search(["gamma"], 5) == [] and index.search([], 5) == []
    assert index.upper_bound(["gamma"]) == 0.0


def test_empty_knowledge_base_answers_every_retriever(tmp_path, hash_embedder):
    for name in ("dense", "lexical", "hybrid"):
        qa = Assistant.create(tmp_path / name, embedder=hash_embedder, config=Config(retriever=name))
        assert qa.search("anything at all") == []
        qa.close()
    assert LexicalIndex.build([], 0, Analyzer()).search(["x"], 3) == []


def test_index_follows_add_update_remove_and_matches_the_dense_index(tmp_path, hash_embedder):
    qa = _build(tmp_path, hash_embedder, _docs(4))
    lexical, dense = LexicalRanker(qa.kb), DenseRanker(qa.kb)
    assert _articles(qa, lexical.rank(_q(qa, "flooded X2"), 1)) == ["a2"]

    qa.add([Article(id="a2", title="Doc 2", text="Penguins marched through the square of Y2.")])
    assert "a2" not in _articles(qa, lexical.rank(_q(qa, "flooded X2"), 10))
    assert _articles(qa, lexical.rank(_q(qa, "penguins"), 10)) == ["a2"]

    qa.remove("a2", "a0")
    for ranker in (lexical, dense):  # a removed article is never returned by either ranker
        for text in ("penguins marched Y2", "river flooded X0", "report"):
            assert {"a0", "a2"}.isdisjoint(_articles(qa, ranker.rank(_q(qa, text), 10)))
    index = lexical.cache.current()
    stored = sorted(qa.kb.passages(list(range(1, 100))))
    assert index.vids.tolist() == stored and index.generation == qa.kb.generation
    assert sorted(p.name for p in qa.kb.path.glob("lexical-*")) == [f"lexical-{qa.kb.generation}.npz"]


def test_a_reader_process_sees_the_writers_lexical_changes(tmp_path, hash_embedder):
    writer = _build(tmp_path, hash_embedder, _docs(2))
    reader = Assistant.open(tmp_path / "kb", embedder=hash_embedder, config=Config(retriever="lexical"))
    assert reader.search("penguins", top_k=1) == []
    writer.add([Article(id="new", title="New", text="Penguins marched through the square.")])
    assert [h.passage.article_id for h in reader.search("penguins", top_k=3)] == ["new"]
    writer.remove("new")
    assert reader.search("penguins", top_k=3) == []


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage", "stale", "other-settings"])
def test_missing_or_damaged_cache_is_rebuilt_from_the_store(tmp_path, hash_embedder, damage):
    qa = _build(tmp_path, hash_embedder, _docs(5))
    gen = qa.kb.generation
    path = qa.kb.path / f"lexical-{gen}.npz"
    good = LexicalIndex.load(path, gen)
    assert good is not None
    qa.close()
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file" * 50)
    elif damage == "stale":  # the file of an older generation, renamed as if current
        LexicalIndex.build([(1, "old words only")], gen - 1, Analyzer()).save(path)
    else:  # same generation, other settings (as after a change of BM25 parameters)
        np.savez(path, manifest=np.array('{"format": "citeqa-lexical", "k1": 9}'))
    assert LexicalIndex.load(path, gen) is None
    qa = Assistant.open(tmp_path / "kb", embedder=hash_embedder, config=Config(retriever="lexical"))
    assert qa.search("river flooded X3", top_k=1)[0].passage.article_id == "a3"
    rebuilt = LexicalIndex.load(path, gen)  # and written back for the next process
    assert rebuilt is not None and rebuilt.vids.tolist() == good.vids.tolist()
    assert rebuilt.vocab == good.vocab and np.array_equal(rebuilt.data, good.data)
    assert not list(qa.kb.path.glob(".lexical-*"))  # no temporary file left behind


def test_read_only_folder_still_answers_from_memory(tmp_path, hash_embedder, monkeypatch):
    qa = _build(tmp_path, hash_embedder, _docs(3))
    for f in qa.kb.path.glob("lexical-*.npz"):
        f.unlink()

    def refuse(self, path):
        raise PermissionError("read-only")

    monkeypatch.setattr(LexicalIndex, "save", refuse)
    fresh = KnowledgeBase.open(qa.kb.path)  # a new object: its lexical cache starts empty
    assert len(fresh.lexical.current()) == 3


def test_one_cache_per_knowledge_base(tmp_path, hash_embedder):
    qa = _build(tmp_path, hash_embedder, _docs(2))
    assert LexicalRanker(qa.kb).cache is LexicalRanker(qa.kb).cache is qa.kb.lexical


def test_sweep_keeps_newer_generations_and_live_writers_files(tmp_path, hash_embedder):
    import os

    qa = _build(tmp_path, hash_embedder, _docs(2))
    gen = qa.kb.generation
    folder = qa.kb.path
    newer = folder / f"lexical-{gen + 5}.npz"  # as if another process had just written it
    newer.write_bytes(b"x")
    (folder / f"lexical-{gen - 1}.npz").write_bytes(b"x")
    dead = folder / f".lexical-{gen}.npz.999999999.1.tmp"  # no such process
    live = folder / f".lexical-{gen}.npz.{os.getpid()}.1.tmp"
    dead.write_bytes(b"x")
    live.write_bytes(b"x")
    (folder / f"lexical-{gen}.npz").unlink()
    KnowledgeBase.open(folder).lexical.current()  # rebuilds generation `gen`, then sweeps
    names = {p.name for p in folder.iterdir() if "lexical" in p.name}
    assert names == {f"lexical-{gen}.npz", newer.name, live.name}


def test_queries_and_writes_in_threads_do_not_deadlock(tmp_path, hash_embedder):
    import threading

    qa = _build(tmp_path, hash_embedder, _docs(3))
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(15):
                qa.add([Article(id=f"t{i}", title="T", text=f"Thread {i} wrote about penguins.")])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(60):
                qa.search("penguins river", top_k=3)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write), threading.Thread(target=read), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert errors == []
    assert {h.passage.article_id for h in qa.search("penguins", top_k=20)} >= {f"t{i}" for i in range(15)}
