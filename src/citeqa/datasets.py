"""Question sets for evaluation: SQuAD v1.1 json, BEIR folders and citeqa JSONL, as one shape."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from citeqa.errors import InputError
from citeqa.schema import Article


@dataclass(frozen=True)
class GoldSpan:
    """A region of an article that holds the answer (a SQuAD paragraph, say)."""

    article_id: str
    start: int
    end: int


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[str, ...] = ()
    answerable: bool = True
    relevant_article_ids: tuple[str, ...] = ()
    relevant_passage_ids: tuple[str, ...] = ()
    relevant_spans: tuple[GoldSpan, ...] = ()
    relevance: tuple[tuple[str, int], ...] = ()  # graded article relevance (BEIR qrels), if any


@dataclass(frozen=True)
class Dataset:
    name: str
    questions: tuple[EvalQuestion, ...]
    articles: tuple[Article, ...] = ()  # the dataset's own corpus, when it has one


def load_squad(path: str | os.PathLike[str], *, unit: str = "article") -> Dataset:
    """SQuAD v1.1: `unit="article"` makes one article per Wikipedia title (paragraphs joined by a
    blank line, each question's gold span = its paragraph); `unit="paragraph"` one per paragraph."""
    if unit not in ("article", "paragraph"):
        raise InputError(f"unit must be 'article' or 'paragraph', got {unit!r}")
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        data = raw["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a SQuAD json file ({exc})") from exc
    articles: list[Article] = []
    questions: list[EvalQuestion] = []
    for doc in data:
        title = str(doc["title"])
        pieces: list[str] = []
        offset = 0
        for pi, para in enumerate(doc["paragraphs"]):
            context = str(para["context"]).strip()
            if unit == "paragraph":
                aid, start = f"{title}#{pi}", 0
                articles.append(Article(id=aid, title=title.replace("_", " "), text=context, source="SQuAD"))
            else:
                aid, start = title, offset
                pieces.append(context)
                offset += len(context) + 2
            for qa in para["qas"]:
                answers = tuple(dict.fromkeys(str(a["text"]) for a in qa.get("answers", [])))
                questions.append(
                    EvalQuestion(
                        id=str(qa["id"]),
                        question=str(qa["question"]),
                        answers=answers,
                        relevant_article_ids=(aid,),
                        relevant_spans=(GoldSpan(aid, start, start + len(context)),),
                    )
                )
        if unit == "article":
            articles.append(Article(id=title, title=title.replace("_", " "), text="\n\n".join(pieces),
                                    source="SQuAD"))
    return Dataset(name=Path(path).stem, questions=tuple(questions), articles=tuple(articles))


def sample(questions: Sequence[EvalQuestion], limit: int | None, seed: int = 0) -> list[EvalQuestion]:
    """A fixed, seeded sample (order kept stable by the seed), or all questions."""
    if limit is None or limit >= len(questions):
        return list(questions)
    rng = random.Random(seed)
    return rng.sample(list(questions), limit)
