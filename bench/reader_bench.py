"""Issue 11 benchmark: direct answers (the span reader) vs the sentence composer, in one run.

SQuAD v1.1 dev, knowledge base of all 48 articles, hybrid retrieval; questions: a seeded sample of
2,000 questions of half B (the test half: neither the reader nor any threshold saw it).
- short EM / F1 over all questions (no short answer, or an abstention, scores 0), and given the gold
  paragraph alone (the reader without retrieval);
- answer_hit (a gold answer in answer.text), citation precision (cited span inside the gold
  paragraph), round-trip of every citation and short answer;
- abstention: answered share of the answerable questions, abstained share when the question's own
  article is taken out of the retrieved list (as bench.abstain_check), and on near misses: only the
  passages holding a gold answer taken out, the rest of its article (same topic) left in;
- `ask` latency with the models loaded, the two systems interleaved question by question.

    python -m bench.reader_bench [--limit 2000]
    python -m bench.reader_bench --formats runs/reader/onnx   # int8 vs fp16 vs fp32, gold paragraph
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench.common import pct, peak_rss_mb
from bench.fit_composer import DEPTH, holds_answer, in_gold, split_articles
from bench.fit_reader import calibration_rows
from bench.squad_kb import squad_assistant
from citeqa import Assistant
from citeqa.answer import ArticleMeta, compose
from citeqa.datasets import sample
from citeqa.evaluate.metrics import best_over, exact_match, token_f1
from citeqa.reader import Reader, load_reader, open_reader


class Tally:
    def __init__(self) -> None:
        self.n = self.em = self.f1 = self.hit = self.cites = self.cite_ok = self.trip = 0.0
        self.shorts = self.answered = 0
        self.lat: list[float] = []

    def add(self, a, q, texts, ms: float) -> None:  # type: ignore[no-untyped-def]
        gold = q.relevant_spans[0]
        self.n += 1
        self.lat.append(ms)
        self.hit += holds_answer(a.text, q.answers)
        self.answered += not a.abstained
        for c in a.citations:
            self.cites += 1
            self.cite_ok += in_gold(c.article_id, c.start, c.end, gold)
            self.trip += texts[c.article_id][c.start : c.end] == c.quote
        if a.short is not None:
            self.shorts += 1
            assert texts[a.short.article_id][a.short.start : a.short.end] == a.short.text
            self.em += best_over(exact_match, a.short.text, q.answers)
            self.f1 += best_over(token_f1, a.short.text, q.answers)

    def line(self, name: str) -> str:
        n, c = self.n, max(self.cites, 1)
        p50, p95 = pct(self.lat, 50), pct(self.lat, 95)
        return (
            f"{name:<10} short EM {self.em / n:.3f}  F1 {self.f1 / n:.3f}  (shorts {self.shorts / n:.3f})"
            f"  answer_hit {self.hit / n:.3f}  citation precision {self.cite_ok / c:.3f}"
            f" ({self.cites / n:.2f}/answer)  round-trip {self.trip / c:.3f}"
            f"  answered {self.answered / n:.3f}  ask p50 {p50:.1f} ms p95 {p95:.1f} ms"
        )


def gold_paragraph(reader: Reader, questions, texts) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """SQuAD's own setting: the reader's best span in the gold paragraph. (EM, F1, ms a question)."""
    em = f1 = 0.0
    t = time.perf_counter()
    for q in questions:
        g = q.relevant_spans[0]
        span = reader.read(q.question, [texts[g.article_id][g.start : g.end]])[0]
        text = span.text if span else ""
        em += best_over(exact_match, text, q.answers)
        f1 += best_over(token_f1, text, q.answers)
    n = max(len(questions), 1)
    return em / n, f1 / n, (time.perf_counter() - t) * 1e3 / n


def formats(folder: Path, qa, data, texts) -> None:  # type: ignore[no-untyped-def]
    """Quality cost of each weights format, on the calibration questions (where the choice is made)."""
    cal = [q for q, _, _ in calibration_rows(qa, data)]
    for f in sorted(folder.glob("reader-*.onnx")):
        r = open_reader(f)
        em, f1, ms = gold_paragraph(r, cal, texts)
        mb = f.stat().st_size / 1e6
        print(f"{f.name}: {mb:.1f} MB  gold-paragraph EM {em:.3f} F1 {f1:.3f}  {ms:.1f} ms/q")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=2000, help="half-B questions (seeded sample)")
    ap.add_argument("--formats", type=Path, help="compare the reader-*.onnx files in this folder, then stop")
    args = ap.parse_args()
    qa, data = squad_assistant("article")
    texts = {a.id: a.text for a in data.articles}
    if args.formats:
        formats(args.formats, qa, data, texts)
        return
    reader = load_reader()
    if reader is None:
        raise SystemExit("the reader did not load (see the warning above)")
    _, half_b = split_articles([a.id for a in data.articles])
    qs = sample([q for q in data.questions if q.relevant_article_ids[0] in half_b], args.limit, seed=0)
    base = Assistant(qa.kb, qa.config.with_(reader=False), qa.embedder)
    meta = {a.id: ArticleMeta(a.title, text=a.text) for a in data.articles}
    for warm in (qa, base):
        warm.ask("warm up question")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    new, old = Tally(), Tally()
    una_new = una_old = 0
    near_new = near_old = near_n = 0
    t_start = time.perf_counter()
    for i, q in enumerate(qs):
        order = [(qa, new), (base, old)] if i % 2 == 0 else [(base, old), (qa, new)]
        for assistant, tally in order:
            t0 = time.perf_counter()
            a = assistant.ask(q.question)
            tally.add(a, q, texts, (time.perf_counter() - t0) * 1e3)
        gold = q.relevant_spans[0]
        qvec, cands = qa.candidates(q.question, DEPTH)
        kept = [c for c in cands if c.hit.passage.article_id != gold.article_id][: qa.config.top_k]
        una_new += compose(q.question, qvec, kept, meta, qa.composer, reader=reader).abstained
        una_old += compose(q.question, qvec, kept, meta, qa.composer).abstained
        # Near misses: only the passages holding a gold answer are taken out; the rest of the
        # question's own article (the same topic, almost answering) stays.
        near = [c for c in cands if not holds_answer(c.hit.passage.text, q.answers)][: qa.config.top_k]
        if any(c.hit.passage.article_id == gold.article_id for c in near):
            near_n += 1
            near_new += compose(q.question, qvec, near, meta, qa.composer, reader=reader).abstained
            near_old += compose(q.question, qvec, near, meta, qa.composer).abstained
        if i % 250 == 0:
            print(f"  {i}/{len(qs)} {time.perf_counter() - t_start:.0f}s", flush=True)
    n = len(qs)
    print(
        f"{n} half-B questions in {time.perf_counter() - t_start:.0f}s; load average {os.getloadavg()[0]:.2f}"
    )
    print(new.line("reader"))
    print(old.line("composer"))
    print(f"abstains when the own article is removed: reader {una_new / n:.3f}, composer {una_old / n:.3f}")
    print(
        f"abstains on near misses (passages holding the answer removed, {near_n} questions whose own "
        f"article still has passages among those read): reader {near_new / max(near_n, 1):.3f}, "
        f"composer {near_old / max(near_n, 1):.3f}"
    )
    print(f"latency ratio reader/composer: p50 {pct(new.lat, 50) / pct(old.lat, 50):.2f}")
    em, f1, ms = gold_paragraph(reader, qs, texts)
    print(f"given the gold paragraph: EM {em:.3f} F1 {f1:.3f} ({ms:.1f} ms a question)")
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
