"""Retrieval quality through the real `Assistant.search`, per retriever, on training or test sets.

    python -m bench.fusion_eval scifact-train squad-tune                  # training data
    python -m bench.fusion_eval --allow-test scifact-test xquad squad-target   # once, at the end

Documents are ranked by their best passage among the top 100 (nDCG@10 with pytrec_eval's linear
gains); SQuAD's gold-paragraph recall@1 counts the top passage when it overlaps the question's
paragraph (how `citeqa eval` judges passages), and also reports the stricter "starts inside it".
Options: --retrievers=dense,lexical,hybrid  --config=KEY=VALUE,...  (e.g. --config=dense_weight=0.4)
"""

from __future__ import annotations

import sys
import time

import numpy as np

from bench.common import pct
from bench.fusion_metrics import mean
from bench.fusion_runs import build
from citeqa import Assistant
from citeqa.config import Config
from citeqa.evaluate.metrics import ndcg_at_k, recall_at_k


class _Memo:
    """The real embedder, remembering query vectors: each retriever is timed on the same questions
    without paying (or varying by) the query embedding again."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self._seen: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self._seen]
        if missing:
            for t, v in zip(missing, self._inner.encode_queries(missing), strict=True):  # type: ignore[attr-defined]
                self._seen[t] = v
        return np.stack([self._seen[t] for t in texts])


_MEMO: dict[str, _Memo] = {}


def _config(retriever: str) -> Config:
    extra: dict[str, object] = {}
    for arg in sys.argv:
        if arg.startswith("--config="):
            for kv in arg.split("=", 1)[1].split(","):
                key, value = kv.split("=")
                extra[key] = (
                    value
                    if key in ("fusion", "retriever")
                    else (int(value) if key == "rrf_k" else float(value))
                )
    return Config(retriever=retriever, **extra)  # type: ignore[arg-type]


def run(name: str, retriever: str) -> dict[str, float]:
    base, items = build(name)
    limit = next((int(a.split("=")[1]) for a in sys.argv if a.startswith("--limit=")), None)
    items = items[:limit]
    memo = _MEMO.setdefault(name, _Memo(base.embedder))
    memo.encode_queries([text for _, text, _, _ in items])  # embedded once, outside the timing
    qa = Assistant.open(base.kb.path, config=_config(retriever), embedder=memo)  # type: ignore[arg-type]
    nd, r100, r1, r1s, lat = [], [], [], [], []
    for _qid, text, rel, span in items:
        t0 = time.perf_counter()
        hits = qa.search(text, top_k=100)
        lat.append((time.perf_counter() - t0) * 1e3)
        if span is None:
            docs = list(dict.fromkeys(h.passage.article_id for h in hits))
            nd.append(ndcg_at_k(docs, rel, 10))
            r100.append(recall_at_k(docs, rel, 100))
        else:
            aid, a, b = span
            top = hits[0].passage if hits else None
            r1.append(float(top is not None and top.article_id == aid and top.start < b and a < top.end))
            r1s.append(float(top is not None and top.article_id == aid and a <= top.start < b))
    qa.close()
    base.close()
    out = {"n": float(len(items)), "retrieval_p50_ms": pct(lat, 50)}
    if nd:
        out |= {"ndcg@10": mean(nd), "recall@100": mean(r100)}
    else:
        out |= {"recall@1": mean(r1), "recall@1_start_inside": mean(r1s)}
    return out


def main() -> None:
    retrievers = next(
        (a.split("=")[1].split(",") for a in sys.argv if a.startswith("--retrievers=")),
        ["dense", "lexical", "hybrid"],
    )
    for name in [a for a in sys.argv[1:] if not a.startswith("--")]:
        for r in retrievers:
            m = run(name, r)
            print(f"{name:14s} {r:8s}", " ".join(f"{k} {v:.4f}" for k, v in m.items()), flush=True)


if __name__ == "__main__":
    main()
