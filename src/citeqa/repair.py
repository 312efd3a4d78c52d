"""`citeqa repair`: rebuild what can be rebuilt of a knowledge base, and say what was done.

kb.sqlite is the single source of truth (article texts, passage offsets, vectors). Everything else is
derived from it and can be rebuilt without the original files:

    manifest.json      counts and generation from the store; model and dimension from the old manifest
                       (or `--model`) and the stored vectors' length
    dense-<gen>.faiss  from the stored vectors (no re-embedding)
    lexical-<gen>.npz  from the stored article texts

Rows are checked too: passages whose article is gone are deleted (nothing to cite them from), and an
article whose passages are missing or damaged is chunked and embedded again from its stored text with
the knowledge base's own model. A store SQLite itself cannot read is beyond repair: rebuild it with
`citeqa ingest`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from citeqa.config import DEFAULT_MODEL, canonical_model
from citeqa.errors import CiteqaError, ConfigError, KBError, KBNotFoundError
from citeqa.store import DB, MANIFEST, KnowledgeBase, Manifest, StoredPassage, _connect


@dataclass
class RepairReport:
    """What `repair` found and did, one sentence each; `remaining` is what it could not fix."""

    actions: list[str] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.remaining


def repair(
    path: str | os.PathLike[str],
    *,
    model: str | None = None,
    embedder: object | None = None,
    say: Callable[[str], None] | None = None,
) -> RepairReport:
    """Check and repair the knowledge base at `path`. `model` names the embedding model when the
    manifest no longer does; `embedder` (else the model, loaded only if needed) re-embeds articles
    whose passages are missing. `say` is called with each action as it happens."""
    root = Path(path)
    report = RepairReport()

    def act(msg: str) -> None:
        report.actions.append(msg)
        if say is not None:
            say(msg)

    if not root.is_dir():
        raise KBNotFoundError(f"no knowledge base at {root}; nothing to repair")
    if not (root / DB).is_file():
        raise KBError(
            f"{root / DB} is missing: the articles themselves are gone and cannot be rebuilt; "
            f"build the knowledge base again with `citeqa ingest PATH --kb {root}`"
        )
    try:
        _repair(root, model, embedder, report, act)
    except sqlite3.DatabaseError as exc:  # e.g. a SQLite file without our tables
        raise KBError(
            f"the store {root / DB} cannot be read ({exc}); it holds the articles themselves, so it "
            f"cannot be repaired: build the knowledge base again with `citeqa ingest PATH --kb {root}`"
        ) from exc
    if not report.actions:
        act("nothing needed repairing")
    return report


def _repair(
    root: Path, model: str | None, embedder: object | None, report: RepairReport, act: Callable[[str], None]
) -> None:
    conn = _connect(root / DB)  # KBError when it is not SQLite at all
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        rows = [(str(exc),)]
    if rows != [("ok",)]:
        conn.close()
        first = " ".join(str(rows[0][0]).split())[:200]  # integrity_check can list hundreds of pages
        raise KBError(
            f"the store {root / DB} is damaged ({first}); it holds the articles themselves, so it "
            f"cannot be repaired: build the knowledge base again with `citeqa ingest PATH --kb {root}`"
        )
    try:
        _check_manifest(root, conn, model, embedder, act)
    finally:
        conn.close()

    kb = KnowledgeBase.open(root, model=model)  # the manifest is whole now; stale counts are refreshed
    try:
        _repair_rows(kb, embedder, act)
        _repair_dense(kb, act)
        _repair_lexical(kb, act)
        _sweep_temporary(kb, act)
        report.remaining += kb.verify()
        report.remaining += [p for p in _row_problems(kb) if p not in report.remaining]
    finally:
        kb.close()


# ---------------------------------------------------------------- manifest


def _check_manifest(
    root: Path,
    conn: sqlite3.Connection,
    model: str | None,
    embedder: object | None,
    act: Callable[[str], None],
) -> None:
    mpath = root / MANIFEST
    raw: object = None
    why = ""
    if not mpath.is_file():
        why = "is missing"
    else:
        try:
            raw = json.loads(mpath.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            why = f"is not valid JSON ({exc})"
    old = raw if isinstance(raw, dict) else {}
    if not why:
        why = _manifest_damage(old)
    counts = _counts(conn)
    gen = _generation(conn)
    if not why:
        if old.get("counts") != counts or old.get("generation") != gen:
            manifest = Manifest(
                model=str(old["model"]),
                dim=int(old["dim"]),
                chunker={str(k): int(v) for k, v in old["chunker"].items()},
                format_version=int(old["format_version"]),
            )
            KnowledgeBase(root, manifest, conn)._write_manifest()
            act(
                f"manifest.json said counts {old.get('counts')} at generation {old.get('generation')}; "
                f"the store holds {counts} at generation {gen}: rewrote the counts"
            )
        return

    # Rebuild the manifest from what survives: the old manifest's fields, --model, the vectors.
    name = model or (old.get("model") if isinstance(old.get("model"), str) and old.get("model") else None)
    if name is None:
        raise ConfigError(
            f"{mpath} {why} and no longer names the embedding model; run `citeqa repair --kb {root} "
            "--model NAME` with the model the knowledge base was built with (by default "
            f"{DEFAULT_MODEL})"
        )
    row = conn.execute("SELECT LENGTH(vec) FROM passages LIMIT 1").fetchone()
    if row:
        dim, dim_from = int(row[0]) // 4, "the stored vectors"
    elif isinstance(old.get("dim"), int) and old["dim"] > 0:
        dim, dim_from = int(old["dim"]), "the old manifest"
    else:
        from citeqa.embed import load_embedder

        emb = embedder if embedder is not None else load_embedder(name)
        dim, dim_from = int(emb.dim), f"the model {name!r}"  # type: ignore[attr-defined]
    chunker, chunk_from = _old_chunker(old)
    manifest = Manifest(model=canonical_model(name), dim=dim, chunker=chunker)
    KnowledgeBase(root, manifest, conn)._write_manifest()
    act(
        f"manifest.json {why}: rewrote it from the store (model {name!r} from "
        f"{'--model' if model else 'the old manifest'}, dimension {dim} from {dim_from}, chunker settings "
        f"from {chunk_from}, counts {counts}, generation {gen})"
    )


def _manifest_damage(m: dict[str, object]) -> str:
    """Why a parsed manifest is unusable, or "" when it is usable."""
    from citeqa.store import FORMAT, FORMAT_VERSION

    if m.get("format") != FORMAT:
        return f"has format {m.get('format')!r}, not {FORMAT!r}"
    if m.get("format_version") != FORMAT_VERSION:
        return f"has format version {m.get('format_version')!r}, not {FORMAT_VERSION}"
    if not isinstance(m.get("model"), str) or not m.get("model"):
        return "has no model name"
    if not isinstance(m.get("dim"), int) or int(m["dim"]) <= 0:  # type: ignore[call-overload]
        return f"has a bad dimension {m.get('dim')!r}"
    if _old_chunker(m)[1] != "the old manifest":
        return f"has bad chunker settings {m.get('chunker')!r}"
    return ""


def _old_chunker(m: dict[str, object]) -> tuple[dict[str, int], str]:
    from citeqa.config import ChunkSettings

    raw = m.get("chunker")
    try:
        if isinstance(raw, dict):
            return ChunkSettings(**{str(k): int(v) for k, v in raw.items()}).to_dict(), "the old manifest"
    except (TypeError, ValueError, CiteqaError):
        pass
    return ChunkSettings().to_dict(), "the defaults (the old manifest lost them)"


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    a = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    p = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    return {"articles": int(a), "passages": int(p)}


def _generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------- rows


def _damaged_articles(kb: KnowledgeBase) -> dict[str, str]:
    """article id → why its passages must be rebuilt (missing, out of range, bad vectors)."""
    conn = kb._conn
    with kb._lock:
        arts = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "SELECT id, LENGTH(text), LENGTH(RTRIM(text, ' ' || char(9,10,13))) FROM articles"
            )
        }
        rows = conn.execute(
            'SELECT p.article_id, p.ordinal, p.start, p."end", LENGTH(p.vec), LENGTH(p.svecs), p.sentences '
            "FROM passages p JOIN articles a ON a.id = p.article_id ORDER BY p.article_id, p.ordinal"
        ).fetchall()
    by_art: dict[str, list[tuple[int, int, int, int, int, str]]] = {}
    for aid, *rest in rows:
        by_art.setdefault(aid, []).append(tuple(rest))
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
        elif any(p[3] != 4 * kb.manifest.dim for p in ps):
            bad[aid] = "has a vector of the wrong size"
        else:
            try:
                ok = all(p[4] == 2 * kb.manifest.dim * len(json.loads(p[5])) for p in ps)
            except ValueError:
                ok = False
            if not ok:
                bad[aid] = "has damaged sentence vectors"
    return bad


def _row_problems(kb: KnowledgeBase) -> list[str]:
    with kb._lock:
        orphans = kb._conn.execute(
            "SELECT COUNT(*) FROM passages p LEFT JOIN articles a ON a.id = p.article_id WHERE a.id IS NULL"
        ).fetchone()[0]
    out = [f"{orphans} passage(s) belong to no article"] if orphans else []
    return out + [f"article {a} {why}" for a, why in sorted(_damaged_articles(kb).items())]


def _repair_rows(kb: KnowledgeBase, embedder: object | None, act: Callable[[str], None]) -> None:
    with kb._lock, kb.writing():
        with kb._conn:
            n = kb._conn.execute(
                "DELETE FROM passages WHERE article_id NOT IN (SELECT id FROM articles)"
            ).rowcount
            if n:
                gen = kb.generation + 1
                kb._conn.execute("UPDATE meta SET value=? WHERE key='generation'", (str(gen),))
        if n:
            kb._index = None
            kb._write_manifest()
            act(f"deleted {n} passage(s) whose article is no longer in the store (nothing to cite them from)")
    bad = _damaged_articles(kb)
    if not bad:
        return
    for aid, why in sorted(bad.items()):
        act(f"article {aid} {why}")
    try:
        emb = embedder
        if emb is None:
            from citeqa.embed import load_embedder

            emb = load_embedder(kb.manifest.model)
    except CiteqaError as exc:
        act(
            f"cannot load the model {kb.manifest.model!r} to embed them again ({exc}); re-ingest their "
            "source files with `citeqa ingest` after removing them with `citeqa remove`"
        )
        return
    from citeqa.config import ChunkSettings
    from citeqa.indexer import Indexer
    from citeqa.ingest import content_hash

    indexer = Indexer(kb, lambda: emb, ChunkSettings(**kb.manifest.chunker))  # type: ignore[arg-type,return-value]
    upserts = []
    for aid in sorted(bad):
        article = kb.get_article(aid)
        if article is None:
            continue
        prep = indexer.prepare(article)
        embedded = indexer._embed(prep.inputs, prep.spans, False)
        stored = [
            StoredPassage(p, e.vector, e.sentence_vectors)
            for p, e in zip(prep.passages, embedded, strict=True)
        ]
        upserts.append((article, content_hash(article), stored))
    kb.write(upserts)
    act(
        f"chunked and embedded {len(upserts)} article(s) again from their stored text with "
        f"{kb.manifest.model!r}: {', '.join(sorted(bad))}"
    )


# ---------------------------------------------------------------- derived files


def _repair_dense(kb: KnowledgeBase, act: Callable[[str], None]) -> None:
    import faiss

    with kb._lock, kb.writing():
        gen = kb.generation
        f = kb._index_file(gen)
        with kb._lock:
            vids = {int(r[0]) for r in kb._conn.execute("SELECT vid FROM passages")}
        why = ""
        if not f.is_file():
            why = "is missing"
        else:
            try:
                index = faiss.read_index(str(f))
            except RuntimeError:  # FAISS's message is C++ internals: say what it means instead
                why = "is unreadable (truncated or damaged)"
            else:
                if index.d != kb.manifest.dim:
                    why = f"has dimension {index.d}, not {kb.manifest.dim}"
                elif index.ntotal != len(vids):
                    why = f"holds {index.ntotal} vectors for {len(vids)} passages"
                else:
                    try:
                        ids = {int(index.id_map.at(i)) for i in range(index.ntotal)}  # type: ignore[attr-defined]
                    except AttributeError:
                        ids = set()
                    if ids != vids:
                        why = "holds other ids than the store's passages"
        if why:
            rebuilt = kb._build_index()
            kb._save_index(rebuilt, gen)
            kb._index, kb._index_gen = rebuilt, gen
            act(f"dense index {f.name} {why}: rebuilt it from the {len(vids)} stored vectors")
        for old in kb.path.glob("dense-*.faiss"):
            if old != f:
                old.unlink(missing_ok=True)
                act(f"deleted {old.name}, left from another generation")


def _repair_lexical(kb: KnowledgeBase, act: Callable[[str], None]) -> None:
    from citeqa.lexical import Analyzer, LexicalIndex
    from citeqa.store import sweep_generations

    with kb._lock, kb.writing():
        gen = kb.generation
        f = kb.path / f"lexical-{gen}.npz"
        n = kb.counts()["passages"]
        index = LexicalIndex.load(f, gen) if f.is_file() else None
        if index is not None and len(index) == n:
            return
        why = "is missing" if not f.is_file() else "is damaged, stale or built with other settings"
        g, rows = kb.passage_texts()
        LexicalIndex.build(rows, g, Analyzer()).save(f)
        sweep_generations(kb.path, "lexical", ".npz", g)
        act(f"lexical index {f.name} {why}: rebuilt it from the {len(rows)} stored passages")


def _sweep_temporary(kb: KnowledgeBase, act: Callable[[str], None]) -> None:
    with kb.writing():  # a live writer's temporary files are its own: only sweep while we hold the lock
        for tmp in sorted(kb.path.glob("*.tmp")) + sorted(kb.path.glob(".*.tmp")):
            if tmp.exists():
                tmp.unlink(missing_ok=True)
                act(f"deleted {tmp.name}, a temporary file left by an interrupted write")
