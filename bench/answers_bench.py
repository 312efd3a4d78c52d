"""Issue 3 benchmark: answers, citations, abstention and latency on SQuAD v1.1 dev.

Knowledge base: all 48 articles (paragraphs joined). Questions: a seeded sample of 2,000.
- answer_hit: a gold answer (SQuAD-normalised) appears in answer.text; next to a naive baseline in the
  same run (dense MiniLM: the best sentence of the top 3 passages by cosine, each sentence encoded alone).
- citation_precision: share of citations whose span lies inside the gold paragraph.
- abstention, on the held-out half B of the articles (the composer was fitted on half A): a question
  is unanswerable when its own article is taken out of the retrieved list (the same as a knowledge
  base holding every other article, for a ranker whose scores don't depend on the rest).

    python -m bench.answers_bench [--limit 2000] [--no-baseline]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.common import pct
from bench.fit_composer import holds_answer, in_gold, split_articles
from bench.squad_kb import squad_assistant
from citeqa.answer import compose
from citeqa.datasets import sample


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=2000)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    qa, data = squad_assistant("article")
    _, half_b = split_articles([a.id for a in data.articles])
    qs = sample(data.questions, args.limit, seed=0)
    qa.ask("warm up question")
    hit = base_hit = cites = cite_ok = roundtrip = 0
    lat: list[float] = []
    ans_conf, una_conf, ans_ok = [], [], []
    texts = {a.id: a.text for a in data.articles}
    t_start = time.perf_counter()
    for q in qs:
        gold = q.relevant_spans[0]
        t0 = time.perf_counter()
        a = qa.ask(q.question)
        lat.append((time.perf_counter() - t0) * 1e3)
        ok = holds_answer(a.text, q.answers)
        hit += ok
        for c in a.citations:
            cites += 1
            cite_ok += in_gold(c.article_id, c.start, c.end, gold)
            roundtrip += texts[c.article_id][c.start : c.end] == c.quote
        if not args.no_baseline:
            base_hit += _baseline_hit(qa, q.question, a.hits[:3], q.answers)
        if gold.article_id in half_b:
            ans_conf.append(a.confidence)
            ans_ok.append(ok and not a.abstained)
            qvec, cands = qa.candidates(q.question, 80)
            kept = [c for c in cands if c.hit.passage.article_id != gold.article_id][: qa.config.top_k]
            una_conf.append(compose(q.question, qvec, kept, {}, qa.composer).confidence)
    n = len(qs)
    thr = qa.composer.abstain_below
    print(f"questions {n} in {time.perf_counter() - t_start:.0f}s")
    print(f"answer_hit {hit / n:.3f}" + ("" if args.no_baseline else f"   naive baseline {base_hit / n:.3f}"))
    print(
        f"citation_precision {cite_ok / max(cites, 1):.3f}  ({cites} citations, "
        f"{cites / n:.2f} per answer)  round-trip {roundtrip / max(cites, 1):.3f}"
    )
    print(f"ask latency p50 {pct(lat, 50):.1f} ms  p95 {pct(lat, 95):.1f} ms")
    ac, uc, ok_arr = np.array(ans_conf), np.array(una_conf), np.array(ans_ok)
    print(
        f"abstention on half B (threshold {thr:.3f}): answers {np.mean(ac >= thr):.3f} of {len(ac)} "
        f"answerable, abstains on {np.mean(uc < thr):.3f} of {len(uc)} unanswerable"
    )
    print("coverage-accuracy over confidence (half B, answerable and unanswerable mixed):")
    conf = np.concatenate([ac, uc])
    correct = np.concatenate([ok_arr, np.zeros(len(uc), dtype=bool)])
    order = np.argsort(-conf)
    for cov in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        k = max(1, int(cov * len(order)))
        print(
            f"  coverage {cov:.1f}  accuracy {np.mean(correct[order[:k]]):.3f}  "
            f"(confidence >= {conf[order[k - 1]]:.3f})"
        )


def _baseline_hit(qa, question: str, hits, answers: list[str]) -> bool:  # type: ignore[no-untyped-def]
    """Naive: every sentence of the top 3 passages encoded on its own; the best by cosine."""
    sents = [
        h.passage.text[s.start - h.passage.start : s.end - h.passage.start]
        for h in hits
        for s in h.passage.sentences
    ]
    if not sents:
        return False
    vecs = qa.embedder.encode_queries(sents + [question])
    best = sents[int(np.argmax(vecs[:-1] @ vecs[-1]))]
    return holds_answer(best, answers)


if __name__ == "__main__":
    main()
