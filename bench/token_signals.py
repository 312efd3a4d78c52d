"""Would a token-level question-sentence signal lift citation precision? (issue 3)

Late interaction ("MaxSim", as in ColBERT) on MiniLM's own contextual token vectors: for each question
content token, its best cosine with the tokens of a candidate sentence (read in its passage), averaged.
Added to the composer's features, refitted on half A's 3,000 questions as bench.fit_composer does, and
scored on the seeded 2,000-question sample (1 sentence, no abstention): answer_hit and citation
precision, all and half B. Also prints the ceiling (a gold-paragraph sentence is among those read), what
a linear projection of the token vectors trained for MaxSim gives (`--project`), and what the signal
would cost at question time: the passages' token vectors through the ONNX encoder, one thread.

    python -m bench.token_signals [--project]    # ~8 min on 2 cores with bench.fit_composer's cache
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np

from bench.common import pct
from bench.fit_composer import PASSAGES, TITLES, fitting_data, holds_answer, in_gold
from citeqa.features import sentence_features
from citeqa.text import STOPWORDS

EXTRA = ("maxsim", "maxsim_all_tokens", "maxsim_min", "passage_maxsim", "maxsim_rel", "passage_maxsim_rel")
# Free at question time: the question's token vectors (same forward pass) against the stored sentence vectors.
FREE = ("qtok_mean", "qtok_share_best", "qtok_max", "qtok_mean_rel")


def token_vectors(model, tok, texts: list[str], max_length: int, batch: int = 32):  # type: ignore[no-untyped-def]
    """Per text: L2-normalised contextual token vectors (special tokens dropped), char offsets, tokens."""
    import torch

    out = []
    for b in range(0, len(texts), batch):
        enc = tok(
            texts[b : b + batch],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        off = enc.pop("offset_mapping").numpy()
        with torch.inference_mode():
            hidden = model(dict(enc))["token_embeddings"].float().numpy()
        mask = enc["attention_mask"].numpy().astype(bool)
        for j in range(hidden.shape[0]):
            real = mask[j] & (off[j][:, 1] > off[j][:, 0])
            v = hidden[j][real]
            names = tok.convert_ids_to_tokens(enc["input_ids"][j][real].tolist())
            out.append((v / np.linalg.norm(v, axis=1, keepdims=True), off[j][real], names))
        if b % (batch * 20) == 0:
            print(f"  token vectors {b}/{len(texts)}", file=sys.stderr, flush=True)
    return out


def question_tokens(vecs: np.ndarray, names: list[str]) -> np.ndarray:
    keep = np.array([n.strip("#").isalnum() and n.strip("#") not in STOPWORDS for n in names])
    return vecs[keep] if keep.any() else vecs


def tables(rows, P, Q):  # type: ignore[no-untyped-def]
    """Per question: base features, MaxSim features, answer-in-sentence and in-gold-paragraph labels."""
    out = []
    for q, qvec, cands in rows:
        sents, X = sentence_features(q.question, qvec, cands[:5], PASSAGES, TITLES)
        if not sents:
            continue
        qall, qc = Q[q.id]
        extra = []
        for s in sents:
            pv, off = P[s.hit.passage.id]
            p0 = s.hit.passage.start
            sel = (off[:, 0] >= s.start - p0) & (off[:, 1] <= s.end - p0)
            sv = pv[sel] if sel.any() else pv
            best_c, best_a = (qc @ sv.T).max(1), (qall @ sv.T).max(1)
            extra.append([best_c.mean(), best_a.mean(), best_c.min(), (qc @ pv.T).max(1).mean()])
        E = np.asarray(extra, dtype=np.float32)
        E = np.hstack([E, E[:, :1] - E[:, 0].max(), E[:, 3:4] - E[:, 3].max()])
        sim = qc @ np.vstack([s.vector.astype(np.float32) for s in sents]).T  # question tokens x sentences
        mean = sim.mean(0)
        share = (sim == sim.max(1, keepdims=True)).mean(0)
        E = np.hstack([E, np.stack([mean, share, sim.max(0), mean - mean.max()], 1).astype(np.float32)])
        g = q.relevant_spans[0]
        y = np.array([holds_answer(s.text, q.answers) for s in sents], dtype=float)
        inside = np.array(
            [in_gold(s.hit.passage.article_id, s.start, s.end, g) for s in sents],
            dtype=float,
        )
        out.append((q.relevant_article_ids[0], X, E, y, inside))
    return out


def fit_and_score(train, evalset, half_b, cols: list[int]) -> str:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    def feats(t):  # type: ignore[no-untyped-def]
        return np.hstack([t[1], t[2][:, cols]])

    X = np.vstack([feats(t) for t in train])
    y = np.concatenate([t[3] for t in train])
    w = LogisticRegression(C=1.0, max_iter=3000).fit(X, y).coef_[0]
    parts = []
    for name, sub in (("all", evalset), ("half B", [t for t in evalset if t[0] in half_b])):
        best = [int(np.argmax(feats(t) @ w)) for t in sub]
        hit = np.mean([t[3][i] for t, i in zip(sub, best)])
        prec = np.mean([t[4][i] for t, i in zip(sub, best)])
        parts.append(f"{name}: answer_hit {hit:.3f} citation precision {prec:.3f}")
    return "  ".join(parts)


def projection(rows_train, rows_eval, P, Q, half_b, dim: int = 128, epochs: int = 4) -> None:  # type: ignore[no-untyped-def]
    """Train W (384 x dim) so that MaxSim(Wq, Ws) ranks gold-paragraph answer sentences first."""
    import torch

    def prep(rows):  # type: ignore[no-untyped-def]
        out = []
        for q, _, cands in rows:
            g = q.relevant_spans[0]
            toks, seg, good = [], [], []
            for c in cands[:PASSAGES]:
                p = c.hit.passage
                pv, off = P[p.id]
                for sp in p.sentences:
                    sel = (off[:, 0] >= sp.start - p.start) & (off[:, 1] <= sp.end - p.start)
                    if sel.any():
                        text = p.text[sp.start - p.start : sp.end - p.start]
                        toks.append(pv[sel])
                        seg += [len(good)] * int(sel.sum())
                        inside = in_gold(p.article_id, sp.start, sp.end, g)
                        good.append(inside and holds_answer(text, q.answers))
            if good:
                t = torch.tensor
                out.append(
                    (q.relevant_article_ids[0], t(Q[q.id][1]), t(np.vstack(toks)), t(seg), np.array(good))
                )
        return out

    def scores(qv, S, seg, n, W):  # type: ignore[no-untyped-def]
        a = torch.nn.functional.normalize(qv @ W, dim=1)
        b = torch.nn.functional.normalize(S @ W, dim=1)
        mx = torch.full((a.shape[0], n), -2.0).scatter_reduce(1, seg.expand(a.shape[0], -1), a @ b.T, "amax")
        return mx.mean(0)

    def precision(W, rows) -> float:  # type: ignore[no-untyped-def]
        with torch.no_grad():
            return float(
                np.mean([r[4][int(torch.argmax(scores(r[1], r[2], r[3], len(r[4]), W)))] for r in rows])
            )

    tr, ev = prep(rows_train), prep(rows_eval)
    ev_b = [r for r in ev if r[0] in half_b]
    raw = precision(torch.eye(384), ev)
    print(f"MaxSim alone, raw token vectors: best sentence is a gold-paragraph answer sentence {raw:.3f}")
    W = torch.nn.Parameter(torch.eye(384)[:, :dim].clone())
    opt = torch.optim.Adam([W], lr=1e-3)
    for ep in range(epochs):
        random.Random(ep).shuffle(tr)
        for _, qv, S, seg, good in tr:
            if good.all() or not good.any():
                continue
            s = scores(qv, S, seg, len(good), W) / 0.05
            loss = torch.logsumexp(s, 0) - torch.logsumexp(s[torch.tensor(good)], 0)
            opt.zero_grad()
            loss.backward()
            opt.step()
        all_, b = precision(W.detach(), ev), precision(W.detach(), ev_b)
        print(f"projection {dim}, epoch {ep}: all {all_:.3f}, half B {b:.3f}")


def question_time_cost(qa, rows) -> None:  # type: ignore[no-untyped-def]
    """What the signal would cost per question without stored token vectors: its 3 passages' tokens."""
    emb = qa.embedder
    emb.encode_queries(["warm up"])
    onnx = emb._onnx_encoder()
    if onnx is None:
        print("question-time cost: no ONNX encoder here")
        return
    times = []
    for _, _, cands in rows[:40]:
        texts = [c.hit.passage.text for c in cands[:PASSAGES]]
        enc = emb._tok(texts, padding=True, truncation=True, max_length=emb.max_tokens, return_tensors="np")
        feed = {k: np.asarray(enc[k], dtype=np.int64) for k in onnx._inputs}
        t = time.perf_counter()
        onnx._session.run(None, feed)
        times.append((time.perf_counter() - t) * 1000)
    print(
        f"question-time cost of the top {PASSAGES} passages' token vectors (ONNX, one thread): "
        f"p50 {pct(times, 50):.0f} ms, p95 {pct(times, 95):.0f} ms a question"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", action="store_true", help="also train a linear projection for MaxSim")
    args = ap.parse_args()

    qa, _, half_b, rows_train, rows_eval = fitting_data()

    model, tok = qa.embedder._model, qa.embedder._model.tokenizer
    passages = {c.hit.passage.id: c.hit.passage.text for r in rows_train + rows_eval for c in r[2][:PASSAGES]}
    ids = sorted(passages)
    P = {i: (v, o) for i, (v, o, _) in zip(ids, token_vectors(model, tok, [passages[i] for i in ids], 256))}
    questions = [q for q, _, _ in rows_train + rows_eval]
    Q = {
        q.id: (v, question_tokens(v, names))
        for q, (v, _, names) in zip(questions, token_vectors(model, tok, [q.question for q in questions], 64))
    }
    train, evaluation = tables(rows_train, P, Q), tables(rows_eval, P, Q)
    ceiling = np.mean([t[4].max() for t in evaluation]) * len(evaluation) / len(rows_eval)
    print(f"ceiling: a gold-paragraph sentence is among those read for {ceiling:.3f} of the questions")
    print(f"composer features (shipped):        {fit_and_score(train, evaluation, half_b, [])}")
    print(f"+ MaxSim of the sentence:           {fit_and_score(train, evaluation, half_b, [0, 4])}")
    free = list(range(len(EXTRA), len(EXTRA) + len(FREE)))
    print(f"+ question tokens vs sentence vectors: {fit_and_score(train, evaluation, half_b, free)}")
    every = list(range(len(EXTRA)))
    print(f"+ all MaxSim features ({len(EXTRA)}):       {fit_and_score(train, evaluation, half_b, every)}")
    question_time_cost(qa, rows_eval)
    if args.project:
        projection(rows_train, rows_eval, P, {k: (v[0], v[1]) for k, v in Q.items()}, half_b)


if __name__ == "__main__":
    main()
