"""The knowledge base on disk: manifests, mismatches, atomic writes, corruption, locks."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citeqa import Assistant, KBError, KBMismatchError, KBNotFoundError
from citeqa.schema import Article
from tests.conftest import REPO, SEED, run_in_threads


def _docs(n: int, tag: str = "") -> list[Article]:
    return [
        Article(
            id=f"a{i}", title=f"Doc {i}", text=f"Report {i}{tag}. The river {i} flooded the town of X{i}."
        )
        for i in range(n)
    ]


def test_missing_kb_says_how_to_build(tmp_path):
    with pytest.raises(KBNotFoundError, match="citeqa ingest"):
        Assistant.open(tmp_path / "nope")


@pytest.mark.parametrize("under", [False, True])  # --kb kbfile, --kb kbfile/sub
def test_a_kb_path_that_is_a_file_is_refused_clearly(tmp_path, hash_embedder, under):
    from citeqa import ConfigError
    from citeqa.kb import KnowledgeBase, Manifest

    (tmp_path / "kbfile").write_text("x\n")
    kb = tmp_path / "kbfile" / "sub" if under else tmp_path / "kbfile"
    builders = [
        lambda: Assistant.build(_docs(1), kb=kb, embedder=hash_embedder, progress=False),
        lambda: Assistant.create(kb, embedder=hash_embedder),
        lambda: Assistant.open(kb),
        lambda: KnowledgeBase.create(kb, Manifest(model="m", dim=4, chunker={})),
    ]
    for build in builders:  # never FileExistsError/NotADirectoryError, nor "run citeqa ingest" advice
        with pytest.raises(ConfigError) as info:
            build()
        msg = str(info.value)
        assert "is a file" in msg and "knowledge-base folder" in msg and "give a folder path" in msg
        assert str(tmp_path / "kbfile") in msg
    assert (tmp_path / "kbfile").read_text() == "x\n"  # untouched


def test_other_model_is_refused_with_both_names(tmp_path, hash_embedder):
    Assistant.build(_docs(3), kb=tmp_path / "kb", embedder=hash_embedder, progress=False).close()
    with pytest.raises(KBMismatchError) as info:
        Assistant.open(tmp_path / "kb", model="sentence-transformers/all-MiniLM-L6-v2")
    msg = str(info.value)
    assert "test/hash-embedder" in msg and "all-MiniLM-L6-v2" in msg and "rebuild" in msg


def test_other_model_message_has_no_unknown_dimension(tmp_path, hash_embedder):
    Assistant.build(_docs(1), kb=tmp_path / "kb", embedder=hash_embedder, progress=False).close()
    with pytest.raises(KBMismatchError) as info:
        Assistant.open(tmp_path / "kb", model="other/model")
    assert "None" not in str(info.value)


def test_the_packaged_model_opens_under_any_of_its_names(tmp_path, hash_embedder):
    from citeqa.config import DEFAULT_MODEL
    from citeqa.embed import HashEmbedder

    # A knowledge base built (or repaired) as "all-MiniLM-L6-v2" is the same model as the default name.
    short = HashEmbedder(name="all-MiniLM-L6-v2")
    Assistant.build(_docs(1), kb=tmp_path / "kb", embedder=short, progress=False).close()
    Assistant.open(tmp_path / "kb", model=DEFAULT_MODEL).close()
    Assistant.open(tmp_path / "kb", model="all-minilm-l6-v2").close()
    with pytest.raises(KBMismatchError):
        Assistant.open(tmp_path / "kb", model="sentence-transformers/all-mpnet-base-v2")


def test_other_dimension_is_refused(tmp_path, hash_embedder):
    from citeqa.embed import HashEmbedder

    Assistant.build(_docs(2), kb=tmp_path / "kb", embedder=hash_embedder, progress=False).close()
    with pytest.raises(KBMismatchError, match="dimension"):
        Assistant.open(tmp_path / "kb", embedder=HashEmbedder(dim=32, name=hash_embedder.name))


def test_damaged_manifest_is_reported(tmp_path, hash_embedder):
    Assistant.build(_docs(2), kb=tmp_path / "kb", embedder=hash_embedder, progress=False).close()
    (tmp_path / "kb" / "manifest.json").write_text("{not json")
    with pytest.raises(KBError, match="manifest"):
        Assistant.open(tmp_path / "kb")


def test_deleted_or_truncated_index_is_rebuilt_from_the_store(tmp_path, hash_embedder):
    kb = tmp_path / "kb"
    Assistant.build(_docs(5), kb=kb, embedder=hash_embedder, progress=False).close()
    (index,) = kb.glob("dense-*.faiss")
    index.write_bytes(index.read_bytes()[:100])
    qa = Assistant.open(kb, embedder=hash_embedder)
    assert qa.verify() == []
    assert qa.search("river 3 flooded X3", top_k=1)[0].passage.article_id == "a3"
    qa.close()
    for f in kb.glob("dense-*.faiss"):
        f.unlink()
    qa = Assistant.open(kb, embedder=hash_embedder)
    assert qa.kb.counts()["passages"] == 5 and qa.verify() == []


def test_corrupt_store_is_a_clear_error(tmp_path, hash_embedder):
    kb = tmp_path / "kb"
    Assistant.build(_docs(2), kb=kb, embedder=hash_embedder, progress=False).close()
    for f in kb.glob("kb.sqlite*"):
        f.unlink()
    (kb / "kb.sqlite").write_bytes(b"garbage" * 100)
    with pytest.raises(KBError):
        Assistant.open(kb, embedder=hash_embedder)


def test_remove_leaves_no_vector_behind(tmp_path, hash_embedder):
    qa = Assistant.build(_docs(4), kb=tmp_path / "kb", embedder=hash_embedder, progress=False)
    qa.remove("a1", "a2")
    assert qa.kb.dense.current().ntotal == 2
    ids = qa.kb.dense.ids()
    assert {p.article_id for p, _ in qa.kb.passages(sorted(ids)).values()} == {"a0", "a3"}
    assert qa.verify() == []


def test_second_writer_waits_then_fails_clearly(tmp_path, hash_embedder):
    from citeqa.errors import KBLockedError

    qa = Assistant.build(_docs(1), kb=tmp_path / "kb", embedder=hash_embedder, progress=False)
    other = Assistant.open(tmp_path / "kb", embedder=hash_embedder)
    with (
        qa.kb.writing(),
        pytest.raises(KBLockedError, match="another process"),
        other.kb.writing(timeout=0.3),
    ):
        pass


def test_a_reader_sees_another_writers_commit(tmp_path, hash_embedder):
    writer = Assistant.build(_docs(2), kb=tmp_path / "kb", embedder=hash_embedder, progress=False)
    reader = Assistant.open(tmp_path / "kb", embedder=hash_embedder)
    assert reader.kb.counts()["passages"] == 2
    writer.add([Article(id="new", title="New", text="Penguins marched through the square.")])
    assert reader.search("penguins marched", top_k=1)[0].passage.article_id == "new"


_INGEST_SCRIPT = """
import sys
from citeqa import Assistant
from citeqa.embed import HashEmbedder
from citeqa.schema import Article
kb, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
docs = [Article(id=f"a{i}", title=f"Doc {i}", text=(f"Report {i} {tag}. " * 40)) for i in range(n)]
qa = Assistant.create(kb, embedder=HashEmbedder(dim=64))
print("ready", flush=True)
qa.add(docs, progress=False)
print("done", flush=True)
"""


@pytest.mark.parametrize("seed", range(4))
def test_sigkill_during_ingest_leaves_old_or_new_state(tmp_path, hash_embedder, seed):
    """Kill an ingest at a random moment: the knowledge base opens, verifies, and holds the old
    articles plus the whole batches committed before the kill (a resumable ingest commits every
    512 passages, in article order), never part of an article."""
    rng = random.Random(seed)
    kb = tmp_path / "kb"
    Assistant.build(_docs(3), kb=kb, embedder=hash_embedder, progress=False).close()
    old = {f"a{i}" for i in range(3)}
    n = rng.choice([200, 600, 1200])
    proc = subprocess.Popen(
        [sys.executable, "-c", _INGEST_SCRIPT, str(kb), str(n), f"v{seed}"],
        stdout=subprocess.PIPE,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    time.sleep(rng.uniform(0.0, 0.6))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    qa = Assistant.open(kb, embedder=hash_embedder)
    assert qa.verify() == []
    ids = {a.id for a in qa.articles()}
    assert old <= ids <= {f"a{i}" for i in range(n)}
    assert sorted(int(a[1:]) for a in ids) == list(range(len(ids)))  # a prefix: whole batches in order
    manifest = json.loads((kb / "manifest.json").read_text())
    assert manifest["counts"]["articles"] == len(ids)


def test_concurrent_saves_of_one_generation_do_not_collide(tmp_path, hash_embedder):
    """A reader that finds the new generation's index file missing rebuilds and saves it while the
    writer saves it too: neither may rename the other's temporary file away (seen under load)."""
    qa = Assistant.build(_docs(4), kb=tmp_path / "kb", embedder=hash_embedder, progress=False)
    kb, gen = qa.kb, qa.kb.generation
    index = kb.dense.build()

    def save(_: int) -> None:
        for _ in range(20):
            kb.dense.save(index, gen)

    errors = run_in_threads(save, 4)
    assert errors == []
    assert (tmp_path / "kb" / f"dense-{gen}.faiss").is_file()
    assert not list((tmp_path / "kb").glob("*.tmp")) and not list((tmp_path / "kb").glob(".*.tmp"))
    kb.dense.save(index, gen - 1)  # a late reader of an older generation...
    assert (tmp_path / "kb" / f"dense-{gen}.faiss").is_file()  # ...never deletes a newer file
    qa.close()


def test_concurrent_manifest_rewrites_do_not_collide(tmp_path, hash_embedder):
    """Readers that open a knowledge base with stale counts rewrite its manifest; they used to share
    one temporary name and could rename each other's file away."""
    qa = Assistant.build(_docs(3), kb=tmp_path / "kb", embedder=hash_embedder, progress=False)

    def rewrite(_: int) -> None:
        for _ in range(20):
            qa.kb.write_manifest()

    assert run_in_threads(rewrite, 4) == []
    manifest = json.loads((tmp_path / "kb" / "manifest.json").read_text())
    assert manifest["counts"] == qa.kb.counts()
    assert not list((tmp_path / "kb").glob("*.tmp")) and not list((tmp_path / "kb").glob(".*.tmp"))
    qa.close()


def test_seed_file_is_the_demo_corpus():
    assert SEED.is_file() and Path(REPO / "data" / "articles").is_dir()


def test_only_real_corruption_is_called_damage(tmp_path):
    import sqlite3

    from citeqa.errors import KBLockedError
    from citeqa.kb import damaged_store

    corrupt = damaged_store(tmp_path, sqlite3.DatabaseError("database disk image is malformed"))
    assert "damaged" in str(corrupt) and "citeqa ingest" in str(corrupt)
    assert isinstance(damaged_store(tmp_path, sqlite3.OperationalError("database is locked")), KBLockedError)
    for fine in (
        sqlite3.ProgrammingError("Cannot operate on a closed database."),
        sqlite3.OperationalError("attempt to write a readonly database"),
        sqlite3.OperationalError("database or disk is full"),
    ):
        err = damaged_store(tmp_path, fine)
        assert "damaged" not in str(err) and "ingest" not in str(err) and "disk" in str(err)
