"""How the command line shows an answer, and reads the scope of a question (--as-of, --article,
--source, --since, --until): shared by `ask` and anything else that asks."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from citeqa.config import Config
from citeqa.dates import display_published
from citeqa.markers import cited_text
from citeqa.schema import Answer
from citeqa.scope import day
from citeqa.text import squash


def print_answer(answer: Answer, out=None) -> None:  # type: ignore[no-untyped-def]
    # out=None prints to the current sys.stdout (a default bound at import would miss redirection).
    # The language model could not be used: first, as what follows is the extractive answer. Or
    # about the written answer (sentences left out): after it, as a footnote.
    if answer.notice and answer.mode != "llm":
        print(f"({answer.notice})", file=out)
    print(cited_text(answer), file=out)
    if answer.notice and answer.mode == "llm":
        print(f"({answer.notice})", file=out)
    if answer.note:  # how relative time in the question was read
        print(f"({answer.note})", file=out)
    if answer.citations:
        print(file=out)
    for c in answer.citations:
        date = f", {display_published(c.published)}" if c.published else ""
        print(f"[{c.n}] {c.title or c.article_id}{date} ({c.article_id}, chars {c.start}-{c.end})", file=out)
        print(f'    "{squash(c.quote)}"', file=out)
        if c.also_in:  # the same story in other articles (near copies grouped at ingest)
            print(f"    also in: {', '.join(x.label() for x in c.also_in)}", file=out)
    if answer.abstained and answer.reason:
        print(f"\nWhy: {answer.reason}.", file=out)  # the scores stay out of the answer's own words
    if answer.abstained and answer.hits:
        print("\nClosest passages:", file=out)
        for h in answer.hits[:3]:
            print(f"  {h.rank}. ({h.score:.2f}) {squash(h.passage.text)[:160]}", file=out)


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


def llm_options(p: argparse.ArgumentParser) -> None:
    """The language-model options of `ask`, `chat`, `serve` and `eval` (llm.py). The API key is read
    from $CITEQA_LLM_API_KEY only: a command line is visible to every user of the machine."""
    p.add_argument(
        "--llm-url",
        metavar="URL",
        help="an OpenAI-compatible server (http://127.0.0.1:8080/v1) whose model writes the answers, "
        "every sentence checked against its citation (default: $CITEQA_LLM_URL; none: extractive)",
    )
    p.add_argument("--llm-model", metavar="NAME", help="the model to ask for (default: $CITEQA_LLM_MODEL)")
    p.add_argument(
        "--llm-timeout",
        type=number_arg("a number of seconds"),
        metavar="SECONDS",
        help="time a written answer may take, then the extractive one is shown (default 60)",
    )
    p.add_argument(
        "--llm-drop-unsupported",
        action="store_true",
        help="leave out written sentences their citation doesn't support (default: mark them)",
    )
    p.add_argument("--no-llm", action="store_true", help="extractive answers, whatever $CITEQA_LLM_URL says")


def llm_config(args: argparse.Namespace) -> Callable[[Config], Config]:
    """What the options (and the environment) change in a config."""

    def apply(config: Config) -> Config:
        if args.no_llm:
            return config.with_(llm_url="")
        changes: dict[str, object] = {}
        if args.llm_url:
            changes["llm_url"] = args.llm_url
        if args.llm_model:
            changes["llm_model"] = args.llm_model
        if args.llm_timeout is not None:
            changes["llm_timeout"] = args.llm_timeout
        if args.llm_drop_unsupported:
            changes["llm_unsupported"] = "drop"
        return config.with_(**changes).with_env()

    return apply


def streamer(out=None) -> Callable[[str], None]:  # type: ignore[no-untyped-def]
    """Prints a written answer as it arrives (the terminal chat)."""

    def show(text: str) -> None:
        print(text, end="", flush=True, file=out if out is not None else sys.stdout)

    return show


def number_arg(what: str = "a number") -> Callable[[str], float]:
    """An argparse type for a number; a bad value is one line saying what was expected."""

    def parse(value: str) -> float:
        try:
            return float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}") from None

    return parse
