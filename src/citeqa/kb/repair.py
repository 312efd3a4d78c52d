"""`citeqa repair`: rebuild what can be rebuilt of a knowledge base, and say what was done.

kb.sqlite is the single source of truth (article texts, passage offsets, vectors). Everything else is
derived from it and can be rebuilt without the original files:

    manifest.json      counts and generation from the store; model and dimension from the old manifest
                       (or `--model`) and the stored vectors' length
    dense-<gen>.faiss  from the stored vectors (no re-embedding)
    lexical-<gen>.npz  from the stored article texts
    near-copy groups   from the stored article texts (kb/copies.py), when missing, stale or partial

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

from citeqa.config import DEFAULT_MODEL, ChunkSettings, canonical_model
from citeqa.errors import CiteqaError, ConfigError, KBError, KBNotFoundError
from citeqa.ingest import content_hash
from citeqa.kb import manifest as manifest_file
from citeqa.kb.indexer import Indexer
from citeqa.kb.lexical import LexicalIndex
from citeqa.kb.manifest import MANIFEST, Manifest
from citeqa.kb.sqlite import DB, integrity, stored_summary
from citeqa.kb.store import KnowledgeBase


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
    rows = integrity(root / DB)  # KBError when it is not SQLite at all
    if rows != [("ok",)]:
        first = " ".join(str(rows[0][0]).split())[:200]  # integrity_check can list hundreds of pages
        raise KBError(
            f"the store {root / DB} is damaged ({first}); it holds the articles themselves, so it "
            f"cannot be repaired: build the knowledge base again with `citeqa ingest PATH --kb {root}`"
        )
    _check_manifest(root, model, embedder, act)

    kb = KnowledgeBase.open(root, model=model)  # the manifest is whole now; stale counts are refreshed
    try:
        _repair_rows(kb, embedder, act)
        _repair_copies(kb, act)
        _repair_dense(kb, act)
        _repair_lexical(kb, act)
        _sweep_temporary(kb, act)
        report.remaining += kb.verify()
        report.remaining += [p for p in _row_problems(kb) if p not in report.remaining]
    finally:
        kb.close()


# ---------------------------------------------------------------- manifest


def _check_manifest(
    root: Path, model: str | None, embedder: object | None, act: Callable[[str], None]
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
        why = manifest_file.damage(old)
    counts, gen, stored_dim = stored_summary(root / DB)
    if not why:
        if old.get("counts") != counts or old.get("generation") != gen:
            Manifest.from_dict(old).write(root, counts, gen)
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
    if stored_dim is not None:
        dim, dim_from = stored_dim, "the stored vectors"
    elif isinstance(old.get("dim"), int) and old["dim"] > 0:
        dim, dim_from = int(old["dim"]), "the old manifest"
    else:
        from citeqa.embed import load_embedder

        emb = embedder if embedder is not None else load_embedder(name)
        dim, dim_from = int(emb.dim), f"the model {name!r}"  # type: ignore[attr-defined]
    chunker, chunk_from = manifest_file.chunker_of(old)
    Manifest(model=canonical_model(name), dim=dim, chunker=chunker).write(root, counts, gen)
    act(
        f"manifest.json {why}: rewrote it from the store (model {name!r} from "
        f"{'--model' if model else 'the old manifest'}, dimension {dim} from {dim_from}, chunker settings "
        f"from {chunk_from}, counts {counts}, generation {gen})"
    )


# ---------------------------------------------------------------- rows


def _row_problems(kb: KnowledgeBase) -> list[str]:
    orphans = kb.records.orphans()
    out = [f"{orphans} passage(s) belong to no article"] if orphans else []
    return out + [f"article {a} {why}" for a, why in sorted(kb.records.damaged_articles().items())]


def _repair_rows(kb: KnowledgeBase, embedder: object | None, act: Callable[[str], None]) -> None:
    n = kb.delete_orphans()
    if n:
        act(f"deleted {n} passage(s) whose article is no longer in the store (nothing to cite them from)")
    bad = kb.records.damaged_articles()
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
    indexer = Indexer(kb, lambda: emb, ChunkSettings(**kb.manifest.chunker))  # type: ignore[arg-type,return-value]
    upserts = []
    for aid in sorted(bad):
        article = kb.get_article(aid)
        if article is not None:
            upserts.append((article, content_hash(article), indexer.embedded(article)))
    kb.write(upserts)
    act(
        f"chunked and embedded {len(upserts)} article(s) again from their stored text with "
        f"{kb.manifest.model!r}: {', '.join(sorted(bad))}"
    )


def _repair_copies(kb: KnowledgeBase, act: Callable[[str], None]) -> None:
    why = kb.copies_problem()
    if why:
        n = kb.recompute_copies()
        act(f"the near-copy groups {why}: computed them again from the {n} stored article texts")


# ---------------------------------------------------------------- derived files


def _repair_dense(kb: KnowledgeBase, act: Callable[[str], None]) -> None:
    with kb.records.guard(), kb.writing():
        gen = kb.generation
        f = kb.dense.file(gen)
        vids = kb.records.vids()
        why = kb.dense.file_problem(gen, vids)
        if why:
            kb.dense.rebuild(gen)
            act(f"dense index {f.name} {why}: rebuilt it from the {len(vids)} stored vectors")
        for old in kb.path.glob("dense-*.faiss"):
            if old != f:
                old.unlink(missing_ok=True)
                act(f"deleted {old.name}, left from another generation")


def _repair_lexical(kb: KnowledgeBase, act: Callable[[str], None]) -> None:
    with kb.records.guard(), kb.writing():
        gen = kb.generation
        f = kb.lexical.file(gen)
        n = kb.counts()["passages"]
        index = LexicalIndex.load(f, gen) if f.is_file() else None
        if index is not None and len(index) == n:
            return
        why = "is missing" if not f.is_file() else "is damaged, stale or built with other settings"
        rebuilt = kb.lexical.rebuild()
        act(f"lexical index {f.name} {why}: rebuilt it from the {len(rebuilt)} stored passages")


def _sweep_temporary(kb: KnowledgeBase, act: Callable[[str], None]) -> None:
    with kb.writing():  # a live writer's temporary files are its own: only sweep while we hold the lock
        for tmp in sorted(kb.path.glob("*.tmp")) + sorted(kb.path.glob(".*.tmp")):
            if tmp.exists():
                tmp.unlink(missing_ok=True)
                act(f"deleted {tmp.name}, a temporary file left by an interrupted write")
