"""Cut an article into passages the embedder reads whole, keeping exact character offsets.

Passages follow paragraphs; only a paragraph too long for the model is windowed, on sentence
boundaries, with a little sentence overlap. Every span is an index range into the article text, so
`text[p.start:p.end] == p.text` holds by construction. Pure Python: the caller passes `count_tokens`
(word pieces of a string, no special tokens), so this module never imports a model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator

from citeqa.config import ChunkSettings
from citeqa.errors import ConfigError
from citeqa.schema import Passage, Span

CountTokens = Callable[[str], int]

_PARA_SEP = re.compile(r"\n\s*\n")  # a blank line (whitespace-only lines count as blank)
_NONSPACE = re.compile(r"\S+")
_WORD = re.compile(r"\w+")
# Sentence-final punctuation runs; then (matched separately, anchored, so long runs of dots or quotes
# stay linear) closing quotes/brackets and Wikipedia-style "[12]" notes. CJK full stops end a
# sentence even with no space after them.
_PUNCT = re.compile(r"[.!?…。！？]+")
_AFTER = re.compile(r"[\"'”’»›)\]}」』）]*(?:\[\w[^\]\n]{0,30}\])*")
_LIST_ITEM = re.compile(r"(?:[-*•‣▪◦·–—]|\d{1,3}[.)]|\(?[a-z0-9]{1,3}\))(?=\s)")
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")  # U.S, U.K, a.m, p.m (final dot is the match)


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_OPENERS = "\"'“‘«‹([{¿¡"
_CLOSERS = "\"'”’»›)]}"

# Abbreviations that precede a name or number: a period after them never ends a sentence.
_TITLES = _wordset(
    "mr mrs ms messrs mme dr prof gen maj col lt sgt capt cmdr cdr adm brig cpl pvt sen rep gov pres "
    "supt insp det rev hon fr st mt ft vs v cf e.g i.e approx viz esp lt-gen maj-gen brig-gen"
)
# Only before a number ("No. 5", "Jan. 12"); otherwise the usual rule applies.
_NUMBER_PREFIXES = _wordset("no nos vol p pp fig art sec ch jan feb mar apr jun jul aug sep sept oct nov dec")
# These often end a sentence too ("... Apple Inc. The company"), so split after them only when a
# typical sentence opener follows. "U.S. President Biden" stays whole; "in the U.S. The next day"
# splits; "in the U.S. President Biden said" stays whole (wrong, but the rarer reading).
_AMBIGUOUS = _wordset("inc ltd co corp llc plc bros jr sr etc al ave blvd rd ph.d")
_STARTERS = _wordset(
    "the a an this that these those there here he she it they we i you his her its their our my but "
    "and or so yet in on at for from by to after before when while as if however meanwhile also then "
    "since although though with according during some many most both one no not what who why how "
    "last earlier later still today yesterday"
)
# A line ending in one of these continues on the next line; it is not a heading.
_FUNCTION_WORDS = _wordset("the a an of to in on at by for from with and or but as that than his her its")


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _blocks(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Trimmed, non-blank ranges of text[start:end] between blank lines."""
    pos = start
    for m in _PARA_SEP.finditer(text, start, end):
        a, b = _trim(text, pos, m.start())
        if a < b:
            yield a, b
        pos = m.end()
    a, b = _trim(text, pos, end)
    if a < b:
        yield a, b


def split_paragraphs(text: str) -> list[Span]:
    """Spans of the non-blank paragraphs (separated by blank lines), trimmed of whitespace."""
    return [Span(a, b) for a, b in _blocks(text, 0, len(text))]


def _at_line_start(text: str, pos: int, floor: int) -> bool:
    line_start = text.rfind("\n", floor, pos) + 1 or floor
    return not text[line_start:pos].strip()


def _is_boundary(text: str, m: re.Match[str], nxt: int, bs: int, be: int) -> bool:
    """Does the punctuation matched by `m` end a sentence, given the next non-space char at `nxt`?"""
    k = nxt
    while k < be and text[k] in _OPENERS:
        k += 1
    if k >= be:
        return True
    c, punct = text[k], m.group()
    if c.islower():  # '"Why?" he asked', 'U.S. officials', 'e.g. the' -- not a new sentence
        return False
    if punct != ".":  # ?, !, ellipsis followed by a capital or a caseless script
        return True
    ws = m.start()
    while ws > bs and not text[ws - 1].isspace():
        ws -= 1
    word = text[ws : m.start()].lstrip(_OPENERS)
    low = word.lower()
    if low in _TITLES or (c.isdigit() and low in _NUMBER_PREFIXES):
        return False
    if len(word) == 1 and word.isalpha() and (word.isupper() or _at_line_start(text, ws, bs)):
        return False  # initials ("J. K. Rowling", "George W. Bush") and "a. item" list markers
    if word.isdigit() and len(word) <= 3 and _at_line_start(text, ws, bs):
        return False  # "1. First item"
    if low in _AMBIGUOUS or _DOTTED.fullmatch(word):
        w = _WORD.match(text, k, be)
        return w is not None and w.group().lower() in _STARTERS
    return True


def _punct_cuts(text: str, bs: int, be: int) -> Iterator[int]:
    for m in _PUNCT.finditer(text, bs, be):
        after = _AFTER.match(text, m.end(), be)  # always matches, possibly empty
        cut = after.end() if after else m.end()
        nxt = cut
        while nxt < be and text[nxt].isspace():
            nxt += 1
        if nxt == be:
            continue
        if any(c in "。！？" for c in m.group()) or (nxt > cut and _is_boundary(text, m, nxt, bs, be)):
            yield cut


def _line_cuts(text: str, bs: int, be: int) -> Iterator[int]:
    """Cuts at single newlines that start a list item or end a heading-like line.

    A newline inside running text is just wrapping. A line without final punctuation is a heading
    when the next line's first word would have fitted on it (a wrapper would have put it there) or
    when it is short and Title Cased; it must not end in a function word, and the next line must not
    start in lowercase.
    """
    if text.find("\n", bs, be) < 0:
        return
    lines: list[tuple[int, int, int]] = []  # (trimmed start, trimmed end, newline position)
    pos = bs
    while pos <= be:
        nl = text.find("\n", pos, be)
        stop = be if nl < 0 else nl
        a, b = _trim(text, pos, stop)
        if a < b:
            lines.append((a, b, stop))
        pos = stop + 1
    width = max(b - a for a, b, _ in lines)
    for (pa, pb, stop), (na, nb, _) in zip(lines, lines[1:], strict=False):
        k = na
        while k < nb and text[k] in _OPENERS:
            k += 1
        lower_next = k < nb and text[k].islower()
        if _LIST_ITEM.match(text, na, be) or (_LIST_ITEM.match(text, pa, be) and not lower_next):
            yield stop
            continue
        prev = text[pa:pb].rstrip(_CLOSERS)
        if (
            lower_next
            or not prev
            or prev[-1] in ".!?…:;,-–—/&("
            or prev.split()[-1].lower() in _FUNCTION_WORDS
        ):
            continue
        first = _NONSPACE.match(text, na, nb)
        fits = first is not None and (pb - pa) + 1 + (first.end() - na) <= width
        words = prev.split()
        titled = len(words) <= 8 and all(w[0].isupper() for w in words if len(w) > 3 and w[0].isalpha())
        if fits or (titled and any(w[0].isupper() for w in words)):
            yield stop


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans within text[start:end] (offsets into `text`), trimmed, non-empty, in order."""
    end = len(text) if end is None else end
    if not 0 <= start <= end <= len(text):
        raise ConfigError(
            f"split_sentences: bad range start={start}, end={end} for text of length {len(text)}"
        )
    out: list[Span] = []
    for bs, be in _blocks(text, start, end):
        pos = bs
        for cut in [*sorted({*_punct_cuts(text, bs, be), *_line_cuts(text, bs, be)}), be]:
            a, b = _trim(text, pos, cut)
            if a < b:
                out.append(Span(a, b))
            pos = cut
    return out


def _pack(
    text: str, units: list[tuple[Span, int]], count: CountTokens, budget: int, overlap: int
) -> list[tuple[list[Span], int]]:
    """Greedy windows of consecutive (span, tokens) units, each <= budget by the real count.

    Sums of per-unit counts pick the window (no recounting of growing strings); the real count of the
    window text confirms it, dropping the last unit if the sum underestimated. Returns (spans, count).
    """
    spans = [u[0] for u in units]
    toks = [u[1] for u in units]
    out: list[tuple[list[Span], int]] = []
    i, done, n = 0, 0, len(spans)
    while i < n:
        j, total = i, 0
        while j < n and (j == i or total + toks[j] <= budget):  # always take one span: progress
            total += toks[j]
            j += 1
        while True:
            real = count(text[spans[i].start : spans[j - 1].end])
            if real <= budget or j - i == 1:
                break
            j -= 1
        if j <= done:  # the overlap left no room for anything new: restart without it
            i = done
            continue
        out.append((spans[i:j], real))
        done = j
        if j == n:
            break
        # Repeat up to `overlap` trailing spans, if together they stay within a third of the budget.
        k, kept = j, 0
        while k > i + 1 and j - k < overlap and kept + toks[k - 1] <= budget / 3:
            kept += toks[k - 1]
            k -= 1
        i = k
    return out


def _split_chars(text: str, a: int, b: int, count: CountTokens, budget: int) -> Iterator[tuple[Span, int]]:
    """Cut one overlong word into pieces <= budget, finding each piece's length by galloping search."""
    pos = a
    while pos < b:
        fit, probe = 1, 1  # `fit` fits (or is the forced minimum of one character)
        while pos + probe < b and count(text[pos : pos + probe]) <= budget:
            fit, probe = probe, probe * 2
        if pos + probe >= b and count(text[pos:b]) <= budget:
            fit = probe = b - pos
        lo, hi = fit, min(probe, b - pos) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[pos : pos + mid]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        while cut > 1 and pos + cut < b and unicodedata.combining(text[pos + cut]):
            cut -= 1  # keep combining marks with their base character
        n = count(text[pos : pos + cut])
        if n > budget and cut < lo:
            cut, n = lo, count(text[pos : pos + lo])
        yield Span(pos, pos + cut), n
        pos += cut


def _hard_split(text: str, s: Span, count: CountTokens, budget: int) -> list[tuple[Span, int]]:
    """Pieces of one overlong sentence: at whitespace, else inside a word at characters."""
    units: list[tuple[Span, int]] = []
    for m in _NONSPACE.finditer(text, s.start, s.end):
        n = count(m.group())
        if n <= budget:
            units.append((Span(m.start(), m.end()), n))
        else:
            units.extend(_split_chars(text, m.start(), m.end(), count, budget))
    # Aim for equal pieces (two of 100, not 200 and a stray 4): the fewest pieces, each <= budget.
    total = sum(n for _, n in units)
    target = max(1, -(-total // -(-total // budget)))
    return [(Span(g[0].start, g[-1].end), n) for g, n in _pack(text, units, count, target, 0)]


def _windows(
    text: str, sents: list[Span], count: CountTokens, cfg: ChunkSettings
) -> list[tuple[list[Span], int]]:
    units: list[tuple[Span, int]] = []
    for s in sents:
        n = count(text[s.start : s.end])
        units.extend([(s, n)] if n <= cfg.max_tokens else _hard_split(text, s, count, cfg.max_tokens))
    return _pack(text, units, count, cfg.max_tokens, cfg.overlap_sentences)


def chunk_text(
    article_id: str, text: str, count_tokens: CountTokens, config: ChunkSettings | None = None
) -> list[Passage]:
    """Passages of `text`: one per paragraph that fits, windows over a paragraph that doesn't.

    A paragraph under `min_tokens` is joined to the next one (when the two fit together, or when the
    next is windowed anyway: it opens the first window); a short last paragraph joins the previous
    passage if that fits. Every passage has count_tokens(text) <= max_tokens, unless a single
    character alone counts more than that.
    """
    config = config or ChunkSettings()
    budget = config.max_tokens  # the body's budget: the caller leaves room for the title prefix
    groups: list[tuple[list[Span], int]] = []  # (sentence spans, token count) per passage
    pending: list[Span] = []  # short paragraphs waiting to join the next one
    pending_n = 0
    for para in split_paragraphs(text):
        own = split_sentences(text, para.start, para.end)
        own_n = count_tokens(text[para.start : para.end])
        if pending:
            merged_n = count_tokens(text[pending[0].start : para.end])
            if merged_n <= budget or own_n > budget:
                own, own_n = pending + own, merged_n
            else:  # the paragraph fits alone; don't let a headline push it into two windows
                groups.append((pending, pending_n))
            pending = []
        if own_n > budget:
            groups.extend(_windows(text, own, count_tokens, config))
        elif own_n < config.min_tokens:
            pending, pending_n = own, own_n
        else:
            groups.append((own, own_n))
    if pending:
        last_n = count_tokens(text[groups[-1][0][0].start : pending[-1].end]) if groups else budget + 1
        if last_n <= budget:
            groups[-1] = (groups[-1][0] + pending, last_n)
        else:
            groups.append((pending, pending_n))
    passages = []
    for ordinal, (spans, n) in enumerate(groups):
        start, end = spans[0].start, spans[-1].end
        passages.append(
            Passage(
                id=f"{article_id}#{ordinal}",
                article_id=article_id,
                ordinal=ordinal,
                text=text[start:end],
                start=start,
                end=end,
                sentences=tuple(spans),
                n_tokens=n,
            )
        )
    return passages
