"""Reproduce the published dense numbers of all-MiniLM-L6-v2 (REFERENCE_SCORES.md) two ways.

    python -m bench.eval_reproduce scifact|xquad [--runs dense hybrid mteb]

1. citeqa's own pipeline, dense only, as `citeqa eval --retriever dense` runs it: the dataset's
   corpus chunked into passages of <= 200 word pieces (title prefixed), documents ranked by their
   best passage. `hybrid`: the default retriever (dense + BM25, fused) on the same passages.
2. `mteb`: MTEB's protocol on the same data: one vector per document from
   `title + " " + text` cut at the model's 256 word pieces, cosine over all documents, scored with
   citeqa's metric functions. This checks the metric code apart from the chunking.

Reads the data from ../shared/data (or $CITEQA_DATA); caches vectors under runs/.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bench.common import DATA, RUNS
from citeqa.config import Config
from citeqa.datasets import Dataset, load_beir
from citeqa.evaluate import metrics as M
from citeqa.evaluate.kb import open_for
from citeqa.evaluate.runner import evaluate

SETS = {
    "scifact": (
        "beir_scifact",
        "test",
        {
            "ndcg@10": 0.64508,
            "recall@1": 0.48233,
            "recall@5": 0.73794,
            "recall@10": 0.78333,
            "mrr@10": 0.60472,
        },
    ),
    "xquad": (
        "xquad_en/beir_mteb_style",
        "validation",
        {
            "ndcg@10": 0.94357,
            "recall@1": 0.88523,
            "recall@5": 0.98143,
            "recall@10": 0.98987,
            "mrr@10": 0.92807,
        },
    ),
}
NAMES = ("ndcg@10", "recall@1", "recall@5", "recall@10", "mrr@10")


def pipeline(ds: Dataset, retriever: str) -> dict[str, float]:
    t = time.perf_counter()
    qa = open_for(ds, config=Config(retriever=retriever))
    print(f"knowledge base {qa.kb.path} ready in {time.perf_counter() - t:.1f}s ({qa.kb.counts()})")
    report = evaluate(qa, ds)
    m = report.metrics
    print(
        f"{int(m['n_questions'] or 0)} questions in {m['seconds']:.1f}s "
        f"(+{m['setup_seconds']:.1f}s model load), p50 {m['latency_p50_ms']:.1f} ms, "
        f"p95 {m['latency_p95_ms']:.1f} ms"
    )
    return {n: float(m[n] or 0.0) for n in NAMES}


def mteb_style(ds: Dataset, key: str) -> dict[str, float]:
    from citeqa.embed import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder()
    cache = RUNS / f"mteb-style-{key}.npy"
    texts = [f"{a.title} {a.text}".strip() for a in ds.articles]  # MTEB: title + " " + text
    if cache.exists():
        docs = np.load(cache)
    else:
        t = time.perf_counter()
        docs = emb.encode_queries(texts)  # plain model.encode: truncated at max_seq_length (256)
        print(f"embedded {len(texts)} documents in {time.perf_counter() - t:.0f}s")
        RUNS.mkdir(exist_ok=True)
        np.save(cache, docs)
    cut = sum(1 for x in texts if emb.count_tokens(x) + 2 > emb.max_tokens)
    print(f"{cut} of {len(texts)} documents are longer than {emb.max_tokens} word pieces and get cut")
    queries = emb.encode_queries([q.question for q in ds.questions])
    return score_docs(ds, queries @ docs.T, [a.id for a in ds.articles])


def kb_passages(ds: Dataset, first_only: bool) -> dict[str, float]:
    """From the knowledge base's own passage vectors: documents scored by their best passage
    (MaxP, what `citeqa eval` does) or by their first passage only (about what truncation sees)."""
    qa = open_for(ds, config=Config(retriever="dense"))
    n = qa.kb.counts()["passages"]
    stored: dict = {}  # type: ignore[type-arg]
    vecs: dict = {}  # type: ignore[type-arg]
    start = 1
    while len(stored) < n:  # vector ids grow from 1; read them in blocks under SQLite's variable limit
        block = list(range(start, start + 5000))
        stored |= qa.kb.passages(block)
        vecs |= qa.kb.vectors(block)
        start += 5000
    keep = [v for v, (p, _) in stored.items() if not first_only or p.ordinal == 0]
    mat = np.stack([vecs[v][0] for v in keep])
    owner = [stored[v][0].article_id for v in keep]
    queries = qa.embedder.encode_queries([q.question for q in ds.questions])
    passage_scores = queries @ mat.T
    ids = sorted(set(owner))
    col = {d: i for i, d in enumerate(ids)}
    doc_scores = np.full((len(ds.questions), len(ids)), -np.inf, dtype=np.float32)
    idx = np.array([col[d] for d in owner])
    np.maximum.at(doc_scores.T, idx, passage_scores.T)  # best passage per document
    return score_docs(ds, doc_scores, ids)


def score_docs(ds: Dataset, scores: np.ndarray, ids: list[str]) -> dict[str, float]:
    out: dict[str, list[float]] = {n: [] for n in NAMES}
    for q, row in zip(ds.questions, scores, strict=True):
        top = np.argsort(-row)[:100]
        ranked = M.trec_order({ids[i]: float(row[i]) for i in top})
        qrels = dict(q.relevance) or dict.fromkeys(q.relevant_article_ids, 1)
        out["ndcg@10"].append(M.ndcg_at_k(ranked, qrels, 10))
        out["mrr@10"].append(M.mrr_at_k(ranked, qrels, 10))
        for k in (1, 5, 10):
            out[f"recall@{k}"].append(M.recall_at_k(ranked, qrels, k))
    return {n: float(np.mean(v)) for n, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", choices=sorted(SETS))
    ap.add_argument(
        "--runs",
        nargs="+",
        choices=("dense", "hybrid", "mteb", "maxp", "first"),
        default=["dense"],
        help="citeqa dense (default), citeqa hybrid, MTEB's whole-document "
        "protocol, MaxP / first passage only from the knowledge base's vectors",
    )
    args = ap.parse_args()
    folder, split, published = SETS[args.dataset]
    ds = load_beir(DATA / folder, split=split)
    rows = {}
    for run in args.runs:
        if run == "mteb":
            rows["MTEB protocol"] = mteb_style(ds, args.dataset)
        elif run in ("maxp", "first"):
            rows[f"KB {run} passage"] = kb_passages(ds, first_only=run == "first")
        else:
            rows[f"citeqa {run}"] = pipeline(ds, run)
    print(f"\n{args.dataset} ({split}, {len(ds.questions)} queries, {len(ds.articles)} documents)")
    print(f"{'':<18}" + "".join(f"{n:>11}" for n in NAMES))
    print(f"{'published':<18}" + "".join(f"{published[n]:>11.4f}" for n in NAMES))
    for label, m in rows.items():
        print(f"{label:<18}" + "".join(f"{m[n]:>11.4f}" for n in NAMES))
        print(f"{'  difference':<18}" + "".join(f"{m[n] - published[n]:>+11.4f}" for n in NAMES))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
