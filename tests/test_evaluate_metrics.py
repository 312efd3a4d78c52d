"""Metric functions against small examples worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

from math import log2

import pytest

from citeqa.evaluate import metrics as M


def test_recall_counts_relevant_in_top_k_over_all_relevant():
    qrels = {"a": 1, "b": 1, "c": 1, "z": 0}  # z is judged not relevant: not in the denominator
    ranked = ["a", "x", "b", "z"]
    assert M.recall_at_k(ranked, qrels, 1) == pytest.approx(1 / 3)
    assert M.recall_at_k(ranked, qrels, 2) == pytest.approx(1 / 3)
    assert M.recall_at_k(ranked, qrels, 3) == pytest.approx(2 / 3)
    assert M.recall_at_k(ranked, qrels, 10) == pytest.approx(2 / 3)
    assert M.recall_at_k(ranked, {"z": 0}, 10) == 0.0


def test_mrr_is_reciprocal_rank_of_first_relevant_within_k():
    qrels = {"c": 1, "e": 2}
    assert M.mrr_at_k(["a", "b", "c", "e"], qrels, 10) == pytest.approx(1 / 3)
    assert M.mrr_at_k(["a", "b", "c"], qrels, 2) == 0.0
    assert M.mrr_at_k(["e"], qrels, 10) == 1.0
    assert M.first_relevant_rank(["a", "b", "c"], qrels) == 3
    assert M.first_relevant_rank(["a"], qrels) == 0


def test_ndcg_graded_several_relevant():
    # gains by rank: x=0, a=2, c=1, y=0, b=1  ->  DCG = 2/log2(3) + 1/log2(4) + 1/log2(6)
    # ideal: 2, 1, 1 (z has 0)               -> IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4)
    qrels = {"a": 2, "b": 1, "c": 1, "z": 0}
    ranked = ["x", "a", "c", "y", "b"]
    dcg = 2 / log2(3) + 1 / 2 + 1 / log2(6)
    idcg = 2 + 1 / log2(3) + 1 / 2
    assert M.ndcg_at_k(ranked, qrels, 10) == pytest.approx(dcg / idcg)
    assert M.ndcg_at_k(ranked, qrels, 10) == pytest.approx(0.68629, abs=1e-5)
    # Cut at 2: DCG = 2/log2(3); IDCG = 2 + 1/log2(3) (the ideal is cut at k too)
    assert M.ndcg_at_k(ranked, qrels, 2) == pytest.approx((2 / log2(3)) / (2 + 1 / log2(3)))
    assert M.ndcg_at_k(["a", "b", "c"], qrels, 10) == pytest.approx(1.0)
    assert M.ndcg_at_k(["x"], {"z": 0}, 10) == 0.0


def test_ndcg_when_relevant_outnumber_k():
    # three relevant, k = 2, only the first retrieved: DCG = 1; IDCG = 1 + 1/log2(3)
    qrels = {"a": 1, "b": 1, "c": 1}
    assert M.ndcg_at_k(["a", "x"], qrels, 2) == pytest.approx(1 / (1 + 1 / log2(3)))
    assert M.ndcg_at_k(["a", "x"], qrels, 2) == pytest.approx(0.61315, abs=1e-5)


def test_ties_are_broken_like_trec_eval():
    # trec_eval sorts by score descending, then by document id descending: c, then b before a
    scores = {"a": 0.5, "b": 0.5, "c": 0.9, "d": 0.1}
    assert M.trec_order(scores) == ["c", "b", "a", "d"]
    ranked = M.trec_order(scores)
    qrels = {"a": 1}
    assert M.ndcg_at_k(ranked, qrels, 10) == pytest.approx(1 / log2(4))  # a at rank 3
    assert M.mrr_at_k(ranked, qrels, 10) == pytest.approx(1 / 3)
    assert M.trec_order({"x": 1.0, "y": 1.0}) == ["y", "x"]


def test_squad_normalisation_em_and_f1():
    assert M.normalize_answer("The  Kars, city!") == "kars city"
    assert M.exact_match("the Kars", "Kars") == 1.0
    assert M.exact_match("Kars city", "Kars") == 0.0
    # "kars city" vs "kars": 1 common token, P = 1/2, R = 1/1, F1 = 2*0.5*1/1.5 = 2/3
    assert M.token_f1("Kars city", "Kars") == pytest.approx(2 / 3)
    # repeated tokens count per occurrence: "x b b" vs "b b c" share "b b": common 2, P = R = 2/3
    assert M.token_f1("x b b", "b b c") == pytest.approx(2 / 3)
    assert M.token_f1("nothing", "Kars") == 0.0
    assert M.best_over(M.token_f1, "Kars city", ["Paris", "Kars"]) == pytest.approx(2 / 3)
    assert M.best_over(M.exact_match, "Kars", []) == 0.0


def test_answer_hit_is_word_bounded():
    text = "The drills are held in Kars. They started in 1992."
    assert M.contains_answer(text, ["kars"])
    assert M.contains_answer(text, ["the 1992"])  # articles are dropped by the normalisation
    assert not M.contains_answer("Karsville", ["Kars"])
    assert not M.contains_answer(text, [""])


def test_mean_percentile_ratio():
    assert M.mean([1.0, None, 0.0]) == 0.5
    assert M.mean([None]) is None
    assert M.percentile([1, 2, 3, 4], 50) == 2.5
    assert M.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert M.percentile([], 50) is None
    assert M.ratio(1, 0) is None


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [1.0] * 30 + [0.0] * 70
    lo, hi = M.bootstrap_ci(values, seed=7)
    assert lo < 0.3 < hi and hi - lo < 0.25
    assert M.bootstrap_ci(values, seed=7) == (lo, hi)
    assert M.bootstrap_ci([0.5] * 10) == (0.5, 0.5)
    assert M.bootstrap_ci([1.0]) is None


def test_coverage_accuracy_curve():
    # answered questions by confidence: 0.9 T, 0.8 T, 0.7 F, 0.6 T; 5 questions in all (one abstained)
    curve = M.coverage_accuracy([0.7, 0.9, 0.6, 0.8], [False, True, True, True], n_total=5, points=4)
    assert curve == [
        (0.9, 0.2, 1.0),
        (0.8, 0.4, 1.0),
        (0.7, pytest.approx(0.6), pytest.approx(2 / 3)),
        (0.6, 0.8, 0.75),
    ]


def test_coverage_accuracy_never_splits_a_tie():
    curve = M.coverage_accuracy([0.9, 0.9, 0.5], [True, False, True], n_total=3, points=3)
    assert curve == [(0.9, pytest.approx(2 / 3), 0.5), (0.5, 1.0, pytest.approx(2 / 3))]
    assert M.coverage_accuracy([], [], 3) == []
