"""The command line: one-line errors with a non-zero exit, JSON on request."""

from __future__ import annotations

import argparse
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
    assert d["short"]["text"] == "Kars" and d["answer"].startswith("Kars.")  # the answer first
    assert d["short"]["citation"] == 1


def test_ask_says_plainly_what_the_articles_dont_say(cli_kb):
    r = run("ask", "Who won the 2022 FIFA World Cup?", kb=cli_kb)
    assert r.returncode == 0, r.stderr
    first, *rest = r.stdout.splitlines()
    assert first == "The articles don't say who won the 2022 FIFA World Cup."
    assert any(line.startswith("Why: ") for line in rest)  # the scores, apart from the answer
    assert "Closest passages:" in r.stdout


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


@pytest.mark.slow  # the child process loads the real model (not watched by conftest)
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
    assert "Loading the model…" in r.stderr  # before the prompt, not while the first question waits
    assert "you> Where will the Heydar Aliyev-2023 drills be held?" in out  # piped questions are echoed
    first, follow = out.split("you> Which border checkpoint")
    assert "Kars" in first and "[1] Heydar Aliyev 2023 drills, 2023-04-18" in first
    assert "Sadarak" in follow and '    "' in follow  # the quoted span under its citation


# --- --kb naming a file (issue 12) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("ingest", str(REPO / "data" / "articles")),
        ("ask", "Where?"),
        ("list",),
        ("verify",),
        ("remove", "some-id"),
    ],
)
@pytest.mark.parametrize("under", [False, True])  # --kb kbfile, --kb kbfile/sub
def test_kb_that_is_a_file_is_one_clear_line(tmp_path, args, under):
    kbfile = tmp_path / "kbfile"
    kbfile.write_text("x\n")
    r = run(*args, kb=kbfile / "sub" if under else kbfile)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "is a file" in r.stderr and "knowledge-base folder" in r.stderr
    assert "no knowledge base at" not in r.stderr  # no advice to run an ingest that would fail
    assert kbfile.read_text() == "x\n"


# --- a closed pipe (issue 12) --------------------------------------------------------------------


def _closed_early(*args: str) -> subprocess.Popen[bytes]:
    """Run citeqa with its stdout a pipe whose reader has already gone (as after `| head -1`)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "citeqa.cli", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)
    proc.stdout.close()  # long before the child has imported anything, let alone printed
    proc.wait(timeout=300)
    return proc


def _quiet_broken_pipe(proc: subprocess.Popen[bytes]) -> None:
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.returncode == 141, err  # 128 + SIGPIPE, as a shell reports for `yes | head`
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err


@pytest.fixture(scope="module")
def big_kb(tmp_path_factory):
    """700 articles (HashEmbedder): `list --json` prints far more than a pipe buffer holds."""
    from citeqa import Assistant
    from citeqa.embed import HashEmbedder
    from citeqa.schema import Article

    kb = tmp_path_factory.mktemp("big") / "kb"
    docs = [
        Article(id=f"doc-{i:04d}", title=f"Report {i}", text=f"Report {i} says the river rose.")
        for i in range(700)
    ]
    Assistant.build(docs, kb=kb, embedder=HashEmbedder(dim=8), progress=False).close()
    return kb


def test_list_into_head_stops_quietly(big_kb):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "citeqa.cli", "list", "--json", "--kb", str(big_kb)]
    lister = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)
    head = subprocess.run(["head", "-c", "100"], stdin=lister.stdout, capture_output=True, timeout=300)
    lister.stdout.close()  # head holds the only reading end; when it exits, the pipe is closed
    lister.wait(timeout=300)
    assert head.stdout.startswith(b'[\n  {\n    "id": "doc-0000"') and len(head.stdout) == 100
    _quiet_broken_pipe(lister)


@pytest.mark.parametrize("args", [("list",), ("list", "--json")])
def test_list_into_a_closed_pipe_stops_quietly(big_kb, args):
    _quiet_broken_pipe(_closed_early(*args, "--kb", str(big_kb)))


def test_ask_and_ingest_into_a_closed_pipe_stop_quietly(cli_kb):
    _quiet_broken_pipe(_closed_early("ask", "Where will the drills be held?", "--json", "--kb", str(cli_kb)))
    # Unchanged articles: nothing is embedded, the report is all there is to print.
    ingest = ("ingest", str(REPO / "data" / "articles"), "--kb", str(cli_kb))
    _quiet_broken_pipe(_closed_early(*ingest, "--json"))
    _quiet_broken_pipe(_closed_early(*ingest))


def test_eval_compare_into_a_closed_pipe_stops_quietly(tmp_path):
    for name, value in (("a", 0.5), ("b", 0.7)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps({"recall@1": value, "ndcg@10": value}))
    compare = ("eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"))
    _quiet_broken_pipe(_closed_early(*compare))
    _quiet_broken_pipe(_closed_early(*compare, "--json"))


# --- chat: the model first, long lines clipped (issue 12) ----------------------------------------


@pytest.fixture()
def hash_chat(tmp_path, monkeypatch):
    """A one-article knowledge base whose model `citeqa chat` loads is a HashEmbedder; `events`
    records when it is loaded and when the chat asks for input."""
    from citeqa import Assistant
    from citeqa.embed import HashEmbedder
    from citeqa.schema import Article

    kb = tmp_path / "kb"
    doc = Article(id="bridge", title="Bridge", text="The bridge over the Araz river opened on Friday.")
    Assistant.build([doc], kb=kb, embedder=HashEmbedder(dim=16), progress=False).close()
    events: list[str] = []

    def load_embedder(*args, **kwargs):
        events.append("load")
        return HashEmbedder(dim=16)

    monkeypatch.setattr("citeqa.assistant.load_embedder", load_embedder)
    return kb, events


@pytest.mark.slow  # chat warms up the shipped reader too
def test_chat_loads_the_model_before_the_first_prompt(hash_chat, monkeypatch, capsys):
    from citeqa.cli import main

    kb, events = hash_chat

    def prompt(text=""):
        events.append("prompt")
        raise EOFError

    monkeypatch.setattr("builtins.input", prompt)
    assert main(["chat", "--kb", str(kb)]) == 0
    assert events == ["load", "prompt"]  # a prompt means "ready": the first question doesn't wait
    assert "Loading the model…" in capsys.readouterr().err


@pytest.mark.slow  # chat warms up the shipped reader too
def test_chat_echoes_only_the_start_of_a_huge_piped_line(hash_chat, monkeypatch, capsys):
    import io

    from citeqa.cli import main

    kb, _ = hash_chat
    monkeypatch.setattr("sys.stdin", io.StringIO("x" * 5_000_000 + "\n\n"))
    assert main(["chat", "--kb", str(kb)]) == 0
    out = capsys.readouterr().out
    assert len(out) < 1000, out[:300]
    assert "you> " + "x" * 200 + "…\n" in out  # the echo: a prefix, marked as cut
    assert "citeqa: the question is 5,000,000 characters long" in out  # the one-line error after it


# --- ingest notes files that were not UTF-8 (issue 12) -------------------------------------------


def test_ingest_reports_the_encoding_of_files_that_are_not_utf8(tmp_path, monkeypatch, capsys):
    from citeqa.cli import main
    from citeqa.embed import HashEmbedder

    monkeypatch.setattr("citeqa.assistant.load_embedder", lambda *a, **k: HashEmbedder(dim=16))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "cafe.txt").write_bytes("The café – “quoted” – reopened in Kars.".encode("cp1252"))
    (docs / "wide.md").write_bytes("# Wide\n\nA bridge opened on Friday.".encode("utf-16"))
    (docs / "plain.txt").write_text("A plain UTF-8 article.", encoding="utf-8")
    (docs / "bad.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert main(["ingest", str(docs), "--kb", str(tmp_path / "kb"), "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["added"]) == ["cafe", "plain", "wide"]
    assert report["encodings"] == [
        {"path": "cafe.txt", "encoding": "cp1252"},
        {"path": "wide.md", "encoding": "utf-16"},
    ]
    assert [s["path"] for s in report["skipped"]] == ["bad.txt"]
    assert main(["ingest", str(docs), "--kb", str(tmp_path / "kb"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "  note cafe.txt: read as cp1252, not UTF-8\n" in out and "  note wide.md: read as utf-16" in out
    assert "  skipped bad.txt: not text (a binary file" in out


# --- help (issue 12) ---------------------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser, name: str = "citeqa"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_option_and_subcommand_has_help():
    from citeqa.cli import build_parser

    parser = build_parser()
    names = [name for name, _ in _parsers(parser)]
    assert {"citeqa ingest", "citeqa ask", "citeqa chat", "citeqa eval", "citeqa list"} <= set(names)
    missing = []
    for name, p in _parsers(parser):
        for action in p._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{name} {c.dest}" for c in action._choices_actions if not (c.help or "").strip()]
            elif not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


# --- an interrupted ingest (issue 13) ------------------------------------------------------------


@pytest.mark.slow  # the child process loads the real model (not watched by conftest)
def test_ctrl_c_during_ingest_keeps_the_committed_batches_and_a_rerun_continues(tmp_path):
    import signal
    import sqlite3
    import time

    docs = tmp_path / "docs"
    docs.mkdir()
    body = " ".join(f"The river rose by {k} inches overnight at gauge {k}." for k in range(15))
    for i in range(600):  # ~150-word passages: about 7 s of embedding at bfloat16's 90 passages/s
        (docs / f"a{i:03d}.txt").write_text(f"Report {i}\n\n{body} Report {i} ends.\n")
    kb = tmp_path / "kb"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "citeqa.cli", "ingest", str(docs), "--kb", str(kb), "--commit-every", "16"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
        text=True,
        # A suite started in the background (nohup, `&`) ignores SIGINT, and children inherit that:
        # give the child the default, as a terminal would, so Ctrl-C reaches it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    committed = 0
    while committed < 16 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
        if (kb / "kb.sqlite").exists():
            try:
                with sqlite3.connect(kb / "kb.sqlite", timeout=1) as conn:
                    committed = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            except sqlite3.Error:
                pass
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the ingest finished before the interrupt landed")
    assert proc.returncode == 130 and "Traceback" not in err, err
    line = [x for x in err.splitlines() if x.startswith("citeqa: interrupted")][-1]
    assert "kept" in line and "of 600" in line and "run the same ingest again" in line
    kept = int(line.split("kept ")[1].split()[0])
    assert 16 <= kept < 600

    again = run("ingest", str(docs), "--json", "--quiet", kb=kb)
    report = json.loads(again.stdout)
    assert len(report["unchanged"]) == kept and len(report["added"]) == 600 - kept
    assert run("verify", kb=kb).returncode == 0


def test_serve_on_a_busy_port_says_how_to_pick_another(tmp_path):
    """A fresh user's report: a second `make run` printed "serving on" and then Gradio's advice
    about GRADIO_SERVER_PORT; it now stops first and names --port / PORT=."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run("serve", "--port", str(port), kb=tmp_path / "kb")
    assert r.returncode == 2 and "serving on" not in r.stdout, (r.stdout, r.stderr)
    assert f"port {port} on 127.0.0.1 is in use" in r.stderr and "--port N (make run PORT=N)" in r.stderr
    assert "Traceback" not in r.stderr


def test_answers_show_each_cited_articles_date(capsys):
    from citeqa.cli import print_answer
    from citeqa.schema import Answer, AnswerSentence, Citation

    cites = (
        Citation(
            1, "ferry", "ferry#0", 0, 18, "The ferry resumed.", "Ferry", "", "2024-03-05T14:30:00+01:00"
        ),
        Citation(2, "port", "port#0", 0, 13, "The port grew.", "Port", "", "2024-03-06"),
        Citation(3, "undated", "undated#0", 0, 4, "Calm", "Undated", "", ""),
    )
    sents = tuple(AnswerSentence(c.quote, (c.n,)) for c in cites)
    answer = Answer("What happened?", "…", sents, cites, (), False, 0.9)
    print_answer(answer)
    out = capsys.readouterr().out
    assert "[1] Ferry, 2024-03-05 14:30 +01:00 (ferry, chars 0-18)" in out
    assert "[2] Port, 2024-03-06 (port, chars 0-13)" in out and "[3] Undated (undated, chars 0-4)" in out
    # The JSON keeps the stored ISO 8601 form, offset included.
    assert [c["published"] for c in answer.to_dict()["citations"]] == [c.published for c in cites]
