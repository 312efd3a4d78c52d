"""The lexical index of one knowledge base as a cache (`KnowledgeBase.lexical`): which generation's
index to use, where it comes from, and when old files go.

An index (lexical.py) for the store's generation is taken from memory; else from its files (reusing
the segments memory already holds); else brought up to date from the newest index there is, by the
difference between its vids and the store's (only new passages are analysed; vids are never reused
and a passage's text never changes, so the difference is exact); else built from the whole store.
The writer does this right after each commit, under the lock, and saves the result, so readers in
other processes usually just load the new manifest and map the one new segment. Diffing, rather than
being told what a write changed, covers every way the store moves on with one code path: another
process's writes, a long ingest's batches committed without refreshing the caches, repair's deletion
of orphaned passages, a crash between a commit and the files.

Only a writer holding the lock deletes files (`sweep`): a reader never deletes a segment that a
writer has written and is about to name in its manifest. A reader that loses a file while loading
(an old generation swept under it) falls back as for a damaged one. So does anyone loading the rare
manifest a reader wrote (readers save what they caught up, like the writer) for a segment the
writer's sweep deleted before that manifest landed: every path ends in a correct index.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from citeqa.analyzer import Analyzer
from citeqa.kb import segments
from citeqa.kb.files import sweep_generations
from citeqa.kb.lexical import FOLDER, LexicalIndex
from citeqa.kb.segments import Segment

Delta = tuple[int, np.ndarray, list[tuple[int, str]]]  # (generation, all vids, rows not in the index)
_NONE = np.zeros(0, np.int64)


class LexicalCache:
    """The current `LexicalIndex` of one knowledge base (`KnowledgeBase.lexical`): in memory, else
    from its files, else brought up to date from an older index by the stored vids' difference, else
    rebuilt from the store. The writer brings it up to date and saves it right after each commit."""

    def __init__(
        self,
        folder: Path,
        generation: Callable[[], int],
        passages: Callable[[], int],
        passage_delta: Callable[[np.ndarray], Delta],
    ) -> None:
        self.folder = folder
        self._generation = generation
        self._passages = passages
        self._passage_delta = passage_delta
        self.analyzer = Analyzer()
        self._lock = threading.Lock()
        self._index: LexicalIndex | None = None

    def file(self, generation: int) -> Path:
        return self.folder / f"lexical-{generation}.json"

    def current(self) -> LexicalIndex:
        """The index for the store's generation now: in memory, else loaded (reusing what memory
        holds), else caught up from the newest index there is."""
        gen = self._generation()
        with self._lock:
            index = self._index
            if index is None or index.generation != gen:
                loaded = LexicalIndex.load(self.file(gen), gen, index)
                if loaded is None or len(loaded) != self._passages():
                    loaded = self.update(index)
                self._index = index = loaded
            return index

    def update(self, base: LexicalIndex | None = None) -> LexicalIndex:
        """The index for the store now, from `base` (else the newest index on disk) by what the
        store added and removed since: only new passages are analysed. Built from the whole store
        when there is no base. Saved, unless the folder is read-only."""
        if base is None:
            base = self._newest_on_disk()
        known = base.vids if base is not None else _NONE
        gen, vids, rows = self._passage_delta(known)
        if base is None:
            index = LexicalIndex.build(rows, gen, self.analyzer)
        else:
            index = base.updated(gen, np.setdiff1d(known, vids, assume_unique=True), rows, self.analyzer)
        self._save(index)
        return index

    def rebuild(self) -> LexicalIndex:
        """Build from one snapshot of the whole store, and save."""
        gen, _, rows = self._passage_delta(_NONE)
        index = LexicalIndex.build(rows, gen, self.analyzer)
        self._save(index)
        self._index = index
        return index

    def _save(self, index: LexicalIndex) -> None:
        with contextlib.suppress(OSError):  # a read-only folder still answers, from memory
            index.save(self.file(index.generation))

    def _manifests(self) -> list[tuple[int, Path]]:
        """(generation, manifest) of every manifest in the folder, newest first."""
        found = []
        for p in self.folder.glob("lexical-*.json"):
            stem = p.name[len("lexical-") : -len(".json")]
            if stem.isdigit():
                found.append((int(stem), p))
        return sorted(found, reverse=True)

    def _newest_on_disk(self) -> LexicalIndex | None:
        gen = self._generation()
        for g, path in self._manifests():
            if g <= gen:
                index = LexicalIndex.load(path, g)
                if index is not None:
                    return index
        return None

    def after_write(self, generation: int) -> None:
        # Called by the writer, which holds the store's lock: catching up now means readers in other
        # processes find the new generation's files instead of each catching up. No cache lock
        # here: a reader holds that lock while it waits for the store's, so taking it could
        # deadlock. Replacing the reference is atomic, and a reader that then installs an older
        # index notices the generation on its next query and loads this one from its files.
        self._index = index = self.update(self._index)
        with contextlib.suppress(OSError):
            self.sweep(index.generation)

    def sweep(self, generation: int) -> list[str]:
        """Delete manifests older than `generation` (and format-1 files), then the segments and
        deletion files no remaining manifest names; the names deleted. Only under the writer lock:
        a reader never deletes what a writer may be about to name."""
        sweep_generations(self.folder, "lexical", ".json", generation)
        gone = []
        for old in sorted(self.folder.glob("lexical-*.npz")):  # format 1: of no use to this version
            old.unlink(missing_ok=True)
            gone.append(old.name)
        keep: set[str] = set()
        for _, path in self._manifests():
            with contextlib.suppress(Exception):  # an unreadable manifest names nothing worth keeping
                for e in json.loads(path.read_text(encoding="utf-8"))["segments"]:
                    keep |= {f"seg-{e['name']}", str(e["dead_file"])}
        return gone + [f"{FOLDER}/{n}" for n in segments.sweep(self.folder / FOLDER, keep)]

    def problem(self, generation: int) -> str | None:
        """What is wrong with generation `generation`'s files (the segments' checksums included), or
        None when they are whole and agree with the store."""
        path = self.file(generation)
        if not path.is_file():
            return "is missing"
        index = LexicalIndex.load(path, generation)
        if index is None or len(index) != self._passages():
            return "is damaged, stale or built with other settings"
        for seg in index.segments:
            why = Segment.check(self.folder / FOLDER, seg.name)
            if why:
                return f"is damaged ({why})"
        return None

    # Terms, BM25 and the scale of one query: what the lexical ranker (retrieve.py) asks for.

    def search(self, text: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        return self.current().search(self.analyzer.terms(text), k, allowed)

    def score_of(self, text: str, vids: Sequence[int]) -> dict[int, float]:
        return self.current().score_of(self.analyzer.terms(text), vids)

    def upper_bound(self, text: str) -> float:
        return self.current().upper_bound(self.analyzer.terms(text))
