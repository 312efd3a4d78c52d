"""Near-copy detection (syndicated stories): choose its settings on training data, report them once
on test data, then run the real ingest path and measure its grouping and its cost.

    python -m bench.syndication                  # about 7 minutes on 2 busy cores
    python -m bench.syndication --scale 250000   # also: band lookups among that many stored articles
    python -m bench.syndication --skip-choice    # the shipped settings only (steps 2 and 3)

1. Choice, on SQuADShifts only (bench/syndication_data.py: one simulated copy of every paragraph;
   pairs of different paragraphs of one title, a third with one outlet's boilerplate on both):
   every shingle length k, MinHash size and LSH banding in syndication_sweep.py, each with four
   confirmations (exact containment, exact Jaccard, both estimated from the signatures) and
   thresholds 0.20-0.90. Kept: precision at least 0.995, and at most 100 candidates for a new
   article among a million unrelated ones (measured on 600-word Wikipedia articles of different
   titles: each candidate costs a text read and a comparison). Chosen: the best F0.5 (precision
   counts twice: a false group hides a different story), then fewer band rows, then the higher
   threshold.
1b. The middle rule (nearcopy.Params.core_trim) can only be judged on groups, not pairs: a false
   pair merges two whole groups. A SQuADShifts corpus with copies is grouped by kb/copies.py for
   each core_trim; the best F0.5 of the pairwise grouping wins (then the smaller trim).
2. Test, once, on SQuAD v1.1 dev: pairs made the same way (another seed), and the grouping of a
   corpus of its paragraphs with copies (half of the stories with a copy, an eighth a second one).
3. The real path: that corpus ingested through `Assistant.add` with the hash test embedder (this
   measures grouping and its cost, not embeddings): groups against the truth over all pairs of
   articles, the time spent in detection per article (hashing before the write, lookups and
   grouping inside it), `search` with and without the collapse, and removals.
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from bench import syndication_data as data
from bench import syndication_sweep as sweep
from citeqa import nearcopy
from citeqa.schema import Article

THRESHOLDS = tuple(round(t, 3) for t in np.arange(0.2, 0.901, 0.025))
MIN_PRECISION = 0.995
MAX_BACKGROUND = 100  # candidates a new article may get among 1M unrelated articles


def background_jaccard(k: int) -> np.ndarray:
    """Jaccard similarity of unrelated 600-word articles: 5 consecutive new_wiki paragraphs, pairs of
    different titles (what an LSH banding must not make candidates at scale)."""
    docs = data.load_docs([data.SHIFTS[0]])
    by: dict[str, list[str]] = {}
    for d in docs:
        by.setdefault(d.group, []).append(d.text)
    arts = [(g, " ".join(ps[i : i + 5])) for g, ps in sorted(by.items()) for i in range(0, len(ps) - 4, 5)]
    sets = [nearcopy.shingles(t, k) for _, t in arts]
    return np.array(
        [nearcopy.jaccard(sets[i], sets[j]) for i, j in itertools.combinations(range(len(arts)), 2)
         if arts[i][0] != arts[j][0]]
    )  # fmt: skip


def expected_candidates(js: np.ndarray, bands: int, rows: int, n: int = 1_000_000) -> float:
    return float((1 - (1 - js**rows) ** bands).mean() * n)


def choose(pairs: list[data.Pair]) -> tuple[dict[str, object], list[dict[str, object]]]:
    gold = np.array([p.copy for p in pairs])
    rows: list[dict[str, object]] = []
    for k in sweep.KS:
        f = sweep.features(pairs, k)
        js = background_jaccard(k)
        for banding in sweep.BANDINGS:
            n, b, r = banding
            bg = expected_candidates(js, b, r)
            for rule in sweep.RULES:
                for t in THRESHOLDS:
                    p, rec, _ = sweep.prf(
                        sweep.predict(
                            f, banding, rule, t, nearcopy.DEFAULT.min_ratio, nearcopy.DEFAULT.min_shingles
                        ),
                        gold,
                    )
                    f05 = 1.25 * p * rec / (0.25 * p + rec) if p + rec else 0.0
                    rows.append(dict(k=k, num_perm=n, bands=b, rows=r, rule=rule, threshold=t,
                                     precision=p, recall=rec, f05=f05, background=bg,
                                     candidate_recall=float(f.candidate[banding][gold].mean())))  # fmt: skip
        print(f"  k={k} done", flush=True)
    ok = [x for x in rows if x["precision"] >= MIN_PRECISION and x["background"] <= MAX_BACKGROUND]  # type: ignore[operator]
    best = max(ok, key=lambda x: (round(x["f05"], 4), -x["bands"], x["threshold"]))  # type: ignore[arg-type,operator]
    return best, rows


def params_of(best: dict[str, object]) -> nearcopy.Params:
    return nearcopy.Params(
        k=int(best["k"]), num_perm=int(best["num_perm"]), bands=int(best["bands"]),  # type: ignore[call-overload]
        rows=int(best["rows"]), threshold=float(best["threshold"]),  # type: ignore[arg-type]
    )  # fmt: skip


def detected(a: nearcopy.Body, b: nearcopy.Body, params: nearcopy.Params) -> bool:
    """The shipped detector on one pair: a shared LSH band key, then nearcopy.same_story."""
    ka = set(nearcopy.band_keys(nearcopy.signature(a.shingles, params), params))
    kb = set(nearcopy.band_keys(nearcopy.signature(b.shingles, params), params))
    return bool(ka & kb) and nearcopy.same_story(a, b, params)


def pair_report(pairs: list[data.Pair], params: nearcopy.Params) -> None:
    """Precision and recall of the detector on labelled pairs, and by kind of edit or non-copy."""
    gold = np.array([p.copy for p in pairs])
    kinds = np.array([p.kind for p in pairs])
    pred = np.array([detected(nearcopy.body(p.a, params), nearcopy.body(p.b, params), params) for p in pairs])
    p, r, f1 = sweep.prf(pred, gold)
    print(f"  pairs: {int(gold.sum())} copies, {int((~gold).sum())} non-copies")
    print(f"  precision {p:.4f}  recall {r:.4f}  F1 {f1:.4f}")
    for kind in sorted(set(kinds)):
        m = kinds == kind
        label = "grouped (false)" if not gold[m][0] else "found"
        print(f"    {kind:24s} n={int(m.sum()):5d}  {label}: {pred[m].mean():.4f}")


def corpus(docs: list[data.Doc], seed: int) -> tuple[list[Article], dict[str, str]]:
    """Paragraphs as dated articles plus simulated copies; article id → its story. Half of the
    stories get a copy, an eighth a second one (published later, by other outlets)."""
    rng = random.Random(seed)
    vocab = data.vocabulary(docs)
    articles, story = [], {}
    for i, d in enumerate(docs):
        day = f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}"
        aid = f"p{i}"
        articles.append(Article(aid, d.title, d.text, "Wire", published=day))
        story[aid] = aid
        copies = (1 if rng.random() < 0.5 else 0) + (1 if rng.random() < 0.125 else 0)
        for c in range(copies):
            body, _ = data.syndicate(d.text, rng, vocab, heavy=rng.random() < 0.25)
            later = f"2024-{1 + i % 12:02d}-{2 + i % 27 + c:02d}"
            articles.append(
                Article(f"{aid}-copy{c}", f"{d.title} (outlet {c})", body, f"Outlet {c}", published=later)
            )
            story[f"{aid}-copy{c}"] = aid
    rng.shuffle(articles)
    return articles, story


def group_quality(groups: dict[str, tuple[str, ...]], story: dict[str, str]) -> dict[str, float]:
    """Pairwise precision and recall of the groups found (article id → its group's ids) against the
    stories, over every pair of articles; and the share of stories with copies found exactly."""
    found = {frozenset(p) for g in set(groups.values()) for p in itertools.combinations(g, 2)}
    truth: dict[str, list[str]] = {}
    for aid, s in story.items():
        truth.setdefault(s, []).append(aid)
    true = {frozenset(p) for m in truth.values() for p in itertools.combinations(sorted(m), 2)}
    multi = [m for m in truth.values() if len(m) > 1]
    exact = sum(1 for m in multi if set(groups.get(m[0], (m[0],))) == set(m))
    tp = len(found & true)
    p, r = tp / max(1, len(found)), tp / max(1, len(true))
    f05 = 1.25 * p * r / (0.25 * p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f05": f05, "pairs": len(true), "grouped_pairs": len(found),
            "stories": len(multi), "exact": exact / max(1, len(multi))}  # fmt: skip


def grouping(
    articles: list[Article], params: nearcopy.Params, batch: int = 256
) -> dict[str, tuple[str, ...]]:
    """The groups kb/copies.py makes of `articles`, ingested in batches as the store does (its
    copies.update in each write's transaction), on a bare SQLite file: no passages or vectors."""
    import sqlite3

    from citeqa.kb import copies

    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(f"{tmp}/groups.sqlite")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, text TEXT, source TEXT, "
                     "published TEXT, added REAL)")  # fmt: skip
        with conn:
            copies.create(conn, params)
        for i in range(0, len(articles), batch):
            part = articles[i : i + batch]
            sketches = [copies.sketch(a, params) for a in part]
            with conn:
                rows = [(a.id, a.title, a.text, a.source, a.published, float(i)) for a in part]
                conn.executemany("INSERT INTO articles VALUES (?,?,?,?,?,?)", rows)
                copies.update(conn, sketches, [], params)
        ids = [a.id for a in articles]
        found = copies.groups(conn, ids)
        conn.close()
    return {aid: g.ids for aid, g in found.items()}


def real_path(seed: int) -> None:
    """The shipped settings through `Assistant.add` (hash embedder): groups and time spent."""
    from citeqa import Assistant
    from citeqa.embed import HashEmbedder
    from citeqa.kb import copies

    articles, story = corpus(data.test_docs(), seed)
    spent = {"sketch": 0.0, "update": 0.0}

    def timed(name: str, fn: Callable[..., object]) -> Callable[..., object]:
        def run(*a: object, **k: object) -> object:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.perf_counter() - t

        return run

    sketch, update = copies.sketch, copies.update
    copies.sketch, copies.update = timed("sketch", sketch), timed("update", update)  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            qa = Assistant.build(articles, kb=f"{tmp}/kb", embedder=HashEmbedder(), progress=False)
            total = time.perf_counter() - t0
            ids = [a.id for a in qa.articles()]
            groups = {aid: g.ids for aid, g in qa.kb.groups(ids).items()}
            cost = search_cost(qa, [a.text.split(". ")[0] for a in articles[:300]])
            gone = [a for a in ids if a.endswith("-copy0")][:50]
            ingest_update = spent["update"]
            t1 = time.perf_counter()
            for aid in gone:
                qa.remove(aid)
            removal = time.perf_counter() - t1
            removal_update = spent["update"] - ingest_update
            spent["update"] = ingest_update
            qa.close()
    finally:
        copies.sketch, copies.update = sketch, update  # type: ignore[assignment]
    n = len(articles)
    q = group_quality(groups, story)
    print(
        f"  {n} articles; groups: precision {q['precision']:.4f}, recall {q['recall']:.4f}, "
        f"stories exact {q['exact']:.4f}"
    )
    print(
        f"  detection: {1e3 * (spent['sketch'] + spent['update']) / n:.2f} ms an article (hashing "
        f"before the write {1e3 * spent['sketch'] / n:.2f}, lookups and grouping inside it "
        f"{1e3 * spent['update'] / n:.2f}); the whole ingest with the hash embedder "
        f"{1e3 * total / n:.2f} ms an article"
    )
    print(
        f"  search p50 (hash embedder, top 5): {cost[0]:.2f} ms with one copy a story, "
        f"{cost[1]:.2f} ms without"
    )
    print(
        f"  `remove` of a copy, one at a time: {1e3 * removal / len(gone):.0f} ms each (rewriting the index "
        f"files), of which {1e3 * removal_update / len(gone):.2f} ms forgetting it and regrouping its group"
    )


def scale(n: int, seed: int = 0) -> None:
    """Band lookups among n stored articles: random signatures in a copy_bands table of n x bands rows."""
    import sqlite3

    from citeqa.kb import copies

    p = nearcopy.DEFAULT
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(f"{tmp}/scale.sqlite")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        copies.create(conn)
        t = time.perf_counter()
        for start in range(0, n, 50_000):
            sigs = rng.integers(0, 2**32, size=(min(50_000, n - start), p.num_perm), dtype=np.uint64).astype(
                np.uint32
            )
            conn.executemany(
                "INSERT INTO copy_bands VALUES (?, ?)",
                ((key, start + i) for i, s in enumerate(sigs) for key in nearcopy.band_keys(s, p)),
            )
        conn.commit()
        built = time.perf_counter() - t
        times = []
        for _ in range(500):
            keys = nearcopy.band_keys(
                rng.integers(0, 2**32, p.num_perm, dtype=np.uint64).astype(np.uint32), p
            )
            t = time.perf_counter()
            conn.execute("SELECT DISTINCT n FROM copy_bands WHERE key IN (SELECT value FROM json_each(?))",
                         (__import__("json").dumps(keys),)).fetchall()  # fmt: skip
            times.append(time.perf_counter() - t)
        conn.close()
        import os

        size = os.path.getsize(f"{tmp}/scale.sqlite")
    print(
        f"  {n:,} articles: {n * p.bands:,} band rows, {size / n:.0f} bytes an article on disk, "
        f"built in {built:.0f} s; a new article's candidate lookup p50 "
        f"{1e3 * float(np.median(times)):.3f} ms, p95 {1e3 * float(np.percentile(times, 95)):.3f} ms"
    )


def search_cost(qa: object, questions: list[str]) -> tuple[float, float]:
    """p50 of `search` (top 5) with one copy a story and with the fused ranking cut as before,
    the two interleaved question by question, each first half of the time (ms)."""
    from citeqa import retrieve
    from citeqa.stories import Pick

    shipped = retrieve.one_copy_per_story

    def plain(kb: object, fused: list[tuple[int, float]], k: int, allowed: object = None) -> list[Pick]:
        return [Pick(vid, score) for vid, score in fused[:k]]

    times: dict[str, list[float]] = {"one copy": [], "plain": []}
    try:
        for i, q in enumerate(questions):  # which goes first alternates: the second finds warm caches
            variants = [("one copy", shipped), ("plain", plain)]
            for name, fn in variants if i % 2 else variants[::-1]:
                retrieve.one_copy_per_story = fn  # type: ignore[assignment]
                t = time.perf_counter()
                qa.search(q, top_k=5)  # type: ignore[attr-defined]
                times[name].append(time.perf_counter() - t)
    finally:
        retrieve.one_copy_per_story = shipped
    return 1e3 * float(np.median(times["one copy"])), 1e3 * float(np.median(times["plain"]))


def show(q: dict[str, float]) -> str:
    return (
        f"precision {q['precision']:.4f}, recall {q['recall']:.4f}, F0.5 {q['f05']:.4f} "
        f"({q['pairs']} copy pairs, {q['grouped_pairs']} grouped; "
        f"stories found exactly {q['exact']:.4f})"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=int, default=0, help="also time band lookups among this many articles")
    ap.add_argument("--skip-choice", action="store_true", help="use the shipped settings (nearcopy.DEFAULT)")
    args = ap.parse_args(argv)
    params = nearcopy.DEFAULT
    if not args.skip_choice:
        print("1. choice on SQuADShifts pairs (training)")
        best, rows = choose(data.pairs(data.train_docs(), seed=args.seed))
        print("  chosen:", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in best.items()})
        for k in sweep.KS:
            top = max(
                (x for x in rows if x["k"] == k and x["precision"] >= MIN_PRECISION),  # type: ignore[operator]
                key=lambda x: x["f05"],
                default=None,
            )  # type: ignore[arg-type,return-value]
            if top:
                print(
                    f"  best at k={k}:",
                    {a: (round(v, 4) if isinstance(v, float) else v) for a, v in top.items()},
                )
        for rule in sweep.RULES:  # the confirmations compared, at the chosen k and banding
            same = [
                x for x in rows if x["rule"] == rule and all(x[a] == best[a] for a in ("k", "bands", "rows"))
            ]
            top = max(same, key=lambda x: (x["f05"], x["threshold"]))
            print(f"  confirmed by {rule}: threshold {top['threshold']}, precision {top['precision']:.4f}, "
                  f"recall {top['recall']:.4f}")  # fmt: skip
        base = params_of(best)
        print("1b. the middle rule, on the grouping of a SQuADShifts corpus with copies (training)")
        articles, story = corpus(data.train_docs(), args.seed + 10)
        scored = []
        for trim in (0.0, 0.1, 0.2, 0.3):
            p = replace(base, core_trim=trim)
            q = group_quality(grouping(articles, p), story)
            scored.append((round(q["f05"], 4), -trim, p))
            print(f"  core_trim {trim}: {show(q)}")
        params = max(scored, key=lambda x: (x[0], x[1]))[2]
        print(f"  chosen: {params}")
        if params != nearcopy.DEFAULT:
            print(f"  NOTE: the shipped settings differ: {nearcopy.DEFAULT}")
    print("2. test: SQuAD v1.1 dev pairs (once)")
    pair_report(data.pairs(data.test_docs(), seed=args.seed + 1, neg_per_group=200), params)
    articles, story = corpus(data.test_docs(), args.seed + 2)
    print(
        f"  grouping of {len(articles)} SQuAD dev articles with copies: "
        f"{show(group_quality(grouping(articles, params), story))}"
    )
    print("3. the real ingest path (shipped settings, SQuAD dev articles with copies)")
    real_path(args.seed + 2)
    if args.scale:
        print("4. scale")
        scale(args.scale)


if __name__ == "__main__":
    main()
