"""Which BM25 engine? bm25s vs tantivy vs SQLite FTS5, same analyzer, same documents, same queries.

    python -m bench.lexical_libs            # SciFact 5,183 abstracts + SQuAD dev's 2,067 paragraphs
    python -m bench.lexical_libs --100k     # also ~100k short documents (sentence pairs of the same text)

Build time includes indexing only (the analyzer's cost is shared and reported once); query time is one
query at a time, analyzer included, top-50 with ids. tantivy is measured if installed
(`pip install tantivy`); it is not a citeqa dependency.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import SQUAD_DEV, pct
from bench.fusion_data import SCIFACT, load_beir
from bench.fusion_metrics import summary
from citeqa.analyzer import Analyzer

K = 50


def _clock() -> float:
    # CPU seconds of this process: the shared 2-core machine is busy, so wall time is noisy.
    return time.process_time()


def corpus(big: bool) -> tuple[list[str], list[str]]:
    sf = load_beir(SCIFACT, "train", "scifact")
    ids = [a.id for a in sf.articles]
    texts = [a.title + "\n" + a.text for a in sf.articles]
    raw = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))
    paras = [(d["title"].replace("_", " "), p["context"]) for d in raw["data"] for p in d["paragraphs"]]
    ids += [f"squad{i}" for i in range(len(paras))]
    texts += [t + "\n" + c for t, c in paras]
    if not big:
        return ids, texts
    # ~100k short documents: single sentences and overlapping sentence pairs of the same texts.
    short: list[str] = []
    for t in texts:
        sents = re.split(r"(?<=[.!?])\s+", t)
        short += sents + [a + " " + b for a, b in zip(sents, sents[1:])]
    ids += [f"s{i}" for i in range(len(short))]
    texts += short
    return ids[:100_000], texts[:100_000]


def queries() -> list[str]:
    sf = load_beir(SCIFACT, "train", "scifact")
    raw = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))
    squad = [q["question"] for d in raw["data"] for p in d["paragraphs"] for q in p["qas"]][::20]
    return list(sf.queries.values()) + squad


def bench_bm25s(terms: list[list[str]], qterms: list[list[str]]) -> dict[str, object]:
    import bm25s

    t0 = _clock()
    index = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    index.index(terms, show_progress=False)
    build = _clock() - t0
    tmp = Path(tempfile.mkdtemp())
    t0 = _clock()
    index.save(tmp / "ix")
    save = _clock() - t0
    t0 = _clock()
    index = bm25s.BM25.load(tmp / "ix", mmap=False)
    load = _clock() - t0
    size = sum(f.stat().st_size for f in (tmp / "ix").iterdir())
    shutil.rmtree(tmp)
    vocab = index.vocab_dict
    data, indices, indptr = index.scores["data"], index.scores["indices"], index.scores["indptr"]
    n = index.scores["num_docs"]

    def lib_query(q: list[str]) -> list[int]:
        ids = index.get_tokens_ids(q)
        if not ids:
            return []
        s = index.get_scores(ids)
        top = np.argpartition(-s, min(K, n - 1))[:K]
        return top[np.lexsort((top, -s[top]))].tolist()

    def bincount_query(q: list[str]) -> list[int]:
        # The same postings, summed with one bincount instead of bm25s's np.add.at per term.
        ids = [vocab[t] for t in q if t in vocab]
        if not ids:
            return []
        spans = [(indptr[i], indptr[i + 1]) for i in ids]
        docs = np.concatenate([indices[a:b] for a, b in spans])
        w = np.concatenate([data[a:b] for a, b in spans])
        s = np.bincount(docs, weights=w, minlength=n)
        top = np.argpartition(-s, min(K, n - 1))[:K]
        return top[np.lexsort((top, -s[top]))].tolist()

    out: dict[str, object] = {"build_s": build, "save_s": save, "load_s": load, "disk_mb": size / 1e6}
    for name, fn in (("bm25s get_scores", lib_query), ("bm25s postings+bincount", bincount_query)):
        lat, runs = timed(fn, qterms)
        out[name] = {"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95)}
        out[name + " runs"] = runs
    return out


def bench_citeqa(texts: list[str], qs: list[str]) -> dict[str, object]:
    """citeqa's own LexicalIndex end to end: analysis included in build and in every query."""
    from citeqa.kb.lexical import LexicalIndex

    analyzer = Analyzer()
    t0 = _clock()
    index = LexicalIndex.build(list(enumerate(texts)), 0, analyzer)
    build = _clock() - t0
    tmp = Path(tempfile.mkdtemp())
    t0 = _clock()
    index.save(tmp / "lexical-0.npz")
    save = _clock() - t0
    t0 = _clock()
    index = LexicalIndex.load(tmp / "lexical-0.npz", 0)
    load = _clock() - t0
    size = (tmp / "lexical-0.npz").stat().st_size
    shutil.rmtree(tmp)
    assert index is not None
    lat, runs = timed(lambda q: [v for v, _ in index.search(analyzer.terms(q), K)], qs)
    return {
        "build_s (with analysis)": build,
        "save_s": save,
        "load_s": load,
        "disk_mb": size / 1e6,
        "query (with analysis)": {"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95)},
        "query runs": runs,
    }


def bench_tantivy(terms: list[list[str]], qterms: list[list[str]]) -> dict[str, object]:
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
    sb.add_integer_field("pos", stored=True, fast=True)
    schema = sb.build()
    tmp = Path(tempfile.mkdtemp())
    t0 = _clock()
    index = tantivy.Index(schema, path=str(tmp))
    writer = index.writer(heap_size=128_000_000, num_threads=1)
    for i, t in enumerate(terms):
        writer.add_document(tantivy.Document(body=" ".join(t), pos=i))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    build = _clock() - t0
    size = sum(f.stat().st_size for f in tmp.iterdir() if f.is_file())
    searcher = index.searcher()

    def query(q: list[str]) -> list[int]:
        if not q:
            return []
        tq = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in q]
        )
        hits = searcher.search(tq, K).hits
        return [searcher.doc(addr)["pos"][0] for _, addr in hits]

    lat, runs = timed(query, qterms)
    shutil.rmtree(tmp)
    return {"build_s": build, "disk_mb": size / 1e6, "query": _lat(lat), "query runs": runs}


def bench_fts5(terms: list[list[str]], qterms: list[list[str]]) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp())
    conn = sqlite3.connect(tmp / "f.sqlite")
    t0 = _clock()
    # Pre-analysed terms; 'unicode61' only splits them on spaces again. detail=column: no positions.
    conn.execute(
        "CREATE VIRTUAL TABLE lex USING fts5(body, "
        "tokenize=\"unicode61 remove_diacritics 0 tokenchars '_'\", detail='column')"
    )
    with conn:
        rows = ((i, " ".join(t)) for i, t in enumerate(terms))
        conn.executemany("INSERT INTO lex(rowid, body) VALUES (?, ?)", rows)
    conn.execute("INSERT INTO lex(lex) VALUES ('optimize')")
    conn.commit()
    build = _clock() - t0
    size = (tmp / "f.sqlite").stat().st_size

    def query(q: list[str]) -> list[int]:
        if not q:
            return []
        expr = " OR ".join(dict.fromkeys(q))  # stems are \w+ words: FTS5 barewords
        rows = conn.execute(
            "SELECT rowid FROM lex WHERE lex MATCH ? ORDER BY bm25(lex), rowid LIMIT ?", (expr, K)
        ).fetchall()
        return [r[0] for r in rows]

    lat, runs = timed(query, qterms)
    conn.close()
    shutil.rmtree(tmp)
    return {"build_s": build, "disk_mb": size / 1e6, "query": _lat(lat), "query runs": runs}


def _lat(lat: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95)}


def timed(fn, qterms):  # type: ignore[no-untyped-def]
    lat, runs = [], []
    for q in qterms:
        t0 = _clock()
        runs.append(fn(q))
        lat.append((_clock() - t0) * 1e3)
    return lat, runs


def main() -> None:
    analyzer = Analyzer()
    qs = queries()
    sets = [False, True] if "--100k" in sys.argv else [False]
    for big in sets:
        ids, texts = corpus(big)
        t0 = _clock()
        terms = [analyzer.terms(t) for t in texts]
        analyze = _clock() - t0
        t0 = _clock()
        qterms = [analyzer.terms(q) for q in qs]
        qa_ms = (_clock() - t0) * 1e3 / len(qs)
        print(
            f"\n== {len(ids):,} documents, {sum(map(len, terms)):,} terms; analyze {analyze:.2f}s "
            f"({qa_ms:.3f} ms/query); {len(qs)} queries, top-{K}"
        )
        results = {"citeqa.lexical": bench_citeqa(texts, qs), "bm25s": bench_bm25s(terms, qterms)}
        try:
            results["tantivy"] = bench_tantivy(terms, qterms)
        except ImportError:
            print("tantivy not installed; skipped")
        results["fts5"] = bench_fts5(terms, qterms)
        sf = load_beir(SCIFACT, "train", "scifact")
        for lib, res in results.items():
            for key, runs in list(res.items()):
                if not key.endswith(" runs"):
                    continue
                del res[key]
                if not big:  # quality sanity check on SciFact train (document level)
                    nq = len(sf.queries)
                    run = {qid: [ids[i] for i in r] for qid, r in zip(sf.queries, runs[:nq])}
                    m = summary(run, sf.qrels)
                    res[key.replace(" runs", "") + " scifact-train"] = {
                        k: round(m[k], 4) for k in ("ndcg@10", "recall@10")
                    }
            print(lib, json.dumps(res, default=lambda x: round(x, 4)))


if __name__ == "__main__":
    main()
