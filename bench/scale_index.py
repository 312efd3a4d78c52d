"""Dense index rows of the scale suite (issue 13): exact search over N random unit vectors.

    python -m bench.scale_index [--sizes 10000 100000 1000000] [--queries 200]

For each size: build time, search latency p50/p95 for one question (top 50, as `ask` asks for the
candidates), and the index's memory. Random unit vectors are enough for an exact index: its cost
depends on N and the dimension only, not on what the vectors say. The rows say where exact search
stops fitting `ask`'s budget (p50 ≤ 30 ms at 100k, ≤ 100 ms at 1M, all of `ask` included), which is
where the index ladder must switch to an approximate index.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from bench.common import pct

DIM = 384


def unit(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal((n, DIM), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1, help="FAISS threads (ask uses the default)")
    args = ap.parse_args()
    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    queries = unit(args.queries, rng)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"faiss {faiss.__version__}, {args.threads} thread(s)"
    )
    print("| passages | build s | search p50 ms | search p95 ms | index MB |")
    print("|---|---|---|---|---|")
    for n in args.sizes:
        vecs = unit(n, rng)
        t0 = time.perf_counter()
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
        index.add_with_ids(vecs, np.arange(n, dtype=np.int64))
        build = time.perf_counter() - t0
        lat = []
        for q in queries:
            t = time.perf_counter()
            index.search(q.reshape(1, -1), 50)
            lat.append((time.perf_counter() - t) * 1e3)
        mb = n * DIM * 4 / 1e6 + n * 8 * 2 / 1e6  # vectors + the id map both ways
        print(f"| {n:,} | {build:.2f} | {pct(lat, 50):.2f} | {pct(lat, 95):.2f} | {mb:,.0f} |", flush=True)
        del index, vecs


if __name__ == "__main__":
    main()
