"""Segments of the lexical index: immutable sets of passages with their raw postings.

A segment holds, for some passages, what BM25 needs that does not depend on the rest of the
collection: each passage's vector id and length (its number of analysed terms), and per term the
passages containing it with their term frequencies. BM25 itself (idf, average length) depends on the
whole collection, so it is computed at query time (lexical.py) from the live passages of all segments:
a write then adds one small segment and marks deletions instead of recomputing every score, and the
scores still equal those of a fresh build. This is Lucene's design, in numpy.

Terms are kept as sorted byte strings, so a lookup is one `np.searchsorted` and the tables can be
memory-mapped: terms of up to SHORT bytes (nearly all) in a fixed-width table, the rare longer ones in
a second table as wide as its longest, so one long token cannot widen every entry. A term's column is
its index in `short`, or len(short) + its index in `long`.

On disk a segment is a folder `seg-<name>/` of .npy files and a `meta.json` with their CRC-32s,
written under a private temporary name and renamed whole; it is never changed afterwards. Opening
maps the arrays (`mmap_mode="r"`), so a million passages open in milliseconds; `check` reads them all
to compare the checksums (repair does, queries don't).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from citeqa.kb.files import fsync_path, private_tmp, writer_gone

SHORT = 16  # bytes: the width of the main term table (a longer term goes to the `long` table)
ARRAYS = ("vids", "lengths", "short", "long", "indptr", "docs", "tfs")
CHUNK = 50_000  # passages analysed and counted at a time while building (bounds the peak memory)


@dataclass(frozen=True)
class Segment:
    """Raw postings of a set of passages, term-major (CSR): column c's postings are
    [indptr[c], indptr[c+1]) of `docs` (positions in this segment) and `tfs` (term frequencies)."""

    name: str
    vids: np.ndarray  # int64, ascending: position → passage vector id
    lengths: np.ndarray  # int32: analysed terms of each passage (its BM25 document length)
    short: np.ndarray  # S16, sorted: terms of up to SHORT bytes
    long: np.ndarray  # S<n>, sorted: longer terms
    indptr: np.ndarray  # int64, one more than there are terms
    docs: np.ndarray  # uint32 (a bad one raises, never wraps), ascending in each column: positions
    tfs: np.ndarray  # uint8/16/32: how often the term occurs in that passage

    def __len__(self) -> int:
        return len(self.vids)

    def columns(self, terms: Sequence[bytes]) -> np.ndarray:
        """The column of each term (UTF-8 bytes), -1 where the segment does not have it."""
        out = np.full(len(terms), -1, dtype=np.int64)
        short = [i for i, t in enumerate(terms) if len(t) <= SHORT]
        if short and len(self.short):
            want = np.array([terms[i] for i in short], dtype=f"S{SHORT}")
            pos = np.minimum(np.searchsorted(self.short, want), len(self.short) - 1)
            found = self.short[pos] == want
            out[np.array(short)[found]] = pos[found]
        width = self.long.dtype.itemsize
        for i, t in enumerate(terms):  # long terms are rare: one lookup each
            if SHORT < len(t) <= width and len(self.long):
                p = int(np.searchsorted(self.long, t))
                if p < len(self.long) and self.long[p] == t:
                    out[i] = len(self.short) + p
        return out

    def postings(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = int(self.indptr[column]), int(self.indptr[column + 1])
        return self.docs[a:b], self.tfs[a:b]

    # ---------------------------------------------------------------- files

    def save(self, folder: Path) -> None:
        """Write to `folder/seg-<name>/` unless it is there already (a segment never changes)."""
        final = folder / f"seg-{self.name}"
        if (final / "meta.json").is_file():
            return
        folder.mkdir(exist_ok=True)
        tmp = private_tmp(final)
        try:
            tmp.mkdir()
            crcs = {}
            for key in ARRAYS:
                arr = np.ascontiguousarray(getattr(self, key))
                crcs[key] = zlib.crc32(memoryview(arr).cast("B"))
                with open(tmp / f"{key}.npy", "wb") as f:
                    np.save(f, arr, allow_pickle=False)
                    f.flush()
                    os.fsync(f.fileno())
            meta = {
                "docs": len(self),
                "terms": len(self.indptr) - 1,
                "postings": len(self.docs),
                "crc32": crcs,
            }
            with open(tmp / "meta.json", "w", encoding="utf-8") as f:
                json.dump(meta, f)
                f.flush()
                os.fsync(f.fileno())
            fsync_path(tmp)
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        fsync_path(folder)

    @classmethod
    def open(cls, folder: Path, name: str) -> Segment | None:
        """The segment in `folder/seg-<name>/`, memory-mapped; None when it is missing or its
        shapes don't add up (cheap checks only: `check` compares the checksums)."""
        path = folder / f"seg-{name}"
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            arrays = {k: np.load(path / f"{k}.npy", mmap_mode="r", allow_pickle=False) for k in ARRAYS}
            seg = cls(name, **arrays)
            ok = (
                meta["docs"] == len(seg.vids) == len(seg.lengths)
                and meta["terms"] == len(seg.short) + len(seg.long) == len(seg.indptr) - 1
                and meta["postings"] == len(seg.docs) == len(seg.tfs)
                and seg.vids.dtype == np.int64
                and seg.docs.dtype == np.uint32
                and seg.indptr.dtype == np.int64
                and seg.short.dtype == np.dtype(f"S{SHORT}")
                and seg.long.dtype.kind == "S"
                and seg.tfs.dtype.kind == "u"
                and int(seg.indptr[0]) == 0
                and int(seg.indptr[-1]) == len(seg.docs)
                and bool(np.all(np.diff(seg.indptr) >= 0))
                and bool(np.all(np.diff(seg.vids) > 0))
            )
        except Exception:  # noqa: BLE001 - any damage (missing, truncated, bad header or JSON) means: unusable
            return None
        return seg if ok else None

    @staticmethod
    def check(folder: Path, name: str) -> str | None:
        """What is wrong with the files of segment `name` (a checksum that differs), or None."""
        path = folder / f"seg-{name}"
        try:
            crcs = json.loads((path / "meta.json").read_text(encoding="utf-8"))["crc32"]
            for key in ARRAYS:
                arr = np.ascontiguousarray(np.load(path / f"{key}.npy", allow_pickle=False))
                if zlib.crc32(memoryview(arr).cast("B")) != crcs[key]:
                    return f"segment {name}: {key}.npy fails its checksum"
        except Exception as exc:  # noqa: BLE001 - reported, then rebuilt
            return f"segment {name} is unreadable ({type(exc).__name__})"
        return None


# ---------------------------------------------------------------- building


class _Ids(dict[str, int]):
    """term → id in order of first sight (a dict lookup per token, the id made on a miss)."""

    def __missing__(self, term: str) -> int:
        self[term] = n = len(self)
        return n


def build(name: str, rows: Sequence[tuple[int, str]], analyze: Callable[[str], list[str]]) -> Segment:
    """A segment of `rows` ((vid, text), vids ascending and distinct), `analyze(text)` giving each
    text's terms. CHUNK passages are analysed at a time and each chunk's (term, passage) pairs
    counted with one sort, so the token lists of a million passages never sit in memory at once."""
    ids = _Ids()
    lengths: list[np.ndarray] = []
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (term id, position, tf) per chunk
    for start in range(0, len(rows), CHUNK):
        terms = [analyze(text) for _, text in rows[start : start + CHUNK]]
        n = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        lengths.append(n)
        tokens = np.fromiter(map(ids.__getitem__, chain.from_iterable(terms)), np.int64, int(n.sum()))
        del terms
        key = np.sort((tokens << 32) | np.repeat(np.arange(start, start + len(n), dtype=np.int64), n))
        del tokens
        if not len(key):  # nothing but stopwords
            continue
        first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))  # one per (term, passage)
        tf = np.diff(np.append(first, len(key)))
        tf = tf.astype(np.uint16 if tf.max() < 2**16 else np.uint32)
        key = key[first]
        parts.append(((key >> 32).astype(np.int32), (key & 0xFFFFFFFF).astype(np.uint32), tf))
    words = [t.encode("utf-8") for t in ids]
    del ids
    is_long = np.fromiter((len(w) > SHORT for w in words), dtype=bool, count=len(words))
    # Term ids: the short terms first, then the long ones, each in order of first sight.
    new_id = np.empty(len(words), dtype=np.int32)
    new_id[~is_long] = np.arange(np.count_nonzero(~is_long), dtype=np.int32)
    new_id[is_long] = np.count_nonzero(~is_long) + np.arange(np.count_nonzero(is_long), dtype=np.int32)
    short = np.array([w for w, x in zip(words, is_long, strict=True) if not x], dtype=f"S{SHORT}")
    long = np.array([w for w, x in zip(words, is_long, strict=True) if x] or [b""], dtype="S")
    del words
    return _assemble(
        name,
        np.fromiter((v for v, _ in rows), dtype=np.int64, count=len(rows)),
        np.concatenate(lengths) if lengths else np.zeros(0, np.int32),
        (short, long[: np.count_nonzero(is_long)]),
        [(new_id[t], d, f) for t, d, f in _drain(parts)],
    )


def merge(name: str, parts: Sequence[tuple[Segment, np.ndarray | None]]) -> Segment:
    """One segment of the live passages of `parts` ((segment, live mask or None when all live)):
    vocabularies united, columns remapped, dead postings dropped. Pure numpy: no text is analysed
    again, so merging costs a sort of the postings, not a rebuild."""
    live = [np.ones(len(seg), dtype=bool) if mask is None else mask for seg, mask in parts]
    vids = np.concatenate(
        [seg.vids[m] for (seg, _), m in zip(parts, live, strict=True)] or [np.zeros(0, np.int64)]
    )
    order = np.argsort(vids, kind="stable")  # the identity when the parts come in vid order
    where = np.empty(len(order), dtype=np.int64)
    where[order] = np.arange(len(order))  # merged position of each (part, live passage)
    short, s_inv = np.unique(np.concatenate([seg.short for seg, _ in parts]), return_inverse=True)
    long, l_inv = np.unique(np.concatenate([seg.long for seg, _ in parts]), return_inverse=True)
    postings = []
    base = s_at = l_at = 0
    for (seg, _), mask in zip(parts, live, strict=True):
        remap = np.concatenate(
            (s_inv[s_at : s_at + len(seg.short)], len(short) + l_inv[l_at : l_at + len(seg.long)])
        ).astype(np.int32)
        s_at, l_at = s_at + len(seg.short), l_at + len(seg.long)
        term = np.repeat(remap, np.diff(seg.indptr))
        docs = np.asarray(seg.docs)
        keep = mask[docs]
        new_pos = base + np.cumsum(mask) - 1  # live position in the concatenation of the parts
        postings.append((term[keep], where[new_pos[docs[keep]]].astype(np.uint32), np.asarray(seg.tfs)[keep]))
        base += int(np.count_nonzero(mask))
    lengths = np.concatenate(
        [seg.lengths[m] for (seg, _), m in zip(parts, live, strict=True)] or [np.zeros(0, np.int32)]
    )
    if not np.array_equal(order, np.arange(len(order))):
        # Parts out of vid order (never made by lexical.py, which merges neighbours): put the
        # postings in position order, so each column's positions still ascend once grouped.
        t, d, f = (np.concatenate(x) for x in zip(*postings, strict=True))
        by_pos = np.argsort(d, kind="stable")
        postings = [(t[by_pos], d[by_pos], f[by_pos])]
    return _assemble(name, vids[order], lengths[order], (short, long), _drain(postings))


def _drain(items: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield and let go of each item in turn, so its arrays can be freed as soon as they are used."""
    items.reverse()
    while items:
        yield items.pop()


def _assemble(
    name: str,
    vids: np.ndarray,
    lengths: np.ndarray,
    tables: tuple[np.ndarray, np.ndarray],
    parts: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> Segment:
    """A segment from postings given as (term id, position, tf) arrays, term ids indexing the short
    table then the long one (each of distinct terms, in any order): the tables sorted, terms without
    postings dropped, postings grouped by column (a stable sort keeps each column's positions in
    the order given). Each array is let go of once copied: at a million passages the postings are
    60 million, and the peak memory is what a rebuild costs."""
    short, long = tables
    terms: list[np.ndarray] = [np.zeros(0, np.int32)]
    docs_l: list[np.ndarray] = [np.zeros(0, np.uint32)]
    tfs_l: list[np.ndarray] = [np.zeros(0, np.uint8)]
    for t, d, f in parts:
        terms.append(t)
        docs_l.append(d)
        tfs_l.append(f)
    term = np.concatenate(terms)
    del terms
    counts = np.bincount(term, minlength=len(short) + len(long))
    s_ids = np.flatnonzero(counts[: len(short)])
    s_ids = s_ids[np.argsort(short[s_ids], kind="stable")]
    l_ids = np.flatnonzero(counts[len(short) :])
    l_ids = l_ids[np.argsort(long[l_ids], kind="stable")]
    columns = np.concatenate((s_ids, len(short) + l_ids))  # column c holds term id columns[c]
    rank = np.full(len(counts), -1, dtype=np.int32)
    rank[columns] = np.arange(len(columns), dtype=np.int32)
    term = rank[term]  # the column of each posting
    order = np.argsort(term, kind="stable")
    del term
    indptr = np.zeros(len(columns) + 1, dtype=np.int64)
    np.cumsum(counts[columns], out=indptr[1:])
    long = long[l_ids]
    width = max((len(w) for w in long.tolist()), default=1)
    docs = np.concatenate(docs_l)
    del docs_l
    docs = docs[order].astype(np.uint32, copy=False)
    tfs = np.concatenate(tfs_l)
    del tfs_l
    tfs = tfs[order]
    del order
    top = int(tfs.max()) if len(tfs) else 0
    return Segment(
        name=name,
        vids=np.ascontiguousarray(vids, dtype=np.int64),
        lengths=np.ascontiguousarray(lengths, dtype=np.int32),
        short=np.ascontiguousarray(short[s_ids], dtype=f"S{SHORT}"),
        long=np.ascontiguousarray(long, dtype=f"S{width}"),
        indptr=indptr,
        docs=docs,
        tfs=tfs.astype(np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.uint32, copy=False),
    )


def sweep(folder: Path, keep: set[str]) -> list[str]:
    """Delete segments and deletion files of `folder` that `keep` doesn't name, and temporary ones
    left by writers that died; the names deleted. Only a writer holding the lock calls this."""
    gone = []
    for path in sorted(folder.glob("seg-*")) + sorted(folder.glob("dead-*.npy")):
        if path.name not in keep:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            gone.append(path.name)
    for tmp in folder.glob(".*.tmp"):
        if writer_gone(tmp):
            with contextlib.suppress(OSError):
                shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    return gone
