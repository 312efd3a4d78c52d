"""Pair-level measurements of near-copy detection for every setting tried (bench/syndication.py
chooses among them on the training pairs and reports the choice on the test pairs).

For each pair and each shingle length k: exact Jaccard, exact containment, the size ratio, and for
each MinHash size the estimated Jaccard and whether each LSH banding makes the pair a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.syndication_data import Pair
from citeqa import nearcopy

KS = (2, 3, 4, 5)
PERMS = (64, 128, 256)
#: (num_perm, bands, rows) tried; bands * rows <= num_perm
BANDINGS = (
    (64, 16, 4), (64, 21, 3), (64, 32, 2),
    (128, 16, 8), (128, 20, 6), (128, 25, 5), (128, 32, 4), (128, 42, 3),
    (256, 32, 8), (256, 51, 5), (256, 64, 4), (256, 85, 3),
)  # fmt: skip
RULES = ("containment", "jaccard", "est_jaccard", "est_containment")


@dataclass
class Features:
    """Per pair (arrays aligned with the pair list), for one k."""

    jaccard: np.ndarray
    containment: np.ndarray
    ratio: np.ndarray  # smaller set size / larger
    small: np.ndarray  # smaller set size
    est_jaccard: dict[int, np.ndarray]  # num_perm -> estimate
    est_containment: dict[int, np.ndarray]
    candidate: dict[tuple[int, int, int], np.ndarray]  # banding -> bool


def features(pairs: list[Pair], k: int) -> Features:
    texts = sorted({t for p in pairs for t in (p.a, p.b)})
    index = {t: i for i, t in enumerate(texts)}
    sets = [nearcopy.shingles(t, k) for t in texts]
    sigs = {
        n: np.stack([nearcopy.signature(s, nearcopy.Params(k=k, num_perm=n, bands=1, rows=1)) for s in sets])
        for n in PERMS
    }
    ia = np.array([index[p.a] for p in pairs])
    ib = np.array([index[p.b] for p in pairs])
    sa = np.array([len(sets[i]) for i in ia], dtype=float)
    sb = np.array([len(sets[i]) for i in ib], dtype=float)
    inter = np.array([len(sets[a] & sets[b]) for a, b in zip(ia, ib)], dtype=float)
    small, large = np.minimum(sa, sb), np.maximum(sa, sb)
    union = sa + sb - inter
    est_j, est_c, cand = {}, {}, {}
    for n in PERMS:
        ej = (sigs[n][ia] == sigs[n][ib]).mean(axis=1)
        est_j[n] = ej
        est_c[n] = np.where(small > 0, ej * (sa + sb) / (1 + ej) / np.maximum(small, 1), 0.0)
    for n, b, r in BANDINGS:
        A = sigs[n][ia][:, : b * r].reshape(len(pairs), b, r)
        B = sigs[n][ib][:, : b * r].reshape(len(pairs), b, r)
        cand[(n, b, r)] = (A == B).all(axis=2).any(axis=1)
    return Features(
        jaccard=np.where(union > 0, inter / np.maximum(union, 1), 0.0),
        containment=np.where(small > 0, inter / np.maximum(small, 1), 0.0),
        ratio=np.where(large > 0, small / np.maximum(large, 1), 0.0),
        small=small,
        est_jaccard=est_j,
        est_containment=est_c,
        candidate=cand,
    )


def score_of(f: Features, rule: str, num_perm: int) -> np.ndarray:
    if rule == "containment":
        return f.containment
    if rule == "jaccard":
        return f.jaccard
    if rule == "est_jaccard":
        return f.est_jaccard[num_perm]
    return f.est_containment[num_perm]


def prf(pred: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    tp = float((pred & gold).sum())
    p = tp / pred.sum() if pred.sum() else 1.0
    r = tp / gold.sum() if gold.sum() else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def predict(
    f: Features, banding: tuple[int, int, int], rule: str, threshold: float, min_ratio: float, min_small: int
) -> np.ndarray:
    """The whole detector on each pair: an LSH candidate, confirmed by the rule."""
    ok = f.candidate[banding] & (f.ratio >= min_ratio) & (f.small >= min_small)
    return ok & (score_of(f, rule, banding[0]) >= threshold)
