"""BM25 on SciFact-train: whole abstracts vs the knowledge base's passages (no embedding needed).

    python -m bench.lexical_passages

Passages come from `Indexer.prepare` (the same chunker and tokenizer as the knowledge base), so this
shows, before any dense vector exists, what chunking costs BM25 and what document aggregation wins
back: best passage (MaxP), best + gamma x second best, and BM25 parameters.
"""

from __future__ import annotations

import itertools

from bench.fusion_data import scifact
from bench.fusion_metrics import summary
from citeqa.analyzer import Analyzer
from citeqa.config import ChunkSettings
from citeqa.embed import load_embedder
from citeqa.kb import Indexer, lexical
from citeqa.kb.lexical import LexicalIndex


class _NoKB:
    def article_hashes(self) -> dict[str, str]:
        return {}


def main() -> None:
    rs = scifact("train")
    emb = load_embedder()
    indexer = Indexer(_NoKB(), lambda: emb, ChunkSettings())  # type: ignore[arg-type]
    rows, owner = [], {}
    for art in rs.articles:
        for p in indexer.prepare(art).passages:
            vid = len(rows) + 1
            rows.append((vid, art.title + "\n" + p.text))
            owner[vid] = art.id
    docs = [(i + 1, a.title + "\n" + a.text) for i, a in enumerate(rs.articles)]
    print(f"{len(rs.articles)} abstracts -> {len(rows)} passages")
    analyzer = Analyzer()
    qterms = {q: analyzer.terms(t) for q, t in rs.queries.items()}
    for k1, b in itertools.product((0.9, 1.2, 1.5), (0.4, 0.75)):
        lexical.K1, lexical.B = k1, b
        dindex = LexicalIndex.build(docs, 0, analyzer)
        drun = {q: [rs.articles[v - 1].id for v, _ in dindex.search(t, 100)] for q, t in qterms.items()}
        pindex = LexicalIndex.build(rows, 0, analyzer)
        line = [f"k1={k1} b={b} whole-abstract ndcg@10 {summary(drun, rs.qrels)['ndcg@10']:.4f}"]
        found = {q: pindex.search(t, 300) for q, t in qterms.items()}
        for gamma in (0.0, 0.2, 0.5):
            run = {}
            for q, hits in found.items():
                per: dict[str, list[float]] = {}
                for v, s in hits:
                    per.setdefault(owner[v], []).append(s)
                agg = {a: xs[0] + gamma * (xs[1] if len(xs) > 1 else 0.0) for a, xs in per.items()}
                run[q] = [a for a, _ in sorted(agg.items(), key=lambda t: (-t[1], t[0]))]
            line.append(f"passages gamma={gamma} {summary(run, rs.qrels)['ndcg@10']:.4f}")
        print(" | ".join(line), flush=True)


if __name__ == "__main__":
    main()
