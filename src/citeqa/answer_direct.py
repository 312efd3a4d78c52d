"""Direct answers: the reader's span first ("Kars."), then the sentence that says it, cited.

The reader (reader.py) proposes its best few spans in each window it reads. Each proposal is scored
by two small logistic models over named features (SPAN_FEATURES: the reader's margin over "no answer
here", the span's probability, the composer's score of the sentence holding it, the passage's rank,
...), fitted on questions the reader never trained on (bench/fit_reader.py; weights and thresholds
in models/reader.json, read into `reader.Calibration`):
- p_sentence: P(the sentence holding the span answers the question): `answer.confidence` of the
  chosen proposal, and below `abstain_below` the assistant abstains;
- p_short: P(the span itself is the answer): at or above `short_above` it becomes `answer.short`.
Which proposal answers is a third model's decision, fitted listwise (softmax over one question's
proposals, "this span is a gold answer in a sentence that holds one"): a pointwise P(holds) learns
what separates good questions from bad ones (the passage's rank, mostly), a listwise one what
separates the right proposal from its rivals (the reader's margin, the question's words in the
sentence). Measured on the calibration third, two-fold by article, no abstention: the chosen
sentence holds a gold answer 0.873 instead of 0.852, cites the gold paragraph 0.900 instead of 0.891
(`python -m bench.fit_reader --folds 2`)."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from citeqa.chunk import split_sentences
from citeqa.dates import display_published, published_key
from citeqa.features import SENTENCE_FEATURES, SentenceCandidate, answer_type, answer_type_spans
from citeqa.reader import Calibration, Reader, Span
from citeqa.retrieve import Candidate
from citeqa.schema import Hit, Passage
from citeqa.text import MONTHS, WEEKDAYS, content_terms, squash
from citeqa.verify import facts

SPAN_FEATURES = (
    "margin",  # best span score minus the window's "no answer" score
    "margin_rel",  # ... minus the best margin among the passages read
    "score",  # start + end logit
    "log_prob",  # log softmax(start) * softmax(end)
    "sentence",  # the composer's logit for the sentence holding the span
    "sentence_rel",  # ... minus the composer's best logit
    "inv_rank",  # 1 / the passage's retrieval rank
    "answer_type",  # the span overlaps a token of the kind the wh-word asks for (0.5: no kind asked)
    "in_question",  # share of the span's words already in the question (an echo is no answer)
    "log_words",  # log word count of the span
    "entity_cov",  # share of the question's names and numbers found in the span's passage or title
    "idf_overlap",  # the holding sentence's share of the question's rare words (the composer's feature)
    "runner_up",  # 0 for a window's best span, 1 for the next best that doesn't overlap it, ...
)


_COLUMN = {name: SENTENCE_FEATURES.index(name) for name in ("entity_cov", "idf_overlap")}


@dataclass(frozen=True)
class Proposal:
    """A reader span located in the article, with the sentence(s) that hold it."""

    span: Span
    hit: Hit
    start: int  #: article offsets of the span
    end: int
    quote_start: int  #: article offsets of the sentence(s) holding the span
    quote_end: int
    quote: str
    features: dict[str, float]
    vector: np.ndarray | None = None  #: the embedding of the (first) sentence holding the span


def reading_windows(
    candidates: Sequence[Candidate],
    sents: Sequence[SentenceCandidate],
    logits: np.ndarray,
    passages: int,
    top_sentences: int,
) -> list[tuple[Candidate, int, int]]:
    """What the reader reads: (candidate, start, end), offsets into the passage text.

    top_sentences == 0: each of the top `passages` passages whole. Otherwise the composer's
    `top_sentences` best sentences, each with the sentence before and after it in its passage (news
    sentences refer back: "the park" is named one sentence earlier), merged where they touch: about
    a third of the tokens of whole passages, and reading time grows with tokens."""
    top = list(candidates[:passages])
    if top_sentences <= 0 or not len(sents):
        return [(c, 0, len(c.hit.passage.text)) for c in top]
    by_passage: dict[str, list[int]] = {}
    for i, s in enumerate(sents):
        by_passage.setdefault(s.hit.passage.id, []).append(i)
    picked: dict[str, set[int]] = {}
    for i in sorted(range(len(sents)), key=lambda i: (-float(logits[i]), i))[:top_sentences]:
        members = by_passage[sents[i].hit.passage.id]
        k = members.index(i)
        picked.setdefault(sents[i].hit.passage.id, set()).update(members[max(0, k - 1) : k + 2])
    out = []
    for c in top:
        idx = sorted(picked.get(c.hit.passage.id, ()))
        p = c.hit.passage
        run: list[int] = []
        for i in idx + [-1]:  # -1 closes the last run
            if run and (i == -1 or i != run[-1] + 1):
                out.append((c, sents[run[0]].start - p.start, sents[run[-1]].end - p.start))
                run = []
            if i != -1:
                run.append(i)
    return out


def propose(
    question: str,
    reader: Reader,
    candidates: Sequence[Candidate],
    sents: Sequence[SentenceCandidate],
    logits: np.ndarray,
    passages: int,
    top_sentences: int = 0,
    table: np.ndarray | None = None,
    per_window: int = 1,
    articles: Mapping[str, str] | None = None,
) -> list[Proposal]:
    """The reader's `per_window` best spans in each window it reads (reading_windows), with their
    features. `table`: the composer's feature rows of `sents` (features.sentence_features), for the
    question-evidence features; without it they read as full evidence. `articles` (id -> text): a
    window that starts its passage is read after the article's sentence before it (context only:
    no span is proposed from there)."""
    windows = reading_windows(candidates, sents, logits, passages, top_sentences)
    before = [_context_before(c.hit.passage, a, articles) for c, a, _ in windows]
    texts = [pre + c.hit.passage.text[a:b] for pre, (c, a, b) in zip(before, windows)]
    found = reader.read_nbest(question, texts, per_window)
    kind = answer_type(question)
    q_words = set(question.lower().split())
    best_logit = float(logits.max()) if len(logits) else 0.0
    margins = [s.margin for spans in found for s in spans]
    best_margin = max(margins) if margins else 0.0
    out = []
    flat = ((w, len(pre), n, x) for w, pre, spans in zip(windows, before, found) for n, x in enumerate(spans))
    for (cand, w0, w1), shift, n, span in flat:
        if span.start >= span.end or span.start < shift or span.end > shift + w1 - w0:
            continue  # empty, or in the context read before the window
        p = cand.hit.passage
        a, b = p.start + w0 + span.start - shift, p.start + w0 + span.end - shift
        holding = [
            (i, s) for i, s in enumerate(sents) if s.hit.passage.id == p.id and s.start < b and a < s.end
        ]
        evidence = {"entity_cov": 1.0, "idf_overlap": 1.0}
        if holding:
            q0, q1 = holding[0][1].start, holding[-1][1].end
            sentence_logit = max(float(logits[i]) for i, _ in holding)
            if table is not None:
                evidence = {n: max(float(table[i, _COLUMN[n]]) for i, _ in holding) for n in evidence}
        else:  # a passage without sentence spans: cite the passage itself
            q0, q1, sentence_logit = p.start, p.end, best_logit
        quote = p.text[q0 - p.start : q1 - p.start]
        words = span.text.split()
        feats = {
            "margin": span.margin,
            "margin_rel": span.margin - best_margin,
            "score": span.score,
            "log_prob": math.log(max(span.prob, 1e-12)),
            "sentence": sentence_logit,
            "sentence_rel": sentence_logit - best_logit,
            "inv_rank": 1.0 / max(cand.hit.rank, 1),
            "answer_type": _typed(kind, quote, a - q0, b - q0, question),
            "in_question": sum(w.lower() in q_words for w in words) / max(len(words), 1),
            "log_words": math.log1p(len(words)),
            "runner_up": float(n),
            **evidence,
        }
        vector = holding[0][1].vector if holding else None
        out.append(Proposal(span, cand.hit, a, b, q0, q1, quote, feats, vector))
    return out


# How far back to look for the start of the sentence before a passage (a longer one is read in part).
CONTEXT_CHARS = 600


def _context_before(passage: Passage, window_start: int, articles: Mapping[str, str] | None) -> str:
    """The article's text from the start of the sentence before `passage` up to it, when the window
    starts at the passage's first sentence ("" otherwise, or without the article's text)."""
    text = (articles or {}).get(passage.article_id)
    if not text or passage.start <= 0 or passage.text[:window_start].strip():
        return ""
    if text[passage.start : passage.end] != passage.text:  # not this article's text: read alone
        return ""
    spans = split_sentences(text, max(0, passage.start - CONTEXT_CHARS), passage.start)
    return text[spans[-1].start : passage.start] if spans else ""


def _typed(kind: str, sentence: str, a: int, b: int, question: str) -> float:
    """Does the span overlap a token of the asked-for kind in its sentence? Judged in the sentence,
    not the span alone: "Kars" is a place because the sentence says "held in Kars"."""
    if not kind:
        return 0.5
    return float(any(s < b and a < e for s, e in answer_type_spans(kind, sentence, question)))


@dataclass(frozen=True)
class Choice:
    """The proposal an answer is built from, with its two calibrated probabilities."""

    proposal: Proposal
    p_sentence: float
    p_short: float
    as_of: str = ""  #: the day of the account chosen over an earlier one that said otherwise


# A later account of the same story replaces the likeliest one when the choice model gives it at
# least this probability: news updates a figure from day to day ("the toll rose to 19"), and the
# reader has no reason to prefer either report. The choice model, not the sentence confidence,
# judges this: the confidence is mostly the passage's retrieval rank, and a later report worded
# differently ("the number killed has reached 58") ranks below the first one. An absolute floor, not
# a ratio to the best: the best is often near 1 whatever the others are. Not fitted: no dated
# question set exists here; tests/test_answer_dates.py checks the behaviour on dated series.
LATER_FLOOR = 0.5
# Unread passages of later reports of the chosen story that are read too (answer.py), at most.
LATER_READS = 2
# Reports further apart than this are not taken for updates of one story ("the toll stands at 63"
# follows "58" within days; an NBA final six months after a regular-season game is another story).
STORY_DAYS = dt.timedelta(days=30)
# Cosine of two reports' sentences (MiniLM) at which they say the same thing in other words. Set
# between the examples tests/test_answer_dates.py and two user audits gave: tolls worded differently
# 0.79-0.82, a later report's other figure ("three more bodies" for "400 homes damaged") 0.66-0.73.
# Hand-set on those few examples, not fitted: there is no dated question set.
SAME_CLAIM = 0.75


def choose(
    proposals: Sequence[Proposal],
    calibration: Calibration,
    published: Mapping[str, str] | None = None,
    newest: bool = False,
    question: str = "",
) -> Choice | None:
    """The proposal the choice model ranks first (without one: whose sentence most likely answers;
    ties: the higher-ranked passage). With the articles' `published` dates: when likely proposals
    from differently dated articles give different answers (or the question asks for the newest,
    `newest`), the latest account of the same story (sentences sharing words beyond the question's:
    two resignations are two stories, two death tolls of one quake are one; a figure updates only a
    figure) wins (by time of day too, for two reports of one day), and the choice records its date.
    It answers with the best account's confidence: how answerable the question is doesn't change
    with which report is the latest."""
    scored = [
        Choice(p, calibration.sentence.probability(p.features), calibration.short.probability(p.features))
        for p in proposals
    ]
    model = calibration.choice or calibration.sentence
    likely = {id(c): model.probability(c.proposal.features) for c in scored}

    def rank(c: Choice) -> tuple[float, float, int]:
        return (likely[id(c)], c.p_short, -c.proposal.hit.rank)

    best = max(scored, key=rank, default=None)
    if best is None or not published:
        return best
    # Each article's account is its first-ranked proposal (the runners-up of one window are the
    # reader's second thoughts, not a different report).
    accounts: dict[str, Choice] = {}
    for c in sorted(scored, key=rank, reverse=True):
        accounts.setdefault(c.proposal.hit.passage.article_id, c)
    when = {id(c): published.get(c.proposal.hit.passage.article_id, "") for c in accounts.values()}
    asked = set(content_terms(question))

    def updates(c: Choice) -> bool:  # an update of a story comes within STORY_DAYS of it
        gap = abs(published_key(when[id(c)]) - published_key(when[id(best)]))
        return bool(when[id(best)]) and gap <= STORY_DAYS and _updates(c, best, likely[id(c)], asked)

    rivals = [c for c in accounts.values() if when[id(c)] and (c is best or updates(c))]
    answers = {squash(c.proposal.span.text).lower() for c in rivals}
    times = {published_key(when[id(c)]) for c in rivals}
    if len(times) < 2 or (len(answers) < 2 and not newest):
        return best
    latest = max(rivals, key=lambda c: (published_key(when[id(c)]), rank(c)))
    day = when[id(latest)][:10]
    same_day = sum(when[id(c)][:10] == day for c in rivals) > 1
    as_of = when[id(latest)] if same_day else day  # two reports of one day: its time tells them apart
    return replace(latest, as_of=as_of, p_sentence=max(latest.p_sentence, best.p_sentence))


# Content words two accounts' sentences share beyond the question's and their answers' for one to be
# a later report of the other: "earthquake", "northern", "interior", "ministry" for two tolls of one
# quake; none for "Hadrel resigned ..." and "Rinn resigned ..." asked "Who resigned?". A name their
# passages share beyond the question's ("Morvel") says so too. Not fitted (no dated question set).
SAME_STORY_WORDS = 2
_CALENDAR = frozenset(MONTHS + WEEKDAYS)


def _same_story(a: Choice, b: Choice, asked: set[str]) -> bool:
    spans = set(content_terms(a.proposal.span.text)) | set(content_terms(b.proposal.span.text))
    shared = set(content_terms(a.proposal.quote)) & set(content_terms(b.proposal.quote))
    if len(shared - asked - spans) >= SAME_STORY_WORDS:
        return True
    return bool((_names(a) & _names(b)) - asked - spans)


def _names(c: Choice) -> frozenset[str]:
    return passage_names(c.proposal.hit.passage.text)


@functools.lru_cache(maxsize=1024)
def passage_names(text: str) -> frozenset[str]:
    """The names in a passage (its place names, people, bodies), as content terms. Cached: one
    question compares each candidate's names with the chosen one's several times."""
    found = (tok for tok, _ in facts(text) if not any(ch.isdigit() for ch in tok))
    return frozenset(t for tok in found if tok.lower() not in _CALENDAR for t in content_terms(tok))


def _updates(c: Choice, best: Choice, likely: float, asked: set[str]) -> bool:
    """May `c` be another report of what `best` answers? Likely enough, the same story, a figure for
    a figure, and its sentence says at least half of what best's says of the question ("homes
    damaged"), or their sentence vectors are close (SAME_CLAIM: "the number killed has reached 58"
    for "the death toll has risen to 31"): a later report's other figure ("three more bodies") is
    not an update of this one."""
    if likely < LATER_FLOOR or not _same_shape(c, best) or not _same_story(c, best, asked):
        return False
    need = asked & set(content_terms(best.proposal.quote))
    if 2 * len(need & set(content_terms(c.proposal.quote))) >= len(need):
        return True
    a, b = c.proposal.vector, best.proposal.vector  # or its sentence says the same in other words
    return a is not None and b is not None and float(a @ b) >= SAME_CLAIM


def _numeric(text: str) -> bool:
    return any(any(f[:1].isdigit() for f in forms) for _, forms in facts(text))


def _same_shape(a: Choice, b: Choice) -> bool:
    """Both answers are figures, or neither is ("31" may update "19"; "Friday morning" can't)."""
    return _numeric(a.proposal.span.text) == _numeric(b.proposal.span.text)


def unread_later(
    choice: Choice,
    candidates: Sequence[Candidate],
    proposals: Sequence[Proposal],
    published: Mapping[str, str],
    question: str,
) -> list[Candidate]:
    """Passages the reader didn't read (it reads the best-ranked few) of reports published after the
    chosen one that name what its passage names beyond the question ("Valmora", "Dresk"): a later
    report of the story may be worded too differently to rank among the read."""
    mine = published.get(choice.proposal.hit.passage.article_id, "")
    if not mine:
        return []
    read = {p.hit.passage.id for p in proposals}
    names = passage_names(choice.proposal.hit.passage.text) - set(content_terms(question))
    start = published_key(mine)
    later = [
        c
        for c in candidates
        if c.hit.passage.id not in read
        and start < published_key(published.get(c.hit.passage.article_id, "")) <= start + STORY_DAYS
        and names & passage_names(c.hit.passage.text)
    ]
    return later[:LATER_READS]


def lead_in(short: str, quote: str, as_of: str = "") -> str:
    """ "Kars. " before the cited sentence, unless the span is the whole sentence; "19 (as of
    2024-03-02). " when the answer is the latest of accounts that differ (its time too when two
    of them are of one day: "as of 2024-03-02 20:00 +01:00")."""
    shown = display_published(as_of)
    dated = f" (as of {shown})" if as_of else ""
    if squash(short) == squash(quote):
        return as_of_lead(as_of)
    text = squash(short).rstrip(".!?") if dated else squash(short)
    return text + dated + ("" if text.rstrip()[-1:] in ".!?" else ".") + " "


def as_of_lead(as_of: str) -> str:
    """ "As of 2024-03-02: " before a sentence answer that is the latest of differing accounts."""
    return f"As of {display_published(as_of)}: " if as_of else ""
