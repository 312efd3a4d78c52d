"""Issue 2 benchmark: ingest SQuAD v1.1 dev's 2,067 paragraphs as articles, then ask 500 questions.

Prints passages/s of the whole ingest next to the raw `SentenceTransformer.encode` rate on the same
model inputs in the same run, peak memory, disk per passage, ask latency p50/p95 and gold-paragraph
recall@1/@5.

    python -m bench.ingest_bench [--questions 500]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import SQUAD_DEV, pct, peak_rss_mb
from citeqa import Assistant
from citeqa.datasets import load_squad, sample
from citeqa.embed import load_embedder
from citeqa.kb import Indexer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=500)
    ap.add_argument("--precision", default="auto", help="passage embedding: auto, fp32 or bf16")
    args = ap.parse_args()
    data = load_squad(SQUAD_DEV, unit="paragraph")
    embedder = load_embedder(precision=args.precision)
    print(f"passage precision: {embedder.precision}")
    embedder.encode_queries(["warm up"])
    tmp = Path(tempfile.mkdtemp(prefix="citeqa-bench-"))
    try:
        qa = Assistant.create(tmp / "kb", embedder=embedder)
        # The same model inputs through the library's own encode, for the ratio; timed before and
        # after the ingest and averaged, so that a change of load on a shared machine during the run
        # doesn't decide the ratio.
        indexer = Indexer(qa.kb, lambda: embedder, qa.config.chunk)
        inputs = [x for a in data.articles for x in indexer.prepare(a).inputs]
        print(f"load average at start {os.getloadavg()[0]:.1f}", flush=True)
        fp32_before = _raw_encode_s(embedder, inputs, bf16=False)
        raw_before = _raw_encode_s(embedder, inputs, bf16=embedder.precision == "bf16")
        t0 = time.perf_counter()
        report = qa.add(list(data.articles), progress=True)
        ingest_s = time.perf_counter() - t0
        raw_after = _raw_encode_s(embedder, inputs, bf16=embedder.precision == "bf16")
        fp32_after = _raw_encode_s(embedder, inputs, bf16=False)
        raw_s = (raw_before + raw_after) / 2
        fp32_s = (fp32_before + fp32_after) / 2
        n = report.passages
        disk = sum(f.stat().st_size for f in (tmp / "kb").iterdir() if f.is_file())
        print(f"articles {len(data.articles)}  passages {n}  truncated {report.truncated}")
        print(f"ingest: {n / ingest_s:.1f} passages/s ({ingest_s:.1f}s, chunk+embed+write)")
        print(
            f"raw SentenceTransformer.encode on the same inputs: {len(inputs) / raw_s:.1f} passages/s "
            f"(mean of {raw_before:.1f}s before and {raw_after:.1f}s after the ingest)  "
            f"ratio ingest/raw = {(n / ingest_s) / (len(inputs) / raw_s):.2f}"
        )
        print(
            f"raw float32 encode (today's default before bf16): {len(inputs) / fp32_s:.1f} passages/s; "
            f"ratio ingest/float32 = {(n / ingest_s) / (len(inputs) / fp32_s):.2f}"
        )
        print(f"disk: {disk / 1e6:.1f} MB, {disk / n / 1024:.1f} KiB per passage")
        qs = sample(data.questions, args.questions, seed=0)
        qa.ask("a warm-up question loads the lexical index")
        lat, r1, r5 = [], 0, 0
        for q in qs:
            t0 = time.perf_counter()
            answer = qa.ask(q.question, top_k=5)
            lat.append((time.perf_counter() - t0) * 1e3)
            ids = [h.passage.article_id for h in answer.hits]
            gold = q.relevant_article_ids[0]
            r1 += ids[:1] == [gold]
            r5 += gold in ids[:5]
        print(f"ask latency over {len(qs)} questions: p50 {pct(lat, 50):.1f} ms  p95 {pct(lat, 95):.1f} ms")
        print(f"gold paragraph recall@1 {r1 / len(qs):.3f}  recall@5 {r5 / len(qs):.3f}")
        print(f"peak memory (RSS) {peak_rss_mb():.0f} MB; load average at end {os.getloadavg()[0]:.1f}")
        qa.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _raw_encode_s(embedder, inputs: list[str], bf16: bool) -> float:  # type: ignore[no-untyped-def]
    """sentence-transformers' own encode on the same inputs (the bare encoder), in the precision given."""
    import torch

    model = embedder._model
    t0 = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model.encode(inputs, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
