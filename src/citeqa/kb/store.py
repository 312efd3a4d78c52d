"""The knowledge base on disk: `embeddings/<name>/`, one public face over its parts.

    manifest.json      how it was built (format, model, dimension, chunker) and counts   manifest.py
    kb.sqlite          articles, passages, sentence spans, vectors: the store of record  records.py
    dense-<gen>.faiss  FAISS index of the vectors of generation <gen> (derived cache)    dense.py
    lexical-<gen>.npz  BM25 postings of generation <gen> (derived cache)                 lexical.py
    .lock              taken by writers (flock), so two processes never write at once    lock.py
    (in kb.sqlite)     near copies of one story and their groups, kept with the articles  copies.py

Why this shape: SQLite commits are atomic, so every write is one transaction that also bumps a
generation number. Index files are derived caches named by generation, written to a temporary file,
fsynced and renamed afterwards. A crash at any moment leaves either the old or the new generation in
SQLite; an index file that is missing or stale for that generation is rebuilt from the stored vectors
on open (no re-embedding). Readers notice another process's commit by the generation and reload.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from citeqa.config import canonical_model
from citeqa.errors import ConfigError, KBError, KBMismatchError, KBNotFoundError
from citeqa.kb import copies, ladder
from citeqa.kb import manifest as manifest_file
from citeqa.kb.copies import Group
from citeqa.kb.dense import DenseIndex
from citeqa.kb.lexical import LexicalCache
from citeqa.kb.lock import writer_lock
from citeqa.kb.manifest import FORMAT, FORMAT_VERSION, MANIFEST, Manifest
from citeqa.kb.records import ArticleInfo, Records, Upsert
from citeqa.kb.sqlite import DB
from citeqa.schema import Article, Passage
from citeqa.scope import Scope


class KnowledgeBase:
    """Articles, passages and the indexes of one folder. Thread-safe; one writer process at a time."""

    def __init__(self, path: Path, manifest: Manifest, records: Records) -> None:
        self.path = path
        self.manifest = manifest
        self.records = records
        self.dense = DenseIndex(records, index_setting(manifest))
        self._lexical: LexicalCache | None = None
        self._lexical_lock = threading.Lock()
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
        raw = manifest_file.read_raw(root)
        try:
            manifest = Manifest.from_dict(raw)
            if raw.get("format") != FORMAT:
                raise ValueError(f"format is {raw.get('format')!r}, expected {FORMAT!r}")
        except (ValueError, KeyError, TypeError) as exc:
            raise KBError(manifest_file.damaged_advice(mpath, root, str(exc))) from exc
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
        kb = cls(root, manifest, Records.connect(root, manifest.dim))
        if raw.get("counts") != kb.counts() or raw.get("generation") != kb.generation:
            # A crash between a commit and the manifest rewrite leaves stale counts: refresh them.
            with contextlib.suppress(OSError):
                kb.write_manifest()
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
        kb = cls(root, manifest, Records.connect(root, manifest.dim, create=True))
        kb.records.run(copies.create, write=True)
        kb.write_manifest()
        return kb

    def close(self) -> None:
        self.records.close()

    # ---------------------------------------------------------------- reads

    @property
    def generation(self) -> int:
        return self.records.generation

    def counts(self) -> dict[str, int]:
        return self.records.counts()

    def article_hashes(self) -> dict[str, str]:
        return self.records.article_hashes()

    def get_article(self, article_id: str) -> Article | None:
        return self.records.get_article(article_id)

    def list_articles(self) -> list[ArticleInfo]:
        return self.records.list_articles()

    def passages(self, vids: Sequence[int]) -> dict[int, tuple[Passage, np.ndarray]]:
        """Passages (and their sentence vectors) by vector id."""
        return self.records.passages(vids)

    def vectors(self, vids: Sequence[int], *, sentences: bool = False) -> dict[int, np.ndarray]:
        """Passage vectors (or, with `sentences`, each passage's sentence vectors) by vector id:
        hybrid fusion scores candidates that the dense top-k missed, without loading their text."""
        return self.records.vectors(vids, sentences=sentences)

    def passage_texts(self) -> tuple[int, list[tuple[int, str]]]:
        """(generation, [(vid, title + "\n" + passage text)]) in one snapshot: the lexical index's input."""
        return self.records.passage_texts()

    def passage_ids_of(self, article_id: str) -> list[str]:
        return self.records.passage_ids_of(article_id)

    # ---------------------------------------------------------------- near copies (copies.py)

    def group(self, article_id: str) -> Group | None:
        """The article's story: its canonical copy and every member, earliest first (a group of one
        when no other article is a copy of it); None for an unknown id."""
        return self.records.run(lambda conn: copies.group_of(conn, article_id))

    def groups(self, article_ids: Sequence[str]) -> dict[str, Group]:
        """The groups of those of `article_ids` that have copies (an article alone is left out)."""
        return self.records.run(lambda conn: copies.groups(conn, article_ids))

    def article_ids(self, vids: Sequence[int]) -> dict[int, str]:
        """The article of each passage, by vector id (no text is loaded)."""
        return self.records.run(lambda conn: copies.article_ids(conn, vids))

    def passage_texts_of(self, vids: Sequence[int]) -> dict[int, str]:
        """The text of each passage, by vector id (no vectors are loaded)."""
        return self.records.run(lambda conn: copies.passage_texts(conn, vids)) if len(vids) else {}

    def first_vids(self, article_ids: Sequence[str]) -> dict[str, int]:
        """One passage's vector id per article (a scope shows all of an article's passages or none)."""
        return self.records.run(lambda conn: copies.first_vids(conn, article_ids))

    def copies_problem(self) -> str:
        """Why the near-copy groups can't be trusted for every article ("" when they can)."""
        return self.records.run(copies.problem)

    def recompute_copies(self) -> int:
        """Compute every article's near-copy rows and groups again from the stored texts (repair);
        how many articles."""
        with self.records.guard(), self.writing():
            return self.records.run(copies.rebuild, write=True)

    # ---------------------------------------------------------------- search

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (vector id, inner product) for one normalised query vector (among `allowed` ids)."""
        with self.records.guard():
            return self.dense.search(query, k, allowed)

    def vids_in(self, scope: Scope) -> np.ndarray | None:
        """The passages a scope lets a question see (ascending vector ids); None when it filters nothing."""
        return self.records.vids_in(scope) if scope.filters else None

    def newest_published(self) -> str:
        """The latest day any article was published ("" when none is dated)."""
        return self.records.newest_published()

    def published(self, article_ids: Sequence[str]) -> dict[str, str]:
        return self.records.published(article_ids)

    @property
    def lexical(self) -> LexicalCache:
        """The BM25 side (built on first use: it needs bm25s and PyStemmer)."""
        with self._lexical_lock:
            if self._lexical is None:
                cache = LexicalCache(
                    self.path, lambda: self.generation, lambda: self.counts()["passages"], self.passage_texts
                )
                self.on_write(cache.after_write)
                self._lexical = cache
            return self._lexical

    # ---------------------------------------------------------------- writes

    @contextlib.contextmanager
    def writing(self, timeout: float = 30.0) -> Iterator[None]:
        """Hold the writer lock; a second writer waits up to `timeout` seconds, then fails clearly."""
        with writer_lock(self.path, timeout):
            yield

    def write(
        self, upserts: Sequence[Upsert], removes: Sequence[str] = (), *, refresh_caches: bool = True
    ) -> None:
        """Replace/insert articles with their passages and delete others, as one transaction.
        `refresh_caches=False` (a batch of a longer ingest) leaves the index files for the last
        batch to write: only the in-memory dense index follows each commit."""
        if not upserts and not removes:
            return
        # Hashing the bodies for near-copy detection needs no lock; the lookups do, in the transaction.
        added = [copies.sketch(a) for a, _, _ in upserts]
        gone = [a.id for a, _, _ in upserts] + list(removes)
        with self.records.guard(), self.writing():
            index = self.dense.writable()
            written = self.records.write(upserts, removes, lambda conn: copies.update(conn, added, gone))
            # Committed. Bring the in-memory index to the new generation, then persist it.
            self.dense.apply(written, index, save=refresh_caches)
            if refresh_caches:
                self._committed(written.generation)
            else:
                self.write_manifest()

    def delete_orphans(self) -> int:
        """Delete passages whose article is gone; how many there were."""
        with self.records.guard(), self.writing():
            n = self.records.delete_orphans()
            if n:
                self.dense.forget()
                self._committed(self.generation)
        return n

    def _committed(self, gen: int) -> None:
        self.write_manifest()
        for hook in self._on_write:  # derived caches (the lexical index), still under the lock
            hook(gen)

    def on_write(self, hook: Callable[[int], None]) -> None:
        """Call `hook(generation)` after each committed write, with the writer lock still held."""
        self._on_write.append(hook)

    def set_index(self, setting: str) -> bool:
        """Choose the dense index's kind on the ladder ("auto", "flat" or "ivf"; ladder.py), kept in
        the manifest; the index is rebuilt now if it is not of that kind. True if it changed."""
        if setting not in ladder.KINDS:
            raise ConfigError(f"index must be one of {', '.join(ladder.KINDS)}, got {setting!r}")
        if setting == index_setting(self.manifest):
            return False
        settings = {k: v for k, v in self.manifest.settings.items() if k != "index"}
        if setting != "auto":
            settings["index"] = setting
        with self.records.guard(), self.writing():
            self.manifest = dataclasses.replace(self.manifest, settings=settings)
            self.dense.setting = setting
            self.dense.forget()  # the next use loads the file if it fits, else rebuilds it
            self.dense.current()
            self.write_manifest()
        return True

    def write_manifest(self) -> None:
        """Rewrite manifest.json with the store's counts and generation now."""
        self.manifest.write(self.path, self.counts(), self.generation)

    # ---------------------------------------------------------------- verify

    def verify(self) -> list[str]:
        """Every problem found, each a sentence saying what is wrong; empty when all is well."""
        try:
            problems = self.records.problems()
            vids = self.records.vids()
        except (sqlite3.DatabaseError, KBError) as exc:
            return [f"the store {self.path / DB} is unreadable: {exc}"]
        with self.records.guard():
            n = self.dense.current().ntotal
            if n != len(vids):
                problems.append(f"the dense index holds {n} vectors but the store has {len(vids)} passages")
            elif self.dense.ids() != vids:
                problems.append("the dense index's ids differ from the store's passages")
        counts = manifest_file.read_raw(self.path).get("counts")
        if counts != self.counts():
            problems.append(f"manifest counts {counts} differ from the store {self.counts()}")
        # Per-article completeness: gaps in ordinals, a missing tail, no passages at all.
        damaged = sorted(self.records.damaged_articles().items())
        problems += [f"article {a} {why}" for a, why in damaged][:20]
        # Missing or stale near-copy rows are computed by the next write; a gap is damage.
        if not self.records.run(copies.staleness) and (gap := self.records.run(copies.gap)):
            problems.append(f"the near-copy groups {gap}; run `citeqa repair`")
        return problems


def index_setting(manifest: Manifest) -> str:
    """The ladder setting a knowledge base keeps (in its manifest's settings; "auto" when absent)."""
    value = manifest.settings.get("index", "auto")
    return value if value in ladder.KINDS else "auto"


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
