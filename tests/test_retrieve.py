"""Fusion of the dense and lexical rankings: golden arithmetic, determinism, tie-breaks, fallbacks."""

from __future__ import annotations

import random

import numpy as np
import pytest

from citeqa import Assistant, ConfigError
from citeqa.config import Config
from citeqa.retrieve import Candidate, Fusion, Ranked, Retriever, fuse, prefer_articles
from citeqa.schema import Article, Hit, Passage


def _ranking(*pairs: tuple[int, float]) -> list[Ranked]:
    return [Ranked(v, s, r) for r, (v, s) in enumerate(pairs, start=1)]


def test_score_fusion_by_hand():
    dense = _ranking((1, 0.8), (2, 0.6))
    lexical = _ranking((3, 9.0), (1, 3.0))
    scores = {"dense": {1: 0.8, 2: 0.6, 3: 0.2}, "lexical": {1: 3.0, 2: 0.0, 3: 9.0}}
    scales = {"dense": 1.0, "lexical": 10.0}
    fused = fuse({"dense": dense, "lexical": lexical}, Fusion("score", 0.5, 0.0), scores, scales)
    # 1: .5*.8 + .5*.3 = .55;  3: .5*.2 + .5*.9 = .55;  2: .5*.6 = .30. Ties go to the lower vid.
    assert [v for v, _ in fused] == [1, 3, 2]
    assert [s for _, s in fused] == pytest.approx([0.55, 0.55, 0.30])


def test_rrf_by_hand():
    dense = _ranking((1, 0.8), (2, 0.6))
    lexical = _ranking((2, 9.0), (3, 3.0))
    fused = dict(fuse({"dense": dense, "lexical": lexical}, Fusion("rrf", 0.5, 0.0, rrf_k=10)))
    assert fused == pytest.approx({2: 0.5 / 12 + 0.5 / 11, 1: 0.5 / 11, 3: 0.5 / 12})


def test_fusion_is_deterministic_whatever_the_input_order():
    rng = random.Random(0)
    vids = list(range(40))
    dense = _ranking(*[(v, round(rng.random(), 1)) for v in vids])  # many exact ties
    lexical = _ranking(*[(v, float(rng.randint(0, 3))) for v in vids[::2]])
    for method in ("score", "rrf"):
        first = fuse({"dense": dense, "lexical": lexical}, Fusion(method, 0.5, 0.0))
        again = fuse({"lexical": list(reversed(lexical)), "dense": dense[::-1]}, Fusion(method, 0.5, 0.0))
        if method == "score":  # scores don't depend on list order; ranks (RRF) do, by design
            assert again == first
        assert first == sorted(first, key=lambda t: (-t[1], t[0]))


def test_one_empty_ranking_leaves_the_other_in_charge():
    dense = _ranking((5, 0.9), (4, 0.5))
    lexical = _ranking((7, 4.0), (6, 2.0))
    for method in ("score", "rrf"):
        assert [v for v, _ in fuse({"dense": dense, "lexical": []}, Fusion(method))] == [5, 4]
        assert [v for v, _ in fuse({"dense": [], "lexical": lexical}, Fusion(method))] == [7, 6]
    # A query with no term in the vocabulary has lexical scale 0: the dense order stands.
    scores = {"dense": {5: 0.9, 4: 0.5}, "lexical": {5: 0.0, 4: 0.0}}
    assert [v for v, _ in fuse({"dense": dense, "lexical": []}, Fusion(), scores, {"lexical": 0.0})] == [5, 4]


@pytest.mark.parametrize(
    "bad",
    [
        {"method": "max"},
        {"dense_weight": 1.5},
        {"dense_weight": -0.1},
        {"dense_weight": 0.7, "sentence_weight": 0.4},
        {"rrf_k": 0},
        {"rrf_k": True},
    ],
)
def test_bad_fusion_settings_are_refused(bad):
    with pytest.raises(ConfigError):
        Fusion(**bad)


@pytest.mark.parametrize(
    "bad",
    [
        {"retriever": "sparse"},
        {"fusion": "max"},
        {"dense_weight": 2},
        {"dense_weight": "0.5"},
        {"sentence_weight": -1},
        {"rrf_k": 0},
    ],
)
def test_bad_config_is_refused_and_named(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        Config(**bad)


def _kb(tmp_path, hash_embedder, retriever="hybrid"):
    docs = [
        Article(id="river", title="Flood", text="The river flooded the old town after heavy rain."),
        Article(id="code", title="Codes", text="Serial number QX-7731 was stamped on the engine block."),
        Article(id="farm", title="Farm", text="Farmers harvested wheat and barley in the valley."),
    ]
    return Assistant.build(
        docs, kb=tmp_path / "kb", embedder=hash_embedder, progress=False, config=Config(retriever=retriever)
    )


def test_hybrid_hits_carry_both_ranks_and_scores(tmp_path, hash_embedder):
    qa = _kb(tmp_path, hash_embedder)
    hits = qa.search("river flooded town", top_k=3)
    top = hits[0]
    assert top.passage.article_id == "river" and top.rank == 1
    assert top.dense_rank == 1 and top.lexical_rank == 1
    assert top.dense_score > 0 and top.lexical_score > 0 and top.score > 0
    assert [h.rank for h in hits] == [1, 2, 3]


class _Fixed:
    """A ranker with fixed answers, to see what the retriever does with each ranker's list."""

    def __init__(self, name: str, ranked: list[Ranked], all_scores: dict[int, float], scale: float) -> None:
        self.name, self._ranked, self._all, self._scale = name, ranked, all_scores, scale
        self.asked: list[list[int]] = []

    def rank(self, query, k, allowed=None):
        return self._ranked[:k]

    def score_of(self, query, vids):
        self.asked.append(list(vids))
        return {v: self._all[v] for v in vids}

    def scale(self, query):
        return self._scale


def test_a_passage_one_ranker_missed_gets_its_exact_score_from_it(tmp_path, hash_embedder):
    qa = _kb(tmp_path, hash_embedder)  # vids 1, 2, 3
    dense = _Fixed("dense", _ranking((1, 0.9), (2, 0.5)), {1: 0.9, 2: 0.5, 3: 0.4}, 1.0)
    lexical = _Fixed("lexical", _ranking((3, 8.0)), {1: 0.0, 2: 2.0, 3: 8.0}, 10.0)
    r = Retriever(qa.kb, [dense, lexical], Fusion("score", 0.5, 0.0))
    hits = {c.vid: c.hit for c in r.retrieve(_query(), 3, depth=2)}
    assert dense.asked == [[3]] and lexical.asked == [[1, 2]]
    h = hits[3]
    assert (h.dense_rank, h.dense_score, h.lexical_rank, h.lexical_score) == (0, 0.4, 1, 8.0)
    assert (hits[2].lexical_rank, hits[2].lexical_score) == (0, 2.0)
    assert hits[3].score == pytest.approx(0.5 * 0.4 + 0.5 * 0.8)
    assert [c.vid for c in r.retrieve(_query(), 3, depth=2)] == [3, 1, 2]  # .6, .45, .35


def _query():
    import numpy as np

    from citeqa.retrieve import Query

    return Query("x", np.zeros(64, dtype=np.float32))


def test_no_lexical_match_still_gets_dense_results(tmp_path, hash_embedder):
    qa = _kb(tmp_path, hash_embedder)
    hits = qa.search("zzzz qqqq", top_k=3)  # no term of the question is in any passage
    assert len(hits) == 3 and all(h.lexical_rank == 0 and h.lexical_score == 0.0 for h in hits)
    dense = Assistant.open(tmp_path / "kb", embedder=hash_embedder, config=Config(retriever="dense"))
    assert [h.passage.id for h in hits] == [h.passage.id for h in dense.search("zzzz qqqq", top_k=3)]


def test_lexical_match_wins_where_dense_is_weak(tmp_path, hash_embedder):
    qa = _kb(tmp_path, hash_embedder)
    hits = qa.search("QX-7731", top_k=3)
    assert hits[0].passage.article_id == "code" and hits[0].lexical_rank == 1


def test_every_retriever_is_available(tmp_path, hash_embedder):
    _kb(tmp_path, hash_embedder).close()
    for name in ("dense", "lexical", "hybrid"):
        qa = Assistant.open(tmp_path / "kb", embedder=hash_embedder, config=Config(retriever=name))
        assert [r.name for r in qa.retriever.rankers] == {
            "dense": ["dense"],
            "lexical": ["lexical"],
            "hybrid": ["dense", "lexical"],
        }[name]
        hits = qa.search("wheat barley harvest", top_k=2)
        assert hits[0].passage.article_id == "farm"
        if name == "lexical":
            assert hits[0].dense_rank == 0 and hits[0].score == hits[0].lexical_score
        qa.close()


def test_retriever_for_config_uses_the_fusion_settings(tmp_path, hash_embedder):
    qa = _kb(tmp_path, hash_embedder)
    r = Retriever.for_config(qa.kb, Config(fusion="rrf", dense_weight=0.3, sentence_weight=0.1, rrf_k=20))
    assert r.fusion == Fusion("rrf", 0.3, 0.1, 20)


def test_sentence_signal_by_hand():
    rankings = {"dense": _ranking((1, 0.5), (2, 0.5)), "lexical": []}
    scores = {"dense": {1: 0.5, 2: 0.5}, "sentence": {1: 0.9, 2: 0.4}, "lexical": {1: 0.0, 2: 0.0}}
    fused = fuse(rankings, Fusion("score", dense_weight=0.3, sentence_weight=0.2), scores, {"lexical": 1.0})
    assert fused == [(1, pytest.approx(0.3 * 0.5 + 0.2 * 0.9)), (2, pytest.approx(0.3 * 0.5 + 0.2 * 0.4))]


def test_best_sentence_is_the_max_over_the_passages_sentences(tmp_path, hash_embedder):
    from citeqa.retrieve import DenseRanker, Query

    qa = _kb(tmp_path, hash_embedder)
    text = "Serial number QX-7731 was stamped on the engine block."
    q = Query(text, hash_embedder.encode_queries([text])[0])
    best = DenseRanker(qa.kb).best_sentence(q, [1, 2, 3, 99])
    assert set(best) == {1, 2, 3} and best[2] == pytest.approx(1.0, abs=1e-3)
    assert max(best[1], best[3]) < 0.9


def test_hybrid_with_the_real_model_finds_a_rare_name(seed_qa):
    assert seed_qa.config.retriever == "hybrid"
    hits = seed_qa.search("Sadarak checkpoint", top_k=3)
    assert "Sadarak" in hits[0].passage.text
    assert hits[0].lexical_rank == 1 and hits[0].dense_rank >= 1 and hits[0].lexical_score > 0
    assert 0 < hits[0].score <= 1.0 + 1e-6  # cosine and scaled BM25 both live in [0, 1]


def _candidate(article: str, score: float, rank: int) -> Candidate:
    passage = Passage(f"{article}#{rank}", article, rank, "text", 0, 4)
    return Candidate(Hit(passage, score, rank), np.zeros((0, 4), dtype=np.float32), rank)


def test_prefer_articles_wins_close_calls_only():
    pool = [_candidate("twitter", 0.58, 1), _candidate("meta", 0.51, 2), _candidate("other", 0.95, 3)]
    pool.sort(key=lambda c: -c.hit.score)
    out = prefer_articles(pool, {"meta"}, 2)
    assert [c.hit.passage.article_id for c in out] == ["other", "meta"]  # clearly better stays first
    assert [c.hit.rank for c in out] == [1, 2]
    assert [c.hit.score for c in out] == [0.95, 0.51]  # scores as retrieved
