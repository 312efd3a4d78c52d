"""The dense index: `dense-<gen>.faiss`, FAISS IndexIDMap2(IndexFlatIP) over the stored passage
vectors of generation <gen>. A derived cache: a file that is missing, damaged or stale for the
store's generation is rebuilt from the vectors in SQLite (no re-embedding)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.kb.files import replace_atomically, sweep_generations
from citeqa.kb.records import Records, Written


class DenseIndex:
    """The FAISS index of one knowledge base, in memory for one generation at a time. Callers hold
    the store's lock (`Records.lock`) around every method."""

    def __init__(self, records: Records) -> None:
        self.records = records
        self._index: Any = None
        self._gen = -1

    def file(self, gen: int) -> Path:
        return self.records.path / f"dense-{gen}.faiss"

    def current(self) -> Any:
        """The index for the store's generation now: in memory, else from its file, else rebuilt."""
        gen = self.records.generation
        if self._index is None or self._gen != gen:
            self._index, self._gen = self._load_or_rebuild(gen), gen
        return self._index

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (vector id, inner product) for one normalised query vector."""
        index = self.current()
        if index.ntotal == 0:
            return []
        scores, ids = index.search(
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, index.ntotal)
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def ids(self) -> set[int]:
        return _ids_of(self.current())

    def apply(self, written: Written, index: Any, *, save: bool = True) -> None:
        """Bring `index` (the previous generation's) to a committed write's generation, then persist it."""
        if written.removed:
            index.remove_ids(np.array(written.removed, dtype=np.int64))
        if written.added:
            index.add_with_ids(np.stack(written.vectors), np.array(written.added, dtype=np.int64))
        self._index, self._gen = index, written.generation
        if save:
            self.save(index, written.generation)

    def forget(self) -> None:
        """Drop the in-memory index (the store changed under it); the next use loads or rebuilds."""
        self._index, self._gen = None, -1

    def file_problem(self, gen: int, vids: set[int]) -> str:
        """Why this generation's file can't be used as it is, or "" when it is whole."""
        import faiss

        f = self.file(gen)
        if not f.is_file():
            return "is missing"
        try:
            index = faiss.read_index(str(f))
        except RuntimeError:  # FAISS's message is C++ internals: say what it means instead
            return "is unreadable (truncated or damaged)"
        if index.d != self.records.dim:
            return f"has dimension {index.d}, not {self.records.dim}"
        if index.ntotal != len(vids):
            return f"holds {index.ntotal} vectors for {len(vids)} passages"
        try:
            ids = _ids_of(index)
        except AttributeError:  # not an id-mapped index
            ids = set()
        return "" if ids == vids else "holds other ids than the store's passages"

    def rebuild(self, gen: int) -> None:
        """Build this generation's index from the stored vectors and save it."""
        index = self.build()
        self.save(index, gen)
        self._index, self._gen = index, gen

    def build(self) -> Any:
        import faiss

        index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.records.dim))
        ids, vecs = self.records.all_vectors()
        if len(ids):
            index.add_with_ids(vecs, ids)
        return index

    def save(self, index: Any, gen: int) -> None:
        import faiss

        # A private temporary name: a reader that finds this generation's file missing rebuilds and
        # saves it too, and two savers sharing one name would rename each other's file away.
        replace_atomically(self.file(gen), lambda tmp: faiss.write_index(index, str(tmp)))
        sweep_generations(self.records.path, "dense", ".faiss", gen)

    def _load_or_rebuild(self, gen: int) -> Any:
        import faiss

        f = self.file(gen)
        n = self.records.counts()["passages"]
        if f.is_file():
            try:
                index = faiss.read_index(str(f))
                if index.ntotal == n and index.d == self.records.dim:
                    return index
            except RuntimeError:
                pass  # damaged cache: rebuilt below from the vectors in SQLite
        index = self.build()
        # A read-only folder still answers, from memory (faiss reports a failed write as RuntimeError).
        with contextlib.suppress(OSError, RuntimeError):
            self.save(index, gen)
        return index


def _ids_of(index: Any) -> set[int]:
    """The vector ids an IndexIDMap2 holds."""
    return {int(index.id_map.at(i)) for i in range(index.ntotal)}
