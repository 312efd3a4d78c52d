"""`citeqa eval` end to end on the seed knowledge base (real MiniLM, real FAISS), and `eval compare`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

SEED_ID = "heydar-aliyev-2023-drills"
QUESTIONS = [
    {
        "id": "where",
        "question": "Where will the Heydar Aliyev-2023 drills be held?",
        "answers": ["Kars"],
        "relevant_article_ids": [SEED_ID],
    },
    {
        "id": "when",
        "question": "When did military cooperation between Azerbaijan and Turkiye first emerge?",
        "answers": ["1992"],
        "relevant_article_ids": [SEED_ID],
        "relevant_passage_ids": [],
    },
    {
        "id": "who",
        "question": "Who spoke about the <b>unshakable brotherhood</b> between the two countries?",
        "answers": ["Rahim Jafarov"],
        "relevant_article_ids": [SEED_ID],
    },
    {"id": "none", "question": "What is the boiling point of mercury?", "answerable": False},
]


def run(*args: str, cwd=REPO) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "citeqa.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def qset(tmp_path_factory, seed_kb):
    root = tmp_path_factory.mktemp("evalcli")
    kb = root / "kb"
    shutil.copytree(seed_kb, kb)
    path = root / "questions.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    return root, path, kb


@pytest.fixture(scope="module")
def run_a(qset):
    """One full run with outputs, and a threshold it misses (the outputs are written anyway)."""
    root, path, kb = qset
    out = root / "run-a"
    r = run(
        "eval",
        str(path),
        "--kb",
        str(kb),
        "--out",
        str(out),
        "--quiet",
        "--fail-under",
        "recall@1=0.5",
        "--fail-under",
        "answer_hit=1.01",
    )
    return r, out


def test_eval_writes_sane_metrics_results_and_report(run_a):
    r, out = run_a
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_questions"] == 4 and m["n_unanswerable"] == 1
    assert m["recall@1"] == 1.0 and m["ndcg@10"] == 1.0 and m["mrr@10"] == 1.0  # a one-article KB
    assert m["passage_recall@1"] is None  # no passage gold in this set
    assert m["citation_roundtrip"] == 1.0
    assert 0.0 <= m["answer_hit"] <= 1.0 and m["answer_hit"] >= 2 / 3  # Kars and 1992 at least
    assert m["answer_f1"] is not None and m["citation_precision"] is not None
    assert m["coverage"] is not None and 0 < m["latency_p50_ms"] <= m["latency_p95_ms"] <= m["latency_max_ms"]
    assert m["dataset"] == "questions" and m["format"] == "jsonl"
    assert m["recall@1_ci_low"] <= m["recall@1"] <= m["recall@1_ci_high"]

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == ["where", "when", "who", "none"]
    where = rows[0]
    assert where["correct"] is True and where["metrics"]["answer_hit"] == 1.0
    assert where["articles"][0] == {
        "rank": 1,
        "article_id": SEED_ID,
        "score": where["articles"][0]["score"],
        "relevant": True,
    }
    assert where["passages"][0]["passage_id"].startswith(SEED_ID + "#")
    assert all(c["roundtrip"] for row in rows for c in row["citations"])
    assert any("Kars" in c["quote"] for c in where["citations"])
    assert set(where["timings_ms"]) >= {"search", "ask", "latency"}
    assert rows[3]["answerable"] is False and rows[3]["metrics"]["answer_hit"] is None

    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "recall@k" in html
    assert "&lt;b&gt;unshakable brotherhood&lt;/b&gt;" in html and "<b>unshakable" not in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_the_summary_splits_answer_hit_only_when_questions_have_a_time_expression(run_a):
    from citeqa.evaluate.cli import format_summary

    r, _ = run_a
    assert "answer_hit " in r.stdout and "_timed" not in r.stdout  # no "yesterday" in this set
    flat = {"n_questions": 3.0, "answer_hit": 0.5, "n_timed": 3.0, "answer_hit_timed": 0.5}
    flat["answer_hit_untimed"] = None  # every question has one: the other half is not measured
    lines = format_summary(flat, {}).splitlines()
    assert lines[2:] == [
        "  answer_hit_timed            0.5000  (3 questions with a time expression; those without a gold "
        "answer not scored)",
        "  answer_hit_untimed               -  (0 questions without; those without a gold answer not scored)",
    ]


def test_fail_under_exits_1_and_lists_only_the_misses(run_a):
    r, _ = run_a
    assert r.returncode == 1, r.stderr
    assert "answer_hit" in r.stderr and "below 1.01" in r.stderr
    assert "recall@1 " not in r.stderr  # met its threshold
    assert "Traceback" not in r.stderr


def test_json_output_and_compare(qset, run_a):
    root, path, kb = qset
    out_b = root / "run-b"
    r = run(
        "eval",
        str(path),
        "--kb",
        str(kb),
        "--out",
        str(out_b),
        "--json",
        "--quiet",
        "--top-k",
        "1",
        "--fail-under",
        "ndcg@10=0.9",
        "--fail-over",
        "latency_p95_ms=1e9",
    )
    assert r.returncode == 0, r.stderr
    printed = json.loads(r.stdout)
    assert printed == json.loads((out_b / "metrics.json").read_text())

    c = run("eval", "compare", str(run_a[1]), str(out_b))
    assert c.returncode == 0, c.stderr
    assert "ndcg@10" in c.stdout and "B-A" in c.stdout and "questions in both runs" in c.stdout
    cj = run("eval", "compare", str(run_a[1]), str(out_b / "metrics.json"), "--json")
    d = json.loads(cj.stdout)
    assert d["shared"] == 4 and d["metrics"]["ndcg@10"]["delta"] == 0.0 and d["outcome"] == "correct"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--fail-under", "nope@3=1"), "unknown metric"),
        (("--fail-under", "ndcg@10"), "METRIC=VALUE"),
        (("--fail-under", "latency_p95_ms=100"), "--fail-over"),
        (("--format", "beir"), "no qrels for split"),
        (("--split", "dev", "extra"), "unrecognized arguments: extra"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(qset, args, needle):
    _, path, kb = qset
    r = run("eval", str(path), "--kb", str(kb), "--quiet", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in r.stderr and "Traceback" not in r.stderr


def test_compare_needs_two_runs(tmp_path):
    r = run("eval", "compare", str(tmp_path))
    assert r.returncode == 2 and "RUN_A RUN_B" in r.stderr
    r = run("eval", "compare", str(tmp_path), str(tmp_path))
    assert r.returncode == 2 and "no metrics.json" in r.stderr
