"""How many sentences should an answer have? answer_hit and citation precision on the cached
retrievals of bench.fit_composer (eval sample), for several second-sentence ratios."""

from __future__ import annotations

import pickle

from bench.common import RUNS
from bench.fit_composer import holds_answer, in_gold
from bench.squad_kb import squad_assistant
from citeqa.answer import ArticleMeta, ComposerSettings, compose


def main() -> None:
    _, data = squad_assistant("article")
    meta = {a.id: ArticleMeta(a.title, text=a.text) for a in data.articles}
    rows = pickle.loads((RUNS / "fit_eval.pkl").read_bytes())
    for max_s, ratio, scope in (
        (1, 1.0, "any"),
        (2, 0.25, "any"),
        (2, 0.25, "article"),
        (2, 0.25, "passage"),
        (2, 0.15, "passage"),
        (2, 0.4, "passage"),
        (3, 0.25, "passage"),
    ):
        st = ComposerSettings(max_sentences=max_s, second_ratio=ratio, abstain_below=0.0, second_scope=scope)
        hit = cites = ok = 0
        for q, qvec, cands in rows:
            a = compose(q.question, qvec, cands[:5], meta, st)
            g = q.relevant_spans[0]
            hit += holds_answer(a.text, q.answers)
            for c in a.citations:
                cites += 1
                ok += in_gold(c.article_id, c.start, c.end, g)
        n = len(rows)
        print(
            f"max {max_s} ratio {ratio:.2f} scope {scope}: answer_hit {hit / n:.3f}  citation_precision "
            f"{ok / max(cites, 1):.3f}  citations/answer {cites / n:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
