"""`citeqa eval DATASET ...` and `citeqa eval compare RUN_A RUN_B`, registered into the main CLI.

Imports here stay light (the model stack loads only when an evaluation actually runs), so `citeqa
--help` and the other subcommands don't pay for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from citeqa.cli_answer import llm_config, llm_options
from citeqa.datasets import FORMATS
from citeqa.errors import ConfigError, InputError
from citeqa.evaluate.names import HEADLINE
from citeqa.text import plural

EXIT_BELOW_THRESHOLD = 1

# What `citeqa eval` prints: the headline metrics, then the rest a reader checks at a glance.
SUMMARY = (
    *HEADLINE[:2],
    "recall@5",
    *HEADLINE[2:],
    "sentence_citation_rate",
    "llm_written",
    "supported_sentence_rate",
    "citation_roundtrip",
    "abstain_precision",
    "abstain_recall",
    "coverage",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_max_ms",
    "throughput_qps",
    "seconds",
)


def register(sub: Any) -> None:  # argparse's subparsers object (its class is private)
    p = sub.add_parser(
        "eval",
        help="score a question set (retrieval, answers, citations, abstention, latency); or compare runs",
        description="Score a question set: `citeqa eval DATASET [options]`. "
        "Compare two runs written with --out: `citeqa eval compare RUN_A RUN_B`.",
    )
    p.add_argument("dataset", help="question set: JSONL, CSV, SQuAD json or a BEIR folder (or `compare`)")
    p.add_argument("runs", nargs="*", metavar="RUN", help="with `compare`: the two run folders")
    p.add_argument("--format", choices=FORMATS, default="auto", help="question-set format (default: detect)")
    p.add_argument("--split", default="test", help="BEIR qrels split (default: test)")
    p.add_argument(
        "--kb",
        help="knowledge base to evaluate (default: the dataset's own corpus for "
        "SQuAD/BEIR, built once and cached under embeddings/; else $CITEQA_KB or "
        "embeddings/default)",
    )
    p.add_argument("--out", help="write metrics.json, results.jsonl and report.html here")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--limit", type=_int, help="evaluate a seeded sample of N questions")
    p.add_argument("--seed", type=_int, default=0, help="seed of the sample and the bootstrap (default 0)")
    p.add_argument("--top-k", type=_int, help="passages the answer is composed from (default: config)")
    p.add_argument("--retriever", help="retriever to use (default: config)")
    p.add_argument("--model", help="embedding model for a corpus knowledge base built by eval")
    p.add_argument(
        "--answers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compose and score answers (default: yes, except for BEIR folders)",
    )
    p.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 if METRIC is below VALUE (repeatable), e.g. ndcg@10=0.70",
    )
    p.add_argument(
        "--fail-over",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 if METRIC is above VALUE (repeatable), e.g. latency_p95_ms=200",
    )
    p.add_argument(
        "--metric", help="with `compare`: per-question outcome to diff (default: correct, else recall@1)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    llm_options(p)
    p.set_defaults(func=run)


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None


def run(args: argparse.Namespace) -> int:
    if args.dataset == "compare" and (args.runs or not Path("compare").exists()):
        return _compare(args)
    if args.runs:
        raise InputError(
            f"unexpected arguments {' '.join(args.runs)!r}; give one dataset "
            "(or `citeqa eval compare RUN_A RUN_B`)"
        )
    under = parse_thresholds(args.fail_under, "--fail-under")
    over = parse_thresholds(args.fail_over, "--fail-over")

    from citeqa.config import Config
    from citeqa.datasets import load_dataset
    from citeqa.evaluate.kb import open_for
    from citeqa.evaluate.runner import evaluate

    dataset = load_dataset(args.dataset, format=args.format, split=args.split)
    changes: dict[str, object] = {}
    if args.retriever:
        changes["retriever"] = args.retriever
    if args.model:
        changes["model"] = args.model
    config = llm_config(args)(Config(**changes))  # type: ignore[arg-type]
    qa = open_for(dataset, args.kb, config=config, progress=not args.quiet)
    try:
        report = evaluate(
            qa,
            dataset,
            limit=args.limit,
            seed=args.seed,
            top_k=args.top_k,
            answers=args.answers,
            progress=not args.quiet,
        )
    finally:
        qa.close()
    if args.out:
        report.write(args.out)
    flat = report.flat()
    if args.json:
        print(json.dumps(flat, indent=2))
    else:
        print(format_summary(flat, report.ci))
        if args.out:
            print(f"\nwrote {Path(args.out) / 'metrics.json'}, results.jsonl, report.html")
    failures = check_thresholds(flat, under, over)
    if failures:
        listed = "\n".join(f"  {f}" for f in failures)
        print(f"citeqa: eval failed its thresholds:\n{listed}", file=sys.stderr)
        return EXIT_BELOW_THRESHOLD
    return 0


def _compare(args: argparse.Namespace) -> int:
    from citeqa.evaluate.compare import compare, format_comparison

    if len(args.runs) != 2:
        raise InputError("usage: citeqa eval compare RUN_A RUN_B (two folders written with --out)")
    c = compare(args.runs[0], args.runs[1], metric=args.metric)
    print(json.dumps(c.to_dict(), indent=2, ensure_ascii=False) if args.json else format_comparison(c))
    return 0


def parse_thresholds(specs: list[str], flag: str) -> list[tuple[str, float]]:
    """`METRIC=VALUE` pairs, the metric checked against the names an evaluation can produce."""
    from citeqa.evaluate.names import LOWER_IS_BETTER, METRIC_NAMES

    out = []
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip()
        try:
            threshold = float(value)
        except ValueError:
            threshold = float("nan")
        if not sep or threshold != threshold:
            raise ConfigError(f"{flag} wants METRIC=VALUE, e.g. ndcg@10=0.70; got {spec!r}")
        if name not in METRIC_NAMES:
            raise ConfigError(f"{flag}: unknown metric {name!r}; choose from {', '.join(METRIC_NAMES)}")
        if flag == "--fail-under" and name in LOWER_IS_BETTER:
            raise ConfigError(f"{name} is better when lower: use --fail-over {name}={value}")
        out.append((name, threshold))
    return out


def check_thresholds(
    flat: dict[str, object], under: list[tuple[str, float]], over: list[tuple[str, float]]
) -> list[str]:
    failures = []
    for items, below in ((under, True), (over, False)):
        for name, limit in items:
            v = flat.get(name)
            if not isinstance(v, (int, float)):
                failures.append(f"{name} was not measured on this set (null); cannot check it")
            elif (v < limit) if below else (v > limit):
                failures.append(f"{name} = {v:.4f} is {'below' if below else 'above'} {limit:g}")
    return failures


def format_summary(flat: dict[str, object], ci: dict[str, tuple[float, float]]) -> str:
    split = f", {flat['split']}" if flat.get("split") else ""
    head = f"{flat.get('dataset')} ({flat.get('format')}{split})"
    n = flat.get("n_questions")
    count = int(n) if isinstance(n, (int, float)) else 0
    lines = [f"{head}: {count} questions, kb {flat.get('kb')}, retriever {flat.get('retriever')}"]
    for name in SUMMARY:
        v = flat.get(name)
        if not isinstance(v, (int, float)):
            continue
        interval = f"  [{ci[name][0]:.4f}, {ci[name][1]:.4f}]" if name in ci else ""
        shown = f"{v:.1f}" if name.endswith("_ms") or name in ("seconds", "throughput_qps") else f"{v:.4f}"
        lines.append(f"  {name:<24}{shown:>10}{interval}")
        if name == "answer_hit":
            lines += _time_split(flat, count)
    return "\n".join(lines)


def _time_split(flat: dict[str, object], count: int) -> list[str]:
    """answer_hit over questions with and without a time expression ("yesterday", "this week").

    News questions that depend on the day asked are the ones that go wrong quietly, so the split is
    printed next to answer_hit; a set without such questions gets no extra lines (it would say nothing).
    """
    n = flat.get("n_timed")
    timed = int(n) if isinstance(n, (int, float)) else 0
    if not timed:
        return []
    out = []
    for name, label in (
        ("answer_hit_timed", f"{plural(timed, 'question')} with a time expression"),
        ("answer_hit_untimed", f"{plural(count - timed, 'question')} without"),
    ):
        v = flat.get(name)
        # null when none of those questions has a gold answer (all timed, or only unanswerable ones)
        shown = f"{v:.4f}" if isinstance(v, (int, float)) else "-"
        out.append(f"  {name:<24}{shown:>10}  ({label}; those without a gold answer not scored)")
    return out
