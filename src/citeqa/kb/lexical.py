"""BM25 over passages: the lexical index of a knowledge base, kept up to date a write at a time.

The index is a derived cache of the SQLite store (title + passage text of every passage), like the
dense one, but it is not rebuilt whole after each write: at a million passages that took 88 s and
4.7 GB. It is a list of immutable segments (segments.py: each passage's length and raw postings,
term frequencies) plus, per segment, which of its passages are deleted. A write adds one segment of
the passages it added and marks the ones it removed (an updated article's passages get new vector
ids, so removed + added describes every write); small segments are merged as they accumulate, so
there are O(log N) of them, and one mostly deleted is rewritten without its dead.

BM25 is computed at query time from the live passages only: N, their mean length and each query
term's document frequency, with bm25s's "lucene" formulas (k1 0.9, b 0.4, the configuration of
MTEB's BM25 baseline) and its float32 rounding of each posting's score (bm25.py), so the scores are
those of a fresh bm25s build of the same passages, bit for bit, however the index got there.

Files, in the knowledge-base folder:

    lexical-<gen>.json              generation <gen>: settings, its segments and deletion files
    lexical/seg-<name>/             one segment's arrays (never changed once written)
    lexical/dead-<name>-<gen>.npy   positions deleted from segment <name> as of generation <gen>

Everything is written under a private temporary name, fsynced and renamed, the manifest last. A
reader holding an older generation loads only the new segments (memory-mapped: a million passages
open in well under a second). Which generation's index is used, and what happens when its files are
missing, damaged, stale or built with other settings, is lexical_cache.py's part.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from citeqa.analyzer import STEMMER, STOPWORDS_NAME, TOKEN, Analyzer
from citeqa.kb import bm25, segments
from citeqa.kb.files import write_bytes_atomically, write_text_atomically
from citeqa.kb.segments import Segment

FORMAT = "citeqa-lexical"
FORMAT_VERSION = 2  # 2: segments and query-time BM25 (1 was one lexical-<gen>.npz of scores)
# Anserini's BM25 defaults; on the training sets (bench/fusion_tune.py) they fused best of the
# (k1, b) pairs tried. Recorded in each manifest: a change here forces a rebuild.
K1, B, METHOD = 0.9, 0.4, "lucene"
FOLDER = "lexical"
# Merge policy: adjacent segments merge while the newer holds at least 1/MERGE_RATIO of the older's
# live passages, so sizes fall geometrically and there are at most ~log4(N) segments; a segment with
# more than PURGE of its passages deleted is rewritten without them (dead postings cost query time).
MERGE_RATIO, PURGE = 4, 0.5
SPARSE = 16  # a segment with under 1/SPARSE of its passages deleted is "sparse" (see __init__)
_NAME = re.compile(r"[0-9a-f-]+")  # file names the manifest may give
_DEAD = re.compile(r"dead-[0-9a-f-]+\.npy")


class LexicalIndex:
    """One generation's index: segments, the positions deleted from each, and BM25 over the rest."""

    def __init__(
        self,
        generation: int,
        segs: Sequence[Segment],
        dead: Sequence[np.ndarray] | None = None,
        dead_files: Sequence[str | None] | None = None,
    ) -> None:
        self.generation = generation
        self.segments = tuple(segs)
        self.dead = tuple(np.zeros(0, np.int64) for _ in segs) if dead is None else tuple(dead)
        self.dead_files = list(dead_files or [None] * len(self.segments))
        self.k1, self.b = K1, B  # read now, so a benchmark may set lexical.K1 before a build
        self._live = [_live_mask(s, d) for s, d in zip(self.segments, self.dead, strict=True)]
        self._offsets = np.cumsum([0] + [len(s) for s in self.segments])
        # A segment with few deletions keeps their postings at query time (finding them in a list
        # is a binary search each, where masking it is a pass over it) and zeroes their scores.
        self._sparse = [
            len(d) > 0 and len(d) * SPARSE < len(s) for s, d in zip(self.segments, self.dead, strict=True)
        ]
        self._dead32 = [d.astype(np.uint32) for d in self.dead]
        zeroed = [d + o for d, o, sp in zip(self.dead, self._offsets, self._sparse, strict=False) if sp]
        self._zeroed = np.concatenate(zeroed).astype(np.intp) if zeroed else np.zeros(0, np.intp)
        self.n = sum(len(s) - len(d) for s, d in zip(self.segments, self.dead, strict=True))
        total = sum(
            int(np.sum(s.lengths if m is None else s.lengths[m], dtype=np.int64))
            for s, m in zip(self.segments, self._live, strict=True)
        )
        self.avgdl = total / self.n if self.n else 0.0
        self._bm25 = bm25.Scorer(
            self.k1, self.b, self.n, self.avgdl, [s.lengths for s in self.segments], self._offsets
        )
        self._memo: tuple[tuple[str, ...], np.ndarray | None, float] | None = None
        self._cache = bm25.TermCache(bm25.CACHE_BYTES)

    @classmethod
    def build(cls, rows: list[tuple[int, str]], generation: int, analyzer: Analyzer) -> LexicalIndex:
        """An index of `rows` ((vid, text)) from nothing: one segment."""
        rows = sorted(rows)
        return cls(generation, [segments.build(_new_name(generation), rows, analyzer.terms)] if rows else [])

    def updated(
        self, generation: int, removed: np.ndarray, rows: list[tuple[int, str]], analyzer: Analyzer
    ) -> LexicalIndex:
        """This index with the passages `removed` (vids) deleted and `rows` added as a new segment,
        then merged by the policy above: generation `generation`'s index."""
        removed = np.sort(np.asarray(removed, dtype=np.int64))
        segs, dead, files = list(self.segments), list(self.dead), list(self.dead_files)
        for i, seg in enumerate(segs):
            if len(removed) and len(seg):
                pos = np.minimum(np.searchsorted(seg.vids, removed), len(seg) - 1)
                gone = pos[seg.vids[pos] == removed]
                if len(gone):
                    dead[i], files[i] = np.union1d(dead[i], gone).astype(np.int64), None
        if rows:
            segs.append(segments.build(_new_name(generation), sorted(rows), analyzer.terms))
            dead.append(np.zeros(0, np.int64))
            files.append(None)
        parts = [(s, d, f) for s, d, f in zip(segs, dead, files, strict=True) if len(d) < len(s)]
        for i, (seg, d, _) in enumerate(parts):  # purge the mostly dead
            if len(d) > PURGE * len(seg):
                parts[i] = (segments.merge(_new_name(generation), [(seg, _live_mask(seg, d))]), _EMPTY, None)
        i = len(parts) - 2
        while i >= 0:  # from the newest: merge a segment into the one before while it is big enough
            (a, da, _), (b, db, _) = parts[i], parts[i + 1]
            if (len(b) - len(db)) * MERGE_RATIO >= len(a) - len(da):
                both = [(a, _live_mask(a, da)), (b, _live_mask(b, db))]
                parts[i : i + 2] = [(segments.merge(_new_name(generation), both), _EMPTY, None)]
                i = len(parts) - 2
            else:
                i -= 1
        return LexicalIndex(generation, *zip(*parts, strict=True)) if parts else LexicalIndex(generation, [])

    def __len__(self) -> int:
        return self.n

    @cached_property
    def vids(self) -> np.ndarray:
        """Vector ids of the live passages, ascending."""
        live = [s.vids if m is None else s.vids[m] for s, m in zip(self.segments, self._live, strict=True)]
        out = np.concatenate(live) if live else np.zeros(0, np.int64)
        return out if np.all(out[1:] > out[:-1]) else np.sort(out)

    @cached_property
    def _position_vids(self) -> np.ndarray:
        """Vector id of every position (segment by segment, dead ones included)."""
        return np.concatenate([s.vids for s in self.segments]) if self.segments else np.zeros(0, np.int64)

    # ---------------------------------------------------------------- BM25

    def _query(self, terms: list[str]) -> tuple[np.ndarray | None, float]:
        """(BM25 of every position, or None when no live passage has a term; the query's upper
        bound). The last query is remembered: the ranker asks for search, score_of and
        upper_bound of the same terms in turn."""
        key = tuple(terms)
        memo = self._memo
        if memo is not None and memo[0] == key:
            return memo[1], memo[2]
        distinct = list(dict.fromkeys(terms))
        words = [t.encode("utf-8") for t in distinct]
        columns = [seg.columns(words) for seg in self.segments]
        found: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
        for j, term in enumerate(distinct):
            cached = self._cache.get(term)
            if cached is not None:
                found[term] = cached
                continue
            parts, df = [], 0
            for i, seg in enumerate(self.segments):
                if columns[i][j] >= 0:
                    docs, tfs = seg.postings(int(columns[i][j]))
                    gone, n = _EMPTY, len(docs)
                    if self._sparse[i]:  # few deleted: find them (positions ascend), zero them below
                        dead = self._dead32[i]  # the postings' type: searchsorted casts to a common one
                        at = np.searchsorted(docs, dead)
                        found_at = at < n
                        at = at[found_at]
                        gone = at[docs[at] == dead[found_at]]
                        n -= len(gone)
                    elif self._live[i] is not None:  # many: drop them now
                        keep = self._live[i][docs]
                        docs, tfs = docs[keep], tfs[keep]
                        n = len(docs)
                    if n:
                        parts.append((i, docs, tfs, gone))
                        df += n
            if df:
                found[term] = self._bm25.term(parts, df)
                if df >= bm25.CACHE_FROM:
                    self._cache.put(term, found[term])
        if not found:
            scores, bound = None, 0.0
        else:
            # One bincount over the query's posting lists, a term as often as the query has it.
            hits = [found[t] for t in terms if t in found]
            docs = np.concatenate([p for p, _, _ in hits])
            weights = np.concatenate([w for _, w, _ in hits])
            scores = np.bincount(docs, weights=weights, minlength=int(self._offsets[-1]))
            scores[self._zeroed] = 0.0  # deleted passages whose postings were kept
            bound = sum(top for _, _, top in hits)
        self._memo = (key, scores, bound)
        return scores, bound

    def scores(self, terms: list[str]) -> np.ndarray | None:
        """BM25 of every position (segment by segment; 0 for a deleted one), or None when no live
        passage has any of the terms."""
        return self._query(terms)[0]

    def search(self, terms: list[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (vid, score) among passages sharing a term with the query (and among `allowed`
        vids when given: the scope is applied to the scores, before the cut); ties by vid."""
        s = self.scores(terms)
        if s is None or k < 1:
            return []
        vids = self._position_vids
        if allowed is not None:  # the scope: ascending vids (Records.vids_in), looked up per position
            if not len(allowed):
                return []
            at = np.minimum(np.searchsorted(allowed, vids), len(allowed) - 1)
            s = np.where(allowed[at] == vids, s, 0.0)
        hit = np.flatnonzero(s > 0)
        if len(hit) > k:  # keep everything tied with the k-th score, so the cut is by vid too
            kth = np.partition(s[hit], len(hit) - k)[len(hit) - k]
            hit = hit[s[hit] >= kth]
        order = np.lexsort((vids[hit], -s[hit]))[:k]
        return [(int(vids[i]), float(s[i])) for i in hit[order]]

    def score_of(self, terms: list[str], vids: Sequence[int]) -> dict[int, float]:
        """BM25 of the given passages (0.0 when they share no term); unknown vids are left out."""
        if not len(vids) or not self.n:
            return {}
        want = np.asarray(vids, dtype=np.int64)
        s = self.scores(terms)
        where: dict[int, int] = {}
        for i, seg in enumerate(self.segments):
            if not len(seg):
                continue
            pos = np.minimum(np.searchsorted(seg.vids, want), len(seg) - 1)
            ok = seg.vids[pos] == want
            if self._live[i] is not None:
                ok &= self._live[i][pos]
            where.update(zip(want[ok].tolist(), (pos[ok] + int(self._offsets[i])).tolist(), strict=True))
        return {int(v): float(s[where[v]]) if s is not None else 0.0 for v in want.tolist() if v in where}

    def upper_bound(self, terms: list[str]) -> float:
        """The most any passage could score for these terms (the sum of each term's best score over
        the live passages): a fixed scale for normalising BM25."""
        return self._query(terms)[1]

    # ---------------------------------------------------------------- files

    def save(self, path: Path) -> None:
        """Write the segments and deletion files not yet on disk beside `path`, then `path` (this
        generation's manifest), each atomically; the manifest last, so it never names a missing file."""
        folder = path.parent / FOLDER
        folder.mkdir(exist_ok=True)
        for seg in self.segments:
            seg.save(folder)
        for i, (seg, dead) in enumerate(zip(self.segments, self.dead, strict=True)):
            if len(dead) and self.dead_files[i] is None:
                name = f"dead-{seg.name}-{self.generation}.npy"  # its content follows from its name
                if not (folder / name).is_file():
                    write_bytes_atomically(folder / name, lambda f, d=dead: np.save(f, d, allow_pickle=False))
                self.dead_files[i] = name
        entries = [
            {"name": s.name, "docs": len(s), "dead": len(d), "dead_file": f}
            for s, d, f in zip(self.segments, self.dead, self.dead_files, strict=True)
        ]
        write_text_atomically(path, json.dumps({**_settings(self.generation, self.n), "segments": entries}))

    @classmethod
    def load(cls, path: Path, generation: int, reuse: LexicalIndex | None = None) -> LexicalIndex | None:
        """The index `path` describes if it is whole and built for `generation` with these settings;
        segments and deletion files `reuse` already holds are taken from it, the rest mapped."""
        folder = path.parent / FOLDER
        have = {} if reuse is None else {s.name: (s, d, f) for s, d, f in reuse.parts()}
        segs, dead, files = [], [], []
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            entries = manifest.pop("segments")
            if manifest != _settings(generation, manifest.get("passages")):
                return None
            for e in entries:
                name, file = e["name"], e["dead_file"]
                if not _NAME.fullmatch(name) or not (file is None or _DEAD.fullmatch(file)):
                    return None
                old = have.get(name)
                seg = old[0] if old else Segment.open(folder, name)
                if seg is None or len(seg) != e["docs"]:
                    return None
                if file is None:
                    d = _EMPTY
                elif old and old[2] == file:
                    d = old[1]
                else:
                    d = np.load(folder / file, allow_pickle=False)
                    if d.dtype != np.int64 or d.ndim != 1 or (len(d) and (d[0] < 0 or d[-1] >= len(seg))):
                        return None
                    if not np.all(d[1:] > d[:-1]):
                        return None
                if len(d) != e["dead"]:
                    return None
                segs.append(seg)
                dead.append(d)
                files.append(file)
        except Exception:  # noqa: BLE001 - any damage (missing file, bad JSON or array) means: rebuild
            return None
        index = cls(generation, segs, dead, files)
        return index if len(index) == manifest["passages"] else None

    def parts(self) -> list[tuple[Segment, np.ndarray, str | None]]:
        """(segment, deleted positions, the file they are saved in) of each segment."""
        return list(zip(self.segments, self.dead, self.dead_files, strict=True))

    def files(self) -> set[str]:
        """Names (in the lexical folder) of the segments and deletion files this index uses."""
        return {f"seg-{s.name}" for s in self.segments} | {f for f in self.dead_files if f}


_EMPTY = np.zeros(0, np.int64)


def _live_mask(seg: Segment, dead: np.ndarray) -> np.ndarray | None:
    if not len(dead):
        return None
    live = np.ones(len(seg), dtype=bool)
    live[dead] = False
    return live


def _new_name(generation: int) -> str:
    """A segment name no other writer will pick: the generation and 48 random bits."""
    return f"{generation}-{uuid.uuid4().hex[:12]}"


def _settings(generation: int, n: object) -> dict[str, object]:
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
        "passages": n if isinstance(n, int) else -1,
    }
