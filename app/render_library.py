"""HTML for the Library tab and the header: counts, the article list, what an upload did, notices.

Same rule as render.py: the macros in templates/library.html escape everything from an article, a
file name or a user.
"""

from __future__ import annotations

from collections.abc import Sequence

from citeqa.kb import ArticleInfo
from citeqa.schema import IngestReport
from citeqa_app.markup import render


def brand() -> str:
    """The header's logo, name and tagline."""
    return render("library.html", "brand")


def stats(n_articles: int, n_passages: int) -> str:
    return render("library.html", "stats", n_articles, n_passages)


def library_help(kinds: Sequence[str], max_files: int, per_file: str, in_all: str) -> str:
    return render("library.html", "library_help", kinds, max_files, per_file, in_all)


def article_list(rows: Sequence[ArticleInfo]) -> str:
    return render("library.html", "article_list", rows)


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
    kinds = (("added", report.added), ("updated", report.updated), ("unchanged", report.unchanged))
    done = [(kind, i, titles.get(i)) for kind, ids in kinds for i in ids]
    took = f"{report.passages:,} passages embedded in {report.seconds:.1f} s" if report.passages else ""
    ready = " They can be asked about now." if report.added or report.updated else ""
    note = took + ("." if took else "") + ready
    return render("library.html", "ingest_summary", counts, done, skipped, note)


def message(text: str, kind: str = "info") -> str:
    """A one-line notice (kind: info, ok, warn, error)."""
    return render("library.html", "message", text, kind)
