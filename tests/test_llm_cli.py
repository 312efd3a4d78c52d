"""`citeqa ask`, `chat` with a language model: the scripted server of tests/llm_server.py, a knowledge
base made with the hash test double (the command line's plumbing; the verification is on real text)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from citeqa import Assistant
from citeqa.config import Config
from tests.conftest import REPO, SEED
from tests.llm_server import ScriptedLLM, passage_with

Q = "Where will the Heydar Aliyev-2023 drills be held?"


@pytest.fixture(scope="module")
def hash_kb(tmp_path_factory):
    from citeqa.embed import HashEmbedder

    kb = tmp_path_factory.mktemp("llm-cli") / "kb"
    cfg = Config(reader=False, top_k=20)
    Assistant.build([SEED], kb=kb, embedder=HashEmbedder(dim=64), config=cfg, progress=False).close()
    return kb


@pytest.fixture()
def llm():
    with ScriptedLLM() as server:
        server.script = lambda r: (
            f"The drills will be held in Kars [{passage_with(r, 'be held in Kars')}]. "
            f"They start with 9,000 troops [{passage_with(r, 'be held in Kars')}]."
        )
        yield server


def run(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_LLM")}
    environ.update(PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1", **env)
    cmd = [sys.executable, "-m", "citeqa.cli", *args]
    return subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, env=environ, cwd=REPO, timeout=120
    )


def test_ask_json_with_a_language_model(hash_kb, llm):
    r = run("ask", Q, "--kb", str(hash_kb), "--json", "--llm-url", llm.url, "--llm-model", "scripted")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["mode"] == "llm" and [s["supported"] for s in d["sentences"]] == [True, False]
    assert d["sentences"][1]["flagged"] == ["9,000"]
    assert llm.requests[-1]["body"]["model"] == "scripted"


def test_ask_reads_the_environment_and_marks_unsupported_sentences(hash_kb, llm):
    r = run("ask", Q, "--kb", str(hash_kb), CITEQA_LLM_URL=llm.url, CITEQA_LLM_API_KEY="sk-hidden-77")
    assert r.returncode == 0, r.stderr
    assert "The drills will be held in Kars. [1]" in r.stdout
    # nothing of it is in the passage it cites: no quote to show, so no marker
    assert "They start with 9,000 troops. [unsupported: 9,000 in none of its sources]" in r.stdout
    assert llm.requests[-1]["headers"]["Authorization"] == "Bearer sk-hidden-77"
    assert "sk-hidden-77" not in r.stdout + r.stderr
    assert run("ask", Q, "--kb", str(hash_kb), "--no-llm", "--json", CITEQA_LLM_URL=llm.url).returncode == 0
    assert len(llm.requests) == 1  # --no-llm: the server was not asked


def test_ask_says_how_many_sentences_it_left_out(hash_kb, llm):
    r = run("ask", Q, "--kb", str(hash_kb), "--llm-url", llm.url, "--llm-drop-unsupported")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == [
        "The drills will be held in Kars. [1]",
        "(1 sentence the passages don't support was left out.)",
    ]
    r = run("ask", Q, "--kb", str(hash_kb), "--llm-url", llm.url, "--llm-drop-unsupported", "--json")
    assert json.loads(r.stdout)["notice"] == "1 sentence the passages don't support was left out."


def test_ask_with_a_server_down_gives_the_extractive_answer_and_one_line(hash_kb, llm):
    llm.behaviour = "fail"
    r = run("ask", Q, "--kb", str(hash_kb), "--llm-url", llm.url)
    assert r.returncode == 0 and "Traceback" not in r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("(The language model could not answer (the server at http://127.0.0.1:")
    assert "HTTP 500: model crashed" in first


def test_a_bad_url_is_one_line_on_stderr(hash_kb):
    r = run("ask", Q, "--kb", str(hash_kb), "--llm-url", "ftp://me:pw@host/v1")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "pw" not in r.stderr
    assert r.stderr.strip().startswith("citeqa: error: llm_url must be an http(s) URL")


def test_chat_streams_the_reply_then_shows_it_checked(hash_kb, llm):
    r = run("chat", "--kb", str(hash_kb), "--llm-url", llm.url, stdin=f"{Q}\nAnd when?\n\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "The drills will be held in Kars [" in out  # the model's own words, as they came
    assert out.count("Checked against the passages:") == 2
    assert "[unsupported: 9,000 in none of its sources]" in out
    assert all(req["body"]["stream"] for req in llm.requests)
    follow = llm.requests[-1]["body"]["messages"]
    assert [m["role"] for m in follow] == ["system", "user", "assistant", "user"]


def test_eval_scores_written_answers(hash_kb, llm, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": Q, "answers": ["Kars"]}) + "\n")
    r = run("eval", str(questions), "--kb", str(hash_kb), "--json", "--quiet", "--llm-url", llm.url)
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)
    assert metrics["n_questions"] == 1 and metrics["answer_hit"] == 1.0
    assert metrics["llm_written"] == 1.0 and metrics["supported_sentence_rate"] == 0.5
    assert len(llm.requests) == 1
    r = run("eval", str(questions), "--kb", str(hash_kb), "--json", "--quiet")
    assert json.loads(r.stdout)["llm_written"] is None  # no language model: not measured
