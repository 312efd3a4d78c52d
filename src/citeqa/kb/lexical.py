"""BM25 over passages: the lexical index of a knowledge base.

The index is a derived cache, like the dense one: `lexical-<gen>.npz` in the knowledge-base folder,
built from the SQLite store (title + passage text of every passage) for generation <gen>. It is
written to a temporary file, fsynced and renamed; older generations are deleted. A file that is
missing, damaged, stale or built with other settings is rebuilt from the store on first use, so the
lexical ranker can never return a passage the store no longer holds. The writer rebuilds it right
after each commit (`KnowledgeBase.on_write`), so readers in other processes usually just load it.

bm25s (with citeqa.analyzer's terms: the configuration of MTEB's BM25 baseline) computes the
per-term score matrix; a query sums the posting lists of its terms with one `np.bincount`.
bench/lexical_libs.py measured the choice: at 100k short passages a query takes ~0.5 ms (tantivy
the same, SQLite FTS5 ~90 ms); a full rebuild ~11 s of CPU (tantivy's indexing is faster, but it
would be a second index format and dependency).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from citeqa.analyzer import STEMMER, STOPWORDS_NAME, TOKEN, Analyzer
from citeqa.kb.files import sweep_generations, write_bytes_atomically

FORMAT = "citeqa-lexical"
FORMAT_VERSION = 1
# Anserini's BM25 defaults; on the training sets (bench/fusion_tune.py) they fused best of the
# (k1, b) pairs tried. Recorded in each file: a change here forces a rebuild.
K1, B, METHOD = 0.9, 0.4, "lucene"


@dataclass(frozen=True)
class LexicalIndex:
    """BM25 scores of every (term, passage) pair, as term-major postings, for one generation."""

    generation: int
    vids: np.ndarray  # int64, ascending: position → passage vector id
    vocab: dict[str, int]  # term → column
    indptr: np.ndarray  # column t's postings are [indptr[t], indptr[t+1])
    indices: np.ndarray  # position of the passage of each posting
    data: np.ndarray  # BM25 score of each posting
    ceiling: np.ndarray  # best score of each term over all passages (a per-query upper bound)

    @classmethod
    def build(cls, rows: list[tuple[int, str]], generation: int, analyzer: Analyzer) -> LexicalIndex:
        rows = sorted(rows)
        vids = np.array([v for v, _ in rows], dtype=np.int64)
        terms = [analyzer.terms(t) for _, t in rows]
        if not any(terms):  # empty knowledge base, or nothing but stopwords
            empty = np.zeros(0, dtype=np.float32)
            return cls(generation, vids, {}, np.zeros(1, np.int64), np.zeros(0, np.int32), empty, empty)
        import bm25s

        bm = bm25s.BM25(k1=K1, b=B, method=METHOD)
        bm.index(terms, create_empty_token=False, show_progress=False)
        data = np.asarray(bm.scores["data"], dtype=np.float32)
        indptr = np.asarray(bm.scores["indptr"], dtype=np.int64)
        ceiling = np.zeros(len(indptr) - 1, dtype=np.float32)
        nonempty = indptr[:-1] < indptr[1:]
        ceiling[nonempty] = np.maximum.reduceat(data, indptr[:-1][nonempty])
        return cls(
            generation,
            vids,
            dict(bm.vocab_dict),
            indptr,
            np.asarray(bm.scores["indices"], dtype=np.int32),
            data,
            ceiling,
        )

    def __len__(self) -> int:
        return len(self.vids)

    def scores(self, terms: list[str]) -> np.ndarray | None:
        """BM25 of every passage (by position), or None when no term is in the vocabulary."""
        cols = [self.vocab[t] for t in terms if t in self.vocab]
        if not cols:
            return None
        spans = [(self.indptr[c], self.indptr[c + 1]) for c in cols]
        # One bincount over the concatenated posting lists: faster than bm25s's per-term np.add.at.
        docs = np.concatenate([self.indices[a:b] for a, b in spans])
        weights = np.concatenate([self.data[a:b] for a, b in spans])
        return np.bincount(docs, weights=weights, minlength=len(self.vids))

    def search(self, terms: list[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (vid, score) among passages sharing a term with the query (and among `allowed`
        vids when given: the scope is applied to the scores, before the cut); ties by vid."""
        s = self.scores(terms)
        if s is None or k < 1:
            return []
        if allowed is not None:
            s = np.where(np.isin(self.vids, allowed, assume_unique=True), s, 0.0)
        hit = np.flatnonzero(s > 0)
        if len(hit) > k:  # keep everything tied with the k-th score, so the cut is by vid too
            kth = np.partition(s[hit], len(hit) - k)[len(hit) - k]
            hit = hit[s[hit] >= kth]
        order = np.lexsort((self.vids[hit], -s[hit]))[:k]
        return [(int(self.vids[i]), float(s[i])) for i in hit[order]]

    def score_of(self, terms: list[str], vids: Sequence[int]) -> dict[int, float]:
        """BM25 of the given passages (0.0 when they share no term); unknown vids are left out."""
        if not vids or not len(self.vids):
            return {}
        want = np.asarray(vids, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.vids, want), len(self.vids) - 1)
        known = self.vids[pos] == want
        s = self.scores(terms)
        return {
            int(v): float(s[p]) if s is not None else 0.0
            for v, p, ok in zip(want, pos, known, strict=True)
            if ok
        }

    def upper_bound(self, terms: list[str]) -> float:
        """The most any passage could score for these terms: a fixed scale for normalising BM25."""
        return float(sum(float(self.ceiling[self.vocab[t]]) for t in terms if t in self.vocab))

    # ---------------------------------------------------------------- files

    def save(self, path: Path) -> None:
        """Write atomically: a private temporary file, fsynced, then renamed over `path`."""
        write_bytes_atomically(
            path,
            lambda f: np.savez(
                f,
                manifest=np.array(json.dumps(_settings(self.generation, len(self)))),
                vids=self.vids,
                vocab=np.array(sorted(self.vocab, key=self.vocab.__getitem__)),
                indptr=self.indptr,
                indices=self.indices,
                data=self.data,
                ceiling=self.ceiling,
            ),
        )

    @classmethod
    def load(cls, path: Path, generation: int) -> LexicalIndex | None:
        """The index in `path` if it is whole and built for `generation` with these settings."""
        try:
            with np.load(path, allow_pickle=False) as z:
                manifest = json.loads(str(z["manifest"]))
                vids = z["vids"]
                if manifest != _settings(generation, len(vids)):
                    return None
                vocab = z["vocab"].tolist()
                index = cls(
                    generation,
                    vids,
                    dict(zip(vocab, range(len(vocab)), strict=True)),
                    z["indptr"],
                    z["indices"],
                    z["data"],
                    z["ceiling"],
                )
        except Exception:  # noqa: BLE001 - any damage (truncation, bad zip, bad JSON) means: rebuild
            return None
        ok = (
            len(index.indptr) == len(vocab) + 1
            and len(index.indices) == len(index.data) == int(index.indptr[-1])
            and len(index.ceiling) == len(vocab)
            and (len(index.indices) == 0 or int(index.indices.max()) < len(vids))
        )
        return index if ok else None


def _settings(generation: int, n: int) -> dict[str, object]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "k1": K1,
        "b": B,
        "method": METHOD,
        "tokens": TOKEN.pattern,
        "stemmer": STEMMER,
        "stopwords": STOPWORDS_NAME,
        "generation": generation,
        "passages": n,
    }


class LexicalCache:
    """The current `LexicalIndex` of one knowledge base (`KnowledgeBase.lexical`): in memory, else
    from its file, else rebuilt from the store; rebuilt by the writer right after each commit."""

    def __init__(
        self,
        folder: Path,
        generation: Callable[[], int],
        passages: Callable[[], int],
        passage_texts: Callable[[], tuple[int, list[tuple[int, str]]]],
    ) -> None:
        self.folder = folder
        self._generation = generation
        self._passages = passages
        self._passage_texts = passage_texts
        self.analyzer = Analyzer()
        self._lock = threading.Lock()
        self._index: LexicalIndex | None = None

    def file(self, generation: int) -> Path:
        return self.folder / f"lexical-{generation}.npz"

    def current(self) -> LexicalIndex:
        """The index for the store's generation now: in memory, else from its file, else rebuilt."""
        gen = self._generation()
        with self._lock:
            index = self._index
            if index is None or index.generation != gen:
                index = LexicalIndex.load(self.file(gen), gen)
                if index is None or len(index) != self._passages():
                    index = self.rebuild()
                self._index = index
            return index

    def rebuild(self) -> LexicalIndex:
        """Build from one snapshot of the store (the rows are exactly generation `gen`'s) and save."""
        gen, rows = self._passage_texts()
        index = LexicalIndex.build(rows, gen, self.analyzer)
        with contextlib.suppress(OSError):  # a read-only folder still answers, from memory
            index.save(self.file(gen))
            sweep_generations(self.folder, "lexical", ".npz", gen)
        return index

    def after_write(self, generation: int) -> None:
        # Called by the writer, which holds the store's lock: rebuilding now means readers in other
        # processes find the new generation's file instead of each rebuilding it. No cache lock
        # here: a reader holds that lock while it waits for the store's, so taking it could
        # deadlock. Replacing the reference is atomic, and a reader that then installs an older
        # index notices the generation on its next query and loads this one from its file.
        self._index = self.rebuild()

    # Terms, BM25 and the scale of one query: what the lexical ranker (retrieve.py) asks for.

    def search(self, text: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        return self.current().search(self.analyzer.terms(text), k, allowed)

    def score_of(self, text: str, vids: Sequence[int]) -> dict[int, float]:
        return self.current().score_of(self.analyzer.terms(text), vids)

    def upper_bound(self, text: str) -> float:
        return self.current().upper_bound(self.analyzer.terms(text))
