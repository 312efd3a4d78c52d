"""Fit the direct answer's confidence models and thresholds (answer_direct.py) on the calibration
third of SQuAD v1.1 dev half A: 1,939 questions of 8 articles the reader never trained on
(bench.train_reader.calibration_titles). Half B is not read. Writes the "calibration" block of
src/citeqa/models/reader.json.

    python -m bench.fit_reader                         # the shipped reader
    python -m bench.fit_reader --onnx runs/reader/onnx/reader-int8.onnx --dry-run

Each question is asked twice: with its own article (answerable) and with it taken out of the
retrieved list (unanswerable, as in bench.abstain_check). Every proposal (the reader's n-best spans
of each window read) is a row: p_sentence is fitted on "the sentence holding the span holds a gold
answer", p_short on "the span itself has F1 >= 0.5 with a gold answer". The choice model is fitted
listwise on the answerable questions: softmax over one question's proposals, maximising the share
of those whose span holds a gold answer inside a sentence that holds one. Thresholds: abstain below
the p_sentence (of the chosen proposal) that still answers 95% of the answerable questions; give a
short answer from the lowest p_short at which the short answers shown are right (F1 >= 0.5) at
least 75% of the time.

    python -m bench.fit_reader --folds 2    # first: the choice model two-fold by article (honest)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from bench.fit_composer import holds_answer, in_gold, retrieve_all
from bench.squad_kb import squad_assistant
from bench.train_reader import calibration_titles
from citeqa.answer import score
from citeqa.answer_direct import SPAN_FEATURES, Proposal, choose, propose
from citeqa.evaluate.metrics import best_over, exact_match, token_f1
from citeqa.reader import MANIFEST, Calibration, Reader, load_reader, open_reader

PASSAGES = 3
READ = 5  # passages handed to the composer, as Assistant.ask does with top_k 5


def calibration_rows(qa, data):  # type: ignore[no-untyped-def]
    cal = calibration_titles([a.id for a in data.articles])
    questions = [q for q in data.questions if q.relevant_article_ids[0] in cal]
    return retrieve_all(qa, questions, "calibration")  # cached in runs/fit_calibration.pkl


def proposals_for(
    reader: Reader,
    q,
    qvec,
    cands,
    titles,
    own: bool,
    mode: int = 0,
    per_window: int = 1,
    texts=None,
    near: bool = False,
) -> list[Proposal]:  # type: ignore[no-untyped-def]
    """What `ask` proposes for the question (texts: article id -> text, read around passages): with
    its own article (`own`), without it, or (`near`) without the passages holding a gold answer."""
    gold_article = q.relevant_spans[0].article_id
    if near:
        kept = [c for c in cands if not holds_answer(c.hit.passage.text, q.answers)]
    else:
        kept = cands if own else [c for c in cands if c.hit.passage.article_id != gold_article]
    kept = kept[:READ]
    sents, logits, table = score(q.question, qvec, kept, PASSAGES, titles)
    if not sents:
        return []
    return propose(q.question, reader, kept, sents, logits, PASSAGES, mode, table, per_window, texts)


def reader_from(args_onnx: Path | None) -> Reader:
    if args_onnx is None:
        r = load_reader()
        if r is None:
            raise SystemExit("no shipped reader: pass --onnx")
        return r
    return open_reader(args_onnx)  # spans only: the calibration is what this script fits


def fit(X: np.ndarray, y: np.ndarray) -> dict:
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=1.0, max_iter=2000).fit(X, y)
    return {
        "weights": {n: round(float(w), 5) for n, w in zip(SPAN_FEATURES, m.coef_[0])},
        "bias": round(float(m.intercept_[0]), 5),
    }


def feature_rows(props: list[Proposal]) -> np.ndarray:
    """The proposals' features as a table, one row each, columns in SPAN_FEATURES order."""
    return np.array([[p.features[n] for n in SPAN_FEATURES] for p in props]).reshape(
        len(props), len(SPAN_FEATURES)
    )


def fit_listwise(groups: list[tuple[np.ndarray, np.ndarray]], l2: float = 0.01) -> dict:
    """Weights w maximising sum over groups of log(sum of softmax(X w) over the group's positives),
    with an L2 penalty on the standardised weights. Groups without a positive, or with nothing but
    positives, teach no choice and are left out."""
    from scipy.optimize import minimize

    groups = [(X, y) for X, y in groups if len(X) > 1 and y.any() and not y.all()]
    allx = np.vstack([X for X, _ in groups])
    mu, sd = allx.mean(0), allx.std(0) + 1e-6
    zs = [((X - mu) / sd, y) for X, y in groups]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for Z, y in zs:
            s = Z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            pos = p[y].sum()
            total -= np.log(pos + 1e-12)
            grad -= Z.T @ (np.where(y, p / pos, 0.0) - p)
        n = len(zs)
        return total + l2 * n * float(w @ w), grad + 2 * l2 * n * w

    w = minimize(loss, np.zeros(allx.shape[1]), jac=True, method="L-BFGS-B").x / sd
    return {"weights": {n: round(float(x), 5) for n, x in zip(SPAN_FEATURES, w)}, "bias": 0.0}


def choice_groups(table) -> list[tuple[np.ndarray, np.ndarray]]:  # type: ignore[no-untyped-def]
    return [
        (feature_rows(props), np.array(yc, dtype=bool)) for _, own, props, _, _, yc in table if own and props
    ]


def cross_check(table, folds: int) -> None:  # type: ignore[no-untyped-def]
    """Choosing by p_sentence vs by the listwise model, each fitted on the other folds' articles."""
    arts = sorted({q.relevant_spans[0].article_id for q, *_ in table})
    random.Random(0).shuffle(arts)
    for name in ("p_sentence", "listwise"):
        hit = cite = n = 0
        for f in range(folds):
            test = set(arts[f::folds])
            train = [r for r in table if r[0].relevant_spans[0].article_id not in test]
            X = feature_rows([p for _, _, props, *_ in train for p in props])
            ys = np.array([y for _, _, _, ys, _, _ in train for y in ys])
            model = fit(X, ys)
            cal = {"sentence": model, "short": model, "abstain_below": 0.0, "short_above": 0.0}
            if name == "listwise":
                cal["choice"] = fit_listwise(choice_groups(train))
            c = Calibration.from_dict(cal)
            assert c is not None
            for q, own, props, *_ in table:
                if own and q.relevant_spans[0].article_id in test:
                    n += 1
                    best = choose(props, c)
                    if best is not None:
                        hit += holds_answer(best.proposal.quote, q.answers)
                        g = q.relevant_spans[0]
                        cite += in_gold(
                            best.proposal.hit.passage.article_id,
                            best.proposal.quote_start,
                            best.proposal.quote_end,
                            g,
                        )
        print(
            f"  choose by {name:<10} (no abstention, {folds}-fold by article): "
            f"quote holds the answer {hit / n:.3f}, cites the gold paragraph {cite / n:.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, help="an exported reader (default: the shipped one)")
    ap.add_argument("--answer-share", type=float, default=0.95, help="answerable share to keep answering")
    ap.add_argument("--dry-run", action="store_true", help="print, don't write reader.json")
    ap.add_argument(
        "--short-precision", type=float, default=0.75, help="short answers shown must be right this often"
    )
    ap.add_argument(
        "--read-sentences",
        type=int,
        default=4,
        help="read the composer's N best sentences (0: whole passages)",
    )
    ap.add_argument(
        "--spans-per-window", type=int, default=3, help="the reader's n-best spans proposed from each window"
    )
    ap.add_argument(
        "--no-context",
        dest="context",
        action="store_false",
        help="read passages alone (default: a window starting its passage is read after the sentence before)",
    )
    ap.add_argument(
        "--near-misses",
        action="store_true",
        help="also fit on near misses: the question without the passages holding its answer (unanswerable)",
    )
    ap.add_argument("--folds", type=int, default=0, help="first compare the two choosers N-fold by article")
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions (a smoke run)")
    args = ap.parse_args()
    qa, data = squad_assistant("article")
    titles = {a.id: a.title for a in data.articles}
    texts = {a.id: a.text for a in data.articles} if args.context else None
    rows = calibration_rows(qa, data)
    if args.limit:
        rows = random.Random(0).sample(rows, min(args.limit, len(rows)))
    reader = reader_from(args.onnx)
    t = time.perf_counter()
    reads = 0.0
    table = []  # (question, own, proposals, sentence labels, short labels, choice labels)
    near_rows = []  # each question's proposals without the passages holding its answer
    for i, (q, qvec, cands) in enumerate(rows):
        for own, near in ((True, False), (False, False), (False, True)):
            t_read = time.perf_counter()
            props = proposals_for(
                reader, q, qvec, cands, titles, own, args.read_sentences, args.spans_per_window, texts, near
            )
            if near:  # measured always, fitted on with --near-misses
                near_rows.append(props)
                if not args.near_misses:
                    continue
            reads += time.perf_counter() - t_read
            ys = [own and holds_answer(p.quote, q.answers) for p in props]
            yshort = [own and best_over(token_f1, p.span.text, q.answers) >= 0.5 for p in props]
            ychoice = [y and holds_answer(p.span.text, q.answers) for p, y in zip(props, ys)]
            table.append((q, own, props, ys, yshort, ychoice))
        if i % 200 == 0:
            print(f"  read {i}/{len(rows)} {time.perf_counter() - t:.0f}s", file=sys.stderr)
    if args.folds:
        cross_check(table, args.folds)
    X = feature_rows([p for _, _, props, *_ in table for p in props])
    y_sent = np.array([y for _, _, _, ys, _, _ in table for y in ys])
    y_short = np.array([y for _, _, _, _, ys, _ in table for y in ys])
    cal = {"sentence": fit(X, y_sent), "short": fit(X, y_short), "choice": fit_listwise(choice_groups(table))}
    answerable = [(q, props) for q, own, props, *_ in table if own]
    unanswerable = [(q, props) for q, own, props, *_ in table if not own]

    fitted = Calibration.from_dict({**cal, "abstain_below": 0.0, "short_above": 0.0})
    assert fitted is not None

    def chosen(props):  # type: ignore[no-untyped-def]
        return choose(props, fitted)

    p_ans = np.array([c.p_sentence if (c := chosen(p)) else 0.0 for _, p in answerable])
    p_un = np.array([c.p_sentence if (c := chosen(p)) else 0.0 for _, p in unanswerable])
    p_near = np.array([c.p_sentence if (c := chosen(p)) else 0.0 for p in near_rows])
    threshold = float(np.quantile(p_ans, 1 - args.answer_share))
    print(f"{len(answerable)} calibration questions (training numbers: these chose the thresholds)")
    print(f"read {args.read_sentences or 'whole passages'}: {reads * 1e3 / len(table):.1f} ms a composition")
    print("abstain_below  answers(answerable)  abstains(unanswerable)  abstains(near misses)")
    for thr in sorted({threshold, 0.1, 0.2, 0.3, 0.4, 0.5}):
        print(
            f"  {thr:.3f}        {np.mean(p_ans >= thr):.3f}              {np.mean(p_un < thr):.3f}"
            f"                   {np.mean(p_near < thr):.3f}"
        )
    print("short_above  shown  right(F1>=0.5)  EM over all  F1 over all")
    short_above = None
    for thr in np.round(np.arange(0.0, 0.81, 0.05), 2):
        shown = em = f = right = 0
        for q, props in answerable:
            c = chosen(props)
            if c is None or c.p_sentence < threshold or c.p_short < thr:
                continue
            shown += 1
            sf = best_over(token_f1, c.proposal.span.text, q.answers)
            right += sf >= 0.5
            em += best_over(exact_match, c.proposal.span.text, q.answers)
            f += sf
        n = len(answerable)
        ok = right / max(shown, 1)
        print(f"  {thr:.2f}       {shown / n:.3f}  {ok:.3f}           {em / n:.3f}        {f / n:.3f}")
        if short_above is None and ok >= args.short_precision:
            short_above = float(thr)
    cal.update(
        {
            "read_sentences": args.read_sentences,
            "spans_per_window": args.spans_per_window,
            "abstain_below": round(threshold, 4),
            "short_above": short_above if short_above is not None else 0.5,
            "features": list(SPAN_FEATURES),
            "fitted_on": f"SQuAD v1.1 dev half A, calibration third: {len(answerable)} questions, "
            "asked with and without their own article"
            + (" and without the passages holding their answer" if args.near_misses else ""),
        }
    )
    print(json.dumps(cal, indent=2))
    if not args.dry_run:
        meta = json.loads(MANIFEST.read_text())
        meta["calibration"] = cal
        MANIFEST.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote {MANIFEST}")


if __name__ == "__main__":
    main()
