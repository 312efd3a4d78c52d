"""`citeqa` command line: a thin layer over `Assistant`. Errors are one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from citeqa.cli_answer import (
    llm_config,
    llm_options,
    number_arg,
    print_answer,
    scope_args,
    scope_options,
    streamer,
)
from citeqa.config import INDEXES, Config, default_kb_path
from citeqa.dates import DateNote
from citeqa.encoding import EncodingNote
from citeqa.errors import CiteqaError, IngestInterrupted, InputError
from citeqa.schema import Skipped
from citeqa.text import plural


def _kb(args: argparse.Namespace) -> Path:
    return Path(args.kb) if args.kb else default_kb_path()


def cmd_ingest(args: argparse.Namespace) -> int:
    from citeqa.assistant import Assistant
    from citeqa.ingest import FetchSettings, collect, is_url

    # os.path.exists never raises (a too-long name is just False); a URL is read, not looked up.
    if not any(is_url(p) or os.path.exists(p) for p in args.paths):
        # Nothing to read at all is a typo, not a batch with a few bad files: say so, build nothing.
        raise InputError(f"no such file or folder: {', '.join(args.paths)}")
    try:
        fetch = FetchSettings(timeout=args.timeout)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    # Read everything first (URLs are fetched here): when nothing at all could be read, that is an
    # error and no knowledge base is created for it.
    (articles, skipped), notes = _noting(lambda: collect(args.paths, fetch=fetch))
    if not articles and skipped:
        raise InputError(_nothing_read(skipped))
    config = Config(model=args.model) if args.model else Config()
    if args.commit_every is not None:
        config = config.with_(commit_every=args.commit_every)
    if args.index is not None:  # a new knowledge base keeps it; an existing one switches below
        config = config.with_(index=args.index)
    qa = Assistant.create(_kb(args), config=config)
    if args.index is not None:
        qa.set_index(args.index)
    report = qa.add([*articles, *skipped], progress=not args.quiet)
    if args.prune:
        keep = {*report.added, *report.updated, *report.unchanged}
        # A file or URL that failed this time (a network error, say) keeps its articles: pruning
        # removes what is gone, not what could not be read today.
        failed = {s.path for s in report.skipped}
        stale = [a.id for a in qa.articles() if a.id not in keep and a.path not in failed]
        if stale:
            qa.remove(*stale)
            report = dataclasses.replace(report, removed=tuple(stale))
    if args.json:
        fields = {k: list(v) if isinstance(v, tuple) else v for k, v in report.__dict__.items()}
        fields["skipped"] = [s.__dict__ for s in report.skipped]
        encodings = [n for n in notes if isinstance(n, EncodingNote)]
        fields["encodings"] = [{"path": n.path, "encoding": n.encoding} for n in encodings]
        fields["notes"] = [{"path": n.path, "note": _note_text(n)} for n in notes]
        print(json.dumps(fields, indent=2))
    else:
        print(f"{_kb(args)}: {report.summary()}")
        for n in notes:
            print(f"  note {n.path}: {_note_text(n)}")
        for s in report.skipped:
            print(f"  skipped {s.path}: {s.reason}")
        if report.truncated:
            print(f"  warning: {report.truncated} passages exceed the model's window and were cut")
    return 0


_T = TypeVar("_T")


def _noting(read: Callable[[], _T]) -> tuple[_T, list[EncodingNote | DateNote]]:
    """`read()`, plus what ingest noted on the way: files that were not UTF-8 and dates that could not
    be read (warnings, which reach library users too; here each becomes a line of the report)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EncodingNote)  # every file, even one noted earlier
        warnings.simplefilter("always", DateNote)
        result = read()
    notes = [w.message for w in caught if isinstance(w.message, (EncodingNote, DateNote))]
    for w in caught:  # other warnings were only caught on the way: show them as usual
        if not isinstance(w.message, (EncodingNote, DateNote)):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return result, notes


def _note_text(note: EncodingNote | DateNote) -> str:
    """The note without its leading "PATH: " (the report prints the path itself)."""
    return str(note).removeprefix(f"{note.path}: ")


def _nothing_read(skipped: Sequence[Skipped]) -> str:
    """One line for an ingest that read nothing: why each input failed (the first few)."""
    shown = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:3])
    more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    return f"nothing could be read: {shown}{more}"


def cmd_ask(args: argparse.Namespace) -> int:
    from citeqa.assistant import Assistant

    qa = Assistant.open(_kb(args))
    qa.config = llm_config(args)(qa.config)
    # Questions go through a verified ONNX export when one is cached (no torch import: about 1 s
    # from a cold process instead of 5); the first `ask` on a machine exports it, once.
    answer = qa.ask(args.question, top_k=args.top_k, **scope_args(args))
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_answer(answer)
    return 0


def _clip(line: str, limit: int = 200) -> str:
    return line if len(line) <= limit else line[:limit] + "…"


def cmd_chat(args: argparse.Namespace) -> int:
    from citeqa.assistant import Assistant

    scope = scope_args(args)  # for every question; checked first: a bad --as-of is one line, exit 2
    qa = Assistant.open(_kb(args))
    qa.config = llm_config(args)(qa.config)
    # Load the models before the first prompt, not while the first question waits: the prompt
    # then means "ready".
    print("Loading the model…", file=sys.stderr, flush=True)
    qa.warm_up()
    session = qa.chat()
    n = plural(len(qa.articles()), "article")
    print(f"citeqa chat over {n} in {_kb(args)}. Empty line or Ctrl-D quits.")
    piped = not sys.stdin.isatty()
    while True:
        try:
            line = input("\nyou> ")
        except EOFError:
            print()
            return 0
        if piped:  # a terminal echoes what was typed; a pipe doesn't, and the transcript needs it
            print(_clip(line))  # a prefix: a 5 MB line would bury the one-line error after it
        if not line.strip():
            return 0
        try:
            if qa.config.llm:  # the model's words as they come, then the answer as checked
                answer = session.ask(line, on_text=streamer(), **scope)
                print("\n\nChecked against the passages:" if answer.mode == "llm" else "\n")
                print_answer(answer)
            else:
                print_answer(session.ask(line, **scope))
        except CiteqaError as exc:
            print(f"citeqa: {exc}")


def cmd_list(args: argparse.Namespace) -> int:
    from citeqa.assistant import Assistant

    rows = Assistant.open(_kb(args)).articles()
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2, ensure_ascii=False))
        return 0
    for r in rows:
        print(f"{r.id}\t{r.published or '-'}\t{plural(r.passages, 'passage')}\t{r.title}")
    print(plural(len(rows), "article"), file=sys.stderr)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from citeqa.assistant import Assistant

    removed = Assistant.open(_kb(args)).remove(*args.ids)
    print(f"removed {plural(len(removed), 'article')}: {', '.join(removed)}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from citeqa.assistant import Assistant

    qa = Assistant.open(_kb(args))
    problems = qa.verify()
    counts = qa.kb.counts()
    if problems:
        for p in problems:
            print(f"problem: {p}")
        print(f"{_kb(args)}: {len(problems)} problem(s)")
        return 1
    print(f"{_kb(args)}: ok ({counts['articles']} articles, {counts['passages']} passages)")
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from citeqa.kb import repair

    report = repair(_kb(args), model=args.model, say=lambda msg: print(f"repair: {msg}", flush=True))
    for p in report.remaining:
        print(f"problem: {p}")
    if report.remaining:
        print(f"{_kb(args)}: {len(report.remaining)} problem(s) left")
        return 1
    print(f"{_kb(args)}: ok")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from citeqa.web import serve  # the Gradio app lives in app/; citeqa.web finds and launches it

    return serve(_kb(args), host=args.host, port=args.port, configure=llm_config(args))


def _register_eval(sub: Any) -> None:  # argparse's subparsers object (its class is private)
    try:
        from citeqa.evaluate.cli import register
    except ImportError:  # the evaluation package is optional while it is being built
        return
    register(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citeqa", description="Question answering over articles, with citations."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def kb_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--kb", help="knowledge base folder (default: $CITEQA_KB or embeddings/default)")

    p = sub.add_parser("ingest", help="add or update articles (files, folders, feeds or URLs); idempotent")
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="article files (.txt .md .html .json .jsonl .pdf .docx; .xml .rss .atom feeds), folders of "
        "them, or http(s) URLs of pages or feeds (the only network use)",
    )
    kb_arg(p)
    p.add_argument("--model", help="embedding model for a new knowledge base (default: all-MiniLM-L6-v2)")
    p.add_argument("--prune", action="store_true", help="remove articles that are not in PATHS")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--commit-every",
        type=_int_arg,
        default=None,
        metavar="N",
        help="passages embedded between commits (default 512): an interrupted ingest keeps every "
        "commit, and running it again continues",
    )
    p.add_argument(
        "--index",
        choices=INDEXES,
        default=None,
        help="dense index, kept by the knowledge base: auto (exact, then IVF from 200k passages; the "
        "default), flat (always exact) or ivf (approximate, a quarter of the memory)",
    )
    p.add_argument(
        "--timeout",
        type=number_arg(),
        default=20.0,
        metavar="SECONDS",
        help="time limit for fetching each URL, download included (default 20)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer one question")
    p.add_argument("question", help="the question, in quotes")
    kb_arg(p)
    p.add_argument("--top-k", type=_int_arg, default=None, help="passages to retrieve, 1 to 100 (default 5)")
    scope_options(p)
    llm_options(p)
    p.add_argument("--json", action="store_true", help="print the answer as JSON (citations, passages)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="terminal chat with follow-up questions")
    kb_arg(p)
    scope_options(p)
    llm_options(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", help="the chat web page")
    kb_arg(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=_int_arg, default=7860, help="port to listen on (default 7860)")
    llm_options(p)
    p.set_defaults(func=cmd_serve)

    _register_eval(sub)

    p = sub.add_parser("list", help="list the articles")
    kb_arg(p)
    p.add_argument("--json", action="store_true", help="print the articles as JSON")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("remove", help="remove articles by id")
    p.add_argument("ids", nargs="+", metavar="ID", help="article ids, as `citeqa list` shows them")
    kb_arg(p)
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("verify", help="check the knowledge base for damage")
    kb_arg(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("repair", help="rebuild the manifest and indexes from the stored articles")
    kb_arg(p)
    p.add_argument("--model", help="the embedding model, when the manifest no longer names it")
    p.set_defaults(func=cmd_repair)
    return parser


def _int_arg(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None


# What a shell reports for a process that SIGPIPE killed (128 + 13), as `yes | head` does. Python
# ignores SIGPIPE, so a closed pipe is a BrokenPipeError instead; exiting 141 keeps the Unix meaning
# (the output was cut short: a `set -o pipefail` script can tell) rather than claiming success with 0.
# The default SIGPIPE action (die at once) is not restored: `serve` writes to sockets, which must not kill it.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _run(argv)
        sys.stdout.flush()  # inside the try: output still buffered would otherwise fail at exit
        return code
    except BrokenPipeError:
        # The reader (`head`, `less`) has gone: stop quietly. Point stdout at /dev/null so the final
        # flush at interpreter exit does not raise and print "Exception ignored ... BrokenPipeError".
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CiteqaError as exc:
        print(f"citeqa: error: {exc}", file=sys.stderr)
        return 2
    except IngestInterrupted as exc:  # what an interrupted ingest kept, and how to go on
        print(f"citeqa: interrupted; {exc.message}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("citeqa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
