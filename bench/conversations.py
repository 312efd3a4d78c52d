"""Follow-up questions in conversations: detection precision/recall and answer quality, per half.

The set is tests/fixtures/conversations/: 34 short news articles written for it and 50 two- or
three-turn conversations over them (dev.jsonl: 26, the half the chat rules were designed on;
test.jsonl: 24, reported on and never tuned on). Every turn after the first is labelled: a real
follow-up ("Who did he beat?") or a question that names its own subject, usually with a pronoun
("How old was Bessie Hendricks when she died?"). One knowledge base holds all the articles, so the
other half's articles are distractors.

Reported per half, over the turns after the first:
- precision / recall of follow-up detection (did the session use the conversation for this turn?);
- answer_hit of the follow-up turns (a gold answer, SQuAD-normalised, is in the answer text) and
  how often their answer cites the article the conversation is about (drift to another article
  is what a user notices);
- answer_hit of the other turns (a new subject must not be searched with the old one's words).

    nice -n 19 .venv/bin/python -m bench.conversations            # both halves, ~1 min on 2 cores
    nice -n 19 .venv/bin/python -m bench.conversations --split dev --show
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import REPO, cache_dir
from citeqa import Assistant
from citeqa.config import Config
from citeqa.evaluate.metrics import normalize_answer
from citeqa.schema import Answer

FIXTURES = REPO / "tests" / "fixtures" / "conversations"
SPLITS = ("dev", "test")


@dataclass(frozen=True)
class GoldTurn:
    question: str
    follow_up: bool  # the question can only be understood with the conversation so far
    answers: tuple[str, ...]
    article: str  # the article the question is about


@dataclass(frozen=True)
class Conversation:
    id: str
    split: str  # "dev" (designed on) or "test" (reported on only)
    kind: str  # "follow_up" or "switch": what its second turn is
    turns: tuple[GoldTurn, ...]


@dataclass(frozen=True)
class TurnResult:
    conversation: str
    index: int  # 0 = the first question
    gold: GoldTurn
    detected: bool  # the session treated the question as a follow-up
    answer: Answer
    ms: float

    @property
    def hit(self) -> bool:
        text = normalize_answer(self.answer.text)
        return not self.answer.abstained and any(normalize_answer(a) in text for a in self.gold.answers)

    @property
    def cites_article(self) -> bool:
        return any(c.article_id == self.gold.article for c in self.answer.citations)


def load(split: str) -> list[Conversation]:
    out = []
    for line in (FIXTURES / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        turns = tuple(
            GoldTurn(t["question"], t["follow_up"], tuple(t["answers"]), t["article"]) for t in row["turns"]
        )
        out.append(Conversation(row["id"], row["split"], row["kind"], turns))
    return out


def assistant(kb: Path | None = None, config: Config | None = None) -> Assistant:
    """All articles of both halves in one knowledge base (cached under runs/ unless `kb` is given)."""
    articles = sorted((FIXTURES / "articles").rglob("*.md"))
    cfg = config or Config()
    if kb is None:
        stamp = [(p.name, p.stat().st_size, p.read_bytes()) for p in articles]
        kb = cache_dir("conversations", cfg.model, cfg.chunk.to_dict(), stamp)
    return Assistant.build([FIXTURES / "articles"], kb=kb, config=cfg, progress=False)


def run(qa: Assistant, conversations: list[Conversation]) -> list[TurnResult]:
    results = []
    for conv in conversations:
        session = qa.chat()
        for i, gold in enumerate(conv.turns):
            t0 = time.perf_counter()
            answer = session.ask(gold.question)
            ms = (time.perf_counter() - t0) * 1e3
            results.append(TurnResult(conv.id, i, gold, followed(session), answer, ms))
    return results


def followed(session: object) -> bool:
    """Whether the last turn used the conversation. Sessions before the `follow_up` flag existed
    only changed the query of a follow-up, so the query tells for them (the BEFORE numbers)."""
    turn = session.history[-1]  # type: ignore[attr-defined]
    flag = getattr(turn, "follow_up", None)
    return bool(flag) if flag is not None else turn.query != turn.question


def summarize(results: list[TurnResult]) -> dict[str, float]:
    later = [r for r in results if r.index > 0]
    said = [r for r in later if r.detected]
    real = [r for r in later if r.gold.follow_up]
    other = [r for r in later if not r.gold.follow_up]
    first = [r for r in results if r.index == 0]

    def rate(rows: list[TurnResult], ok: object) -> float:
        return sum(bool(ok(r)) for r in rows) / len(rows) if rows else float("nan")  # type: ignore[operator]

    return {
        "turns": len(later),
        "follow_ups": len(real),
        "precision": rate(said, lambda r: r.gold.follow_up),
        "recall": rate(real, lambda r: r.detected),
        "answer_hit_follow_up": rate(real, lambda r: r.hit),
        "cites_article_follow_up": rate(real, lambda r: r.cites_article),
        "answer_hit_other": rate(other, lambda r: r.hit),
        "answer_hit_first": rate(first, lambda r: r.hit),
        "ms_per_turn": sum(r.ms for r in results) / len(results),
    }


def show(results: list[TurnResult]) -> None:
    """Every turn: gold label, detection, hit, the query used and the answer's start."""
    for r in results:
        mark = "  " if r.index == 0 else ("ok" if r.detected == r.gold.follow_up else "XX")
        label = "-" if r.index == 0 else ("F" if r.gold.follow_up else "N")
        flags = f"hit={int(r.hit)} art={int(r.cites_article)}"
        print(f"{r.conversation} {r.index} {label} {mark} {flags} {r.gold.question}")
        if r.answer.query != r.gold.question:
            print(f"      query: {r.answer.query}")
        print(f"      answer: {r.answer.text[:110]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=[*SPLITS, "both"], default="both")
    ap.add_argument("--show", action="store_true", help="print every turn")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    qa = assistant()
    report = {}
    for split in SPLITS if args.split == "both" else (args.split,):
        results = run(qa, load(split))
        if args.show:
            show(results)
        report[split] = summarize(results)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    cols = list(next(iter(report.values())))
    print("split " + " ".join(f"{c:>24}" for c in cols))
    for split, row in report.items():
        print(
            f"{split:<5} "
            + " ".join(f"{v:>24.3f}" if isinstance(v, float) else f"{v:>24}" for v in row.values())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
