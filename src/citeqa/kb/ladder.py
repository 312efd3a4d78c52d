"""The index ladder: which FAISS index a knowledge base's vectors go into, by its size.

    flat  IndexIDMap2(IndexFlatIP): exact inner product; every search reads every vector
    ivf   IndexIVFScalarQuantizer (8-bit codes, inner product): vectors grouped in `nlist` lists
          around trained centroids; a search reads the NPROBE lists nearest the question

`auto` (the default) keeps exact search while it is fast (bench.scale_index: 5 ms per search at
100k passages, 52 ms at 1M, one thread) and moves to IVF from IVF_FROM passages, where it is about
20x faster at recall@10 ≥ 0.95 against exact search (bench.scale_ladder on real embeddings) and a
quarter of the size (one byte per dimension). HNSW is not on the ladder: FAISS's HNSW cannot remove
vectors, and a knowledge base removes and replaces articles.

Files are opened memory-mapped (IO_FLAG_MMAP_IFC): opening costs milliseconds at any size and pages
are read as searches touch them. A mapped index is read-only (FAISS aborts the process on a write
to one), so writers always get a copy in RAM (`read(..., mapped=False)`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.config import INDEXES

KINDS = INDEXES
IVF_FROM = 200_000  #: `auto` builds IVF from this many passages ...
FLAT_BELOW = IVF_FROM // 2  #: ... and goes back to flat only below this many (no flapping)
IVF_MIN = 1_000  #: fewer vectors than this cannot train IVF: `ivf` stays flat until there are more
NPROBE = 32  #: lists read per search (bench.scale_ladder: the recall/latency choice, on training data)
TRAIN_PER_LIST = 40  #: training vectors per list (FAISS warns below 39)
TRAIN_ITERATIONS = 10  #: k-means passes (FAISS's default 25 costs 2.5x for no measured recall)


def kind_of(index: Any) -> str:
    import faiss

    return "ivf" if faiss.try_extract_index_ivf(index) is not None else "flat"


def nlist_for(n: int) -> int:
    """Lists for n vectors: the power of two nearest 4·sqrt(n) (FAISS's guidance), at most n/40."""
    ideal = 4 * math.sqrt(max(n, 1))
    nlist = 2 ** round(math.log2(ideal))
    return max(1, min(nlist, n // TRAIN_PER_LIST))


def wanted(setting: str, n: int, current: str | None = None) -> str:
    """The kind the setting asks for at n vectors; `current` (the kind held now) makes `auto`
    keep IVF down to FLAT_BELOW, so a few removals never rebuild back and forth."""
    if setting == "flat" or n < IVF_MIN:
        return "flat"
    if setting == "ivf":
        return "ivf"
    if n >= IVF_FROM or (current == "ivf" and n >= FLAT_BELOW):
        return "ivf"
    return "flat"


def fits(index: Any, setting: str, n: int) -> bool:
    """Whether `index` is the kind the setting wants at n vectors and, if IVF, was trained for a
    size like n (its lists are not outgrown: a knowledge base 4x larger than the one it was trained
    on gets twice the lists, by a rebuild)."""
    kind = kind_of(index)
    if kind != wanted(setting, n, kind):
        return False
    if kind == "ivf":
        return nlist_for(n) <= 2 * _ivf(index).nlist
    return True


def threads(n: int | None) -> None:
    """FAISS's OpenMP threads for the calling thread's next calls (an OpenMP setting is per thread,
    so web workers set their own). Searches use one: a question is one vector, and on a busy
    machine (load 3.8) a second spinning thread made the demo's `ask` p50 30.8/50.0/45.2 ms in
    three rounds of 40 questions, against 29.8/26.6/27.8 ms with one. Builds use every core."""
    import faiss

    faiss.omp_set_num_threads(n or os.cpu_count() or 1)


def build(kind: str, dim: int, ids: np.ndarray, vectors: np.ndarray) -> Any:
    """A new index of `kind` holding these vectors (IVF trains on an even sample of them first)."""
    import faiss

    threads(None)

    if kind == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    else:
        nlist = nlist_for(len(ids))
        index = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.cp.niter = TRAIN_ITERATIONS
        step = max(1, len(ids) // (nlist * TRAIN_PER_LIST))  # evenly spaced: deterministic
        index.train(np.ascontiguousarray(vectors[::step]))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return prepared(index)


def prepared(index: Any) -> Any:
    """The search settings a file doesn't keep reliably across versions (IVF's nprobe)."""
    if kind_of(index) == "ivf":
        _ivf(index).nprobe = NPROBE
    return index


def search(index: Any, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[Any, Any]:
    """FAISS's (scores, ids) for one query, only among `allowed` ids when given. The filter runs
    inside the search (an id selector), so a narrow scope still gets its k best; IVF then reads
    more lists, in proportion to how much the scope leaves out, since the few allowed vectors may
    sit in lists a plain search would skip."""
    import faiss

    x = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    if allowed is None:
        return index.search(x, min(k, index.ntotal))
    selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
    if kind_of(index) == "ivf":
        ivf = _ivf(index)
        share = max(1, math.ceil(ivf.ntotal / max(1, len(allowed))))
        params = faiss.SearchParametersIVF(sel=selector, nprobe=min(ivf.nlist, NPROBE * share))
    else:
        params = faiss.SearchParameters(sel=selector)
    result = index.search(x, min(k, len(allowed), index.ntotal), params=params)
    del selector  # the parameters hold a bare pointer to it: alive until the search returned
    return result


def read(path: Path, *, mapped: bool) -> Any:
    """Read an index file; `mapped`: memory-mapped and read-only (for searching only)."""
    import faiss

    return prepared(faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mapped else 0))


def ids_of(index: Any) -> set[int]:
    """Every vector id the index holds."""
    import faiss

    if kind_of(index) == "flat":
        return {int(index.id_map.at(i)) for i in range(index.ntotal)}
    inv = _ivf(index).invlists
    out: set[int] = set()
    for lst in range(inv.nlist):
        size = inv.list_size(lst)
        if size:
            out.update(faiss.rev_swig_ptr(inv.get_ids(lst), size).tolist())
    return out


def describe(index: Any) -> str:
    """One line for people: what kind of index this is."""
    if kind_of(index) == "flat":
        return f"flat (exact), {index.ntotal:,} vectors"
    ivf = _ivf(index)
    return f"ivf, {ivf.ntotal:,} vectors in {ivf.nlist:,} lists, {ivf.nprobe} searched per question"


def _ivf(index: Any) -> Any:
    import faiss

    return faiss.extract_index_ivf(index)
