"""BM25 arithmetic of the lexical index, as bm25s computes it ("lucene"), from one generation's
collection statistics: N live passages, their mean length, a term's live document frequency.

    idf = ln(1 + (N - df + 0.5) / (df + 0.5))             rounded to float32, as bm25s stores it
    tf part = tf / (tf + k1 (1 - b + b len / avgdl))      float64
    score = idf * tf part                                 rounded to float32

The same operations in the same order give the same bits as a fresh bm25s build, however the
index got there (tests/kb/test_lexical.py checks them against bm25s).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property

import numpy as np

# Bounds of the per-generation table of the tf part (`Scorer.table`): tf below TF_TABLE and
# passages of up to LEN_TABLE terms (a passage is a few hundred); anything beyond is computed.
TF_TABLE, LEN_TABLE = 16, 4096
# Scored posting lists of frequent terms ("what", "which", "year": not stopwords, in most questions)
# are kept per generation, up to CACHE_BYTES, for terms in at least CACHE_FROM passages: at a million
# passages such a term has 100-250k postings, and scoring them is most of a query's time.
CACHE_BYTES, CACHE_FROM = 64 << 20, 20_000


def idf(n: int, df: int) -> np.float32:
    return np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))


class Scorer:
    """BM25 of one generation's postings: segment i's passages have `lengths[i]` and start at
    position `offsets[i]` of the generation's score array."""

    def __init__(
        self, k1: float, b: float, n: int, avgdl: float, lengths: Sequence[np.ndarray], offsets: np.ndarray
    ) -> None:
        self.k1, self.b, self.n, self.avgdl = k1, b, n, avgdl
        self.lengths = list(lengths)
        self.offsets = offsets
        self._norms: list[np.ndarray | None] = [None] * len(self.lengths)

    def norm(self, i: int) -> np.ndarray:
        """k1 (1 - b + b len / avgdl) per passage of segment i, as bm25s computes it (float64)."""
        norm = self._norms[i]
        if norm is None:
            lengths = np.asarray(self.lengths[i])
            norm = self._norms[i] = self.k1 * ((1 - self.b) + self.b * lengths / self.avgdl)
        return norm

    @cached_property
    def table(self) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """(tf / (tf + k1 (1 - b + b len / avgdl)) for every tf < TF_TABLE and length up to the
        longest passage, float64, as [tf, length]; each segment's lengths as uint16, or None for a
        segment with a passage longer than LEN_TABLE). A long posting list looks its scores up
        (a gather of 2 bytes a passage, then one from a small table) instead of gathering 8-byte
        norms and dividing: at a million passages the lists of common words are 100-250k long."""
        lens = [
            np.asarray(x, dtype=np.uint16) if len(x) and int(x.max()) <= LEN_TABLE else None
            for x in self.lengths
        ]
        width = 1 + max((int(x.max()) for x in lens if x is not None), default=0)
        norm = self.k1 * ((1 - self.b) + self.b * np.arange(width) / self.avgdl) if self.n else np.ones(width)
        tf = np.arange(TF_TABLE, dtype=np.float64)[:, None]
        return tf / (norm[None, :] + tf), lens

    def term(
        self, parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]], df: int
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """(positions, scores, best score of a live one) of one term's postings, `parts` giving
        (segment, positions in it, term frequencies, indexes of deleted ones kept), `df` the live
        ones' number. Looked up in `table` or computed, the operations are the same, so are the bits."""
        weight = idf(self.n, df)
        pos, weights, top = [], [], 0.0
        scores: np.ndarray | None = None  # this term's table: float32 score by tf * width + length
        for i, docs, tfs, gone in parts:
            d = docs.astype(np.intp)  # once, for the gathers and for bincount
            table, lens = self.table
            if lens[i] is not None and 4 * len(d) >= table.size and int(tfs.max()) < TF_TABLE:
                if scores is None:
                    scores = (weight * table).astype(np.float32).ravel()
                key = tfs.astype(np.intp)
                key *= table.shape[1]
                key += lens[i].take(d)
                w = scores.take(key)
            else:
                tf = tfs.astype(np.float64)  # exact, as bm25s's float32 tf is: small integers
                x = self.norm(i).take(d)  # in place from here: the same operations, fewer arrays
                x += tf
                np.divide(tf, x, out=x)
                x *= weight
                w = x.astype(np.float32)
            best = float(w.max())
            if len(gone) and float(w[gone].max()) >= best:  # the best may be a deleted passage's
                best = float(np.delete(w, gone).max())
            top = max(top, best)
            weights.append(w)
            pos.append(d + int(self.offsets[i]) if i else d)
        if len(pos) == 1:
            return pos[0], weights[0], top
        return np.concatenate(pos), np.concatenate(weights), top


class TermCache:
    """term → (positions, scores, best score), least recently used dropped first beyond `limit` bytes. Safe
    across threads; the arrays are never changed once stored."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[str, tuple[np.ndarray, np.ndarray, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, term: str) -> tuple[np.ndarray, np.ndarray, float] | None:
        with self._lock:
            item = self._items.get(term)
            if item is not None:
                self._items.move_to_end(term)
            return item

    def put(self, term: str, item: tuple[np.ndarray, np.ndarray, float]) -> None:
        size = item[0].nbytes + item[1].nbytes
        with self._lock:
            if term in self._items or size > self.limit:
                return
            self._items[term] = item
            self._bytes += size
            while self._bytes > self.limit:
                _, (p, w, _) = self._items.popitem(last=False)
                self._bytes -= p.nbytes + w.nbytes
