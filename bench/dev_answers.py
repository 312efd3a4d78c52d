"""Fast loop for tuning the answer composer: retrieve once, re-score sentences many times."""

from __future__ import annotations

import pickle
import re
import string
import sys
import time

from bench.common import RUNS
from bench.squad_kb import squad_assistant
from citeqa.answer import ArticleMeta, ComposerSettings, compose
from citeqa.datasets import sample


def normalize(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def main() -> None:
    qa, data = squad_assistant("article")
    qs = sample(data.questions, 2000, seed=0)
    cache = RUNS / "dev_candidates.pkl"
    if cache.exists():
        rows = pickle.loads(cache.read_bytes())
    else:
        rows = []
        t = time.perf_counter()
        for q in qs:
            qvec, cands = qa._retrieve(q.question, 10)
            rows.append((q, qvec, cands))
        print(f"retrieved in {time.perf_counter()-t:.1f}s", file=sys.stderr)
        cache.write_bytes(pickle.dumps(rows))
    settings = ComposerSettings()
    hit = cp = nc = r1 = 0
    for q, qvec, cands in rows:
        a = compose(q.question, qvec, cands[:5], {}, settings)
        gold = q.relevant_spans[0]
        r1 += cands[0].hit.passage.article_id == gold.article_id and gold.start <= cands[0].hit.passage.start < gold.end
        hit += any(normalize(g) in normalize(a.text) for g in q.answers)
        for c in a.citations:
            nc += 1
            cp += c.article_id == gold.article_id and gold.start <= c.start and c.end <= gold.end
    n = len(rows)
    print(f"answer_hit {hit/n:.3f} citation_precision {cp/max(nc,1):.3f} passage_r1 {r1/n:.3f}")


if __name__ == "__main__":
    main()
