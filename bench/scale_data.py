"""Real passages and questions for the scale suite (issue 13), embedded once and cached.

    python -m bench.scale_data          # writes runs/scale/base.npz (about 5 minutes on 2 cores)

The paragraphs of SQuAD v1.1 dev and SQuADShifts (about 24k real ones) as passages, embedded with
the shipped model exactly as ingest embeds passages (bfloat16 where the CPU has it), and SQuAD dev
questions embedded as queries. The larger sizes repeat these with light perturbation
(`perturbed_vectors`): the index ladder's recall is measured on real embeddings and their near
copies, which crowd the neighbourhood of a query harder than distinct articles do.
"""

from __future__ import annotations

import time

import numpy as np

from bench.common import RUNS
from bench.scale_lexical import paragraphs

BASE = RUNS / "scale" / "base.npz"
TUNE = RUNS / "scale" / "tune.npz"


def load() -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """(passage texts, their vectors, question texts, their vectors), embedding them on first use."""
    if not BASE.exists():
        build()
    with np.load(BASE, allow_pickle=False) as z:
        return z["texts"].tolist(), z["vectors"], z["questions"].tolist(), z["qvectors"]


def tuning_questions(n: int = 500) -> np.ndarray:
    """N SQuADShifts questions embedded as queries: what settings (IVF's nprobe) are chosen on,
    so SQuAD dev questions stay for reporting."""
    if not TUNE.exists():
        import json
        import random

        from bench.common import DATA
        from bench.scale_lexical import SHIFTS
        from citeqa.embed import load_embedder

        qs = []
        for name in SHIFTS:
            path = DATA / "squadshifts" / name
            if path.exists():
                qs += [
                    p["qas"][0]["question"]
                    for a in json.loads(path.read_text())["data"]
                    for p in a["paragraphs"]
                    if p["qas"]
                ]
        qs = random.Random(0).sample(qs, min(n, len(qs)))
        np.savez(
            TUNE, questions=np.array(qs), qvectors=np.asarray(load_embedder().encode_queries(qs), np.float32)
        )
    with np.load(TUNE, allow_pickle=False) as z:
        return z["qvectors"][:n]


def perturbed_vectors(base: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    """N unit vectors: the real ones first, then copies of them with Gaussian noise of about
    `noise` of their length (cosine ~0.999 to the original at 0.05 over 384 dimensions)."""
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    k = min(n, len(base))
    out[:k] = base[:k]
    for start in range(k, n, len(base)):
        m = min(len(base), n - start)
        block = base[:m] + rng.standard_normal((m, base.shape[1]), dtype=np.float32) * (
            noise / np.sqrt(base.shape[1])
        )
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def build() -> None:
    from citeqa.embed import load_embedder

    texts, questions = paragraphs()
    emb = load_embedder()
    t0 = time.perf_counter()
    from tqdm import tqdm

    bar = tqdm(total=len(texts), unit="passage")
    vecs = emb.encode_passages(texts, [[(0, len(t))] for t in texts], progress=bar.update)
    bar.close()
    qs = questions[:2000]
    qv = emb.encode_queries(qs)
    BASE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        BASE,
        texts=np.array(texts),
        vectors=np.stack([e.vector for e in vecs]).astype(np.float32),
        questions=np.array(qs),
        qvectors=np.asarray(qv, dtype=np.float32),
    )
    print(
        f"{len(texts):,} passages and {len(qs):,} questions embedded "
        f"in {time.perf_counter() - t0:.0f} s -> {BASE}"
    )


if __name__ == "__main__":
    build()
