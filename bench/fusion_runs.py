"""Per-query dense, sentence and BM25 passage scores, computed once and cached, so fusion tunes fast.

    python -m bench.fusion_runs squad-tune scifact-train       # training data (tuning)
    python -m bench.fusion_runs --allow-test scifact-test xquad squad-target   # final check only

Dense parts (query vectors, FAISS top-1000, best-sentence cosine of every passage) are cached in
`runs/fusion-cache/<set>-dense.pkl`; BM25 parts per (k1, b) in `<set>-lex-<k1>-<b>.pkl`.
"""

from __future__ import annotations

import pickle
import sqlite3
import sys
import time
from dataclasses import dataclass

import numpy as np

from bench import fusion_data as fd
from bench.common import RUNS
from citeqa.analyzer import Analyzer
from citeqa.assistant import Assistant
from citeqa.kb import lexical

DEPTH = 1000  # passages kept per ranker and query
CACHE = RUNS / "fusion-cache"


@dataclass
class QueryRun:
    qid: str
    text: str
    dense: list[tuple[int, float]]  # (vid, cosine), best first
    lexical: list[tuple[int, float]]  # (vid, BM25 > 0), best first
    upper: float  # the BM25 upper bound for the query's terms
    rel_docs: dict[str, int]  # graded document relevance
    rel_span: tuple[str, int, int] | None  # SQuAD: (article id, start, end) of the gold paragraph
    sent: np.ndarray | None = None  # best-sentence cosine of every passage, by position (see RunSet.pos)


@dataclass
class RunSet:
    name: str
    queries: list[QueryRun]
    article_of: dict[int, str]  # vid → article id
    span_of: dict[int, tuple[int, int]]  # vid → (start, end) in the article
    pos: dict[int, int]  # vid → position in QueryRun.sent
    seconds: dict[str, float]


Item = tuple[str, str, dict[str, int], "tuple[str, int, int] | None"]


Layout = tuple[dict[int, str], dict[int, tuple[int, int]], list[int], np.ndarray, np.ndarray]


def _layout(qa: Assistant) -> Layout:
    conn = sqlite3.connect(f"file:{qa.kb.path / 'kb.sqlite'}?mode=ro", uri=True)
    rows = conn.execute('SELECT vid, article_id, start, "end", svecs FROM passages ORDER BY vid').fetchall()
    conn.close()
    dim = qa.kb.manifest.dim
    svecs = [np.frombuffer(r[4], dtype=np.float16).reshape(-1, dim) for r in rows]
    owner = np.repeat(np.arange(len(rows)), [len(s) for s in svecs])
    allv = np.concatenate(svecs).astype(np.float32) if svecs else np.zeros((0, dim), np.float32)
    return ({r[0]: r[1] for r in rows}, {r[0]: (r[2], r[3]) for r in rows}, [r[0] for r in rows], allv, owner)


def collect_dense(qa: Assistant, items: list[Item]) -> dict[str, object]:
    t0 = time.perf_counter()
    vecs = qa.embedder.encode_queries([t for _, t, _, _ in items])
    t_embed = time.perf_counter() - t0
    art, spans, vids, S, owner = _layout(qa)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    dense, sent = [], []
    t0 = time.perf_counter()
    for vec in vecs:
        found = qa.kb.search(vec, DEPTH)
        found.sort(key=lambda t: (-t[1], t[0]))
        dense.append(found)
    t_dense = time.perf_counter() - t0
    for i in range(0, len(vecs), 64):
        sims = vecs[i : i + 64] @ S.T
        sent += list(np.maximum.reduceat(sims, starts, axis=1).astype(np.float16))
    n = max(len(items), 1)
    return {
        "items": items,
        "dense": dense,
        "sent": sent,
        "article_of": art,
        "span_of": spans,
        "pos": {v: i for i, v in enumerate(vids)},
        "seconds": {"embed_ms": 1e3 * t_embed / n, "dense_ms": 1e3 * t_dense / n},
    }


def collect_lexical(qa: Assistant, items: list[Item], k1: float, b: float) -> dict[str, object]:
    lexical.K1, lexical.B = k1, b
    t0 = time.perf_counter()
    gen, rows = qa.kb.passage_texts()
    analyzer = Analyzer()
    index = lexical.LexicalIndex.build(rows, gen, analyzer)
    t_build = time.perf_counter() - t0
    lists, uppers = [], []
    t0 = time.perf_counter()
    for _, text, _, _ in items:
        terms = analyzer.terms(text)
        lists.append(index.search(terms, DEPTH))
        uppers.append(index.upper_bound(terms))
    n = max(len(items), 1)
    return {
        "lexical": lists,
        "upper": uppers,
        "seconds": {"bm25_build_s": t_build, "lexical_ms": 1e3 * (time.perf_counter() - t0) / n},
    }


def items_beir(rs: fd.RetrievalSet) -> list[Item]:
    return [(q, rs.queries[q], rs.qrels[q], None) for q in rs.queries]


def items_squad(questions: list) -> list[Item]:  # type: ignore[type-arg]
    out: list[Item] = []
    for q in questions:
        g = q.relevant_spans[0]
        out.append((q.id, q.question, {g.article_id: 1}, (g.article_id, g.start, g.end)))
    return out


def build(name: str) -> tuple[Assistant, list[Item]]:
    if name == "scifact-train":
        return fd.scifact_assistant(), items_beir(fd.scifact("train"))
    if name == "scifact-test":
        return fd.scifact_assistant(), items_beir(fd.scifact("test"))
    if name == "xquad":
        return fd.xquad_assistant(), items_beir(fd.xquad())
    if name == "squad-tune":
        return fd.squad_assistant(), items_squad(fd.squad_tuning_questions())
    if name == "squad-target":
        if "--allow-test" not in sys.argv:
            raise SystemExit("squad-target is the reported set; pass --allow-test")
        return fd.squad_assistant(), items_squad(fd.squad_target_questions())
    raise SystemExit(f"unknown set {name!r}")


def _cached(path, make):  # type: ignore[no-untyped-def]
    if path.exists():
        return pickle.loads(path.read_bytes())  # noqa: S301 - our own cache
    data = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(data))
    return data


def load(name: str, k1: float = lexical.K1, b: float = lexical.B) -> RunSet:
    built: dict[str, object] = {}

    def qa_items() -> tuple[Assistant, list[Item]]:
        if not built:
            built["v"] = build(name)
        return built["v"]  # type: ignore[return-value]

    d = _cached(CACHE / f"{name}-dense.pkl", lambda: collect_dense(*qa_items()))
    lx = _cached(CACHE / f"{name}-lex-{k1}-{b}.pkl", lambda: collect_lexical(*qa_items(), k1, b))
    if built:
        built["v"][0].close()  # type: ignore[index]
    queries = [
        QueryRun(qid, text, dense, lex, up, rel, span, sent)
        for (qid, text, rel, span), dense, lex, up, sent in zip(
            d["items"], d["dense"], lx["lexical"], lx["upper"], d["sent"], strict=True
        )
    ]
    return RunSet(name, queries, d["article_of"], d["span_of"], d["pos"], {**d["seconds"], **lx["seconds"]})


if __name__ == "__main__":
    k1 = float(next((a.split("=")[1] for a in sys.argv if a.startswith("--k1=")), lexical.K1))
    b = float(next((a.split("=")[1] for a in sys.argv if a.startswith("--b=")), lexical.B))
    for arg in sys.argv[1:]:
        if not arg.startswith("--"):
            rs = load(arg, k1, b)
            print(arg, len(rs.queries), {k: round(v, 3) for k, v in rs.seconds.items()}, flush=True)
