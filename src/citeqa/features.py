"""Features of candidate answer sentences and of whole questions, shared by the composer and the
benchmark that fits their weights (bench/fit_composer.py). Each feature is cheap: no model call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from citeqa.retrieve import Candidate
from citeqa.schema import Hit
from citeqa.text import content_terms, words

SENTENCE_FEATURES = (
    "dense",  # cosine of the sentence (late-pooled) and the question
    "dense_rel",  # ... minus the best sentence's cosine in this question
    "passage_dense",  # the passage's own cosine
    "inv_rank",  # 1 / passage rank
    "overlap",  # share of question content terms in the sentence
    "idf_overlap",  # the same, weighted by rarity among the candidate sentences
    "bigram",  # share of question bigrams found in the sentence
    "answer_type",  # the sentence holds a token of the type the wh-word asks for, not in the question
    "novelty",  # share of the sentence's content terms not in the question
    "log_len",  # log word count
    "first",  # first sentence of its passage
    "entity_cov",  # share of the question's names/numbers found in the passage or its title
    "type_near",  # 1/(1+d): d words between an answer-type token and a question term in the sentence
)

_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z’'-]+(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][a-zA-Z’'-]+)*")
_PLACE = re.compile(r"\b(?:in|at|near|from|to|into|across|outside|inside)\s+(?:the\s+)?([A-Z][\w’'-]+)")
_CAP_OR_NUM = re.compile(r"\b(?:[A-Z][\w’'-]*|\d[\d,.]*)")


def answer_type(question: str) -> str:
    """What kind of token would answer the question: date, number, person, place, or ""."""
    q = question.lower()
    if re.search(
        r"\b(when|what year|which year|what date|what month|what day|what century|how long ago)\b", q
    ):
        return "date"
    if re.search(
        r"\b(how many|how much|how long|how far|how old|how large|how big|what percentage|"
        r"what number|how tall|how high)\b",
        q,
    ):
        return "number"
    if re.search(r"\b(who|whom|whose)\b", q):
        return "person"
    if re.search(r"\b(where|what city|which city|what country|which country|what place)\b", q):
        return "place"
    return ""


def has_answer_type(kind: str, sentence: str, question: str) -> bool:
    """True if the sentence holds a token of `kind` that the question doesn't already contain."""
    return bool(answer_type_spans(kind, sentence, question))


def answer_type_spans(kind: str, sentence: str, question: str) -> list[tuple[int, int]]:
    """Offsets (in the sentence) of tokens of the asked-for type that the question lacks."""
    qlow = question.lower()
    if kind == "date":
        found = [(m.start(), m.end()) for m in _DATE.finditer(sentence)]
    elif kind == "number":
        found = [
            (m.start(), m.end()) for m in _QUANTITY.finditer(sentence) if not _YEAR.fullmatch(m.group(0))
        ]
    elif kind == "person":
        found = [(m.start(), m.end()) for m in _NAME.finditer(sentence)]
    elif kind == "place":
        found = [(m.start(1), m.end(1)) for m in _PLACE.finditer(sentence)]
    else:
        return []
    return [(a, b) for a, b in found if sentence[a:b].lower() not in qlow]


def question_entities(question: str) -> set[str]:
    """Names and numbers in the question (not its first word), lower-cased, split at hyphens."""
    toks = _CAP_OR_NUM.findall(question)
    first = question.split()[0] if question.split() else ""
    return {p for t in toks if t != first for p in re.split(r"[-–]", t.lower().strip(".,")) if p}


def type_proximity(kind: str, sentence: str, question: str, q_terms: set[str]) -> float:
    """1/(1+d), d = fewest words between a new answer-type token and a question term ("held in Kars")."""
    spans = answer_type_spans(kind, sentence, question)
    if not spans:
        return 0.0
    toks = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"[^\W_]+", sentence)]
    term_pos = [i for i, (_, _, w) in enumerate(toks) if content_terms(w) and content_terms(w)[0] in q_terms]
    if not term_pos:
        return 0.0
    best = 99
    for a, b in spans:
        idx = [i for i, (s, e, _) in enumerate(toks) if s < b and a < e]
        if idx:
            best = min(best, *(max(0, min(abs(i - j) for j in term_pos) - 1) for i in idx))
    return 1.0 / (1 + best)


@dataclass(frozen=True)
class SentenceCandidate:
    """A sentence of a retrieved passage: the hit it came from and its article offsets."""

    hit: Hit
    start: int
    end: int
    text: str
    vector: np.ndarray


def sentence_features(
    question: str,
    qvec: np.ndarray,
    candidates: Sequence[Candidate],
    passages: int,
    titles: Mapping[str, str] | None = None,
) -> tuple[list[SentenceCandidate], np.ndarray]:
    """Every sentence of the top `passages` passages and its feature row (SENTENCE_FEATURES order)."""
    sents: list[SentenceCandidate] = []
    dense: list[float] = []
    for cand in candidates[:passages]:
        p = cand.hit.passage
        if not p.sentences:
            continue
        sims = cand.sentence_vectors @ qvec
        for i, span in enumerate(p.sentences):
            text = p.text[span.start - p.start : span.end - p.start]
            sents.append(SentenceCandidate(cand.hit, span.start, span.end, text, cand.sentence_vectors[i]))
            dense.append(float(sims[i]))
    if not sents:
        return [], np.zeros((0, len(SENTENCE_FEATURES)), dtype=np.float32)
    q_terms = content_terms(question)
    q_set = set(q_terms)
    q_bigrams = set(zip(q_terms, q_terms[1:]))
    kind = answer_type(question)
    ents = question_entities(question)
    term_sets = [content_terms(s.text) for s in sents]
    # Rarity among the candidates: a term in every sentence tells them apart no better than "the".
    n = len(sents)
    df: dict[str, int] = {}
    for terms in term_sets:
        for t in set(terms):
            df[t] = df.get(t, 0) + 1
    idf = {t: math.log((n + 1) / (df.get(t, 0) + 0.5)) for t in q_set}
    idf_total = sum(idf.values()) or 1.0
    ent_cov: dict[str, float] = {}
    best = max(dense)
    rows = []
    for s, terms, d in zip(sents, term_sets, dense):
        t_set = set(terms)
        pid = s.hit.passage.id
        if pid not in ent_cov:
            low = (titles or {}).get(s.hit.passage.article_id, "").lower() + "\n" + s.hit.passage.text.lower()
            ent_cov[pid] = sum(e in low for e in ents) / len(ents) if ents else 1.0
        rows.append(
            [
                d,
                d - best,
                s.hit.dense_score,
                1.0 / s.hit.rank,
                len(q_set & t_set) / len(q_set) if q_set else 0.0,
                sum(idf[t] for t in q_set & t_set) / idf_total,
                len(q_bigrams & set(zip(terms, terms[1:]))) / len(q_bigrams) if q_bigrams else 0.0,
                float(has_answer_type(kind, s.text, question)),
                len(t_set - q_set) / len(t_set) if t_set else 0.0,
                math.log1p(len(words(s.text))),
                float(s.start == s.hit.passage.sentences[0].start),
                ent_cov[pid],
                type_proximity(kind, s.text, question, q_set),
            ]
        )
    return sents, np.asarray(rows, dtype=np.float32)


def short_answer_span(kind: str, sentence: str, question: str) -> tuple[int, int] | None:
    """The one token of the asked-for type in the sentence that the question lacks, as offsets into
    the sentence; None when there is none or more than one (then we can't tell which), and for "who"
    when a candidate name follows a place preposition (then it may be a place)."""
    found = answer_type_spans(kind, sentence, question)
    if kind == "person" and any(_PLACE_BEFORE.search(sentence[:a]) for a, _ in found):
        # A capitalised name after "in", "at", "towards", ... is more likely a place ("held in Kars")
        # than who; when one is there, the regex can't tell people from places: give no short answer.
        return None
    return found[0] if len({sentence[a:b] for a, b in found}) == 1 else None


_PLACE_BEFORE = re.compile(
    r"\b(?:in|at|near|into|towards?|across|outside|inside)\s+(?:the\s+)?$", re.IGNORECASE
)


# A date as people write it: "June 15", "15 June 2023", "April 2023", "1992", "the 1990s".
_DATE = re.compile(
    r"\b(?:(?:\d{1,2}\s+)?(?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December)(?:\s+\d{1,2})?(?:,?\s+\d{4})?|(?:1[0-9]{3}|20[0-9]{2})s?)\b"
)
# A number with what it counts: "3,000 troops", "two countries", "1.5 million".
_QUANTITY = re.compile(
    r"\b(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundreds?|thousands?|dozens?)(?:\s+(?:million|billion|thousand|hundred|percent|%))?\b",
    re.IGNORECASE,
)
