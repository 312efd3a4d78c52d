"""The index ladder on real embeddings (issue 13): recall@10 of IVF against exact search, and
search latency of both, at 100k and 1M passages.

    python -m bench.scale_ladder [--sizes 100000 1000000] [--nprobe 8 16 32 64]

Vectors: the 7,733 real passages of bench.scale_data (SQuAD dev and SQuADShifts paragraphs, embedded
as ingest embeds them), then perturbed copies of them (cosine about 0.9 to their original: near
neighbours of one another, as the same story in many outlets is). Two query sets:
- tuning: 500 SQuADShifts questions (no SQuAD dev): NPROBE is chosen on these, the smallest
  value with recall@10 ≥ 0.95 at 1M;
- report: 500 SQuAD dev questions embedded as queries, on which the chosen NPROBE is reported.
Latency is one question at a time (top 50, as `ask` asks), FAISS on one thread, after a warm-up.
Recall@10 is |IVF top 10 ∩ exact top 10| / 10, averaged.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from bench.common import pct, peak_rss_mb
from bench.scale_data import load, perturbed_vectors, tuning_questions
from citeqa.kb import ladder


def recall_at_10(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(
        np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx[:, :10], exact[:, :10], strict=True)])
    )


def latency_ms(index: object, queries: np.ndarray) -> tuple[float, float]:
    for q in queries[:20]:  # warm-up: page in a mapped file, settle caches
        index.search(q.reshape(1, -1), 50)  # type: ignore[attr-defined]
    lat = []
    for q in queries:
        t = time.perf_counter()
        index.search(q.reshape(1, -1), 50)  # type: ignore[attr-defined]
        lat.append((time.perf_counter() - t) * 1e3)
    return pct(lat, 50), pct(lat, 95)


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--noise", type=float, default=0.48, help="length of each copy's perturbation")
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)
    _, base, _, qvecs = load()
    rng = np.random.default_rng(0)
    tune = tuning_questions(500)
    report = qvecs[:500]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"faiss {faiss.__version__}, 1 thread; {len(base):,} real passages, copies at noise {args.noise}"
    )
    print("| passages | index | build s | queries | nprobe | recall@10 | search p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        vecs = perturbed_vectors(base, n, rng, args.noise)
        ids = np.arange(n, dtype=np.int64)
        t0 = time.perf_counter()
        flat = ladder.build("flat", vecs.shape[1], ids, vecs)
        flat_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is a write: ingest uses every core
        ivf = ladder.build("ivf", vecs.shape[1], ids, vecs)
        faiss.omp_set_num_threads(1)
        ivf_s = time.perf_counter() - t0
        for name, queries in (("tuning", tune), ("SQuAD dev questions", report)):
            _, exact = flat.search(queries, 10)
            p50, p95 = latency_ms(flat, queries)
            print(f"| {n:,} | flat | {flat_s:.1f} | {name} | - | 1.000 | {p50:.2f} | {p95:.2f} |", flush=True)
            for nprobe in args.nprobe:
                ivf.nprobe = nprobe
                _, approx = ivf.search(queries, 10)
                p50, p95 = latency_ms(ivf, queries)
                r = recall_at_10(approx, exact)
                print(
                    f"| {n:,} | ivf {ivf.nlist} lists | {ivf_s:.1f} | {name} | {nprobe} | {r:.3f} "
                    f"| {p50:.2f} | {p95:.2f} |",
                    flush=True,
                )
        del flat, ivf, vecs
    print(f"peak RSS {peak_rss_mb():,.0f} MB; load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
