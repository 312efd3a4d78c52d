"""Retrieved passages → an `Answer` whose every sentence is cited to an exact article span.

No LLM: the answer is made of article sentences. Each sentence of the top passages is scored by a
small logistic model over cheap features (features.py: dense similarity of the sentence, question
term overlap, answer-type match, the passage's retrieval score, ...); the model and the confidence
model on top of it are fitted on SQuAD v1.1 dev (bench/fit_composer.py, weights in models/composer.json).
`confidence` is the fitted probability that the best sentence answers the question; below the
calibrated threshold the assistant abstains and says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from citeqa import answer_model
from citeqa.answer_direct import Choice, Proposal, as_of_lead, choose, lead_in, propose, unread_later
from citeqa.config import ComposerSettings
from citeqa.features import (
    SENTENCE_FEATURES,
    SentenceCandidate,
    answer_type,
    sentence_features,
    short_answer_span,
)
from citeqa.logistic import sigmoid
from citeqa.reader import Reader
from citeqa.retrieve import Candidate
from citeqa.schema import Answer, AnswerSentence, Citation, Hit, ShortAnswer
from citeqa.text import squash
from citeqa.timewords import QuestionTime, without_window

_ANSWER_TYPE = SENTENCE_FEATURES.index("answer_type")
MODEL = answer_model.load()
_W = MODEL.sentence_weights(SENTENCE_FEATURES)
CONFIDENCE_FEATURES = (
    "logit",  # the best sentence's logit
    "gap",  # ... minus the runner-up's (10 when there is no runner-up)
    "passage_dense",  # its sentence features, by name (features.SENTENCE_FEATURES)
    "entity_cov",
    "idf_overlap",
)


@dataclass(frozen=True)
class ArticleMeta:
    """What a citation shows about its article."""

    title: str = ""
    source: str = ""
    published: str = ""
    #: The article's text: the reader reads a passage's first sentence after the article's sentence
    #: before it, where news names what "the drills" or "the park" refer to ("" reads passages alone).
    text: str = ""


def score(
    question: str,
    qvec: np.ndarray,
    candidates: Sequence[Candidate],
    passages: int,
    titles: Mapping[str, str] | None = None,
) -> tuple[list[SentenceCandidate], np.ndarray, np.ndarray]:
    """Candidate sentences, their logits (in passage order, not sorted) and feature rows."""
    sents, X = sentence_features(question, qvec, candidates, passages, titles)
    logits = X @ _W + MODEL.sentence.bias if len(sents) else np.zeros(0, dtype=np.float32)
    return sents, logits, X


def confidence_features(logits: np.ndarray, X: np.ndarray, best: int) -> dict[str, float]:
    """CONFIDENCE_FEATURES of the best sentence (bench.fit_composer fits on the same function)."""
    top = np.sort(logits)[::-1]
    row = dict(zip(SENTENCE_FEATURES, map(float, X[best])))
    return {
        "logit": float(logits[best]),
        "gap": float(top[0] - top[1]) if len(top) > 1 else 10.0,
        **{name: row[name] for name in CONFIDENCE_FEATURES[2:]},
    }


def confidence_of(logits: np.ndarray, X: np.ndarray, best: int) -> float:
    """P(the best sentence answers the question), from the fitted confidence model."""
    return MODEL.confidence.probability(confidence_features(logits, X, best))


def compose(
    question: str,
    qvec: np.ndarray,
    candidates: Sequence[Candidate],
    meta: Mapping[str, ArticleMeta],
    settings: ComposerSettings | None = None,
    *,
    query: str = "",
    reader: Reader | None = None,
    when: QuestionTime | None = None,
    read_as: str = "",
) -> Answer:
    """The answer: with a reader, its span first and the sentence that says it (answer_direct.py);
    without one, the best-scored sentences. `when`: how the question's time was read (its note
    goes with the answer; with the reader, the latest of differing accounts wins). `read_as`: the
    question as scored and read, when it differs from the one the answer is for."""
    asked = read_as or question
    inside = _in_window(candidates, meta, when)
    if inside and when is not None:  # the window's articles first: they answer when they can
        within = without_window(asked, when.window)
        answer = _compose(question, qvec, inside, meta, settings, query, reader, when, within)
        if not answer.abstained:
            return replace(answer, hits=tuple(c.hit for c in candidates), note=when.note)
    answer = _compose(question, qvec, candidates, meta, settings, query, reader, when, asked)
    if when is None or not when.note:
        return answer
    dated = when.window is not None and when.window.start is not None
    # said only of dated articles: an undated one may be from any day
    outside = (
        dated
        and bool(answer.citations)
        and all(c.published and not when.in_window(c.published) for c in answer.citations)
    )
    return replace(answer, note=when.note + ("; " + OUTSIDE_WINDOW if outside else ""))


# Said when a question names a window of days ("this week") and the answer had to come from an
# article outside it (the citation shows its date).
OUTSIDE_WINDOW = "no article from then answers it: this answer is from another day"


def _in_window(
    candidates: Sequence[Candidate], meta: Mapping[str, ArticleMeta], when: QuestionTime | None
) -> list[Candidate]:
    """The candidates of articles published inside the question's window, ranked among themselves
    (the reader's features read a passage's rank), when some but not all are; else none."""
    if when is None:
        return []
    inside = [
        c for c in candidates if when.in_window(meta.get(c.hit.passage.article_id, ArticleMeta()).published)
    ]
    if len(inside) == len(candidates):
        return []
    return [replace(c, hit=replace(c.hit, rank=i)) for i, c in enumerate(inside, start=1)]


def _compose(
    question: str,
    qvec: np.ndarray,
    candidates: Sequence[Candidate],
    meta: Mapping[str, ArticleMeta],
    settings: ComposerSettings | None,
    query: str,
    reader: Reader | None,
    when: QuestionTime | None,
    asked: str,
) -> Answer:
    settings = settings or ComposerSettings()
    hits = tuple(c.hit for c in candidates)
    titles = {aid: m.title for aid, m in meta.items()}
    sents, logits, X = score(asked, qvec, candidates, settings.passages_considered, titles)
    if not sents:
        return _abstain(
            question,
            hits,
            "no passage to answer from: the knowledge base is empty, or the question's scope leaves none",
            query,
        )
    cal = reader.calibration if reader is not None else None
    if reader is not None and cal is not None:
        texts = {aid: m.text for aid, m in meta.items() if m.text}

        def read(
            cands: Sequence[Candidate],
            cand_sents: list[SentenceCandidate],
            cand_logits: np.ndarray,
            table: np.ndarray,
            n: int,
        ) -> list[Proposal]:
            # the way the calibration was fitted (bench/fit_reader.py --read-sentences)
            return propose(
                asked, reader, cands, cand_sents, cand_logits, n, cal.read_sentences, table,
                cal.spans_per_window, texts,
            )  # fmt: skip

        proposals = read(candidates, sents, logits, X, settings.passages_considered)
        published = {aid: m.published for aid, m in meta.items()}
        newest = when is not None and when.window is not None and when.window.newest
        choice = choose(proposals, cal, published, newest, asked)
        later = unread_later(choice, candidates, proposals, published, asked) if choice else []
        if later:  # read the story's later reports too, then choose again among all
            more = read(later, *score(asked, qvec, later, len(later), titles), len(later))
            choice = choose([*proposals, *more], cal, published, newest, asked)
        if choice is None:
            return _abstain(question, hits, "the reader found no answer in the closest passages", query)
        if choice.p_sentence < cal.abstain_below:
            reason = (
                f"the best candidate, {squash(choice.proposal.span.text)!r}, has confidence "
                f"{choice.p_sentence:.2f}, below the threshold {cal.abstain_below:.2f}"
            )
            return _abstain(question, hits, reason, query, choice.p_sentence)
        return _direct(question, choice, hits, meta, cal.short_above, query)
    order = sorted(range(len(sents)), key=lambda i: (-float(logits[i]), sents[i].hit.rank, sents[i].start))
    best = order[0]
    confidence = confidence_of(logits, X, best)
    if confidence < settings.abstain_below:
        return _abstain(
            question,
            hits,
            f"the closest passages don't answer it: the best sentence has confidence {confidence:.2f}, "
            f"below the threshold {settings.abstain_below:.2f}",
            query,
            confidence,
        )
    kind = answer_type(asked)
    if kind == "number" and not X[best, _ANSWER_TYPE]:
        # "How many ...?" answered by a sentence without any number cannot be right.
        return _abstain(
            question,
            hits,
            f"the closest passages give no number (best sentence confidence {confidence:.2f})",
            query,
            confidence,
        )
    chosen = [sents[best]]
    p_best = sigmoid(float(logits[best]))
    for i in order[1:]:
        if len(chosen) >= settings.max_sentences:
            break
        if sigmoid(float(logits[i])) < settings.second_ratio * p_best:
            break
        s = sents[i]
        if not _in_scope(s, chosen[0], settings.second_scope, bool(X[i, _ANSWER_TYPE])):
            continue
        if all(float(s.vector @ c.vector) < settings.redundancy and not _overlaps(s, c) for c in chosen):
            chosen.append(s)
    # Sentences of the same article read in article order.
    lead = chosen[0].hit.passage.article_id
    chosen.sort(key=lambda s: (s.hit.passage.article_id != lead, s.hit.passage.article_id, s.start))
    citations, sentences = [], []
    for n, s in enumerate(chosen, start=1):
        citations.append(citation(n, s.hit, s.start, s.end, s.text, meta))
        sentences.append(AnswerSentence(squash(s.text), (n,)))
    return Answer(
        question=question,
        text=" ".join(x.text for x in sentences),
        sentences=tuple(sentences),
        citations=tuple(citations),
        hits=hits,
        abstained=False,
        confidence=confidence,
        short=_short(asked, chosen),
        query=query or question,
    )


def _direct(
    question: str,
    choice: Choice,
    hits: tuple[Hit, ...],
    meta: Mapping[str, ArticleMeta],
    short_above: float,
    query: str,
) -> Answer:
    """ "Kars. <the sentence that says so>" citing [1]: the span (when likely right) before its sentence."""
    p = choice.proposal
    cited = citation(1, p.hit, p.quote_start, p.quote_end, p.quote, meta)
    short = None
    if choice.p_short >= short_above:
        short = ShortAnswer(p.span.text, p.hit.passage.article_id, p.start, p.end, citation=1)
    sentence = AnswerSentence(squash(p.quote), (1,))
    lead = lead_in(short.text, p.quote, choice.as_of) if short else as_of_lead(choice.as_of)
    return Answer(
        question=question,
        text=lead + sentence.text,
        lead=lead,
        sentences=(sentence,),
        citations=(cited,),
        hits=hits,
        abstained=False,
        confidence=choice.p_sentence,
        short=short,
        query=query or question,
        as_of=choice.as_of,
    )


def citation(n: int, hit: Hit, start: int, end: int, quote: str, meta: Mapping[str, ArticleMeta]) -> Citation:
    m = meta.get(hit.passage.article_id, ArticleMeta())
    return Citation(
        n,
        hit.passage.article_id,
        hit.passage.id,
        start,
        end,
        quote,
        m.title,
        m.source,
        m.published,
        also_in=hit.also_in,
    )


def _short(question: str, chosen: Sequence[SentenceCandidate]) -> ShortAnswer | None:
    """The short answer when the cited sentences agree on one (two different places: no short answer)."""
    kind = answer_type(question)
    found = []
    for n, s in enumerate(chosen, start=1):
        span = short_answer_span(kind, s.text, question)
        if span is not None:
            aid = s.hit.passage.article_id
            found.append(ShortAnswer(s.text[span[0] : span[1]], aid, s.start + span[0], s.start + span[1], n))
    return found[0] if found and len({f.text for f in found}) == 1 else None


def _in_scope(s: SentenceCandidate, best: SentenceCandidate, scope: str, typed: bool) -> bool:
    """May `s` join `best`? "passage": from the same passage, or from the top passage when `s` holds
    a token of the kind the question asks for ("in Kars" for "where"): that keeps the second citation
    in the best sentence's paragraph unless it adds the asked-for fact."""
    if scope == "passage":
        return s.hit.passage.id == best.hit.passage.id or (s.hit.rank == 1 and typed)
    if scope == "article":
        return s.hit.passage.article_id == best.hit.passage.article_id
    return True


def _overlaps(a: SentenceCandidate, b: SentenceCandidate) -> bool:
    same = a.hit.passage.article_id == b.hit.passage.article_id
    return same and a.start < b.end and b.start < a.end


def _abstain(
    question: str, hits: tuple[Hit, ...], reason: str, query: str, confidence: float = 0.0
) -> Answer:
    """A refusal in plain words; the scores behind it stay in `reason` (shown with the sources)."""
    return Answer(
        question=question,
        text=refusal(question),
        sentences=(),
        citations=(),
        hits=hits,
        abstained=True,
        confidence=confidence,
        reason=reason,
        query=query or question,
    )


_AUX = frozenset(
    "is are was were will would do does did can could should has have had may might must shall".split()
)


def refusal(question: str) -> str:
    """ "The articles don't say who won the 2022 FIFA World Cup." An indirect question needs no
    inversion when the wh-word is the subject ("who won ..."); otherwise ("where will the drills be
    held?") turning it around takes grammar this module doesn't have, so the question is quoted."""
    q = squash(question).rstrip(" ?.!")
    toks = q.split()
    wh = toks[0].lower() if toks else ""
    if len(toks) >= 2 and wh in ("who", "what", "which") and toks[1].lower() not in _AUX:
        return f"The articles don't say {wh} {' '.join(toks[1:])}."
    return f"The articles don't answer “{squash(question)}”."
