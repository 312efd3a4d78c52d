"""`citeqa repair`: damaged index files, manifests and store rows are each detected with a clear
message and rebuilt from the store; nothing crashes (the CLI prints lines, never a traceback)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from citeqa import Assistant
from citeqa.cli import main
from citeqa.kb import repair
from citeqa.schema import Article
from tests.conftest import REPO

N_ARTICLES = 4


def _article(i: int) -> Article:
    # About 90 sentences of 8 words: several passages per article, so one can go missing in the middle.
    text = " ".join(f"Report {i} sentence {j} says the river {chr(97 + j % 26)} rose." for j in range(90))
    return Article(id=f"a{i}", title=f"Doc {i}", text=text)


@pytest.fixture()
def kb(tmp_path, hash_embedder):
    path = tmp_path / "kb"
    Assistant.build(
        [_article(i) for i in range(N_ARTICLES)], kb=path, embedder=hash_embedder, progress=False
    ).close()
    return path


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _healthy(kb, hash_embedder, passages: int | None = None) -> None:
    qa = Assistant.open(kb, embedder=hash_embedder)
    try:
        assert qa.verify() == []
        assert {a.id for a in qa.articles()} == {f"a{i}" for i in range(N_ARTICLES)}
        if passages is not None:
            assert qa.kb.counts()["passages"] == passages
        hit = qa.search("Report 2 sentence 40 says the river o rose", top_k=1)[0]
        assert hit.passage.article_id == "a2"
        assert qa.article("a2").text[hit.passage.start : hit.passage.end] == hit.passage.text
    finally:
        qa.close()


def _passages(kb) -> int:
    with sqlite3.connect(kb / "kb.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0])


def test_a_whole_knowledge_base_needs_nothing(kb, capsys):
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 0 and "nothing needed repairing" in out and out.strip().endswith(": ok")


@pytest.mark.parametrize("damage", ["truncate", "delete", "garbage"])
def test_dense_and_lexical_files_are_rebuilt(kb, hash_embedder, capsys, damage):
    n = _passages(kb)
    (dense,) = kb.glob("dense-*.faiss")
    (lexical,) = kb.glob("lexical-*.json")
    for f in (dense, lexical):
        if damage == "truncate":
            f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 3])
        elif damage == "delete":
            f.unlink()
        else:
            f.write_bytes(b"\x00garbage" * 50)
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 0, out
    why = "is missing" if damage == "delete" else "is unreadable"
    assert f"dense index {dense.name} {why}" in out and f"rebuilt it from the {n} stored vectors" in out
    assert f"lexical index {lexical.name}" in out and f"rebuilt it from the {n} stored passages" in out
    assert dense.is_file() and lexical.is_file()
    _healthy(kb, hash_embedder, n)
    # and a second run finds nothing left to do
    assert _cli(capsys, "repair", "--kb", str(kb))[1].startswith("repair: nothing needed repairing")


@pytest.mark.parametrize("damage", ["flipped", "missing"])
def test_a_damaged_lexical_segment_is_found_by_its_checksum_and_rebuilt(kb, hash_embedder, capsys, damage):
    # Opening maps the segment files without reading them (fast); repair compares their checksums.
    n = _passages(kb)
    (segment,) = (kb / "lexical").glob("seg-*")
    tfs = segment / "tfs.npy"
    if damage == "flipped":  # same size, one byte changed: only the checksum can tell
        data = bytearray(tfs.read_bytes())
        data[-1] ^= 0xFF
        tfs.write_bytes(bytes(data))
    else:
        tfs.unlink()
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 0, out
    assert "lexical index lexical-" in out and f"rebuilt it from the {n} stored passages" in out
    assert f"deleted lexical/{segment.name}, which the lexical index no longer uses" in out
    _healthy(kb, hash_embedder, n)
    assert _cli(capsys, "repair", "--kb", str(kb))[1].startswith("repair: nothing needed repairing")


def test_repair_sweeps_a_format_1_lexical_file(kb, capsys):
    old = kb / "lexical-3.npz"
    old.write_bytes(b"PK")
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 0 and "deleted lexical-3.npz" in out and not old.exists()


def test_wrong_counts_in_the_manifest_are_rewritten(kb, hash_embedder, capsys):
    m = json.loads((kb / "manifest.json").read_text())
    m["counts"] = {"articles": 99, "passages": 1}
    (kb / "manifest.json").write_text(json.dumps(m))
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 0 and "counts {'articles': 99, 'passages': 1}" in out and "rewrote the counts" in out
    assert json.loads((kb / "manifest.json").read_text())["counts"] == {
        "articles": N_ARTICLES,
        "passages": _passages(kb),
    }
    _healthy(kb, hash_embedder)


def test_garbage_manifest_needs_the_model_name_then_is_rebuilt(kb, hash_embedder, capsys):
    before = json.loads((kb / "manifest.json").read_text())
    (kb / "manifest.json").write_text("{not json at all")
    code, _, err = _cli(capsys, "verify", "--kb", str(kb))
    assert code == 2 and "manifest" in err and "citeqa repair" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 2 and "--model NAME" in err and len(err.strip().splitlines()) == 1
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb), "--model", hash_embedder.name)
    assert code == 0, out
    assert "is not valid JSON" in out and "dimension 64 from the stored vectors" in out
    after = json.loads((kb / "manifest.json").read_text())
    assert {k: after[k] for k in ("model", "dim", "counts", "generation", "format")} == {
        k: before[k] for k in ("model", "dim", "counts", "generation", "format")
    }
    assert "chunker settings from the defaults" in out  # said, since the old ones are lost
    _healthy(kb, hash_embedder)


def test_a_manifest_missing_fields_keeps_its_model(kb, hash_embedder, capsys):
    m = json.loads((kb / "manifest.json").read_text())
    del m["dim"], m["format"]
    (kb / "manifest.json").write_text(json.dumps(m))
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 0 and "model 'test/hash-embedder' from the old manifest" in out
    assert "chunker settings from the old manifest" in out
    _healthy(kb, hash_embedder)


def test_missing_manifest_is_rebuilt(kb, hash_embedder, capsys):
    (kb / "manifest.json").unlink()
    code, _, err = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 2 and "--model" in err
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb), "--model", hash_embedder.name)
    assert code == 0 and "manifest.json is missing" in out
    _healthy(kb, hash_embedder)


def test_missing_passage_rows_are_embedded_again_from_the_article_text(kb, hash_embedder, capsys):
    n = _passages(kb)
    with sqlite3.connect(kb / "kb.sqlite") as conn:
        counts = dict(conn.execute("SELECT article_id, COUNT(*) FROM passages GROUP BY article_id"))
        assert counts["a1"] >= 3
        conn.execute("DELETE FROM passages WHERE article_id='a1' AND ordinal=1")  # a hole in the middle
        conn.execute("DELETE FROM passages WHERE article_id='a3' AND ordinal=?", (counts["a3"] - 1,))  # tail
        conn.execute("DELETE FROM passages WHERE article_id='a0'")  # all of them
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 0, out
    assert "article a1 is missing passages" in out
    assert "article a3 is missing its last passage(s)" in out
    assert "article a0 has no passages" in out
    assert "chunked and embedded 3 article(s) again" in out
    _healthy(kb, hash_embedder, n)


def test_passages_of_a_vanished_article_are_deleted(kb, hash_embedder, capsys):
    with sqlite3.connect(kb / "kb.sqlite") as conn:  # foreign keys are off in this connection
        gone = conn.execute("SELECT COUNT(*) FROM passages WHERE article_id='a2'").fetchone()[0]
        conn.execute("DELETE FROM articles WHERE id='a2'")
    n = _passages(kb)
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 0 and f"deleted {gone} passage(s) whose article is no longer in the store" in out
    qa = Assistant.open(kb, embedder=hash_embedder)
    assert qa.verify() == [] and qa.kb.counts() == {"articles": N_ARTICLES - 1, "passages": n - gone}
    assert all(h.passage.article_id != "a2" for h in qa.search("Report 2 sentence 40", top_k=20))
    qa.close()


def test_leftover_temporary_files_are_swept(kb, capsys):
    (kb / "dense-7.faiss.tmp").write_bytes(b"half")
    code, out, _ = _cli(capsys, "repair", "--kb", str(kb))
    assert code == 0 and "deleted dense-7.faiss.tmp" in out and not (kb / "dense-7.faiss.tmp").exists()


@pytest.mark.parametrize("damage", ["garbage", "missing", "empty-sqlite"])
def test_an_unreadable_store_is_explained_not_repaired(kb, damage):
    import sqlite3

    for f in kb.glob("kb.sqlite*"):
        f.unlink()
    if damage == "garbage":
        (kb / "kb.sqlite").write_bytes(b"garbage" * 100)
    elif damage == "empty-sqlite":  # SQLite, but without the knowledge base's tables
        sqlite3.connect(kb / "kb.sqlite").execute("CREATE TABLE other (x)").connection.close()
    proc = subprocess.run(
        [sys.executable, "-m", "citeqa.cli", "repair", "--kb", str(kb)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1 and "citeqa ingest" in proc.stderr


def test_no_knowledge_base_at_all(tmp_path, capsys):
    code, _, err = _cli(capsys, "repair", "--kb", str(tmp_path / "nope"))
    assert code == 2 and "no knowledge base" in err


def test_repair_as_a_function_reports_and_fixes(kb, hash_embedder):
    for f in kb.glob("dense-*.faiss"):
        f.unlink()
    said: list[str] = []
    report = repair(kb, embedder=hash_embedder, say=said.append)
    assert report.ok and report.actions == said and any("dense index" in a for a in said)


def test_verify_reports_missing_passage_rows(kb, hash_embedder):
    with sqlite3.connect(kb / "kb.sqlite") as conn:
        conn.execute("DELETE FROM passages WHERE article_id='a1' AND ordinal=1")
    qa = Assistant.open(kb, embedder=hash_embedder)
    try:
        assert any("a1" in p for p in qa.verify())
    finally:
        qa.close()
