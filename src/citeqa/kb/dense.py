"""The dense index: `dense-<gen>.faiss`, a FAISS index over the stored passage vectors of generation
<gen>, of the kind the index ladder (ladder.py) picks for the knowledge base's size and setting. A
derived cache: a file that is missing, damaged, stale for the store's generation or of the wrong
kind is rebuilt from the vectors in SQLite (no re-embedding). Searches read the file memory-mapped;
a write works on a copy in RAM and saves it as the next generation's file."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.kb import ladder
from citeqa.kb.files import replace_atomically, sweep_generations
from citeqa.kb.records import Records, Written


class DenseIndex:
    """The FAISS index of one knowledge base, one generation at a time. Callers hold the store's
    lock (`Records.lock`) around every method. `setting`: the ladder's "auto", "flat" or "ivf"."""

    def __init__(self, records: Records, setting: str = "auto") -> None:
        self.records = records
        self.setting = setting
        self._index: Any = None
        self._gen = -1
        self._mapped = False  # a mapped index is read-only: FAISS aborts the process on a write

    def file(self, gen: int) -> Path:
        return self.records.path / f"dense-{gen}.faiss"

    def current(self) -> Any:
        """The index for the store's generation now: in memory, else from its file, else rebuilt."""
        gen = self.records.generation
        if self._index is None or self._gen != gen:
            self._index, self._gen = self._load_or_rebuild(gen), gen
        return self._index

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (vector id, inner product) for one normalised query vector, among `allowed` ids
        only when given (a scope)."""
        index = self.current()
        if index.ntotal == 0 or (allowed is not None and len(allowed) == 0):
            return []
        ladder.threads(1)
        scores, ids = ladder.search(index, query, k, allowed)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def ids(self) -> set[int]:
        return ladder.ids_of(self.current())

    def describe(self) -> str:
        return ladder.describe(self.current())

    def writable(self) -> Any:
        """The index for the store's generation now, in RAM (a write is about to change it)."""
        index = self.current()
        if self._mapped:
            gen = self._gen
            try:
                index = ladder.read(self.file(gen), mapped=False)
            except RuntimeError:  # the file went bad since it was mapped: rebuild
                index = self.build()
            self._index, self._mapped = index, False
        return index

    def apply(self, written: Written, index: Any, *, save: bool = True) -> None:
        """Bring `index` (the previous generation's, from `writable`) to a committed write's
        generation, then persist it. When the knowledge base outgrows the index's kind or size
        (the ladder), the index is rebuilt from the stored vectors instead."""
        if written.removed:
            index.remove_ids(np.array(written.removed, dtype=np.int64))
        if written.added:
            index.add_with_ids(np.stack(written.vectors), np.array(written.added, dtype=np.int64))
        if not ladder.fits(index, self.setting, index.ntotal):
            index = self.build(current=ladder.kind_of(index))
        self._index, self._gen, self._mapped = index, written.generation, False
        if save:
            self.save(index, written.generation)

    def forget(self) -> None:
        """Drop the in-memory index (the store changed under it); the next use loads or rebuilds."""
        self._index, self._gen, self._mapped = None, -1, False

    def file_problem(self, gen: int, vids: set[int]) -> str:
        """Why this generation's file can't be used as it is, or "" when it is whole."""
        f = self.file(gen)
        if not f.is_file():
            return "is missing"
        try:
            index = ladder.read(f, mapped=True)
        except RuntimeError:  # FAISS's message is C++ internals: say what it means instead
            return "is unreadable (truncated or damaged)"
        if index.d != self.records.dim:
            return f"has dimension {index.d}, not {self.records.dim}"
        if index.ntotal != len(vids):
            return f"holds {index.ntotal} vectors for {len(vids)} passages"
        try:
            ids = ladder.ids_of(index)
        except AttributeError:  # an index without ids (not one citeqa writes)
            ids = set()
        return "" if ids == vids else "holds other ids than the store's passages"

    def rebuild(self, gen: int) -> None:
        """Build this generation's index from the stored vectors and save it."""
        index = self.build()
        self.save(index, gen)
        self._index, self._gen, self._mapped = index, gen, False

    def build(self, current: str | None = None) -> Any:
        """A new index of the kind the ladder wants for the stored vectors (`current`: the kind
        held before, which `auto` keeps in its overlap band)."""
        ids, vecs = self.records.all_vectors()
        kind = ladder.wanted(self.setting, len(ids), current)
        return ladder.build(kind, self.records.dim, ids, vecs)

    def save(self, index: Any, gen: int) -> None:
        import faiss

        # A private temporary name: a reader that finds this generation's file missing rebuilds and
        # saves it too, and two savers sharing one name would rename each other's file away.
        replace_atomically(self.file(gen), lambda tmp: faiss.write_index(index, str(tmp)))
        sweep_generations(self.records.path, "dense", ".faiss", gen)

    def _load_or_rebuild(self, gen: int) -> Any:
        f = self.file(gen)
        n = self.records.counts()["passages"]
        current = None
        if f.is_file():
            try:
                index = ladder.read(f, mapped=True)
                current = ladder.kind_of(index)
                if index.ntotal == n and index.d == self.records.dim and ladder.fits(index, self.setting, n):
                    self._mapped = True
                    return index
            except RuntimeError:
                pass  # damaged cache: rebuilt below from the vectors in SQLite
        index = self.build(current)
        self._mapped = False
        # A read-only folder still answers, from memory (faiss reports a failed write as RuntimeError).
        with contextlib.suppress(OSError, RuntimeError):
            self.save(index, gen)
        return index
