"""HTML for the Library tab and the header: counts, the article list, what an upload did, notices.

Same rule as render.py: everything from an article, a file name or a user goes through `esc`.
"""

from __future__ import annotations

from collections.abc import Sequence

from citeqa.kb import ArticleInfo
from citeqa.schema import IngestReport
from citeqa_app.render import esc, nice_date


def stats(n_articles: int, n_passages: int) -> str:
    a, p = ("s" if n_articles != 1 else ""), ("s" if n_passages != 1 else "")
    return (
        f'<div class="cq-stats"><span><strong>{n_articles:,}</strong> article{a}</span>'
        f"<span><strong>{n_passages:,}</strong> passage{p}</span></div>"
    )


def library_help(kinds: Sequence[str], max_files: int, per_file: str, in_all: str) -> str:
    return (
        '<div class="cq-panel cq-help"><div class="cq-panel-title">Add articles</div>'
        f"<p>Drop {esc(' '.join(kinds))} files on this panel, or choose them with the button, several at "
        f"once (up to {max_files} files, "
        f"{esc(per_file)} each, {esc(in_all)} in all). Text files may start with <code>title:</code>, "
        "<code>source:</code> and <code>date:</code> lines; JSON and JSONL hold records with a "
        "<code>text</code> field. New articles can be asked about as soon as they are added.</p></div>"
    )


def article_list(rows: Sequence[ArticleInfo]) -> str:
    if not rows:
        return '<div class="cq-panel"><p class="cq-muted">No articles yet. Add some above.</p></div>'
    body = "".join(
        "<tr>"
        f'<td><div class="cq-lib-title">{esc(r.title or r.id)}</div><code>{esc(r.id)}</code></td>'
        f"<td>{esc(r.source) or '—'}</td><td>{esc(nice_date(r.published)) or '—'}</td>"
        f'<td class="cq-num">{r.passages:,}</td><td class="cq-num">{r.chars:,}</td>'
        f'<td><button type="button" class="cq-remove" data-remove="{esc(r.id)}" '
        f'aria-label="Remove {esc(r.title or r.id)}">Remove</button></td>'
        "</tr>"
        for r in rows
    )
    n = len(rows)
    return (
        '<div class="cq-panel cq-library"><div class="cq-panel-head">'
        '<span class="cq-panel-title">Library</span>'
        f'<span class="cq-panel-sub">{n:,} article{"s" if n != 1 else ""}</span></div>'
        '<input type="search" class="cq-filter" placeholder="Filter by title, id or source…" '
        'aria-label="Filter articles">'
        '<table class="cq-table"><thead><tr><th>Article</th><th>Source</th>'
        '<th>Published</th><th class="cq-num">Passages</th><th class="cq-num">Characters</th><th></th>'
        f"</tr></thead><tbody>{body}</tbody></table></div>"
    )


def ingest_summary(
    report: IngestReport, titles: dict[str, str], refused: Sequence[tuple[str, str]] = ()
) -> str:
    """What an upload did: counts, then each article and each skipped file with its reason."""
    skipped = [(s.path, s.reason) for s in report.skipped] + list(refused)
    counts = [
        ("added", len(report.added)),
        ("updated", len(report.updated)),
        ("unchanged", len(report.unchanged)),
        ("skipped", len(skipped)),
    ]
    pills = "".join(f'<span class="cq-pill cq-pill-{k}"><strong>{n}</strong> {k}</span>' for k, n in counts)
    rows: list[str] = []
    for kind, ids in (("added", report.added), ("updated", report.updated), ("unchanged", report.unchanged)):
        rows += [
            f'<li><span class="cq-pill cq-pill-{kind}">{kind}</span>{esc(titles.get(i) or i)} '
            f"<code>{esc(i)}</code></li>"
            for i in ids
        ]
    rows += [
        f'<li><span class="cq-pill cq-pill-skipped">skipped</span>{esc(path)}: '
        f'<span class="cq-reason">{esc(reason)}</span></li>'
        for path, reason in skipped
    ]
    took = f"{report.passages:,} passages embedded in {report.seconds:.1f} s" if report.passages else ""
    ready = " They can be asked about now." if report.added or report.updated else ""
    return (
        '<div class="cq-panel cq-ingest"><div class="cq-pills">'
        f'{pills}</div><ul class="cq-ingest-list">{"".join(rows)}</ul>'
        f'<p class="cq-muted">{esc(took + ("." if took else "") + ready)}</p></div>'
    )


def message(text: str, kind: str = "info") -> str:
    """A one-line notice (kind: info, ok, warn, error)."""
    return f'<div class="cq-panel cq-notice cq-notice-{esc(kind)}">{esc(text)}</div>'
