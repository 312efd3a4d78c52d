"""report.html: one self-contained page (inline CSS and SVG, no JavaScript) a person reads offline.

Headline table with 95% intervals, the plots, every metric, then the worst questions with what was
retrieved and answered, so a failure can be traced to retrieval or to the answer. All text that
comes from data (questions, passages, ids) is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from citeqa.evaluate.names import HEADLINE
from citeqa.evaluate.svg import histogram, line_chart

if TYPE_CHECKING:  # EvalReport.write renders through this module: its types are read, never imported
    from citeqa.evaluate.results import EvalReport, QuestionResult

WORST = 25

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#777}.plots{display:flex;flex-wrap:wrap;gap:1rem}.plots figure{margin:0}
figcaption{font-weight:600;margin-bottom:.2rem}.q{border:1px solid #ddd;border-radius:6px;padding:.6rem .8rem;
margin:.8rem 0}.ok{color:#1a7f37}.bad{color:#c62828}.passage{background:#f6f8fa;padding:.4rem .6rem;
margin:.3rem 0;border-left:3px solid #ccc;white-space:pre-wrap}.passage.rel{border-left-color:#1a7f37}
code{font-size:12px}
"""


def render_html(report: EvalReport) -> str:
    info = report.info
    title = f"citeqa eval: {info.get('dataset', '')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        '<p class="muted">'
        + " · ".join(f"{escape(k)}: <code>{escape(v)}</code>" for k, v in info.items() if v)
        + "</p>",
        "<h2>Headline</h2>",
        _headline(report),
        "<h2>Plots</h2>",
        _plots(report),
        "<h2>All metrics</h2>",
        _all_metrics(report),
        f"<h2>Worst questions (up to {WORST})</h2>",
        *(_question(r, report.gold_texts.get(r.id, "")) for r in worst(report.results, WORST)),
        "</body></html>",
    ]
    return "\n".join(parts)


def _fmt(v: float | None, name: str = "") -> str:
    if v is None:
        return "–"
    if name.startswith("n_") or name.endswith("_ms") or name in ("seconds", "setup_seconds"):
        return f"{v:,.1f}" if not float(v).is_integer() else f"{int(v):,}"
    return f"{v:.4f}"


def _headline(report: EvalReport) -> str:
    rows = []
    names = [n for n in HEADLINE if report.metrics.get(n) is not None]
    names += [
        n
        for n in ("citation_roundtrip", "coverage", "latency_p50_ms", "latency_p95_ms")
        if report.metrics.get(n) is not None
    ]
    for n in names:
        ci = report.ci.get(n)
        interval = f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""
        rows.append(
            f"<tr><td>{escape(n)}</td><td class='n'>{_fmt(report.metrics[n], n)}</td>"
            f"<td class='n muted'>{interval}</td></tr>"
        )
    return (
        "<table><tr><th>metric</th><th>value</th><th>95% CI (bootstrap)</th></tr>"
        + "".join(rows)
        + "</table>"
        + f"<p class='muted'>{_fmt(report.metrics.get('n_questions'), 'n_questions')} questions in "
        f"{_fmt(report.metrics.get('seconds'), 'seconds')} s "
        f"({(report.metrics.get('throughput_qps') or 0):.1f} questions/s).</p>"
    )


def _plots(report: EvalReport) -> str:
    recall = line_chart(
        {f"{level} recall@k": pts for level, pts in report.recall_curve.items()},
        x_label="k",
        y_label="recall@k",
        title="recall@k",
        x_range=(1, 20),
        x_ticks=(1, 5, 10, 15, 20),
    )
    figures = [("recall@k", recall)]
    if report.coverage_curve:
        figures.append(
            (
                "coverage–accuracy (answer confidence threshold)",
                line_chart(
                    {"accuracy": [(c, a) for _, c, a in report.coverage_curve]},
                    x_label="coverage (share of questions answered)",
                    y_label="accuracy",
                    title="coverage-accuracy",
                    x_range=(0, 1),
                ),
            )
        )
    latencies = [r.timings_ms["latency"] for r in report.results]
    figures.append(("latency per question", histogram(latencies, x_label="ms", title="latency histogram")))
    return (
        "<div class='plots'>"
        + "".join(f"<figure><figcaption>{escape(cap)}</figcaption>{svg}</figure>" for cap, svg in figures)
        + "</div>"
    )


def _all_metrics(report: EvalReport) -> str:
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td class='n'>{_fmt(v, k)}</td></tr>" for k, v in report.metrics.items()
    )
    return f"<details><summary>{len(report.metrics)} metrics</summary><table>{rows}</table></details>"


def worst(results: tuple[QuestionResult, ...], n: int) -> list[QuestionResult]:
    """Wrong answers first (lowest F1), then the worst retrieval (lowest nDCG, relevant ranked lowest)."""

    def key(r: QuestionResult) -> tuple[float, float, float, float]:
        m = r.metrics
        wrong = 0.0 if r.correct is False else 1.0
        rank = r.first_relevant_rank or 10_000
        return (wrong, m.get("answer_f1") or 0.0, _or(m.get("ndcg@10"), m.get("passage_ndcg@10")), -rank)

    return sorted(results, key=key)[:n]


def _or(*values: float | None) -> float:
    return next((v for v in values if v is not None), 1.0)


def _mark(flag: bool | None) -> str:
    if flag is None:
        return ""
    return "<span class='ok'>✓</span>" if flag else "<span class='bad'>✗</span>"


def _question(r: QuestionResult, gold_text: str) -> str:
    m = r.metrics
    out = [f"<div class='q'><b>{escape(r.question)}</b> <span class='muted'>({escape(r.id)})</span>"]
    facts = [
        f"nDCG@10 {_fmt(m.get('ndcg@10'))}",
        f"first relevant document at rank {r.first_relevant_rank or '–'}",
    ]
    if r.answers:
        facts.append("gold: " + " | ".join(escape(a) for a in r.answers[:5]))
    if not r.answerable:
        facts.append("marked unanswerable")
    out.append("<div class='muted'>" + " · ".join(facts) + "</div>")
    if r.answer is not None:
        verdict = _mark(r.correct)
        out.append(
            f"<p>{verdict} <b>Answer</b> (confidence {r.confidence or 0:.2f}"
            f"{', abstained' if r.abstained else ''}): {escape(r.answer)}</p>"
        )
        for c in r.citations:
            broken = "" if c.roundtrip else " <b class=bad>quote mismatch</b>"
            out.append(
                f"<div class='muted'>[{c.n}] {_mark(c.correct)} <code>{escape(c.article_id)}</code> "
                f"chars {c.start}–{c.end}{broken}</div>"
            )
    docs = ", ".join(f"{d.rank}. <code>{escape(d.article_id)}</code>{_mark(d.relevant)}" for d in r.docs[:5])
    out.append(f"<div>Top documents: {docs or '–'}</div>")
    if r.relevant_article_ids:
        out.append(
            "<div class='muted'>Relevant: "
            + ", ".join(f"<code>{escape(a)}</code>" for a in r.relevant_article_ids[:5])
            + "</div>"
        )
    if gold_text:
        out.append(
            f"<details><summary>Where the answer is (gold)</summary><div class='passage rel'>"
            f"{escape(gold_text)}</div></details>"
        )
    for p, text in zip(r.passages, r.passage_texts, strict=False):  # texts: the top 3 only
        rel = p.relevant or (p.relevant is None and p.article_id in r.relevant_article_ids)
        cls = "passage rel" if rel else "passage"
        out.append(
            f"<div class='{cls}'><span class='muted'>#{p.rank} {escape(p.id)} "
            f"({p.score:.3f})</span>\n{escape(text[:1200])}</div>"
        )
    out.append("</div>")
    return "\n".join(out)
