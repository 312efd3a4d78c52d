"""Choose the fusion method and its parameters on TRAINING data only.

    python -m bench.fusion_tune --depth=50 [--sent | --gamma] [--k1=0.9 --b=0.4] [scifact-train squad-tune]

SciFact train qrels + SQuAD dev (2,000 seeded questions, minus those on XQuAD's paragraphs).

Reads the cached per-query rankings of bench/fusion_runs.py and prints, for each method and
parameter, SciFact-train nDCG@10 (documents ranked by their best passage) and SQuAD-tune
gold-paragraph recall@1 (top passage overlaps the question's paragraph).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from statistics import fmean, pstdev

from bench.fusion_metrics import mean
from bench.fusion_runs import QueryRun, RunSet, load
from citeqa.evaluate.metrics import ndcg_at_k, recall_at_k
from citeqa.kb import lexical

Scores = dict[int, float]


def pool(run: QueryRun, depth: int) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    return run.dense[:depth], run.lexical[:depth]


def rrf(run: QueryRun, depth: int, k: float = 60, w: float = 0.5) -> Scores:
    d, lx = pool(run, depth)
    out: Scores = {}
    for r, (v, _) in enumerate(d, 1):
        out[v] = out.get(v, 0.0) + 2 * w / (k + r)
    for r, (v, _) in enumerate(lx, 1):
        out[v] = out.get(v, 0.0) + 2 * (1 - w) / (k + r)
    return out


def _fill(run: QueryRun, depth: int) -> tuple[Scores, Scores, set[int]]:
    """Scores of the union of both top-`depth` lists, each taken from the deeper (1000) lists."""
    d, lx = pool(run, depth)
    cand = {v for v, _ in d} | {v for v, _ in lx}
    dall, lall = dict(run.dense), dict(run.lexical)
    dmin = run.dense[-1][1] if run.dense else 0.0
    return ({v: dall.get(v, dmin) for v in cand}, {v: lall.get(v, 0.0) for v in cand}, cand)


def minmax(run: QueryRun, depth: int, w: float = 0.5) -> Scores:
    d, lx = pool(run, depth)
    ds, ls, cand = _fill(run, depth)

    def norm(xs: list[tuple[int, float]], s: Scores) -> Scores:
        if not xs:
            return dict.fromkeys(cand, 0.0)
        hi, lo = xs[0][1], xs[-1][1]
        return {v: max(0.0, (s[v] - lo) / (hi - lo)) if hi > lo else 1.0 for v in cand}

    nd, nl = norm(d, ds), norm(lx, ls)
    return {v: w * nd[v] + (1 - w) * nl[v] for v in cand}


def zscore(run: QueryRun, depth: int, w: float = 0.5) -> Scores:
    d, lx = pool(run, depth)
    ds, ls, cand = _fill(run, depth)

    def norm(xs: list[tuple[int, float]], s: Scores) -> Scores:
        if len(xs) < 2:
            return dict.fromkeys(cand, 0.0)
        m, sd = fmean(x for _, x in xs), pstdev([x for _, x in xs]) or 1.0
        return {v: (s[v] - m) / sd for v in cand}

    nd, nl = norm(d, ds), norm(lx, ls)
    return {v: w * nd[v] + (1 - w) * nl[v] for v in cand}


def bound(run: QueryRun, depth: int, w: float = 0.5) -> Scores:
    """Raw cosine and BM25 / (the query's BM25 upper bound): both on a fixed scale, no list statistics."""
    ds, ls, cand = _fill(run, depth)
    ub = run.upper or 1.0
    return {v: w * ds[v] + (1 - w) * ls[v] / ub for v in cand}


def bound_sent(run: QueryRun, depth: int, w: float = 0.5, ws: float = 0.25, **_: float) -> Scores:
    """`bound` with the dense share split between the passage cosine and its best sentence's cosine."""
    ds, ls, cand = _fill(run, depth)
    ub = run.upper or 1.0
    sent = run.sent
    pos = _POS[0]
    return {v: (w - ws) * ds[v] + ws * float(sent[pos[v]]) + (1 - w) * ls[v] / ub for v in cand}


_POS: list[dict[int, int]] = [{}]


def maxnorm(run: QueryRun, depth: int, w: float = 0.5) -> Scores:
    """Raw cosine and BM25 divided by the best BM25 of the query."""
    ds, ls, cand = _fill(run, depth)
    top = run.lexical[0][1] if run.lexical else 1.0
    return {v: w * ds[v] + (1 - w) * ls[v] / top for v in cand}


def dense_only(run: QueryRun, depth: int) -> Scores:
    return dict(run.dense[:depth])


def lexical_only(run: QueryRun, depth: int) -> Scores:
    return dict(run.lexical[:depth])


def ranked(scores: Scores) -> list[int]:
    return [v for v, _ in sorted(scores.items(), key=lambda t: (-t[1], t[0]))]


def doc_ranking(rs: RunSet, scores: Scores, gamma: float = 0.0) -> list[str]:
    """Documents by best passage (+ gamma x their second best: evidence from several passages)."""
    best: dict[str, list[float]] = {}
    for v, s in scores.items():
        best.setdefault(rs.article_of[v], []).append(s)
    agg = {}
    for a, xs in best.items():
        xs.sort(reverse=True)
        agg[a] = xs[0] + (gamma * xs[1] if len(xs) > 1 else 0.0)
    return [a for a, _ in sorted(agg.items(), key=lambda t: (-t[1], t[0]))]


def evaluate(
    rs: RunSet, fn: Callable[..., Scores], depth: int, gamma: float = 0.0, **kw: float
) -> dict[str, float]:
    _POS[0] = rs.pos
    nd, r100, r1, mrr = [], [], [], []
    for run in rs.queries:
        s = fn(run, depth, **kw)
        if run.rel_span is None:
            docs = doc_ranking(rs, s, gamma)
            nd.append(ndcg_at_k(docs, run.rel_docs, 10))
            r100.append(recall_at_k(docs, run.rel_docs, 100))
        else:
            top = ranked(s)
            aid, a, b = run.rel_span

            def hit(v: int) -> bool:
                s0, e0 = rs.span_of[v]
                return rs.article_of[v] == aid and s0 < b and a < e0  # noqa: B023

            r1.append(1.0 if top and hit(top[0]) else 0.0)
            first = next((i for i, v in enumerate(top[:10]) if hit(v)), None)
            mrr.append(0.0 if first is None else 1 / (first + 1))
    if nd:
        return {"ndcg@10": mean(nd), "recall@100": mean(r100)}
    return {"p_recall@1": mean(r1), "p_mrr@10": mean(mrr)}


def fmt(m: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.4f}" for k, v in m.items() if not math.isnan(v))


def main() -> None:
    k1 = float(next((a.split("=")[1] for a in sys.argv if a.startswith("--k1=")), lexical.K1))
    b = float(next((a.split("=")[1] for a in sys.argv if a.startswith("--b=")), lexical.B))
    names = [n for n in ("scifact-train", "squad-tune") if n in sys.argv] or ["scifact-train", "squad-tune"]
    sets = [load(n, k1, b) for n in names]
    grid: list[tuple[str, Callable[..., Scores], dict[str, float]]] = [
        ("dense", dense_only, {}),
        ("lexical", lexical_only, {}),
    ]
    for k in (10, 30, 60, 100):
        grid.append((f"rrf k={k}", rrf, {"k": k}))
    for w in (0.3, 0.4, 0.5, 0.6, 0.7):
        grid.append((f"wrrf k=60 w={w}", rrf, {"k": 60, "w": w}))
    for name, fn in (("minmax", minmax), ("zscore", zscore), ("bound", bound), ("maxnorm", maxnorm)):
        for w in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            grid.append((f"{name} w={w}", fn, {"w": w}))
    if "--sent" in sys.argv:
        grid = [
            (f"bound_sent w={w} ws={ws}", bound_sent, {"w": w, "ws": ws})
            for w in (0.4, 0.5, 0.6, 0.7)
            for ws in (0.0, 0.1, 0.2, 0.3, 0.4)
            if ws <= w
        ]
    if "--gamma" in sys.argv:
        grid = [
            (f"bound w={w} gamma={g}", bound, {"w": w, "gamma": g})
            for w in (0.4, 0.5, 0.6)
            for g in (0.0, 0.1, 0.2, 0.3, 0.5)
        ]
    depths = [int(a.split("=")[1]) for a in sys.argv if a.startswith("--depth=")] or [50, 100]
    for depth in depths:
        for label, fn, kw in grid:
            kw = dict(kw)
            g = kw.pop("gamma", 0.0)
            print(
                f"depth {depth:4d} {label:26s}",
                " | ".join(fmt(evaluate(rs, fn, depth, g, **kw)) for rs in sets),
                flush=True,
            )


if __name__ == "__main__":
    main()
