"""BM25 rows of the scale suite (issue 13): citeqa's lexical index over N passages of real text.

    python -m bench.scale_lexical [--sizes 100000 1000000] [--queries 200]

Passages are the paragraphs of SQuAD v1.1 dev and SQuADShifts (about 24k real ones), repeated with
light perturbation until there are N (each copy drops a random tenth of its words and gains a tag
of its own, so copies are not identical and the vocabulary grows a little, as a real archive's
does). Questions are SQuAD dev questions. Prints build seconds, query p50/p95 (search top 50, as
hybrid `ask` asks), the index's arrays in MB and peak RSS, with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time

from bench.common import DATA, SQUAD_DEV, pct, peak_rss_mb
from citeqa.analyzer import Analyzer
from citeqa.kb.lexical import LexicalIndex

SHIFTS = ["new_wiki_v1.0.json", "reddit_v1.0.json", "amazon_reviews_v1.0.json", "nyt_v1.0.json"]


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    rng = random.Random(0)
    base, questions = paragraphs()
    qs = rng.sample(questions, min(args.queries, len(questions)))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"{len(base):,} real paragraphs"
    )
    print("| passages | build s | query p50 ms | query p95 ms | index MB | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    analyzer = Analyzer()
    for n in args.sizes:
        rows = passages(base, n, rng)
        t0 = time.perf_counter()
        index = LexicalIndex.build(rows, 0, analyzer)
        build = time.perf_counter() - t0
        del rows
        terms = [analyzer.terms(q) for q in qs]
        lat = []
        for t in terms:
            t1 = time.perf_counter()
            index.search(t, 50)
            lat.append((time.perf_counter() - t1) * 1e3)
        mb = sum(a.nbytes for a in (index.vids, index.indptr, index.indices, index.data, index.ceiling)) / 1e6
        p50, p95, rss = pct(lat, 50), pct(lat, 95), peak_rss_mb()
        print(f"| {n:,} | {build:.0f} | {p50:.1f} | {p95:.1f} | {mb:,.0f} | {rss:,.0f} |", flush=True)
        del index


if __name__ == "__main__":
    main()
