"""Question sets for evaluation: SQuAD v1.1 json, BEIR folders, citeqa JSONL and CSV, as one shape.

`load_dataset(path)` detects the format; every loader returns a `Dataset` of `EvalQuestion`s and,
when the set brings its own corpus (SQuAD, BEIR), the `Article`s to build a knowledge base from.
Errors name the file (and line) and say what to fix.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeqa.errors import InputError
from citeqa.schema import Article
from citeqa.scope import day

FORMATS = ("auto", "squad", "beir", "jsonl", "csv")


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
    as_of: str = ""  # the day the question is asked as of (ISO), when the set gives one


@dataclass(frozen=True)
class Dataset:
    name: str
    questions: tuple[EvalQuestion, ...]
    articles: tuple[Article, ...] = ()  # the dataset's own corpus, when it has one
    format: str = ""  # squad | beir | jsonl | csv
    split: str = ""  # BEIR qrels split
    path: str = ""

    @property
    def has_answers(self) -> bool:
        """Whether answers can be scored: some gold answer, or some question marked unanswerable."""
        return any(q.answers or not q.answerable for q in self.questions)


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
    try:
        return _parse_squad(data, unit, path)
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path} is not a SQuAD v1.1 json file: missing or bad field {exc}") from None


def _parse_squad(data: Any, unit: str, path: str | os.PathLike[str]) -> Dataset:  # raw json: checked as read
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
            articles.append(
                Article(id=title, title=title.replace("_", " "), text="\n\n".join(pieces), source="SQuAD")
            )
    return Dataset(
        name=Path(path).stem,
        questions=tuple(questions),
        articles=tuple(articles),
        format="squad",
        path=str(path),
    )


def load_beir(folder: str | os.PathLike[str], *, split: str = "test") -> Dataset:
    """A BEIR folder: `corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv` (query-id, corpus-id, score).

    Like BEIR's own loader, only queries judged in the split are kept. Graded scores are kept for
    nDCG; a score of 0 or less marks a judged, non-relevant document.
    """
    root = Path(folder)
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        have = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        raise InputError(
            f"{root} has no qrels for split {split!r}; choose --split from: {', '.join(have) or '(none)'}"
        )
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.reader(fh, delimiter="\t"), start=1):
            if not row or (n == 1 and row[0].strip().lower() in ("query-id", "query_id", "qid")):
                continue
            if len(row) < 3:
                raise InputError(f"{qrels_path}:{n}: expected query-id, corpus-id, score (tab-separated)")
            try:
                score = int(float(row[2]))
            except ValueError:
                raise InputError(f"{qrels_path}:{n}: score {row[2]!r} is not a number") from None
            qrels.setdefault(row[0].strip(), {})[row[1].strip()] = score
    queries = {str(r["_id"]): str(r.get("text", "")) for r, _ in _jsonl(root / "queries.jsonl", "_id")}
    articles = [
        Article(
            id=str(r["_id"]), title=str(r.get("title") or ""), text=str(r.get("text") or ""), source=root.name
        )
        for r, _ in _jsonl(root / "corpus.jsonl", "_id")
    ]
    questions = []
    for qid, judged in qrels.items():
        if qid not in queries:  # BEIR's GenericDataLoader drops these too
            continue
        if not queries[qid].strip():
            raise InputError(f"{root / 'queries.jsonl'}: query {qid!r} has no text")
        graded = tuple(sorted((d, s) for d, s in judged.items() if s > 0))
        questions.append(
            EvalQuestion(
                id=qid,
                question=queries[qid],
                relevant_article_ids=tuple(d for d, _ in graded),
                relevance=graded,
            )
        )
    if not questions:
        raise InputError(f"{qrels_path} judges no query that is in {root / 'queries.jsonl'}")
    return Dataset(
        name=root.name,
        questions=tuple(questions),
        articles=tuple(articles),
        format="beir",
        split=split,
        path=str(root),
    )


def _jsonl(path: Path, required: str) -> Iterator[tuple[dict[str, object], int]]:
    if not path.is_file():
        raise InputError(f"{path} is missing")
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}:{n}: not valid JSON ({exc})") from None
            if not isinstance(rec, dict) or required not in rec:
                raise InputError(f"{path}:{n}: expected an object with a {required!r} field")
            yield rec, n


def load_jsonl(path: str | os.PathLike[str]) -> Dataset:
    """The question-set JSONL of DESIGN.md: one object a line with at least `question`."""
    p = Path(path)
    questions = [_question(rec, f"{p}:{n}", n) for rec, n in _jsonl(p, "question")]
    return _checked(Dataset(name=p.stem, questions=tuple(questions), format="jsonl", path=str(p)))


def load_csv(path: str | os.PathLike[str]) -> Dataset:
    """CSV with the JSONL columns; list columns hold a JSON array or values separated by `|`."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{p} cannot be read as CSV ({exc})") from None
    if rows and "question" not in rows[0]:
        raise InputError(f"{p}: the header needs a 'question' column (got {', '.join(rows[0])})")
    questions = [_question(row, f"{p}:{n}", n - 1) for n, row in enumerate(rows, start=2)]
    return _checked(Dataset(name=p.stem, questions=tuple(questions), format="csv", path=str(p)))


def _question(rec: Mapping[str, object], where: str, n: int) -> EvalQuestion:
    question = str(rec.get("question") or "").strip()
    if not question:
        raise InputError(f"{where}: 'question' is empty")
    answers = _strings(rec.get("answers", rec.get("answer")), where, "answers")
    answerable = _bool(rec.get("answerable"), where)
    if answerable is None:  # unstated: a question with gold answers is answerable; so is one with none
        answerable = True
    return EvalQuestion(
        id=str(rec.get("id") or f"q{n}"),
        question=question,
        answers=answers,
        answerable=answerable,
        relevant_article_ids=_strings(rec.get("relevant_article_ids"), where, "relevant_article_ids"),
        relevant_passage_ids=_strings(rec.get("relevant_passage_ids"), where, "relevant_passage_ids"),
        as_of=_day(rec.get("as_of"), where),
    )


def _day(value: object, where: str) -> str:
    """A question's `as_of` as an ISO day ("" when absent); a bad one names its line."""
    try:
        d = day(value, "as_of")
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    return d.isoformat() if d else ""


def _strings(value: object, where: str, name: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):  # a CSV cell: a JSON array, or values separated by "|"
        s = value.strip()
        if s.startswith("["):
            try:
                value = json.loads(s)
            except ValueError:
                raise InputError(f"{where}: {name} is not a valid JSON array: {s[:60]!r}") from None
        else:
            return tuple(x.strip() for x in s.split("|") if x.strip())
    if isinstance(value, list) and all(isinstance(x, (str, int)) for x in value):
        return tuple(dict.fromkeys(str(x) for x in value))
    raise InputError(f"{where}: {name} must be a list of strings, got {value!r}")


def _bool(value: object, where: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in ("true", "1", "yes", "y"):
        return True
    if s in ("false", "0", "no", "n"):
        return False
    raise InputError(f"{where}: answerable must be true or false, got {value!r}")


def _checked(ds: Dataset) -> Dataset:
    if not ds.questions:
        raise InputError(f"{ds.path} holds no questions")
    seen: set[str] = set()
    for q in ds.questions:
        if q.id in seen:
            raise InputError(f"{ds.path}: question id {q.id!r} appears twice; ids must be unique")
        seen.add(q.id)
    return ds


def detect_format(path: str | os.PathLike[str]) -> str:
    """squad, beir, jsonl or csv, from the folder layout, the suffix and (for .json) the content."""
    p = Path(path)
    if p.is_dir():
        if (p / "corpus.jsonl").is_file() and (p / "queries.jsonl").is_file():
            return "beir"
        raise InputError(f"{p} is a folder but not a BEIR one (needs corpus.jsonl, queries.jsonl, qrels/)")
    if not p.is_file():
        raise InputError(f"{p} does not exist; give a question-set file or a BEIR folder")
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        with p.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
        return "squad" if '"data"' in head or '"version"' in head else "jsonl"
    raise InputError(f"cannot tell the format of {p}; pass --format squad, beir, jsonl or csv")


def load_dataset(
    path: str | os.PathLike[str], *, format: str = "auto", split: str = "test", unit: str = "article"
) -> Dataset:
    """Load any supported question set; `format="auto"` detects it."""
    if format not in FORMATS:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "squad":
        return load_squad(path, unit=unit)
    if fmt == "beir":
        return load_beir(path, split=split)
    if fmt == "csv":
        return load_csv(path)
    return load_jsonl(path)


def sample(questions: Sequence[EvalQuestion], limit: int | None, seed: int = 0) -> list[EvalQuestion]:
    """A fixed, seeded sample (order kept stable by the seed), or all questions."""
    if limit is None or limit >= len(questions):
        return list(questions)
    rng = random.Random(seed)
    return rng.sample(list(questions), limit)
