"""Issue 13: citeqa side by side with txtai on BEIR SciFact (5,183 abstracts, 300 test queries), with
the same model (the packaged all-MiniLM-L6-v2 folder) and FAISS, in one run on this machine.

Measures, in one process:
1. ingest: citeqa building a fresh knowledge base in a temporary folder (title + text, as
   `citeqa eval` builds one from a BEIR corpus) vs txtai `Embeddings(...).index(...)` over the same
   "title\\ntext" strings, then `save()` (citeqa's knowledge base is on disk when `build` returns);
2. latency per query (p50/p95 after a warm-up on 10 train queries): citeqa's full `ask`, its
   retrieval alone (`search`), and txtai's `search(query, 10)`, dense and hybrid;
3. nDCG@10 over the 300 test queries, with citeqa's own metric code for both systems.

txtai is installed only in the benchmark's own environment, never as a project dependency:

    python3 -m venv .venv-txtai
    .venv-txtai/bin/pip install torch==2.13.0          # first: the CPU build (unpinned pulls CUDA)
    .venv-txtai/bin/pip install -e .
    .venv-txtai/bin/pip install txtai torch==2.13.0    # the pin keeps txtai's deps off torch
    nice -n 19 .venv-txtai/bin/python -m bench.vs_txtai --data ../shared/data/beir_scifact

`--precisions auto,fp32` also builds citeqa with float32 passages (auto is the default: bf16 on a CPU
with native bfloat16, fp32 elsewhere). `--docs N` cuts the corpus for a quick check of the plumbing
(its numbers mean nothing); `--txtai defaults,matched` chooses the txtai configurations (see TXTAI_CONFIGS).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import DATA
from citeqa import Assistant
from citeqa.config import DEFAULT_MODEL, Config
from citeqa.datasets import EvalQuestion, load_beir
from citeqa.embed import resolve_model_path, resolve_precision
from citeqa.evaluate import metrics as M

DEFAULT_DATA = DATA / "beir_scifact"
WARMUP = 10  # untimed calls per variant, on train queries (the timed test queries stay unseen)
RANK_DEPTH = 100  # passages citeqa's eval ranks documents from (evaluate/runner.py: depth=100)
LIMIT = 10  # results per search call: what nDCG@10 needs, and txtai's documents are distinct

# txtai, as a user gets it with the model's folder and as close to citeqa's setup as it goes:
# - defaults: `path` only. txtai then reads up to the tokenizer's 512 word pieces (not the model's
#   256: sentence_bert_config.json), and above 5,000 rows FAISS is IVF (approximate: nprobe 8 of
#   132 cells for SciFact).
# - matched: `maxlength=True` reads max_seq_length (256) from sentence_bert_config.json, as
#   sentence-transformers and citeqa do, and the index is exact "IDMap,Flat", as citeqa's.
# Hybrid adds txtai's BM25 (`hybrid=True`: scoring bm25 with terms, normalised, fused 0.5/0.5).
TXTAI_CONFIGS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "matched": {"maxlength": True, "backend": "faiss", "faiss": {"components": "IDMap,Flat"}},
}


def load() -> tuple[float, float, float]:
    return os.getloadavg()


def fmt_load(la: Sequence[float]) -> str:
    return "/".join(f"{x:.2f}" for x in la)


@dataclass
class Built:
    system: str
    config: str
    docs: int
    vectors: int  # passages (citeqa) or documents (txtai) embedded
    seconds: float
    cpu_seconds: float  # this process's CPU time, all threads: less at the mercy of the machine's load
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float]
    note: str = ""


@dataclass
class Variant:
    """One timed call per query; `rank` (if any) gives the documents it returned, best first."""

    system: str
    retriever: str
    call: str
    run: Callable[[str], Any]
    rank: Callable[[Any], list[str]] | None = None
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    ndcg: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def citeqa_docs(hits: Sequence[Any]) -> list[str]:
    """Documents ranked by their best passage, as citeqa's eval does (hits come best first)."""
    best: dict[str, float] = {}
    for h in hits:
        best.setdefault(h.passage.article_id, h.score)
    return M.trec_order(best)


def txtai_docs(results: Sequence[dict[str, Any]]) -> list[str]:
    best: dict[str, float] = {}
    for r in results:
        best.setdefault(str(r["id"]), float(r["score"]))
    return M.trec_order(best)


def qrels_of(q: EvalQuestion) -> dict[str, int]:
    return dict(q.relevance)


def build_citeqa(articles: list[Any], kb: Path, precision: str) -> tuple[Assistant, Built]:
    la0 = load()
    t0, c0 = time.perf_counter(), time.process_time()
    # create + add is Assistant.build with the ingest report kept; the model load is inside the
    # timing, as it is inside txtai's Embeddings(...) below.
    qa = Assistant.create(kb, config=Config(precision=precision))
    report = qa.add(articles, progress=False)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    note = f"{resolve_precision(precision)} passages, {report.truncated} truncated"
    built = Built("citeqa", precision, len(articles), report.passages, seconds, cpu, la0, load(), note)
    return qa, built


def build_txtai(
    docs: list[dict[str, str]], model_dir: str, name: str, hybrid: bool, out: Path
) -> tuple[Any, Built, float]:
    from txtai import Embeddings

    cfg = {"path": model_dir, "content": True, **TXTAI_CONFIGS[name]}
    if hybrid:
        cfg["hybrid"] = True
    la0 = load()
    t0, c0 = time.perf_counter(), time.process_time()
    emb = Embeddings(**cfg)
    emb.index(docs)
    indexed = time.perf_counter() - t0
    emb.save(str(out))  # durable, as citeqa's knowledge base is when build returns
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    label = f"{name}, {'hybrid' if hybrid else 'dense'}"
    # What txtai chose: its FAISS index string and the word pieces it reads per document.
    ann = emb.config.get("build", {}).get("settings", {}).get("components", "?")
    reads = getattr(getattr(emb.model, "model", None), "maxlength", "?")
    note = f"index {indexed:.1f} s + save {seconds - indexed:.1f} s; FAISS {ann}; max length {reads}"
    return emb, Built("txtai", label, len(docs), emb.count(), seconds, cpu, la0, load(), note), indexed


def time_queries(variants: list[Variant], questions: Sequence[EvalQuestion], warm: Sequence[str]) -> None:
    for v in variants:  # lazy loads (ONNX sessions, the reader, SQLite pages) before the clock
        for text in warm:
            v.run(text)
    for i, q in enumerate(questions):
        # The variants take turns, starting one further each query, so a change of load on the
        # shared machine falls on all of them alike.
        k = i % len(variants)
        for v in variants[k:] + variants[:k]:
            t0, c0 = time.perf_counter(), time.process_time()
            out = v.run(q.question)
            v.wall_ms.append((time.perf_counter() - t0) * 1e3)
            v.cpu_ms.append((time.process_time() - c0) * 1e3)  # all threads' CPU: less load-noisy
            if v.rank is not None:
                v.ndcg.append(M.ndcg_at_k(v.rank(out), qrels_of(q), 10))
            timings = getattr(out, "timings_ms", None)
            for key in ("retrieve", "compose") if timings else ():
                v.extra.setdefault(key, []).append(timings[key])


def ms(values: Sequence[float], q: float) -> float:
    p = M.percentile(values, q)
    return float("nan") if p is None else p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="BEIR SciFact folder")
    ap.add_argument("--queries", type=int, default=None, help="test queries to use (default: all 300)")
    ap.add_argument("--docs", type=int, default=None, help="cut the corpus (plumbing check only)")
    ap.add_argument("--precisions", default="auto", help="citeqa passage precisions to build")
    ap.add_argument("--txtai", default="defaults,matched", help=f"txtai configs: {','.join(TXTAI_CONFIGS)}")
    args = ap.parse_args()

    # Imported before any clock starts, so neither system pays the other's import time.
    import faiss
    import torch
    import txtai  # noqa: F401

    start_load = load()
    test = load_beir(args.data, split="test")
    warm = [q.question for q in load_beir(args.data, split="train").questions[:WARMUP]]
    questions = list(test.questions[: args.queries])
    articles = list(test.articles[: args.docs])
    # The same strings for txtai as citeqa embeds: title, newline, text (indexer.prepare).
    docs = [
        {"id": a.id, "text": f"{a.title.strip()}\n{a.text}" if a.title.strip() else a.text} for a in articles
    ]
    model_dir = resolve_model_path(DEFAULT_MODEL)

    machine = (
        f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}, faiss threads "
        f"{faiss.omp_get_max_threads()}; txtai {version('txtai')}, faiss-cpu {version('faiss-cpu')}, "
        f"torch {version('torch')}, sentence-transformers {version('sentence-transformers')}, "
        f"transformers {version('transformers')}, onnxruntime {version('onnxruntime')}; "
        f"model {model_dir}"
    )
    print(machine, flush=True)
    print(
        f"{len(articles)} docs, {len(questions)} test queries; load average at start {fmt_load(start_load)}"
    )

    tmp = Path(tempfile.mkdtemp(prefix="vs-txtai-"))
    builds: list[Built] = []
    citeqa_kbs: dict[str, Path] = {}
    txtai_embs: dict[str, Any] = {}
    try:
        # ---------------------------------------------------------------- 1. ingest
        # citeqa and txtai alternate, so a change of load doesn't fall on one system only.
        precisions = [p for p in args.precisions.split(",") if p]
        tx = [(name, hybrid) for name in args.txtai.split(",") if name for hybrid in (False, True)]
        jobs_c: list[tuple[str, Any]] = [("citeqa", p) for p in precisions]
        jobs_t: list[tuple[str, Any]] = [("txtai", t) for t in tx]
        plan = [
            job for i in range(max(len(jobs_c), len(jobs_t))) for job in jobs_c[i : i + 1] + jobs_t[i : i + 1]
        ]
        for system, what in plan:
            if system == "citeqa":
                qa, built = build_citeqa(articles, tmp / f"citeqa-{what}", what)
                qa.close()
                citeqa_kbs[what] = tmp / f"citeqa-{what}"
            else:
                name, hybrid = what
                key = f"{name}-{'hybrid' if hybrid else 'dense'}"
                emb, built, _ = build_txtai(docs, model_dir, name, hybrid, tmp / f"txtai-{key}")
                txtai_embs[key] = emb
            builds.append(built)
            print(
                f"ingest {built.system} {built.config}: {built.seconds:.1f} s "
                f"(CPU {built.cpu_seconds:.1f} s), {built.vectors} vectors ({built.note}); "
                f"load {fmt_load(built.load_start)} -> {fmt_load(built.load_end)}",
                flush=True,
            )

        # ---------------------------------------------------------------- 2. and 3. queries
        variants: list[Variant] = []
        for precision, kb in citeqa_kbs.items():
            for retriever in ("hybrid", "dense"):
                qa = Assistant.open(kb, config=Config(retriever=retriever, precision=precision))
                tag = f"{retriever} ({precision})"
                variants.append(Variant("citeqa", tag, "ask", qa.ask))
                variants.append(
                    Variant(
                        "citeqa",
                        tag,
                        f"search top_k={LIMIT}",
                        lambda t, qa=qa: qa.search(t, LIMIT),
                        citeqa_docs,
                    )
                )
        for key, emb in txtai_embs.items():
            name, retriever = key.rsplit("-", 1)
            variants.append(
                Variant(
                    "txtai",
                    f"{retriever} ({name})",
                    f"search(q, {LIMIT})",
                    lambda t, e=emb: e.search(t, LIMIT),
                    txtai_docs,
                )
            )
        q_load0 = load()
        time_queries(variants, questions, warm)
        q_load1 = load()

        # nDCG@10 as `citeqa eval` ranks it: documents from the top 100 passages (untimed). The
        # timed top_k=10 call can hold fewer than 10 documents when a document has several passages.
        eval_ndcg: dict[str, float] = {}
        for precision, kb in citeqa_kbs.items():
            for retriever in ("hybrid", "dense"):
                qa = Assistant.open(kb, config=Config(retriever=retriever, precision=precision))
                scores = [
                    M.ndcg_at_k(citeqa_docs(qa.search(q.question, RANK_DEPTH)), qrels_of(q), 10)
                    for q in questions
                ]
                eval_ndcg[f"{retriever} ({precision})"] = statistics.fmean(scores)
                qa.close()
        end_load = load()
    finally:
        for emb in txtai_embs.values():
            emb.close()
        shutil.rmtree(tmp, ignore_errors=True)

    report(machine, start_load, end_load, builds, variants, eval_ndcg, q_load0, q_load1, len(questions))


def report(
    machine: str,
    start_load: Sequence[float],
    end_load: Sequence[float],
    builds: list[Built],
    variants: list[Variant],
    eval_ndcg: dict[str, float],
    q_load0: Sequence[float],
    q_load1: Sequence[float],
    n_questions: int,
) -> None:
    print()
    print(f"Machine: {machine}")
    print(f"Load average (1/5/15 min): start {fmt_load(start_load)}, end {fmt_load(end_load)}")
    print()
    print(
        "| ingest | config | docs | vectors | wall s | CPU s | vectors/s | docs/s "
        "| load 1 min start -> end | note |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    for b in builds:
        print(
            f"| {b.system} | {b.config} | {b.docs} | {b.vectors} | {b.seconds:.1f} | {b.cpu_seconds:.1f} "
            f"| {b.vectors / b.seconds:.1f} | {b.docs / b.seconds:.1f} "
            f"| {b.load_start[0]:.2f} -> {b.load_end[0]:.2f} | {b.note} |"
        )
    print()
    print(
        f"Queries: {n_questions} test queries, after {WARMUP} warm-up calls per row on train queries; "
        f"the rows take turns query by query. Load average {fmt_load(q_load0)} -> {fmt_load(q_load1)}."
    )
    print()
    print(
        "| system | retriever | call | p50 ms | p95 ms | mean ms | CPU p50 ms | nDCG@10 (this call) "
        "| nDCG@10 (eval: top 100 passages) | retrieve / compose p50 ms |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|")
    for v in variants:
        ndcg = f"{statistics.fmean(v.ndcg):.4f}" if v.ndcg else ""
        full = eval_ndcg.get(v.retriever, statistics.fmean(v.ndcg) if v.ndcg else None)
        split = (
            f"{ms(v.extra['retrieve'], 50):.1f} / {ms(v.extra['compose'], 50):.1f}"
            if "retrieve" in v.extra
            else ""
        )
        print(
            f"| {v.system} | {v.retriever} | {v.call} | {ms(v.wall_ms, 50):.1f} | {ms(v.wall_ms, 95):.1f} "
            f"| {statistics.fmean(v.wall_ms):.1f} | {ms(v.cpu_ms, 50):.1f} | {ndcg} "
            f"| {'' if full is None else f'{full:.4f}'} | {split} |"
        )
    ratios(builds, variants, eval_ndcg)


def ratios(builds: list[Built], variants: list[Variant], eval_ndcg: dict[str, float]) -> None:
    """The issue's three ratios, each against the txtai row that is hardest to beat on that measure
    (its fastest ingest, its fastest search, its best nDCG@10), and against the same-kind row."""
    c_build = next((b for b in builds if b.system == "citeqa" and b.config == "auto"), None)
    t_builds = [b for b in builds if b.system == "txtai"]
    c_ask = next(
        (v for v in variants if v.system == "citeqa" and v.call == "ask" and v.retriever == "hybrid (auto)"),
        None,
    )
    t_search = [v for v in variants if v.system == "txtai"]
    if c_build is None or c_ask is None or not t_builds or not t_search:
        return
    print()
    print("Ratios (citeqa defaults: hybrid retriever, precision auto, `ask` top_k 5):")
    print()
    print("| measure | citeqa | txtai row | txtai | ratio | target | met |")
    print("|---|---:|---|---:|---:|---|---|")
    for b in sorted(t_builds, key=lambda b: b.seconds):
        r = c_build.seconds / b.seconds
        print(
            f"| ingest wall s | {c_build.seconds:.1f} | {b.config} | {b.seconds:.1f} | {r:.2f} "
            f"| <= 1 | {_yes(r <= 1)} |"
        )
    for b in sorted(t_builds, key=lambda b: b.cpu_seconds):
        r = c_build.cpu_seconds / b.cpu_seconds
        print(
            f"| ingest CPU s | {c_build.cpu_seconds:.1f} | {b.config} | {b.cpu_seconds:.1f} | {r:.2f} "
            f"| <= 1 | {_yes(r <= 1)} |"
        )
    c50 = ms(c_ask.wall_ms, 50)
    for v in sorted(t_search, key=lambda v: ms(v.wall_ms, 50)):
        r = c50 / ms(v.wall_ms, 50)
        print(
            f"| ask p50 / search p50 ms | {c50:.1f} | {v.retriever} | {ms(v.wall_ms, 50):.1f} | {r:.2f} "
            f"| <= 0.5 | {_yes(r <= 0.5)} |"
        )
    c_cpu = ms(c_ask.cpu_ms, 50)
    for v in sorted(t_search, key=lambda v: ms(v.cpu_ms, 50)):
        r = c_cpu / ms(v.cpu_ms, 50)
        print(
            f"| ask CPU p50 / search CPU p50 ms | {c_cpu:.1f} | {v.retriever} | {ms(v.cpu_ms, 50):.1f} "
            f"| {r:.2f} | <= 0.5 | {_yes(r <= 0.5)} |"
        )
    c_ndcg = eval_ndcg["hybrid (auto)"]
    for v in sorted(t_search, key=lambda v: -statistics.fmean(v.ndcg)):
        t = statistics.fmean(v.ndcg)
        print(
            f"| nDCG@10 | {c_ndcg:.4f} | {v.retriever} | {t:.4f} | {c_ndcg / t if t else float('inf'):.3f} "
            f"| > 1 | {_yes(c_ndcg > t)} |"
        )


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


if __name__ == "__main__":
    main()
