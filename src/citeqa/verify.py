"""Is a written sentence supported by the passages it cites? (the language-model mode, llm.py)

A sentence a language model wrote is checked against each passage it cites, one sentence of the
passage at a time and two adjacent ones together (a model often merges two): its `coverage` is the
share of its content words (text.content_terms: stemmed, function words dropped) found in that
window. The best window is the supporting quote; the sentence is supported when

- its coverage is at least `COVERAGE` (chosen on training data only, bench/verifier_bench.py), and
- every number, name and date it holds appears in one of its cited passages (or their titles and
  dates): the commonest way a model invents is a figure or a name the sources never gave. Those it
  can't find are `unfound` (the page and the JSON flag them). A sentence's first word is a name
  when it is not a common word (models/common_words.txt, bench/common_words.py: "Putin said", not
  "Officials said"); "May" inside a sentence is the month;
- it doesn't negate what its supporting window says, nor the reverse ("not", "never", "no",
  "n't" reaching a word of the other within NEGATION_REACH words): "the drills will not be held in
  Kars" shares every other word with the sentence that says they will.

Pure and fast: no model. bench/verifier_bench.py measures it on SQuAD dev half B.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from citeqa.schema import Span
from citeqa.text import STOPWORDS, WEEKDAYS, content_terms, stem, words

# Coverage at or above which a window supports a sentence. Chosen with `python -m
# bench.verifier_bench --fit` on SQuADShifts new_wiki and SQuAD dev half A (never half B).
COVERAGE = 0.38

_TOKEN = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*")
_DIGITS = re.compile(r"\d")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th|s)$")
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
    "hundred": "100",
    "thousand": "1000",
    "dozen": "12",
}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
# Number words that say too little to be invented facts ("one of the", "zero tolerance").
_VAGUE_NUMBERS = frozenset({"zero", "one", "hundred", "thousand", "dozen"})
# Capitalised but not names: the words any sentence may start a clause with, and weekdays (dates
# are checked through their numbers and months).
_NOT_NAMES = STOPWORDS | frozenset(WEEKDAYS) | frozenset("i mr mrs ms dr however yes".split())
# Words a model opens a sentence with that a news corpus rarely writes in lower case mid-sentence.
_OPENERS = frozenset(
    "furthermore moreover nevertheless nonetheless likewise reportedly firstly secondly thirdly lastly "
    "finally additionally overall meanwhile instead notably similarly consequently accordingly "
    "alternatively specifically initially subsequently ultimately".split()
)
_NEGATIONS = frozenset("not no never neither nor cannot nowhere none nothing nobody n't".split())
_COMMON_WORDS = Path(__file__).resolve().parent / "models" / "common_words.txt"


@functools.cache
def common_words() -> frozenset[str]:
    """Words written in lower case away from a sentence's start (bench/common_words.py)."""
    lines = _COMMON_WORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


@dataclass(frozen=True)
class Source:
    """A cited passage as evidence: its text, where it starts in its article, its sentence spans
    (article offsets, as `Passage.sentences`), its article's title (names often live there) and
    date."""

    text: str
    start: int
    sentences: tuple[Span, ...] = ()
    title: str = ""
    published: str = ""  #: its article's date (the model is shown it beside the passage)


@dataclass(frozen=True)
class Support:
    """The verdict on one sentence. `source` is the index of the supporting source (-1: none had a
    word in common); `start`/`end` the supporting window's article offsets, `quote` its text."""

    supported: bool
    coverage: float
    source: int = -1
    start: int = 0
    end: int = 0
    quote: str = ""
    unfound: tuple[str, ...] = ()  #: numbers, names, dates found in none of the sources
    negation: bool = False  #: the sentence says "not" where its window doesn't, or the reverse


def fold(token: str) -> str:
    """Accents dropped ("Álvarez" -> "Alvarez"): a model may write a name either way."""
    return "".join(c for c in unicodedata.normalize("NFKD", token) if not unicodedata.combining(c))


def number_forms(token: str) -> set[str]:
    """The ways a number token may be written elsewhere: "3,000" -> {"3000"}; "1990s" -> {"1990"};
    "21st" -> {"21"}; "three" -> {"3"}; "1.50" -> {"1.5"}."""
    t = token.lower().replace(",", "").replace("’", "'")
    if t in _NUMBER_WORDS:
        return {_NUMBER_WORDS[t]}
    m = _ORDINAL.match(t)
    if m:
        t = m.group(1)
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        if "." in t:
            t = t.rstrip("0").rstrip(".")
        return {t.lstrip("0") or "0"}
    return {t}


def _scaled(value: str, scale: str) -> str:
    """ "1.5" "million" -> "1500000" (so 1.5 million matches 1,500,000)."""
    try:
        v = float(value) * _SCALES[scale]
    except ValueError:
        return ""
    return str(int(v)) if v == int(v) else str(v)


_TENS = {w: int(v) for w, v in _NUMBER_WORDS.items() if v.isdigit() and 20 <= int(v) <= 90}
_UNITS = {w: int(v) for w, v in _NUMBER_WORDS.items() if v.isdigit() and 1 <= int(v) <= 9}
_COMPOUND = re.compile(rf"\b({'|'.join(_TENS)})[- ]({'|'.join(_UNITS)})\b", re.IGNORECASE)


def _compounds(text: str) -> str:
    """ "twenty-seven" as "27", so it matches "27" written elsewhere (and the reverse)."""
    return _COMPOUND.sub(lambda m: str(_TENS[m[1].lower()] + _UNITS[m[2].lower()]), text)


def facts(text: str) -> list[tuple[str, frozenset[str]]]:
    """The numbers, names and dates of a sentence: (as written, the forms that would match it).
    A capitalised word starts a name unless it is a function word; the sentence's first word counts
    when it is not a common word or starts a run of capitalised words ("Putin said", "Denver Broncos
    won", not "Officials said")."""
    text = _compounds(text)
    toks = [(m.group(0), m.start()) for m in _TOKEN.finditer(text)]
    out: list[tuple[str, frozenset[str]]] = []
    for i, (tok, at) in enumerate(toks):
        low = tok.lower()
        if _DIGITS.search(tok) or (low in _NUMBER_WORDS and low not in _VAGUE_NUMBERS):
            forms = number_forms(tok)
            nxt = toks[i + 1][0].lower() if i + 1 < len(toks) else ""
            if nxt in _SCALES:
                forms |= {f for f in (_scaled(next(iter(forms)), nxt),) if f}
            out.append((tok, frozenset(forms)))
            continue
        if not tok[:1].isupper():
            continue
        before = text[:at].rstrip()
        initial = not before or before[-1] in '.!?:;"“(['
        if low in _NOT_NAMES and (initial or low != "may"):  # "in May": the month, not the verb
            continue
        nxt_cap = (
            i + 1 < len(toks) and toks[i + 1][0][:1].isupper() and toks[i + 1][0].lower() not in _NOT_NAMES
        )
        if (
            initial
            and not nxt_cap
            and (low in common_words() or stem(low) in common_words() or low in _OPENERS)
        ):
            continue
        if initial and text[at + len(tok) : at + len(tok) + 1] == ",":  # "Separately, ...": an opener
            continue
        out.append((tok, frozenset({stem(w) for w in words(fold(tok))})))
    return out


def _evidence_forms(text: str) -> set[str]:
    """Everything a fact of a sentence may match in a source: stems of its words and number forms."""
    forms: set[str] = set()
    toks = [m.group(0) for m in _TOKEN.finditer(_compounds(text))]
    for i, tok in enumerate(toks):
        forms |= {stem(w) for w in words(fold(tok))}
        low = tok.lower()
        if _DIGITS.search(tok) or low in _NUMBER_WORDS:
            nums = number_forms(tok)
            forms |= nums
            nxt = toks[i + 1].lower() if i + 1 < len(toks) else ""
            if nxt in _SCALES:
                forms |= {f for f in (_scaled(next(iter(nums)), nxt),) if f}
    return forms


def unfound_facts(sentence: str, sources: Sequence[Source]) -> tuple[str, ...]:
    """The numbers, names and dates of `sentence` that none of `sources` (text or title) holds."""
    have: set[str] = set()
    for s in sources:
        have |= _evidence_forms(f"{s.title}\n{s.text}")
    # The articles' dates (the model is shown them) back only a sentence that writes a date: else
    # a made-up "19" would pass for an article of the 19th.
    if _MONTH_OR_ISO.search(sentence):
        for s in sources:
            have |= _evidence_forms(_date_words(s.published))
    return tuple(dict.fromkeys(tok for tok, forms in facts(sentence) if not forms & have))


_MONTH_OR_ISO = re.compile(
    r"\b(?:\d{4}-\d{2}-\d{2}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d|\d{1,2}\s+"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)",
    re.IGNORECASE,
)


def _date_words(published: str) -> str:
    """ "2023-04-18 18 April 2023" for a stored date: how a model may write the date it was shown."""
    try:
        d = dt.date.fromisoformat(published[:10])
    except ValueError:
        return ""
    return f"{d.isoformat()} {d.day} {d.strftime('%B')} {d.year}"


# How many words after "not" it reaches ("not be held": "held").
NEGATION_REACH = 3


def _negations(text: str) -> tuple[bool, set[str]]:
    """(whether `text` says "not" in some form, the content terms its negations reach: "will not be
    held in Kars" -> {"held"}; what a negation elsewhere in a passage says of other things is left
    out)."""
    toks = words(_NUMBER_SIGN.sub("number ", text))
    at = [i for i, w in enumerate(toks) if w in _NEGATIONS or w.endswith("n't")]
    reached = {t for i in at for t in content_terms(" ".join(toks[i + 1 : i + 1 + NEGATION_REACH]))}
    return bool(at), reached


def negation_differs(sentence: str, window: str) -> bool:
    """Whether the sentence negates what its window says, or the reverse: a term one of them
    negates is a term of the other that it doesn't negate; or the sentence negates something and
    its window negates nothing ("will not take place in Kars" against "to be held in Kars")."""
    (s_any, s_neg), (w_any, w_neg) = _negations(sentence), _negations(window)
    if s_any and not w_any:
        return True
    s_terms, w_terms = set(content_terms(sentence)), set(content_terms(window))
    return bool((s_neg & w_terms) - w_neg or (w_neg & s_terms) - s_neg)


_NUMBER_SIGN = re.compile(r"\bNo\.\s*|\bno\s+(?=\d)", re.IGNORECASE)  # "No. 10", "no 7": not a "no"


def windows(source: Source) -> list[tuple[int, int]]:
    """The source's sentences, alone and in adjacent pairs, as article offsets; the whole passage
    when it has no sentence spans."""
    spans = [(s.start, s.end) for s in source.sentences] or [(source.start, source.start + len(source.text))]
    return spans + [(a[0], b[1]) for a, b in zip(spans, spans[1:])]


def coverage(terms: set[str], window_text: str) -> float:
    """The share of `terms` (a sentence's content terms) found among the window's words."""
    if not terms:
        return 0.0
    return len(terms & set(content_terms(window_text))) / len(terms)


def check(sentence: str, sources: Sequence[Source], threshold: float = COVERAGE) -> Support:
    """The verdict on `sentence` against `sources` (the passages it cites): the best window of any
    of them (highest coverage; ties: the shorter window, then the earlier source)."""
    terms = set(content_terms(sentence))
    best: tuple[float, int, int, int, int] | None = None  # (coverage, -length, -source, start, end)
    for i, src in enumerate(sources):
        for a, b in windows(src):
            text = src.text[a - src.start : b - src.start]
            key = (coverage(terms, text), -(b - a), -i, a, b)
            if best is None or key[:3] > best[:3]:
                best = key
    unfound = unfound_facts(sentence, sources)
    if best is None or best[0] == 0.0:
        return Support(False, 0.0, unfound=unfound)
    cov, _, neg_i, a, b = best
    src = sources[-neg_i]
    quote = src.text[a - src.start : b - src.start]
    flipped = negation_differs(sentence, quote)
    return Support(
        cov >= threshold and not unfound and not flipped, cov, -neg_i, a, b, quote, unfound, flipped
    )


def best_source(sentence: str, sources: Sequence[Source], threshold: float = COVERAGE) -> Support:
    """For a sentence that cites nothing: the source that supports it best (each judged on its own,
    so the facts must be in that one source)."""
    verdicts = [(check(sentence, [s], threshold), i) for i, s in enumerate(sources)]
    if not verdicts:
        return Support(False, 0.0, unfound=tuple(t for t, _ in facts(sentence)))
    v, i = max(verdicts, key=lambda vi: (vi[0].supported, vi[0].coverage, -len(vi[0].unfound), -vi[1]))
    return replace(v, source=i if v.source >= 0 else -1)
