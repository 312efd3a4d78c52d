"""How the command line shows an answer, and reads the scope of a question (--as-of, --article,
--source, --since, --until): shared by `ask` and anything else that asks."""

from __future__ import annotations

import argparse

from citeqa.dates import display_published
from citeqa.markers import cited_text
from citeqa.schema import Answer, StoryCopy
from citeqa.scope import day
from citeqa.text import squash


def print_answer(answer: Answer, out=None) -> None:  # type: ignore[no-untyped-def]
    # out=None prints to the current sys.stdout (a default bound at import would miss redirection).
    print(cited_text(answer), file=out)
    if answer.note:  # how relative time in the question was read
        print(f"({answer.note})", file=out)
    if answer.citations:
        print(file=out)
    for c in answer.citations:
        date = f", {display_published(c.published)}" if c.published else ""
        print(f"[{c.n}] {c.title or c.article_id}{date} ({c.article_id}, chars {c.start}-{c.end})", file=out)
        print(f'    "{squash(c.quote)}"', file=out)
        if c.also_in:  # the same story in other articles (near copies grouped at ingest)
            print(f"    also in: {', '.join(map(copy_label, c.also_in))}", file=out)
    if answer.abstained and answer.reason:
        print(f"\nWhy: {answer.reason}.", file=out)  # the scores stay out of the answer's own words
    if answer.abstained and answer.hits:
        print("\nClosest passages:", file=out)
        for h in answer.hits[:3]:
            print(f"  {h.rank}. ({h.score:.2f}) {squash(h.passage.text)[:160]}", file=out)


def copy_label(c: StoryCopy) -> str:
    """ "Ferry back in service (Reuters, 2024-03-05)": title, then source and date when known."""
    details = ", ".join(x for x in (c.source, display_published(c.published)) if x)
    name = c.title or c.article_id
    return f"{name} ({details})" if details else name


def scope_args(args: argparse.Namespace) -> dict[str, object]:
    """`ask`'s scope keywords from --as-of/--article/--source/--since/--until (scope.py checks them)."""
    return {  # dates checked here, so an error names the option the user typed
        "as_of": day(args.as_of, "--as-of"),
        "articles": args.article or (),
        "sources": args.source or (),
        "since": day(args.since, "--since"),
        "until": day(args.until, "--until"),
    }


def scope_options(p: argparse.ArgumentParser) -> None:
    """The scope options of `ask` (and of anything else that asks)."""
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="ask as of this day (2024-03-05): later articles are invisible, and 'this week', "
        "'yesterday', 'latest' are read against it (default: today, or the newest article's day "
        "when that is over a month old)",
    )
    p.add_argument("--article", action="append", metavar="ID", help="only this article (repeatable)")
    p.add_argument(
        "--source", action="append", metavar="NAME", help="only articles from this source (repeatable)"
    )
    p.add_argument("--since", metavar="DATE", help="only articles published on or after this day")
    p.add_argument("--until", metavar="DATE", help="only articles published on or before this day")
