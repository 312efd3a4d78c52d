"""BM25 rows of the scale suite (issue 13): citeqa's lexical index over N passages of real text.

    python -m bench.scale_lexical [--sizes 100000 1000000] [--queries 200] [--no-old] [--workdir DIR]

Passages are the paragraphs of SQuAD v1.1 dev and SQuADShifts (about 24k real ones), repeated with
light perturbation until there are N (each copy drops a random tenth of its words and gains a tag
of its own, so copies are not identical and the vocabulary grows a little, as a real archive's
does). Questions are SQuAD dev questions; a query is a search for the top 50 (as hybrid `ask` asks).

Each measurement runs in a child process of its own, so its peak RSS is its own:

- old: format 1 (bm25s scores every (term, passage) pair at build; rebuilt whole after each write),
  reproduced here as it was, for a same-machine comparison.
- new: a SQLite store of the N passages is made first (cached in --workdir; not timed), then the
  segmented index is built from it and saved; opened from its files (memory-mapped); 512 passages
  are added and 512 removed through the store, each followed by the writer's catch-up
  (`LexicalCache.after_write`: the vid difference read from SQLite, the new passages analysed, a
  segment or a deletion file written, the manifest last); queries are timed after each step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import DATA, RUNS, SQUAD_DEV, pct, peak_rss_mb
from citeqa.analyzer import Analyzer

SHIFTS = ["new_wiki_v1.0.json", "reddit_v1.0.json", "amazon_reviews_v1.0.json", "nyt_v1.0.json"]
CHANGE = 512  # passages added, then removed, by the write measured


def paragraphs() -> tuple[list[str], list[str]]:
    texts, questions = [], []
    for path in [SQUAD_DEV, *(DATA / "squadshifts" / f for f in SHIFTS)]:
        if not path.exists():
            continue
        for art in json.loads(path.read_text())["data"]:
            for para in art["paragraphs"]:
                texts.append(para["context"])
                if path == SQUAD_DEV:
                    questions += [qa["question"] for qa in para["qas"][:1]]
    return texts, questions


def passages(base: list[str], n: int, rng: random.Random) -> list[tuple[int, str]]:
    out = [(i, t) for i, t in enumerate(base[:n])]
    while len(out) < n:
        t = base[len(out) % len(base)]
        words = [w for w in t.split() if rng.random() > 0.1]
        out.append((len(out), " ".join(words) + f" copy{len(out) // len(base)}"))
    return out


def _queries(n: int) -> list[list[str]]:
    _, questions = paragraphs()
    qs = random.Random(0).sample(questions, min(n, len(questions)))
    analyzer = Analyzer()
    return [analyzer.terms(q) for q in qs]


def _timed(search, queries: list[list[str]]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    lat = []
    for terms in queries:
        t = time.perf_counter()
        search(terms, 50)
        lat.append((time.perf_counter() - t) * 1e3)
    return pct(lat, 50), pct(lat, 95)


# ---------------------------------------------------------------- format 1, as it was


def child_old(n: int, folder: Path, queries: list[list[str]]) -> dict[str, float]:
    import bm25s

    rows = passages(paragraphs()[0], n, random.Random(n))
    analyzer = Analyzer()
    t0 = time.perf_counter()
    bm = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    bm.index([analyzer.terms(t) for _, t in rows], create_empty_token=False, show_progress=False)
    data = np.asarray(bm.scores["data"], dtype=np.float32)
    indptr = np.asarray(bm.scores["indptr"], dtype=np.int64)
    indices = np.asarray(bm.scores["indices"], dtype=np.int32)
    vocab = dict(bm.vocab_dict)
    build = time.perf_counter() - t0
    del bm, rows

    def search(terms: list[str], k: int) -> list[int]:
        cols = [vocab[t] for t in terms if t in vocab]
        if not cols:
            return []
        docs = np.concatenate([indices[indptr[c] : indptr[c + 1]] for c in cols])
        weights = np.concatenate([data[indptr[c] : indptr[c + 1]] for c in cols])
        s = np.bincount(docs, weights=weights, minlength=n)
        hit = np.flatnonzero(s > 0)
        if len(hit) > k:
            kth = np.partition(s[hit], len(hit) - k)[len(hit) - k]
            hit = hit[s[hit] >= kth]
        return hit[np.lexsort((hit, -s[hit]))[:k]].tolist()

    p50, p95 = _timed(search, queries)
    mb = (data.nbytes + indptr.nbytes + indices.nbytes + 8 * n) / 1e6
    out = {"build_s": build, "p50": p50, "p95": p95, "mb": mb, "rss": peak_rss_mb()}
    # The same questions alternately against this index and the segmented one child_new left on
    # disk (after its writes: two segments, 512 deleted; its pages read in first), each question
    # once, in one process: the fairest comparison on a shared machine, whose load moves between
    # the children.
    from citeqa.kb.lexical import LexicalIndex

    found = sorted(
        (int(p.stem.split("-")[1]), p) for p in (folder / "..").glob(f"{folder.name}-run/lexical-*.json")
    )
    if found:
        new = LexicalIndex.load(found[-1][1], found[-1][0])
        assert new is not None
        for seg in new.segments:  # read its pages in, as the other index's are (a reader's steady state)
            for arr in (seg.vids, seg.lengths, seg.indptr, seg.docs, seg.tfs):
                int(np.asarray(arr).sum())
        lo, ln = [], []
        for terms in queries:
            t = time.perf_counter()
            search(terms, 50)
            lo.append((time.perf_counter() - t) * 1e3)
            t = time.perf_counter()
            new.search(terms, 50)
            ln.append((time.perf_counter() - t) * 1e3)
        out.update(
            alt_old_p50=pct(lo, 50), alt_old_p95=pct(lo, 95), alt_new_p50=pct(ln, 50), alt_new_p95=pct(ln, 95)
        )
    return out


# ---------------------------------------------------------------- the segmented index


def child_store(n: int, folder: Path) -> dict[str, float]:
    """A SQLite store of the N passages (one article each, tiny dummy vectors): the lexical
    index's source, as in a knowledge base."""
    from citeqa.kb.records import Records, StoredPassage
    from citeqa.schema import Article, Passage, Span

    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    records = Records.connect(folder, 4, create=True)
    vec, svec = np.zeros(4, np.float32), np.zeros((1, 4), np.float16)
    batch = []
    for i, text in passages(paragraphs()[0], n, random.Random(n)):
        p = Passage(f"p{i}", f"a{i}", 0, text, 0, len(text), (Span(0, len(text)),))
        batch.append((Article(f"a{i}", "", text), "", [StoredPassage(p, vec, svec)]))
        if len(batch) == 20_000:
            records.write(batch)
            batch = []
    records.write(batch)
    records.close()
    (folder / "complete").write_text("ok")
    return {"store_s": time.perf_counter() - t0}


def _disk_mb(folder: Path) -> float:
    files = [*folder.glob("lexical-*.json"), *(folder / "lexical").rglob("*")]
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


def child_new(n: int, store: Path, queries: list[list[str]]) -> dict[str, float]:
    from citeqa.kb.lexical import LexicalIndex
    from citeqa.kb.lexical_cache import LexicalCache
    from citeqa.kb.records import Records, StoredPassage
    from citeqa.kb.sqlite import DB
    from citeqa.schema import Article, Passage, Span

    folder = store.with_name(store.name + "-run")  # a copy: the writes below change it
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    shutil.copyfile(store / DB, folder / DB)
    records = Records.connect(folder, 4)
    cache = LexicalCache(
        folder, lambda: records.generation, lambda: records.counts()["passages"], records.passage_delta
    )
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    gen, _, rows = records.passage_delta(np.zeros(0, np.int64))
    out["read_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = LexicalIndex.build(rows, gen, cache.analyzer)
    out["build_s"] = time.perf_counter() - t0
    del rows
    t0 = time.perf_counter()
    index.save(cache.file(gen))
    cache.sweep(gen)
    out["save_s"] = time.perf_counter() - t0
    out["mb"] = _disk_mb(folder)
    out["p50"], out["p95"] = _timed(index.search, queries)
    out["rss_build"] = peak_rss_mb()
    del index

    reader = LexicalCache(
        folder, lambda: records.generation, lambda: records.counts()["passages"], records.passage_delta
    )
    reader.current()  # another process's cache, holding this generation (loaded from the files)
    cache.current()  # the writer's, likewise
    rng = random.Random(1)
    base = paragraphs()[0]
    vec, svec = np.zeros(4, np.float32), np.zeros((1, 4), np.float16)
    upserts = []
    for i in range(CHANGE):
        text = rng.choice(base)
        p = Passage(f"p-new{i}", f"new{i}", 0, text, 0, len(text), (Span(0, len(text)),))
        upserts.append((Article(f"new{i}", "", text), "", [StoredPassage(p, vec, svec)]))
    records.write(upserts)  # committed; then the writer's part, under the lock:
    t0 = time.perf_counter()
    cache.after_write(records.generation)
    out["add_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reader.current()  # the reader notices the generation and maps the one new segment
    out["reader_s"] = time.perf_counter() - t0
    records.write([], [f"a{i}" for i in random.Random(2).sample(range(n), CHANGE)])
    t0 = time.perf_counter()
    cache.after_write(records.generation)
    out["remove_s"] = time.perf_counter() - t0
    index = cache.current()
    t0 = time.perf_counter()
    records.passage_delta(index.vids)  # the SQLite part of each catch-up: every vid, read and diffed
    out["delta_s"] = time.perf_counter() - t0
    out["segments"] = len(index.segments)
    out["after_p50"], out["after_p95"] = _timed(index.search, queries)
    out["rss"] = peak_rss_mb()
    records.close()
    return out


def child_open(n: int, folder: Path, queries: list[list[str]]) -> dict[str, float]:
    """A reader process: open the newest index from its files (child_new's), then query."""
    from citeqa.kb.lexical import LexicalIndex

    folder = folder.with_name(folder.name + "-run")
    gen, path = max((int(p.stem.split("-")[1]), p) for p in folder.glob("lexical-*.json"))
    t0 = time.perf_counter()
    index = LexicalIndex.load(path, gen)
    out = {"open_s": time.perf_counter() - t0}
    assert index is not None
    t0 = time.perf_counter()
    index.search(queries[0], 50)
    out["first_query_s"] = time.perf_counter() - t0
    out["p50"], out["p95"] = _timed(index.search, queries)
    out["rss"] = peak_rss_mb()
    return out


def _child(args: list[str]) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, "-m", "bench.scale_lexical", *args], check=True, capture_output=True, text=True
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--no-old", action="store_true", help="skip format 1's measurements")
    ap.add_argument(
        "--workdir",
        default=str(RUNS / "scale-lexical"),
        help="where the SQLite stores go (default runs/scale-lexical)",
    )
    ap.add_argument("--child", choices=["old", "store", "new", "open"], help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        folder = Path(args.workdir) / f"store-{args.size}"
        if args.child == "old":
            res = child_old(args.size, folder, _queries(args.queries))
        elif args.child == "store":
            res = child_store(args.size, folder)
        elif args.child == "new":
            res = child_new(args.size, folder, _queries(args.queries))
        else:
            res = child_open(args.size, folder, _queries(args.queries))
        print(json.dumps(res))
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"{len(paragraphs()[0]):,} real paragraphs; {args.queries} questions, top 50"
    )
    rows = []
    for n in args.sizes:
        common = ["--size", str(n), "--queries", str(args.queries), "--workdir", args.workdir]
        folder = Path(args.workdir) / f"store-{n}"
        if not (folder / "complete").is_file():
            for f in folder.glob("*"):
                if f.is_file():
                    f.unlink()
            print(
                f"making a store of {n:,} passages: {_child(['--child', 'store', *common])['store_s']:.0f} s"
            )
        new = _child(["--child", "new", *common])
        new.update({f"open_{k}": v for k, v in _child(["--child", "open", *common]).items()})
        old = None if args.no_old else _child(["--child", "old", *common])
        rows.append((n, old, new))
        print(json.dumps({"passages": n, "old": old, "new": new}), flush=True)
    print("\n| passages | index | build s | query p50 ms | query p95 ms | MB | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for n, old, new in rows:
        if old:
            print(
                f"| {n:,} | format 1 (old) | {old['build_s']:.0f} | {old['p50']:.2f} | {old['p95']:.2f} "
                f"| {old['mb']:,.0f} in RAM | {old['rss']:,.0f} |"
            )
        print(
            f"| {n:,} | segments (new) | {new['build_s']:.0f} | {new['p50']:.2f} | {new['p95']:.2f} "
            f"| {new['mb']:,.0f} on disk | {new['rss_build']:,.0f} |"
        )
    print(
        "\nThe same questions alternately against both indexes in one process "
        "(each once, in turn; both in RAM):\n"
    )
    print("| passages | format 1 p50 / p95 ms | segments p50 / p95 ms |")
    print("|---|---|---|")
    for n, old, _ in rows:
        if old and "alt_old_p50" in old:
            print(
                f"| {n:,} | {old['alt_old_p50']:.2f} / {old['alt_old_p95']:.2f} "
                f"| {old['alt_new_p50']:.2f} / {old['alt_new_p95']:.2f} |"
            )
    print(
        f"\n| passages | open s | first query ms | query p50 / p95 ms | reader peak RSS MB | add {CHANGE} s "
        f"| remove {CHANGE} s | SQLite vid diff s | reader catch-up s | segments | p50 / p95 ms after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n, _, new in rows:
        print(
            f"| {n:,} | {new['open_open_s']:.2f} | {1e3 * new['open_first_query_s']:.0f} "
            f"| {new['open_p50']:.2f} / {new['open_p95']:.2f} | {new['open_rss']:,.0f} | {new['add_s']:.2f} "
            f"| {new['remove_s']:.2f} | {new['delta_s']:.2f} | {new['reader_s']:.2f} | {new['segments']:.0f} "
            f"| {new['after_p50']:.2f} / {new['after_p95']:.2f} |"
        )


if __name__ == "__main__":
    main()
