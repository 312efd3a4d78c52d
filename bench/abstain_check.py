"""Abstention with the shipped composer (threshold and rules), from bench.fit_composer's cached
retrievals of the seeded 2,000-question sample: on half B, the answered share of answerable questions
and the abstained share of unanswerable ones; on all 2,000, answer_hit and citation precision.

    python -m bench.abstain_check                      # the shipped threshold
    python -m bench.abstain_check --sweep 0.2 0.3 0.35 # what other thresholds would trade
"""

from __future__ import annotations

import argparse
import pickle

from bench.common import RUNS
from bench.fit_composer import holds_answer, in_gold, split_articles
from bench.squad_kb import squad_assistant
from citeqa import answer_model
from citeqa.answer import ArticleMeta, ComposerSettings, compose


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", type=float, nargs="*", default=[])
    args = ap.parse_args()
    _, data = squad_assistant("article")
    meta = {a.id: ArticleMeta(a.title, text=a.text) for a in data.articles}
    _, half_b = split_articles([a.id for a in data.articles])
    rows = pickle.loads((RUNS / "fit_eval.pkl").read_bytes())
    for thr in [answer_model.load().abstain_below, *args.sweep]:
        settings = ComposerSettings(abstain_below=thr)
        answered = abstained = n_b = hit = cites = cites_ok = 0
        for q, qvec, cands in rows:
            gold = q.relevant_spans[0]
            a = compose(q.question, qvec, cands[:5], meta, settings)
            hit += holds_answer(a.text, q.answers)
            cites += len(a.citations)
            cites_ok += sum(in_gold(c.article_id, c.start, c.end, gold) for c in a.citations)
            if gold.article_id in half_b:
                n_b += 1
                answered += not a.abstained
                kept = [c for c in cands if c.hit.passage.article_id != gold.article_id][:5]
                abstained += compose(q.question, qvec, kept, meta, settings).abstained
        print(
            f"threshold {thr:.3f}: half B (n={n_b}) answers {answered / n_b:.3f} of answerable, abstains on "
            f"{abstained / n_b:.3f} of unanswerable | all {len(rows)}: answer_hit {hit / len(rows):.3f}, "
            f"citation precision {cites_ok / max(cites, 1):.3f} ({cites / len(rows):.2f} per question)",
            flush=True,
        )


if __name__ == "__main__":
    main()
