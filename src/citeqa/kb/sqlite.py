"""The SQLite connection of a knowledge base's store (`kb.sqlite`): opened the same way everywhere,
its failures turned into KBErrors that say what to do, and the reads repair makes before a
`Records` can be trusted (integrity, counts, generation, vector size)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from citeqa.errors import KBError, KBLockedError

DB = "kb.sqlite"


def integrity(path: Path) -> list[tuple[object, ...]]:
    """SQLite's integrity check of a store file, before anything else reads it ([("ok",)] when whole)."""
    conn = connect(path)  # KBError when it is not SQLite at all
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [(str(exc),)]
    finally:
        conn.close()


def stored_summary(path: Path) -> tuple[dict[str, int], int, int | None]:
    """(counts, generation, vector dimension or None without passages) read straight from a store
    file, for rebuilding a lost manifest (raises sqlite3.DatabaseError when the tables are gone)."""
    conn = connect(path)
    try:
        counts, gen = count_rows(conn), read_generation(conn)
        vec = conn.execute("SELECT LENGTH(vec) FROM passages LIMIT 1").fetchone()
    finally:
        conn.close()
    return counts, gen, int(vec[0]) // 4 if vec else None


def count_rows(conn: sqlite3.Connection) -> dict[str, int]:
    a = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    p = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    return {"articles": int(a), "passages": int(p)}


def read_generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    return int(row[0]) if row else 0


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


def connect(path: Path) -> sqlite3.Connection:
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
