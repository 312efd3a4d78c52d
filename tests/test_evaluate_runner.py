"""`Assistant.evaluate` in process, the cached corpus knowledge base, passage gold, compare's flips."""

from __future__ import annotations

import json

import pytest

from citeqa.config import Config
from citeqa.datasets import Dataset, EvalQuestion, GoldSpan, load_beir
from citeqa.evaluate.compare import compare, format_comparison
from citeqa.evaluate.kb import cache_path, corpus_hash, open_for
from citeqa.evaluate.results import EvalReport
from citeqa.schema import Article
from tests.test_datasets import write_beir

SEED_ID = "heydar-aliyev-2023-drills"


def test_assistant_evaluate_returns_the_report(seed_qa):
    text = seed_qa.article(SEED_ID).text
    start = text.index("Military cooperation")
    end = text.index("\n", start)
    ds = Dataset(
        "tiny",
        (
            EvalQuestion(
                "q1",
                "When did military cooperation between Azerbaijan and Turkiye first emerge?",
                answers=("1992",),
                relevant_article_ids=(SEED_ID,),
                relevant_spans=(GoldSpan(SEED_ID, start, end),),
            ),
            EvalQuestion("q2", "What is the boiling point of mercury?", answerable=False),
        ),
        format="jsonl",
    )
    report = seed_qa.evaluate(ds, progress=False, n_boot=200)
    assert isinstance(report, EvalReport)
    assert report["n_questions"] == 2 and report["recall@1"] == 1.0
    q1 = report.results[0]
    # The gold span lies in one passage: that passage is the only relevant one, and it ranks first.
    assert len(q1.relevant_passage_ids) == 1 and q1.relevant_passage_ids[0].startswith(SEED_ID + "#")
    assert report["passage_recall@1"] == 1.0 and q1.passages[0].relevant is True
    assert q1.correct is True and q1.metrics["answer_hit"] == 1.0
    assert all(c.roundtrip and c.correct for c in q1.citations)
    assert report["citation_roundtrip"] == 1.0 and report["citation_precision"] == 1.0
    assert report["abstain_recall"] in (0.0, 1.0) and report["n_unanswerable"] == 1
    assert report.recall_curve["document"][0] == (1, 1.0)
    assert report.flat()["passage_recall@1"] == 1.0


def test_limit_and_seed_pick_a_fixed_sample(seed_qa):
    qs = tuple(EvalQuestion(f"q{i}", f"Question number {i} about the drills?") for i in range(6))
    ds = Dataset("s", qs)
    a = seed_qa.evaluate(ds, limit=3, seed=4, progress=False, answers=False)
    b = seed_qa.evaluate(ds, limit=3, seed=4, progress=False, answers=False)
    assert [r.id for r in a.results] == [r.id for r in b.results] and len(a.results) == 3
    assert a["recall@1"] is None and "answer_hit" not in a.metrics  # no gold, answers off


def test_beir_corpus_kb_is_built_once_and_cached(tmp_path, real_embedder):
    ds = load_beir(write_beir(tmp_path / "tiny"), split="test")
    cfg = Config()
    path = cache_path(ds, cfg, tmp_path / "embeddings")
    assert path.name == f"eval-tiny-{corpus_hash(ds.articles, cfg)}"
    qa = open_for(ds, config=cfg, progress=False, cache_root=tmp_path / "embeddings")
    gen = qa.kb.generation
    report = qa.evaluate(ds, progress=False)
    qa.close()
    assert report.info["answers"] == "no" and "answer_hit" not in report.metrics
    assert report["recall@10"] == 1.0 and report["n_questions"] == 2
    again = open_for(ds, config=cfg, progress=False, cache_root=tmp_path / "embeddings")
    assert again.kb.path == path and again.kb.generation == gen  # nothing re-embedded
    again.close()
    # Any change to the corpus (or to the model/chunking) names another folder.
    changed = Dataset(ds.name, ds.questions, ds.articles + (Article("d4", "", "More."),))
    assert cache_path(changed, cfg) != cache_path(ds, cfg)
    assert cache_path(ds, cfg.with_(model="other")) != cache_path(ds, cfg)


def write_run(folder, rows, metrics):
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_compare_reports_deltas_and_flips(tmp_path):
    def row(qid, r1):
        return {"id": qid, "question": f"question {qid}?", "metrics": {"recall@1": r1}}

    a = write_run(
        tmp_path / "a",
        [row("x", 1.0), row("y", 0.0), row("z", 1.0)],
        {
            "ndcg@10": 0.5,
            "ndcg@10_ci_low": 0.4,
            "ndcg@10_ci_high": 0.6,
            "latency_p50_ms": 20.0,
            "dataset": "d",
        },
    )
    b = write_run(
        tmp_path / "b",
        [row("x", 0.0), row("y", 1.0), row("z", 1.0), row("w", 1.0)],
        {
            "ndcg@10": 0.8,
            "ndcg@10_ci_low": 0.7,
            "ndcg@10_ci_high": 0.9,
            "latency_p50_ms": 10.0,
            "dataset": "d",
        },
    )
    c = compare(a, b)
    assert c.outcome == "recall@1" and c.shared == 3
    assert [f.id for f in c.lost] == ["x"] and [f.id for f in c.gained] == ["y"]
    deltas = {n: (x, y) for n, x, y in c.deltas}
    assert deltas == {"ndcg@10": (0.5, 0.8), "latency_p50_ms": (20.0, 10.0)}
    text = format_comparison(c)
    assert "+0.3000  better (95% CIs disjoint)" in text
    assert "-10.0  better" in text  # lower latency is better
    assert "lost   x: question x?" in text and "gained y: question y?" in text


@pytest.mark.parametrize("bad", ["{not json", '{"ndcg@10": 1}'])
def test_compare_explains_a_damaged_run(tmp_path, bad):
    from citeqa.errors import InputError

    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "metrics.json").write_text(bad)
    (folder / "results.jsonl").write_text('{"no id": 1}\n')
    with pytest.raises(InputError, match="damaged run"):
        compare(folder, folder)
