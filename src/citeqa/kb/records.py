"""`kb.sqlite`: the store of record. Articles, passages, sentence spans and every vector live here;
everything else in a knowledge-base folder is derived from it. Every write is one transaction that
also bumps the generation number, so a crash leaves either the old or the new generation."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from citeqa.kb.sqlite import DB, connect, count_rows, damaged_store, read_generation
from citeqa.schema import Article, Passage, Span
from citeqa.scope import Scope

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


Upsert = tuple[Article, str, Sequence[StoredPassage]]  # article, content hash, its passages
Work = Callable[[sqlite3.Connection], object]
T = TypeVar("T")


@dataclass(frozen=True)
class Written:
    """What one committed write changed: the dense index applies it to reach `generation`."""

    generation: int
    removed: list[int]
    added: list[int]
    vectors: list[np.ndarray]


class Records:
    """One SQLite connection to `kb.sqlite`, shared by threads under one re-entrant lock. Every
    SQLite failure becomes a KBError that says what to do (`damaged_store`)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, dim: int) -> None:
        self.path = path  # the knowledge-base folder
        self.dim = dim
        self._conn = conn
        self.lock = threading.RLock()

    @classmethod
    def connect(cls, root: Path, dim: int, *, create: bool = False) -> Records:
        conn = connect(root / DB)
        if create:
            with conn:
                conn.executescript(_SCHEMA)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
        return cls(root, conn, dim)

    def close(self) -> None:
        with self.lock:  # no guard: closing a damaged store must still work
            self._conn.close()

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """The lock, and any SQLite failure (a damaged, busy, full or read-only store) turned into a
        KBError, instead of a traceback from deep inside a read."""
        with self.lock:
            try:
                yield
            except sqlite3.DatabaseError as exc:
                raise damaged_store(self.path, exc) from exc

    # ---------------------------------------------------------------- reads

    @property
    def generation(self) -> int:
        with self.guard():
            return read_generation(self._conn)

    def counts(self) -> dict[str, int]:
        with self.guard():
            return count_rows(self._conn)

    def article_hashes(self) -> dict[str, str]:
        with self.guard():
            return dict(self._conn.execute("SELECT id, hash FROM articles").fetchall())

    def get_article(self, article_id: str) -> Article | None:
        with self.guard():
            row = self._conn.execute(
                "SELECT id, title, text, source, url, published, path FROM articles WHERE id=?",
                (article_id,),
            ).fetchone()
        return Article(*row) if row else None

    def list_articles(self) -> list[ArticleInfo]:
        with self.guard():
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
        with self.guard():
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
        """Passage vectors (or, with `sentences`, each passage's sentence vectors) by vector id."""
        if not vids:
            return {}
        marks = ",".join("?" * len(vids))
        col, dtype = ("svecs", np.float16) if sentences else ("vec", np.float32)
        with self.guard():
            rows = self._conn.execute(
                f"SELECT vid, {col} FROM passages WHERE vid IN ({marks})", [int(v) for v in vids]
            ).fetchall()
        return {int(v): np.frombuffer(b, dtype=dtype).reshape(-1, self.dim) for v, b in rows}

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(vector ids, vectors) of every passage, in id order: what the dense index is built from."""
        with self.guard():
            rows = self._conn.execute("SELECT vid, vec FROM passages ORDER BY vid").fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def vids_in(self, scope: Scope) -> np.ndarray:
        """The vector ids of the passages a scope lets a question see, ascending (scope.py says how
        dates compare: on the article's own calendar day; undated articles are outside a since/until
        range and inside any as_of)."""
        where, args = [], []
        if scope.articles:
            where.append("a.id IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(scope.articles)))
        if scope.sources:
            where.append("a.source IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(scope.sources)))
        if scope.since:
            where.append("a.published != '' AND substr(a.published, 1, 10) >= ?")
            args.append(scope.since.isoformat())
        if scope.until:
            where.append("a.published != '' AND substr(a.published, 1, 10) <= ?")
            args.append(scope.until.isoformat())
        if scope.as_of:
            where.append("(a.published = '' OR substr(a.published, 1, 10) <= ?)")
            args.append(scope.as_of.isoformat())
        sql = "SELECT p.vid FROM passages p JOIN articles a ON a.id = p.article_id"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.guard():
            rows = self._conn.execute(sql + " ORDER BY p.vid", args).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def published(self, article_ids: Sequence[str]) -> dict[str, str]:
        """`published` of the given articles (those that exist)."""
        if not article_ids:
            return {}
        with self.guard():
            rows = self._conn.execute(
                "SELECT id, published FROM articles WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(article_ids)),),
            ).fetchall()
        return dict(rows)

    def newest_published(self) -> str:
        """The latest `published` day of any article ("" when none is dated)."""
        with self.guard():
            row = self._conn.execute(
                "SELECT MAX(substr(published, 1, 10)) FROM articles WHERE published != ''"
            )
            value = row.fetchone()[0]
        return value or ""

    def vids(self) -> set[int]:
        with self.guard():
            return {int(r[0]) for r in self._conn.execute("SELECT vid FROM passages")}

    def passage_texts(self) -> tuple[int, list[tuple[int, str]]]:
        """(generation, [(vid, title + "\n" + passage text)]) in one snapshot: the lexical index's input."""
        with self.guard():
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
        with self.guard():
            rows = self._conn.execute(
                "SELECT id FROM passages WHERE article_id=? ORDER BY ordinal", (article_id,)
            ).fetchall()
        return [r[0] for r in rows]

    # ---------------------------------------------------------------- writes

    def write(
        self, upserts: Sequence[Upsert], removes: Sequence[str] = (), after: Work | None = None
    ) -> Written:
        """Replace/insert articles with their passages and delete others, as one transaction that
        bumps the generation; `after(connection)` runs inside it last (a peer's own tables, such as
        kb/copies.py's, change with the articles or not at all). The caller holds the writer lock."""
        old_vids: list[int] = []
        new_vecs: list[np.ndarray] = []
        new_vids: list[int] = []
        with self.guard(), self._conn:  # one transaction: all of it or none of it
            for aid in [a.id for a, _, _ in upserts] + list(removes):
                old_vids += [
                    r[0] for r in self._conn.execute("SELECT vid FROM passages WHERE article_id=?", (aid,))
                ]
                self._conn.execute("DELETE FROM passages WHERE article_id=?", (aid,))
                self._conn.execute("DELETE FROM articles WHERE id=?", (aid,))
            now = time.time()
            for article, digest, passages in upserts:
                a = article
                self._conn.execute(
                    "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)",
                    (a.id, a.title, a.text, a.source, a.url, a.published, a.path, digest, now),
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
            if after is not None:
                after(self._conn)
            gen = self._bump()
        return Written(gen, old_vids, new_vids, new_vecs)

    def run(self, work: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        """`work(connection)` under the lock (with `write`, as one transaction), for the store's
        peers that keep tables of their own in the same file (kb/copies.py)."""
        with self.guard(), self._conn if write else contextlib.nullcontext():
            return work(self._conn)

    def delete_orphans(self) -> int:
        """Delete passages whose article is gone (nothing to cite them from); bumps the generation
        when there were any. The caller holds the writer lock."""
        with self.guard(), self._conn:
            n = self._conn.execute(
                "DELETE FROM passages WHERE article_id NOT IN (SELECT id FROM articles)"
            ).rowcount
            if n:
                self._bump()
        return int(n)

    def _bump(self) -> int:
        gen = self.generation + 1
        self._conn.execute("UPDATE meta SET value=? WHERE key='generation'", (str(gen),))
        return gen

    # ---------------------------------------------------------------- checks

    def problems(self) -> list[str]:
        """What SQLite's integrity check and the row checks find (offsets, vector sizes). Raises
        sqlite3.DatabaseError when the store cannot be read at all."""
        problems: list[str] = []
        with self.lock:  # no guard: the caller reports the damage itself
            rows = self._conn.execute("PRAGMA integrity_check").fetchall()
            if rows != [("ok",)]:
                problems.append(f"SQLite integrity check failed: {rows[:3]}")
            bad = self._conn.execute(
                'SELECT p.id, p.start, p."end", LENGTH(a.text) FROM passages p '
                "LEFT JOIN articles a ON a.id = p.article_id "
                'WHERE a.id IS NULL OR p.start < 0 OR p."end" > LENGTH(a.text) OR p.start >= p."end"'
            ).fetchall()
            problems += [f"passage {r[0]} points outside its article ({r[1]}:{r[2]})" for r in bad[:10]]
            bad_vec = self._conn.execute(
                "SELECT id FROM passages WHERE LENGTH(vec) != ?", (4 * self.dim,)
            ).fetchall()
            problems += [f"passage {r[0]} has a vector of the wrong size" for r in bad_vec[:10]]
        return problems

    def orphans(self) -> int:
        """Passages whose article is gone."""
        with self.lock:  # no guard: repair reports an unreadable store itself
            return int(
                self._conn.execute(
                    "SELECT COUNT(*) FROM passages p LEFT JOIN articles a ON a.id = p.article_id "
                    "WHERE a.id IS NULL"
                ).fetchone()[0]
            )

    def damaged_articles(self) -> dict[str, str]:
        """article id → why its passages must be rebuilt (missing, out of range, bad vectors)."""
        with self.lock:  # no guard: repair reports an unreadable store itself
            arts = {
                r[0]: (r[1], r[2])
                for r in self._conn.execute(
                    "SELECT id, LENGTH(text), LENGTH(RTRIM(text, ' ' || char(9,10,13))) FROM articles"
                )
            }
            rows = self._conn.execute(
                'SELECT p.article_id, p.ordinal, p.start, p."end", LENGTH(p.vec), LENGTH(p.svecs), '
                "p.sentences FROM passages p JOIN articles a ON a.id = p.article_id "
                "ORDER BY p.article_id, p.ordinal"
            ).fetchall()
        by_art: dict[str, list[tuple[int, int, int, int, int, str]]] = {}
        for aid, *rest in rows:
            by_art.setdefault(aid, []).append(tuple(rest))  # type: ignore[arg-type]
        bad: dict[str, str] = {}
        for aid, (length, content) in arts.items():
            ps = by_art.get(aid, [])
            if not ps:
                if content:
                    bad[aid] = "has no passages"
                continue
            if [p[0] for p in ps] != list(range(len(ps))):
                bad[aid] = f"is missing passages (ordinals {[p[0] for p in ps][:8]})"
            elif any(not 0 <= p[1] < p[2] <= length for p in ps):
                bad[aid] = "has a passage outside its text"
            elif max(p[2] for p in ps) < content:
                bad[aid] = "is missing its last passage(s)"
            elif any(p[3] != 4 * self.dim for p in ps):
                bad[aid] = "has a vector of the wrong size"
            else:
                try:
                    ok = all(p[4] == 2 * self.dim * len(json.loads(p[5])) for p in ps)
                except ValueError:
                    ok = False
                if not ok:
                    bad[aid] = "has damaged sentence vectors"
        return bad
