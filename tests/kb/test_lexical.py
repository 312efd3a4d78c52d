"""The lexical (BM25) index: analysis, golden scores, and its life as a cache of the knowledge base."""

from __future__ import annotations

import math
import random
import shutil

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
    assert sorted(p.name for p in qa.kb.path.glob("lexical-*")) == [f"lexical-{qa.kb.generation}.json"]


def test_a_reader_process_sees_the_writers_lexical_changes(tmp_path, hash_embedder):
    writer = _build(tmp_path, hash_embedder, _docs(2))
    reader = Assistant.open(tmp_path / "kb", embedder=hash_embedder, config=Config(retriever="lexical"))
    assert reader.search("penguins", top_k=1) == []
    writer.add([Article(id="new", title="New", text="Penguins marched through the square.")])
    assert [h.passage.article_id for h in reader.search("penguins", top_k=3)] == ["new"]
    writer.remove("new")
    assert reader.search("penguins", top_k=3) == []


@pytest.mark.parametrize(
    "damage", ["delete", "truncate", "garbage", "stale", "other-settings", "no-segment", "short-segment"]
)
def test_missing_or_damaged_cache_is_rebuilt_from_the_store(tmp_path, hash_embedder, damage):
    qa = _build(tmp_path, hash_embedder, _docs(5))
    gen = qa.kb.generation
    path = qa.kb.path / f"lexical-{gen}.json"
    good = LexicalIndex.load(path, gen)
    assert good is not None
    queries = [Analyzer().terms(t) for t in ("river flooded X3", "report town", "doc 4")]
    expected = [good.search(terms, 10) for terms in queries]  # before the damage: `good` maps the files
    (segment,) = (qa.kb.path / "lexical").glob("seg-*")
    qa.close()
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "garbage":
        path.write_bytes(b"not JSON" * 50)
    elif damage == "stale":  # the manifest of an older generation, renamed as if current
        LexicalIndex.build([(1, "old words only")], gen - 1, Analyzer()).save(path)
    elif damage == "other-settings":  # same generation, other settings (as after a change of k1)
        path.write_text(path.read_text().replace('"k1": 0.9', '"k1": 9'))
    elif damage == "no-segment":  # a segment the manifest names is gone
        shutil.rmtree(segment)
    else:
        docs = segment / "docs.npy"
        docs.write_bytes(docs.read_bytes()[:-8])
    assert LexicalIndex.load(path, gen) is None
    qa = Assistant.open(tmp_path / "kb", embedder=hash_embedder, config=Config(retriever="lexical"))
    assert qa.search("river flooded X3", top_k=1)[0].passage.article_id == "a3"
    rebuilt = LexicalIndex.load(path, gen)  # and written back for the next process
    assert rebuilt is not None and rebuilt.vids.tolist() == good.vids.tolist()
    assert [rebuilt.search(terms, 10) for terms in queries] == expected
    assert not list(qa.kb.path.glob(".lexical-*")) and not list((qa.kb.path / "lexical").glob(".*"))


def test_read_only_folder_still_answers_from_memory(tmp_path, hash_embedder, monkeypatch):
    qa = _build(tmp_path, hash_embedder, _docs(3))
    for f in qa.kb.path.glob("lexical-*.json"):
        f.unlink()

    def refuse(self, path):
        raise PermissionError("read-only")

    monkeypatch.setattr(LexicalIndex, "save", refuse)
    fresh = KnowledgeBase.open(qa.kb.path)  # a new object: its lexical cache starts empty
    assert len(fresh.lexical.current()) == 3


def test_one_cache_per_knowledge_base(tmp_path, hash_embedder):
    qa = _build(tmp_path, hash_embedder, _docs(2))
    assert LexicalRanker(qa.kb).cache is LexicalRanker(qa.kb).cache is qa.kb.lexical


def test_the_writer_sweeps_old_files_but_keeps_newer_ones_and_live_writers_files(tmp_path, hash_embedder):
    import os

    qa = _build(tmp_path, hash_embedder, _docs(2))
    gen = qa.kb.generation
    folder, segs = qa.kb.path, qa.kb.path / "lexical"
    newer = folder / f"lexical-{gen + 5}.json"  # as if another process had just written it
    newer.write_text("{}")
    old = [
        folder / f"lexical-{gen - 1}.json",
        folder / f"lexical-{gen}.npz",
        segs / "seg-0-abc",
        segs / "dead-0-1.npy",
    ]
    for f in old:
        f.mkdir() if f.name.startswith("seg-") else f.write_bytes(b"x")
    dead = folder / f".lexical-{gen}.json.999999999.1.tmp"  # no such process
    dead_segment = segs / ".seg-0-dead.999999999.1.tmp"
    live = folder / f".lexical-{gen}.json.{os.getpid()}.1.tmp"
    dead.write_bytes(b"x")
    dead_segment.mkdir()
    live.write_bytes(b"x")
    qa.add([Article(id="new", title="New", text="Penguins marched.")])  # the writer sweeps after it
    gen = qa.kb.generation
    names = {p.name for p in folder.iterdir() if "lexical-" in p.name}
    assert names == {f"lexical-{gen}.json", newer.name, live.name}
    assert {p.name for p in segs.iterdir()} == LexicalIndex.load(folder / f"lexical-{gen}.json", gen).files()


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


# ---------------------------------------------------------------- the incremental index (issue 13)

WORDS = (
    "river flood town report apple pear plum kiwi penguin march square drill study kars held storm".split()
)


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 40))) + f". Note {rng.randint(0, 99)}."


def _scores_by_vid(index: LexicalIndex, terms: list[str]) -> dict[int, float]:
    return index.score_of(terms, index.vids.tolist())


def test_incremental_scores_equal_a_fresh_build_after_random_writes(tmp_path, hash_embedder):
    # Adds, updates (new text under an old id: its passages get new vids) and removes through a real
    # knowledge base; after each write the index the writer brought up to date, and the one a reader
    # in "another process" loads from the files, score exactly as a fresh build of the live passages.
    rng = random.Random(13)
    qa = _build(
        tmp_path, hash_embedder, [Article(id=f"a{i}", title=f"T{i}", text=_text(rng)) for i in range(30)]
    )
    reader = KnowledgeBase.open(qa.kb.path)
    queries = [
        Analyzer().terms(q) for q in ("river flood", "penguin march penguin", "kiwi storm held", "note 7")
    ]
    ids = [f"a{i}" for i in range(30)]
    for step in range(25):
        action = rng.choice(["add", "update", "remove", "mixed"])
        if action in ("add", "mixed"):
            new = [f"n{step}-{j}" for j in range(rng.randint(1, 4))]
            qa.add([Article(id=a, title=a.upper(), text=_text(rng)) for a in new])
            ids += new
        if action in ("update", "mixed") and ids:
            qa.add(
                [Article(id=a, title="Updated", text=_text(rng)) for a in rng.sample(ids, min(3, len(ids)))]
            )
        if action == "remove" and len(ids) > 5:
            gone = rng.sample(ids, rng.randint(1, 4))
            qa.remove(*gone)
            ids = [a for a in ids if a not in gone]
        gen, rows = qa.kb.passage_texts()
        fresh = LexicalIndex.build(rows, gen, Analyzer())
        for index in (qa.kb.lexical.current(), reader.lexical.current()):
            assert index.generation == gen and index.vids.tolist() == [v for v, _ in rows]
            for terms in queries:
                got, want = _scores_by_vid(index, terms), _scores_by_vid(fresh, terms)
                assert list(got) == list(want)
                assert np.allclose(list(got.values()), list(want.values()), rtol=1e-5, atol=0)
                assert index.search(terms, 15) == fresh.search(terms, 15)
                assert index.upper_bound(terms) == pytest.approx(fresh.upper_bound(terms), rel=1e-5)
    assert len(qa.kb.lexical.current().segments) <= 4  # merged as they accumulate
    reader.close()


@pytest.mark.parametrize("every", [5, 50])  # a fifth deleted (masked out), or a few (kept, zeroed)
def test_scores_are_those_of_bm25s_bit_for_bit(every):
    import bm25s

    rng = random.Random(5)
    analyzer = Analyzer()
    rows = [(v, _text(rng) if v % 7 else "the of and") for v in range(1, 800)]  # some passages all stopwords
    live = [(v, t) for v, t in rows if v % every]
    old = [v for v, _ in rows[:700] if not v % every]
    added = [(v, t) for v, t in live if v > 700]
    index = LexicalIndex.build(rows[:700], 1, analyzer).updated(2, np.array(old), added, analyzer)
    assert len(index.segments) == 2 and index.vids.tolist() == [v for v, _ in live]
    for seg in index.segments:  # positions ascend in every column (what finding the deleted relies on)
        starts = np.repeat(np.arange(len(seg.indptr) - 1), np.diff(seg.indptr))
        assert np.all((np.diff(seg.docs.astype(np.int64)) > 0) | (np.diff(starts) > 0))
    bm = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    bm.index([analyzer.terms(t) for _, t in live], create_empty_token=False, show_progress=False)
    for word in WORDS[:8]:
        (term,) = analyzer.terms(word)
        col = bm.vocab_dict[term]
        a, b = bm.scores["indptr"][col], bm.scores["indptr"][col + 1]
        want = {
            live[d][0]: float(s)
            for d, s in zip(bm.scores["indices"][a:b], bm.scores["data"][a:b], strict=True)
        }
        got = {v: s for v, s in index.score_of([term], index.vids.tolist()).items() if s > 0}
        assert got == want  # the same float32 scores, not just close ones


def test_a_reader_loads_only_the_new_segment(tmp_path, hash_embedder):
    qa = _build(tmp_path, hash_embedder, _docs(20))
    reader = KnowledgeBase.open(qa.kb.path)
    before = reader.lexical.current()
    qa.add([Article(id="new", title="New", text="Penguins marched through the square.")])
    after = reader.lexical.current()
    assert after.generation == before.generation + 1 and len(after.segments) == 2
    assert after.segments[0] is before.segments[0]  # the old segment is reused, not read again
    assert isinstance(
        LexicalIndex.load(qa.kb.lexical.file(after.generation), after.generation).segments[0].docs, np.memmap
    )
    reader.close()


def test_a_missing_generation_is_caught_up_from_an_older_one_not_rebuilt(
    tmp_path, hash_embedder, monkeypatch
):
    # The files of the newest generation are missing (a writer that crashed after its commit, or a
    # batch of a longer ingest): the index on disk for an older generation is brought up to date by
    # the difference of the stored vids, analysing only the new passages.
    qa = _build(tmp_path, hash_embedder, _docs(10))
    folder = qa.kb.path
    old_gen = qa.kb.generation
    kept = (folder / f"lexical-{old_gen}.json").read_text()
    qa.add([Article(id="new", title="New", text="Penguins marched through the square.")])
    qa.remove("a3")
    for f in folder.glob("lexical-*.json"):
        f.unlink()
    (folder / f"lexical-{old_gen}.json").write_text(kept)  # its segments are still there: shared
    monkeypatch.setattr(LexicalIndex, "build", lambda *a: pytest.fail("rebuilt from the store"))
    fresh = KnowledgeBase.open(folder)
    index = fresh.lexical.current()
    assert index.generation == qa.kb.generation and len(index) == qa.kb.counts()["passages"]
    assert fresh.lexical.search("penguins", 3)[0][0] == max(index.vids)
    assert not [v for v, _ in fresh.lexical.search("flooded town X3", 20) if v not in index.vids]
    fresh.close()


def test_segments_merge_and_purge_so_there_stay_few():
    analyzer = Analyzer()
    index = LexicalIndex.build([(v, f"word{v % 13} river") for v in range(1, 1001)], 1, analyzer)
    vid = 1001
    for gen in range(2, 200):  # many small writes
        index = index.updated(
            gen, np.zeros(0, np.int64), [(vid, "river penguin"), (vid + 1, "storm")], analyzer
        )
        vid += 2
        assert len(index.segments) <= 6
    assert len(index) == 1000 + 2 * 198
    index = index.updated(200, np.arange(1, 900, dtype=np.int64), [], analyzer)  # most of the first deleted
    assert all(len(d) <= len(s) // 2 for s, d in zip(index.segments, index.dead, strict=True))
    assert len(index) == 1000 + 2 * 198 - 899
    assert index.search(["river"], 3)[0][0] == 900  # ties by vid, the deleted ones gone


def test_long_and_non_ascii_terms_survive_building_merging_and_purging():
    # Terms over 16 bytes live in a second table; UTF-8 bytes order both tables.
    long_word = "pneumonoultramicroscopicsilicovolcanoconiosis"
    analyzer = Analyzer()
    rows = [
        (1, f"{long_word} river"),
        (2, "café naïve river"),
        (3, "plain words"),
        (4, f"{long_word}s again"),
    ]
    index = LexicalIndex.build(rows[:2], 1, analyzer)
    index = index.updated(2, np.zeros(0, np.int64), rows[2:], analyzer)  # merged: 2 * 4 >= 2
    assert len(index.segments) == 1
    fresh = LexicalIndex.build(rows, 2, analyzer)
    for text in (long_word, "café", "naïve river", f"{long_word}s"):
        terms = analyzer.terms(text)
        assert index.search(terms, 5) == fresh.search(terms, 5) != []
    index = index.updated(3, np.array([1, 4]), [], analyzer)
    assert index.search(analyzer.terms(long_word), 5) == []
    assert [v for v, _ in index.search(["river"], 5)] == [2]


def test_passage_delta_reads_only_the_passages_an_index_lacks(tmp_path, hash_embedder):
    qa = _build(tmp_path, hash_embedder, _docs(4))
    gen, vids, rows = qa.kb.records.passage_delta(np.zeros(0, np.int64))
    assert gen == qa.kb.generation and vids.tolist() == [v for v, _ in rows] and len(rows) == 4
    qa.add([Article(id="new", title="New", text="Penguins marched.")])
    qa.remove("a1")
    gen2, vids2, rows2 = qa.kb.records.passage_delta(vids)
    assert gen2 == gen + 2 and len(vids2) == 4
    assert [t for _, t in rows2] == ["New\nPenguins marched."] and rows2[0][0] == vids2[-1]


def test_cached_posting_lists_score_the_same(monkeypatch):
    from citeqa.kb import bm25

    rng = random.Random(3)
    rows = [(v, _text(rng)) for v in range(1, 300)]
    queries = [Analyzer().terms(q) for q in ("river flood", "penguin march", "river kiwi storm", "river")]
    plain = LexicalIndex.build(rows, 1, Analyzer())
    want = [plain.search(q, 20) for q in queries]
    monkeypatch.setattr(bm25, "CACHE_FROM", 1)
    monkeypatch.setattr(bm25, "CACHE_BYTES", 4000)  # room for a few lists: the oldest go
    cached = LexicalIndex.build(rows, 1, Analyzer())
    for _ in range(3):
        assert [cached.search(q, 20) for q in queries] == want
    cache = bm25.TermCache(100)
    cache.put("a", (np.zeros(5, np.int64), np.zeros(5, np.float32), 0.0))  # 60 bytes
    cache.put("b", (np.zeros(5, np.int64), np.zeros(5, np.float32), 0.0))
    assert cache.get("a") is None and cache.get("b") is not None
