"""No network at run time: ingest, ask and eval pass with every outbound socket refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, SEED

pytestmark = pytest.mark.slow  # the child process loads the real model (not watched by conftest)

_SCRIPT = r"""
import socket, sys, json

def refuse(*args, **kwargs):
    raise OSError("network is blocked in this test")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

from citeqa import Assistant
kb, seed, questions = sys.argv[1], sys.argv[2], sys.argv[3]
qa = Assistant.build([seed], kb=kb, progress=False)
answer = qa.ask("Where will the Heydar Aliyev-2023 drills be held?")
assert answer.citations, answer
report = qa.evaluate(questions) if hasattr(qa, "evaluate") else None
print(json.dumps({"cited": answer.citations[0].quote, "evaluated": report is not None}))
"""


def test_ingest_ask_and_eval_work_with_the_network_blocked(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "q1",
                "question": "Where will the drills be held?",
                "answers": ["Kars"],
                "answerable": True,
                "relevant_article_ids": ["heydar-aliyev-2023-drills"],
            }
        )
        + "\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    env.pop("HF_HUB_OFFLINE", None)  # citeqa must set what it needs itself
    r = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "kb"), str(SEED), str(questions)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["cited"]
