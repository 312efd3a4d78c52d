"""Near copies of one story, kept in the store (`kb.sqlite`) beside the articles they group.

The same wire story run by several outlets (a new headline, a trimmed ending, the outlet's
boilerplate, a few words changed) is one story. nearcopy.py says how two bodies compare; this module
keeps what later writes need, in the same transaction as the articles themselves:

    copy_docs      one row per article: its MinHash signature, its shingle count and its group's
                   canonical article (itself when it has no copy); indexed by canonical
    copy_bands     (LSH band key, doc) for each band of each signature, keyed by the band key
                   (WITHOUT ROWID): a new article finds its candidates with one indexed lookup
                   however many articles are stored, and nothing is loaded into memory
    meta 'copies'  the nearcopy.Params the rows were computed with

Canonical copy: the earliest `published` (dates.published_key; an undated copy after every dated
one), then the earliest added, then the smallest id.

A group is a connected component of "shares an LSH band and nearcopy.same_story confirms it on the
exact shingle sets": a fixed relation (seeded hashes), so groups do not depend on the order in
which articles came. A removed or replaced article leaves its group and the rest is regrouped the
same way (a copy that bridged two others no longer joins them); the earliest remaining copy becomes
canonical.

Knowledge bases made before this module have neither table. They open and answer as before (every
article alone); their next write (an ingest or a remove) computes the rows of every stored article
inside its transaction, and `citeqa repair` does the same on demand.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from citeqa import nearcopy
from citeqa.dates import parse_published, published_key
from citeqa.nearcopy import Params
from citeqa.schema import Article, StoryCopy

_TABLES = (
    "CREATE TABLE IF NOT EXISTS copy_docs (n INTEGER PRIMARY KEY, article_id TEXT UNIQUE NOT NULL, "
    "shingles INTEGER NOT NULL, sig BLOB NOT NULL, canonical TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS copy_docs_canonical ON copy_docs(canonical)",
    "CREATE TABLE IF NOT EXISTS copy_bands (key INTEGER NOT NULL, n INTEGER NOT NULL, "
    "PRIMARY KEY (key, n)) WITHOUT ROWID",
)
PARAMS_KEY = "copies"
_CACHE = 4096  # bodies' shingle sets kept while one write confirms candidates


@dataclass(frozen=True)
class Sketch:
    """What detection needs of an article's body, computed before the write takes the lock."""

    article_id: str
    body: nearcopy.Body
    signature: np.ndarray


def sketch(article: Article, params: Params = nearcopy.DEFAULT) -> Sketch:
    body = nearcopy.body(article.text, params)
    return Sketch(article.id, body, nearcopy.signature(body.shingles, params))


@dataclass(frozen=True)
class Group:
    """The articles that carry one story: the canonical copy first, then the others in the same
    order (earliest published, then earliest added, then id)."""

    members: tuple[StoryCopy, ...]

    @property
    def canonical(self) -> str:
        return self.members[0].article_id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.article_id for m in self.members)

    def others(self, article_id: str) -> tuple[StoryCopy, ...]:
        """Every member but `article_id`, in group order."""
        return tuple(m for m in self.members if m.article_id != article_id)


# ---------------------------------------------------------------- reads


def has_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='copy_docs'").fetchone()
    return row is not None


def groups(conn: sqlite3.Connection, article_ids: Iterable[str]) -> dict[str, Group]:
    """The group of each of `article_ids` that has other members (an article alone is left out)."""
    ids = sorted(set(article_ids))
    if not ids or not has_tables(conn):
        return {}
    rows = conn.execute(
        "SELECT d.canonical, d.article_id, a.title, a.source, a.published, a.added FROM copy_docs d "
        "JOIN articles a ON a.id = d.article_id WHERE d.canonical IN (SELECT canonical FROM copy_docs "
        "WHERE article_id IN (SELECT value FROM json_each(?)))",
        (json.dumps(ids),),
    ).fetchall()
    by_canonical: dict[str, list[tuple[str, str, str, str, float]]] = {}
    for canonical, *member in rows:
        by_canonical.setdefault(canonical, []).append(tuple(member))  # type: ignore[arg-type]
    wanted = set(ids)
    out: dict[str, Group] = {}
    for members in by_canonical.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda m: order_key(m[0], m[3], m[4]))
        group = Group(tuple(StoryCopy(m[0], m[1], m[2], m[3]) for m in members))
        out.update((m[0], group) for m in members if m[0] in wanted)
    return out


def group_of(conn: sqlite3.Connection, article_id: str) -> Group | None:
    """An article's group (a group of one when it has no copy); None for an unknown article."""
    found = groups(conn, [article_id]).get(article_id)
    if found is not None:
        return found
    row = conn.execute("SELECT title, source, published FROM articles WHERE id=?", (article_id,)).fetchone()
    return Group((StoryCopy(article_id, *row),)) if row else None


def article_ids(conn: sqlite3.Connection, vids: Sequence[int]) -> dict[int, str]:
    """The article of each passage (by vector id), without loading any text."""
    if not len(vids):
        return {}
    rows = conn.execute(
        "SELECT vid, article_id FROM passages WHERE vid IN (SELECT value FROM json_each(?))",
        (json.dumps([int(v) for v in vids]),),
    ).fetchall()
    return {int(v): a for v, a in rows}


def passage_texts(conn: sqlite3.Connection, vids: Sequence[int]) -> dict[int, str]:
    """The text of each passage (by vector id), and nothing else (no vectors, no sentence spans)."""
    rows = conn.execute(
        'SELECT p.vid, substr(a.text, p.start + 1, p."end" - p.start) FROM passages p '
        "JOIN articles a ON a.id = p.article_id WHERE p.vid IN (SELECT value FROM json_each(?))",
        (json.dumps([int(v) for v in vids]),),
    ).fetchall()
    return {int(v): t for v, t in rows}


def first_vids(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, int]:
    """One passage (vector id) of each article: a scope lets a question see all of an article's
    passages or none, so one tells whether the article is visible."""
    rows = conn.execute(
        "SELECT article_id, MIN(vid) FROM passages WHERE article_id IN (SELECT value FROM json_each(?)) "
        "GROUP BY article_id",
        (json.dumps(sorted(set(ids))),),
    ).fetchall()
    return {a: int(v) for a, v in rows}


def problem(conn: sqlite3.Connection, params: Params = nearcopy.DEFAULT) -> str:
    """Why the stored rows can't be trusted for every article ("" when they can)."""
    return staleness(conn, params) or gap(conn)


def staleness(conn: sqlite3.Connection, params: Params = nearcopy.DEFAULT) -> str:
    """Why the rows are not those of these settings ("" when they are); the next write, or
    `citeqa repair`, computes them again. Not damage: an older knowledge base has none."""
    stored = _stored_params(conn) if has_tables(conn) else None
    if stored is None:
        return "were never computed (the knowledge base is older than them)"
    if stored != params.to_json():
        return "were computed with other settings"
    return ""


def gap(conn: sqlite3.Connection) -> str:
    """Articles without rows, or rows without an article ("" when they match one to one): damage,
    since every write keeps them in step."""
    docs = conn.execute("SELECT COUNT(*) FROM copy_docs").fetchone()[0]
    matched = conn.execute(
        "SELECT COUNT(*) FROM copy_docs d JOIN articles a ON a.id = d.article_id"
    ).fetchone()[0]
    arts = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    if docs != matched or matched != arts:
        return f"cover {matched} of {arts} articles (and {docs - matched} that are gone)"
    return ""


def order_key(article_id: str, published: str, added: float) -> tuple[bool, object, float, str]:
    """Canonical order: dated before undated, then earliest published, earliest added, smallest id."""
    return (parse_published(published) is None, published_key(published), added, article_id)


def _stored_params(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (PARAMS_KEY,)).fetchone()
    return str(row[0]) if row else None


# ---------------------------------------------------------------- writes (inside the caller's transaction)


def create(conn: sqlite3.Connection, params: Params = nearcopy.DEFAULT) -> None:
    """The tables, empty, marked as computed with `params` (a new knowledge base has no article).
    Statement by statement: executescript would commit the caller's transaction."""
    for sql in _TABLES:
        conn.execute(sql)
    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (PARAMS_KEY, params.to_json()))


def update(
    conn: sqlite3.Connection, added: Sequence[Sketch], gone: Iterable[str], params: Params = nearcopy.DEFAULT
) -> None:
    """After a write changed the articles table: forget `gone` (removed or replaced ids), then
    group `added` (now stored) with the copies already there and with each other. A store whose
    rows are missing or were computed otherwise is recomputed whole instead."""
    if staleness(conn, params):
        rebuild(conn, params)
        return
    state = _Writer(conn, params)
    state.forget(set(gone) | {s.article_id for s in added})
    for s in added:
        state.add(s)


def rebuild(conn: sqlite3.Connection, params: Params = nearcopy.DEFAULT) -> int:
    """Every stored article's rows computed again from its text; how many articles."""
    create(conn, params)
    conn.execute("DELETE FROM copy_docs")
    conn.execute("DELETE FROM copy_bands")
    state = _Writer(conn, params)
    n = 0
    for aid, text in conn.execute("SELECT id, text FROM articles ORDER BY id"):
        state.add(sketch(Article(aid, "", text), params))
        n += 1
    return n


class _Writer:
    """One write's work on the copy tables (bodies' shingle sets cached while it lasts)."""

    def __init__(self, conn: sqlite3.Connection, params: Params) -> None:
        self.conn = conn
        self.params = params
        self._bodies: dict[str, nearcopy.Body] = {}

    def body(self, article_id: str) -> nearcopy.Body:
        found = self._bodies.get(article_id)
        if found is None:
            row = self.conn.execute("SELECT text FROM articles WHERE id=?", (article_id,)).fetchone()
            if len(self._bodies) >= _CACHE:
                self._bodies.clear()
            found = self._bodies[article_id] = nearcopy.body(row[0] if row else "", self.params)
        return found

    def keys(self, sig: np.ndarray, size: int) -> list[int]:
        # Too short to be confirmed as anyone's copy: no band rows, so never anyone's candidate.
        return nearcopy.band_keys(sig, self.params) if size >= self.params.min_shingles else []

    def add(self, s: Sketch) -> None:
        article_id, body, sig = s.article_id, s.body, s.signature
        self._bodies[article_id] = body
        cur = self.conn.execute(
            "INSERT INTO copy_docs (article_id, shingles, sig, canonical) VALUES (?,?,?,?)",
            (article_id, len(body.shingles), sig.astype("<u4").tobytes(), article_id),
        )
        n = int(cur.lastrowid or 0)
        keys = self.keys(sig, len(body.shingles))
        if not keys:
            return
        self.conn.executemany("INSERT OR IGNORE INTO copy_bands VALUES (?, ?)", [(k, n) for k in keys])
        rows = self.conn.execute(
            "SELECT DISTINCT d.article_id, d.canonical FROM copy_bands b JOIN copy_docs d ON d.n = b.n "
            "WHERE b.key IN (SELECT value FROM json_each(?)) AND b.n != ?",
            (json.dumps(keys), n),
        ).fetchall()
        joined = {canonical for other, canonical in rows if self.confirms(body, other)}
        if joined:
            members = {article_id}
            for canonical in joined:
                members.update(self.members(canonical))
            self.assign(members)

    def confirms(self, body: nearcopy.Body, other: str) -> bool:
        return nearcopy.same_story(body, self.body(other), self.params)

    def members(self, canonical: str) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute("SELECT article_id FROM copy_docs WHERE canonical=?", (canonical,))
        ]

    def assign(self, members: Iterable[str]) -> None:
        """Make the earliest of `members` their canonical copy."""
        ids = json.dumps(sorted(members))
        rows = self.conn.execute(
            "SELECT id, published, added FROM articles WHERE id IN (SELECT value FROM json_each(?))", (ids,)
        ).fetchall()
        if rows:
            canonical = min(rows, key=lambda r: order_key(r[0], r[1], r[2]))[0]
            self.conn.execute(
                "UPDATE copy_docs SET canonical=? WHERE article_id IN (SELECT value FROM json_each(?))",
                (canonical, ids),
            )

    def forget(self, ids: set[str]) -> None:
        """Delete the rows of `ids`, then regroup what is left of their groups."""
        affected: set[str] = set()
        for aid in sorted(ids):
            row = self.conn.execute(
                "SELECT n, sig, shingles, canonical FROM copy_docs WHERE article_id=?", (aid,)
            )
            found = row.fetchone()
            if found is None:
                continue
            n, sig, size, canonical = found
            keys = self.keys(np.frombuffer(sig, dtype="<u4"), size)
            self.conn.executemany("DELETE FROM copy_bands WHERE key=? AND n=?", [(k, n) for k in keys])
            self.conn.execute("DELETE FROM copy_docs WHERE n=?", (n,))
            affected.add(canonical)
        for members in [self.members(c) for c in sorted(affected)]:
            self.regroup(members)

    def regroup(self, members: list[str]) -> None:
        """The connected components of what is left of a group, each with its own canonical copy."""
        if len(members) < 2:
            self.assign(members)
            return
        rows = self.conn.execute(
            "SELECT article_id, sig, shingles FROM copy_docs "
            "WHERE article_id IN (SELECT value FROM json_each(?))",
            (json.dumps(members),),
        ).fetchall()
        parent = {aid: aid for aid, _, _ in rows}

        def root(a: str) -> str:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        buckets: dict[int, list[str]] = {}
        for aid, sig, size in rows:
            for key in self.keys(np.frombuffer(sig, dtype="<u4"), size):
                buckets.setdefault(key, []).append(aid)
        tried: set[tuple[str, str]] = set()
        for bucket in buckets.values():
            for i, a in enumerate(bucket):
                for b in bucket[i + 1 :]:
                    pair = (min(a, b), max(a, b))
                    if pair in tried or root(a) == root(b):
                        continue
                    tried.add(pair)
                    if self.confirms(self.body(a), b):
                        parent[root(a)] = root(b)
        components: dict[str, list[str]] = {}
        for aid in parent:
            components.setdefault(root(aid), []).append(aid)
        for component in components.values():
            self.assign(component)
