"""The knowledge base on disk: `embeddings/<name>/`.

    manifest.json     how it was built (format, model, dimension, chunker) and counts
    kb.sqlite         articles, passages, sentence spans and all vectors: the single source of truth
    dense-<gen>.faiss FAISS IndexIDMap2(IndexFlatIP), a cache of the vectors for generation <gen>
    .lock             taken by writers (flock), so two processes never write at once

Why this shape: SQLite commits are atomic, so every write is one transaction that also bumps a
generation number. Index files are derived caches named by generation, written to a temporary file,
fsynced and renamed afterwards. A crash at any moment leaves either the old or the new generation in
SQLite; an index file that is missing or stale for that generation is rebuilt from the stored vectors
on open (no re-embedding). Readers notice another process's commit by the generation and reload.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from citeqa.config import canonical_model
from citeqa.errors import ConfigError, KBError, KBLockedError, KBMismatchError, KBNotFoundError
from citeqa.schema import Article, Passage, Span

FORMAT = "citeqa-kb"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB = "kb.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL,
    url TEXT NOT NULL, published TEXT NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL,
    added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS passages (
    vid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    n_tokens INTEGER NOT NULL, sentences TEXT NOT NULL, vec BLOB NOT NULL, svecs BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id);
"""


@dataclass(frozen=True)
class Manifest:
    """How a knowledge base was built; opening with a different model or dimension is refused."""

    model: str
    dim: int
    chunker: dict[str, int]
    format_version: int = FORMAT_VERSION
    normalized: bool = True
    metric: str = "inner_product"

    def to_dict(self, counts: dict[str, int], generation: int) -> dict[str, object]:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "model": self.model,
            "dim": self.dim,
            "normalized": self.normalized,
            "metric": self.metric,
            "chunker": self.chunker,
            "counts": counts,
            "generation": generation,
        }


@dataclass(frozen=True)
class StoredPassage:
    """A passage to write: its text offsets, vector and per-sentence vectors."""

    passage: Passage
    vector: np.ndarray
    sentence_vectors: np.ndarray


@dataclass(frozen=True)
class ArticleInfo:
    """A row of `citeqa list`."""

    id: str
    title: str
    source: str
    published: str
    path: str
    passages: int
    chars: int


class KnowledgeBase:
    """Articles, passages and the dense index of one folder. Thread-safe; one writer process at a time."""

    def __init__(self, path: Path, manifest: Manifest, conn: sqlite3.Connection) -> None:
        self.path = path
        self.manifest = manifest
        self._conn = conn
        self._lock = threading.RLock()
        self._index: object | None = None
        self._index_gen = -1
        self._on_write: list[Callable[[int], None]] = []

    # ---------------------------------------------------------------- open / create

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, model: str | None = None, dim: int | None = None
    ) -> KnowledgeBase:
        """Open an existing knowledge base, refusing one built with another model or dimension."""
        root = Path(path)
        check_folder(root)  # before the advice below, which would send a file's owner to a failing ingest
        mpath = root / MANIFEST
        if not mpath.is_file():
            raise KBNotFoundError(
                f"no knowledge base at {root}; run `citeqa ingest PATH --kb {root}` to build one"
            )
        try:
            raw = json.loads(mpath.read_text(encoding="utf-8"))
            manifest = Manifest(
                model=str(raw["model"]),
                dim=int(raw["dim"]),
                chunker={str(k): int(v) for k, v in dict(raw["chunker"]).items()},
                format_version=int(raw["format_version"]),
            )
            if raw.get("format") != FORMAT:
                raise ValueError(f"format is {raw.get('format')!r}, expected {FORMAT!r}")
        except (ValueError, KeyError, TypeError) as exc:
            raise KBError(
                f"the manifest {mpath} is damaged ({exc}); run `citeqa repair --kb {root}` "
                "or rebuild with `citeqa ingest`"
            ) from exc
        if manifest.format_version != FORMAT_VERSION:
            raise KBMismatchError(
                f"{root} has knowledge-base format {manifest.format_version}, this citeqa reads "
                f"{FORMAT_VERSION}; rebuild it with `citeqa ingest PATH --kb NEW_DIR`"
            )
        other_model = model is not None and canonical_model(model) != canonical_model(manifest.model)
        if other_model or (dim is not None and dim != manifest.dim):
            asked = f"{model!r}" + (f" (dimension {dim})" if dim is not None else "")
            raise KBMismatchError(
                f"{root} was built with model {manifest.model!r} (dimension {manifest.dim}) but "
                f"{asked} was asked for; open it with --model {manifest.model!r}, "
                "or rebuild it into a new folder with `citeqa ingest PATH --kb NEW_DIR --model ...`"
            )
        if not (root / DB).is_file():
            raise KBError(f"{root / DB} is missing; rebuild with `citeqa ingest PATH --kb {root}`")
        kb = cls(root, manifest, _connect(root / DB))
        if raw.get("counts") != kb.counts() or raw.get("generation") != kb.generation:
            # A crash between a commit and the manifest rewrite leaves stale counts: refresh them.
            with contextlib.suppress(OSError):
                kb._write_manifest()
        return kb

    @classmethod
    def create(cls, path: str | os.PathLike[str], manifest: Manifest) -> KnowledgeBase:
        """A new, empty knowledge base (the folder may exist but must hold no manifest)."""
        root = Path(path)
        check_folder(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # e.g. no write permission in the parent folder
            raise KBError(
                f"cannot create the knowledge-base folder {root} ({exc.strerror or exc}); "
                "choose a folder you can write to"
            ) from exc
        if (root / MANIFEST).exists():
            raise KBError(f"a knowledge base already exists at {root}")
        conn = _connect(root / DB)
        with conn:
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
        kb = cls(root, manifest, conn)
        kb._write_manifest()
        return kb

    def close(self) -> None:
        with self._lock:  # no guard: closing a damaged store must still work
            self._conn.close()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """The lock, and any SQLite failure (a damaged, busy, full or read-only store) turned into a
        KBError that says what to do (`damaged_store`), instead of a traceback from deep inside a read."""
        with self._lock:
            try:
                yield
            except sqlite3.DatabaseError as exc:
                raise damaged_store(self.path, exc) from exc

    # ---------------------------------------------------------------- reads

    @property
    def generation(self) -> int:
        with self._guard():
            row = self._conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def counts(self) -> dict[str, int]:
        with self._guard():
            a = self._conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            p = self._conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        return {"articles": int(a), "passages": int(p)}

    def article_hashes(self) -> dict[str, str]:
        with self._guard():
            return dict(self._conn.execute("SELECT id, hash FROM articles").fetchall())

    def get_article(self, article_id: str) -> Article | None:
        with self._guard():
            row = self._conn.execute(
                "SELECT id, title, text, source, url, published, path FROM articles WHERE id=?",
                (article_id,),
            ).fetchone()
        return Article(*row) if row else None

    def list_articles(self) -> list[ArticleInfo]:
        with self._guard():
            rows = self._conn.execute(
                "SELECT a.id, a.title, a.source, a.published, a.path, COUNT(p.vid), LENGTH(a.text) "
                "FROM articles a LEFT JOIN passages p ON p.article_id = a.id GROUP BY a.id ORDER BY a.id"
            ).fetchall()
        return [ArticleInfo(*r) for r in rows]

    def passages(self, vids: Sequence[int]) -> dict[int, tuple[Passage, np.ndarray]]:
        """Passages (and their sentence vectors) by vector id."""
        if not vids:
            return {}
        marks = ",".join("?" * len(vids))
        with self._guard():
            rows = self._conn.execute(
                'SELECT p.vid, p.id, p.article_id, p.ordinal, p.start, p."end", p.n_tokens, p.sentences, '
                f'p.svecs, substr(a.text, p.start + 1, p."end" - p.start) FROM passages p '
                f"JOIN articles a ON a.id = p.article_id WHERE p.vid IN ({marks})",
                [int(v) for v in vids],
            ).fetchall()
        out = {}
        for vid, pid, aid, ordinal, start, end, n_tokens, sents, svecs, text in rows:
            spans = tuple(Span(a, b) for a, b in json.loads(sents))
            passage = Passage(pid, aid, ordinal, text, start, end, spans, n_tokens)
            out[int(vid)] = (passage, np.frombuffer(svecs, dtype=np.float16).reshape(len(spans), -1))
        return out

    def vectors(self, vids: Sequence[int], *, sentences: bool = False) -> dict[int, np.ndarray]:
        """Passage vectors (or, with `sentences`, each passage's sentence vectors) by vector id:
        hybrid fusion scores candidates that the dense top-k missed, without loading their text."""
        if not vids:
            return {}
        marks = ",".join("?" * len(vids))
        col, dtype = ("svecs", np.float16) if sentences else ("vec", np.float32)
        with self._guard():
            rows = self._conn.execute(
                f"SELECT vid, {col} FROM passages WHERE vid IN ({marks})", [int(v) for v in vids]
            ).fetchall()
        return {int(v): np.frombuffer(b, dtype=dtype).reshape(-1, self.manifest.dim) for v, b in rows}

    def passage_texts(self) -> tuple[int, list[tuple[int, str]]]:
        """(generation, [(vid, title + "\n" + passage text)]) in one snapshot: the lexical index's input."""
        with self._guard():
            own = not self._conn.in_transaction
            if own:  # a read transaction, so the generation and the rows agree under WAL
                self._conn.execute("BEGIN")
            try:
                gen = self.generation
                rows = self._conn.execute(
                    'SELECT p.vid, a.title || char(10) || substr(a.text, p.start + 1, p."end" - p.start) '
                    "FROM passages p JOIN articles a ON a.id = p.article_id ORDER BY p.vid"
                ).fetchall()
            finally:
                if own:
                    self._conn.execute("COMMIT")
        return gen, [(int(v), str(t)) for v, t in rows]

    def passage_ids_of(self, article_id: str) -> list[str]:
        with self._guard():
            rows = self._conn.execute(
                "SELECT id FROM passages WHERE article_id=? ORDER BY ordinal", (article_id,)
            ).fetchall()
        return [r[0] for r in rows]

    # ---------------------------------------------------------------- dense search

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (vector id, inner product) for one normalised query vector."""
        index = self._current_index()
        if index.ntotal == 0:  # type: ignore[attr-defined]
            return []
        scores, ids = index.search(  # type: ignore[attr-defined]
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32),
            min(k, index.ntotal),  # type: ignore[attr-defined]
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _current_index(self) -> object:
        with self._guard():
            gen = self.generation
            if self._index is None or self._index_gen != gen:
                self._index = self._load_or_rebuild_index(gen)
                self._index_gen = gen
            return self._index

    def _index_file(self, gen: int) -> Path:
        return self.path / f"dense-{gen}.faiss"

    def _load_or_rebuild_index(self, gen: int) -> object:
        import faiss

        f = self._index_file(gen)
        n = self.counts()["passages"]
        if f.is_file():
            try:
                index = faiss.read_index(str(f))
                if index.ntotal == n and index.d == self.manifest.dim:
                    return index
            except RuntimeError:
                pass  # damaged cache: rebuilt below from the vectors in SQLite
        index = self._build_index()
        # A read-only folder still answers, from memory (faiss reports a failed write as RuntimeError).
        with contextlib.suppress(OSError, RuntimeError):
            self._save_index(index, gen)
        return index

    def _build_index(self) -> object:
        import faiss

        index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.manifest.dim))
        with self._guard():
            rows = self._conn.execute("SELECT vid, vec FROM passages ORDER BY vid").fetchall()
        if rows:
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vecs = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            index.add_with_ids(vecs, ids)
        return index

    def _save_index(self, index: object, gen: int) -> None:
        import faiss

        final = self._index_file(gen)
        # A private temporary name: a reader that finds this generation's file missing rebuilds and
        # saves it too, and two savers sharing one name would rename each other's file away.
        tmp = private_tmp(final)
        try:
            faiss.write_index(index, str(tmp))
            fsync_path(tmp)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        fsync_path(self.path)
        sweep_generations(self.path, "dense", ".faiss", gen)

    # ---------------------------------------------------------------- writes

    @contextlib.contextmanager
    def writing(self, timeout: float = 30.0) -> Iterator[None]:
        """Hold the writer lock; a second writer waits up to `timeout` seconds, then fails clearly."""
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise KBLockedError(
                            f"{self.path} is being written by another process; try again when it has finished"
                        ) from None
                    time.sleep(0.1)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def write(
        self,
        upserts: Sequence[tuple[Article, str, Sequence[StoredPassage]]],
        removes: Sequence[str] = (),
    ) -> None:
        """Replace/insert articles with their passages and delete others, as one transaction."""
        if not upserts and not removes:
            return
        with self._guard(), self.writing():
            index = self._current_index()
            old_vids: list[int] = []
            new_vecs: list[np.ndarray] = []
            new_vids: list[int] = []
            with self._conn:  # one transaction: all of it or none of it
                ids = [a.id for a, _, _ in upserts] + list(removes)
                for aid in ids:
                    old_vids += [
                        r[0]
                        for r in self._conn.execute("SELECT vid FROM passages WHERE article_id=?", (aid,))
                    ]
                    self._conn.execute("DELETE FROM passages WHERE article_id=?", (aid,))
                    self._conn.execute("DELETE FROM articles WHERE id=?", (aid,))
                now = time.time()
                for article, digest, passages in upserts:
                    self._conn.execute(
                        "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)",
                        (
                            article.id,
                            article.title,
                            article.text,
                            article.source,
                            article.url,
                            article.published,
                            article.path,
                            digest,
                            now,
                        ),
                    )
                    for sp in passages:
                        p = sp.passage
                        vec = np.ascontiguousarray(sp.vector, dtype=np.float32)
                        cur = self._conn.execute(
                            'INSERT INTO passages (id, article_id, ordinal, start, "end", n_tokens, '
                            "sentences, vec, svecs) VALUES (?,?,?,?,?,?,?,?,?)",
                            (
                                p.id,
                                p.article_id,
                                p.ordinal,
                                p.start,
                                p.end,
                                p.n_tokens,
                                json.dumps([[s.start, s.end] for s in p.sentences]),
                                vec.tobytes(),
                                np.ascontiguousarray(sp.sentence_vectors, dtype=np.float16).tobytes(),
                            ),
                        )
                        new_vids.append(int(cur.lastrowid or 0))
                        new_vecs.append(vec)
                gen = self.generation + 1
                self._conn.execute("UPDATE meta SET value=? WHERE key='generation'", (str(gen),))
            # Committed. Bring the in-memory index to the new generation, then persist it.
            if old_vids:
                index.remove_ids(np.array(old_vids, dtype=np.int64))  # type: ignore[attr-defined]
            if new_vids:
                index.add_with_ids(np.stack(new_vecs), np.array(new_vids, dtype=np.int64))  # type: ignore[attr-defined]
            self._index, self._index_gen = index, gen
            self._save_index(index, gen)
            self._write_manifest()
            for hook in self._on_write:  # derived caches (the lexical index), still under the lock
                hook(gen)

    def on_write(self, hook: Callable[[int], None]) -> None:
        """Call `hook(generation)` after each committed write, with the writer lock still held."""
        self._on_write.append(hook)

    def _write_manifest(self) -> None:
        data = self.manifest.to_dict(self.counts(), self.generation)
        _atomic_write(self.path / MANIFEST, json.dumps(data, indent=2, sort_keys=True) + "\n")

    # ---------------------------------------------------------------- verify

    def verify(self) -> list[str]:
        """Every problem found, each a sentence saying what is wrong; empty when all is well."""
        problems: list[str] = []
        with self._lock:  # no guard: verify reports the damage itself
            try:
                rows = self._conn.execute("PRAGMA integrity_check").fetchall()
                if rows != [("ok",)]:
                    problems.append(f"SQLite integrity check failed: {rows[:3]}")
                bad = self._conn.execute(
                    'SELECT p.id, p.start, p."end", LENGTH(a.text) FROM passages p '
                    "LEFT JOIN articles a ON a.id = p.article_id "
                    'WHERE a.id IS NULL OR p.start < 0 OR p."end" > LENGTH(a.text) OR p.start >= p."end"'
                ).fetchall()
                problems += [f"passage {r[0]} points outside its article ({r[1]}:{r[2]})" for r in bad[:10]]
                vids = {r[0] for r in self._conn.execute("SELECT vid FROM passages")}
                bad_vec = self._conn.execute(
                    "SELECT id FROM passages WHERE LENGTH(vec) != ?", (4 * self.manifest.dim,)
                ).fetchall()
                problems += [f"passage {r[0]} has a vector of the wrong size" for r in bad_vec[:10]]
            except sqlite3.DatabaseError as exc:
                return [f"the store {self.path / DB} is unreadable: {exc}"]
        index = self._current_index()
        n = index.ntotal  # type: ignore[attr-defined]
        if n != len(vids):
            problems.append(f"the dense index holds {n} vectors but the store has {len(vids)} passages")
        else:
            ids = {int(index.id_map.at(i)) for i in range(n)}  # type: ignore[attr-defined]
            if ids != vids:
                problems.append("the dense index's ids differ from the store's passages")
        manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("counts") != self.counts():
            problems.append(f"manifest counts {manifest.get('counts')} differ from the store {self.counts()}")
        # Per-article completeness (gaps in ordinals, a missing tail, no passages at all): the check
        # lives beside `citeqa repair`, which fixes what it finds.
        from citeqa.repair import _damaged_articles

        problems += [f"article {a} {why}" for a, why in sorted(_damaged_articles(self).items())][:20]
        return problems


def check_folder(root: Path) -> None:
    """Refuse a knowledge-base path that is a file, or lies under one: it can never be a folder, so
    say so instead of a FileExistsError/NotADirectoryError from mkdir, or "no knowledge base here,
    run `citeqa ingest`" advice that would fail the same way."""
    for p in (root, *root.parents):
        if os.path.isdir(p):  # os.path, not Path: False (never an OSError) for a too-long name
            return
        if os.path.lexists(p):  # a file, a broken link, a FIFO: something that is not a folder
            what = (
                f"{root} is a file, not a knowledge-base folder"
                if p == root
                else f"{root} can't be a knowledge-base folder: {p} is a file"
            )
            raise ConfigError(
                f"{what}; give a folder path instead (`citeqa ingest PATH --kb DIR` creates a "
                "missing folder), or move the file out of the way"
            )


def damaged_store(root: Path, exc: Exception) -> KBError:
    """The KBError for a SQLite failure: only real corruption gets "rebuild" advice; a busy, full,
    read-only or closed store is not damaged and must not send anyone to throw it away."""
    text = " ".join(str(exc).split())
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return KBLockedError(f"the store {root / DB} is busy ({text}); try again when the writer is done")
    code = getattr(exc, "sqlite_errorname", "") or ""  # Python 3.11+
    if code.startswith("SQLITE_CORRUPT") or code == "SQLITE_NOTADB" or "malformed" in text:
        return KBError(
            f"the store {root / DB} is damaged ({text}); it holds the articles themselves, so build "
            "the knowledge base again with `citeqa ingest PATH --kb NEW_DIR`"
        )
    return KBError(
        f"the store {root / DB} could not be used ({type(exc).__name__}: {text}); check the disk "
        "(free space, permissions) and try again"
    )


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
        conn.isolation_level = ""  # `with conn:` then wraps a transaction
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, commits are atomic
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:  # not SQLite at all, damaged, locked, unwritable
        raise damaged_store(path.parent, exc) from exc
    return conn


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


def fsync_path(path: Path) -> None:
    """fsync a file or a folder (a folder's fsync makes a rename in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_tmp(path: Path) -> Path:
    """A temporary name beside `path` that no other thread or process uses: `.name.<pid>.<tid>.tmp`."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def sweep_generations(folder: Path, prefix: str, suffix: str, gen: int) -> None:
    """Delete `prefix-N suffix` cache files of generations older than `gen` (never newer ones: another
    process may have just written them) and temporary files left by writers that died."""
    for old in folder.glob(f"{prefix}-*{suffix}"):
        stem = old.name[len(prefix) + 1 : -len(suffix)]
        if stem.isdigit() and int(stem) < gen:
            old.unlink(missing_ok=True)
    for tmp in folder.glob(f".{prefix}-*.tmp"):
        pid = tmp.name.split(".")[-3]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
