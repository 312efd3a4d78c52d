"""Abstention on half B with the shipped composer (threshold and rules), from bench.fit_composer's
cached retrievals: answered share of answerable questions, abstained share of unanswerable ones."""

from __future__ import annotations

import pickle

from bench.common import RUNS
from bench.fit_composer import normalize, split_articles
from bench.squad_kb import squad_assistant
from citeqa.answer import ArticleMeta, compose


def main() -> None:
    _, data = squad_assistant("article")
    meta = {a.id: ArticleMeta(a.title) for a in data.articles}
    _, half_b = split_articles([a.id for a in data.articles])
    rows = pickle.loads((RUNS / "fit_eval.pkl").read_bytes())
    rows = [r for r in rows if r[0].relevant_article_ids[0] in half_b]
    answered = abstained = hit = 0
    for q, qvec, cands in rows:
        own = q.relevant_spans[0].article_id
        a = compose(q.question, qvec, cands[:5], meta)
        answered += not a.abstained
        hit += any(normalize(x) in normalize(a.text) for x in q.answers)
        u = compose(q.question, qvec, [c for c in cands if c.hit.passage.article_id != own][:5], meta)
        abstained += u.abstained
    n = len(rows)
    print(f"half B n={n}: answers {answered / n:.3f} of answerable, abstains on {abstained / n:.3f} of "
          f"unanswerable; answer_hit {hit / n:.3f}")


if __name__ == "__main__":
    main()
