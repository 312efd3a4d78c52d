"""The command line: one-line errors with a non-zero exit, JSON on request."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO


def run(*args: str, kb=None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "citeqa.cli", *args] + (["--kb", str(kb)] if kb else [])
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


@pytest.fixture(scope="module")
def cli_kb(seed_kb, tmp_path_factory):
    copy = tmp_path_factory.mktemp("cli") / "kb"
    shutil.copytree(seed_kb, copy)
    return copy


def test_ask_json_follows_the_contract(cli_kb):
    r = run("ask", "Where will the Heydar Aliyev-2023 drills be held?", "--json", kb=cli_kb)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["question"].startswith("Where") and d["citations"] and d["passages"]
    assert any("Kars" in c["quote"] for c in d["citations"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("ask", ""), "question is empty"),
        (("ask", "x" * 3000), "limit"),
        (("ask", "Where?", "--top-k", "0"), "top_k"),
        (("ask", "Where?", "--top-k", "abc"), "whole number"),
        (("remove", "no-such-id"), "no article"),
    ],
)
def test_bad_input_is_one_line_no_traceback(cli_kb, args, needle):
    r = run(*args, kb=cli_kb)
    assert r.returncode != 0
    assert needle in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_kb_is_explained(tmp_path):
    r = run("ask", "Where?", kb=tmp_path / "missing")
    assert r.returncode == 2 and "citeqa ingest" in r.stderr and "Traceback" not in r.stderr


def test_list_verify_and_idempotent_ingest(cli_kb):
    r = run("list", "--json", kb=cli_kb)
    assert [a["id"] for a in json.loads(r.stdout)] == ["heydar-aliyev-2023-drills"]
    assert (
        run("verify", kb=cli_kb).stdout.strip().endswith("8 passages)")
        or "ok" in run("verify", kb=cli_kb).stdout
    )
    r = run("ingest", str(REPO / "data" / "articles"), kb=cli_kb)
    assert r.returncode == 0 and "1 unchanged" in r.stdout


def test_ingest_reports_skipped_files(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "good.txt").write_text("The bridge over the Araz river reopened on Monday.")
    (tmp_path / "docs" / "bad.txt").write_bytes(b"\x00\xff\xfe binary")
    r = run("ingest", str(tmp_path / "docs"), kb=tmp_path / "kb")
    assert r.returncode == 0, r.stderr
    assert "1 added" in r.stdout and "skipped" in r.stdout and "bad.txt" in r.stdout


@pytest.mark.parametrize("name", ["typo-dir", "a" * 300])  # 300 characters: too long for a file name
def test_ingest_of_nothing_that_exists_is_an_error(tmp_path, name):
    r = run("ingest", str(tmp_path / name), kb=tmp_path / "kb")
    assert r.returncode == 2 and "no such file or folder" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "kb").exists()  # nothing was built


def test_damaged_store_is_one_line_no_traceback(cli_kb, tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(cli_kb, kb)
    for extra in kb.glob("kb.sqlite-*"):  # WAL and shared-memory files would hold good copies
        extra.unlink()
    db = kb / "kb.sqlite"
    data = bytearray(db.read_bytes())
    page = 4096
    data[page:] = bytes((i * 7 + 3) % 251 for i in range(len(data) - page))  # every page but the header
    db.write_bytes(bytes(data))
    commands = [("ask", "Where is it held?"), ("list",), ("remove", "x"), ("verify",), ("repair",)]
    for args in commands:
        r = run(*args, kb=kb)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert "citeqa ingest" in r.stderr  # says how to get going again


def test_terminal_chat_prints_numbered_citations_and_follows_up(cli_kb):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    r = subprocess.run(
        [sys.executable, "-m", "citeqa.cli", "chat", "--kb", str(cli_kb)],
        input="Where will the Heydar Aliyev-2023 drills be held?\nWhich border checkpoint did they pass?\n\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "citeqa chat over 1 article in" in out
    assert "you> Where will the Heydar Aliyev-2023 drills be held?" in out  # piped questions are echoed
    first, follow = out.split("you> Which border checkpoint")
    assert "Kars" in first and "[1] Heydar Aliyev 2023 drills, 2023-04-18" in first
    assert "Sadarak" in follow and '    "' in follow  # the quoted span under its citation
