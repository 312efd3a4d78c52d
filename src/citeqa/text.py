"""Small text helpers: the words the answer composer's features and chat's follow-up detection
compare (`words`, `content_terms`: a light suffix stripper and a short list of function words).

Why not BM25's analyzer (citeqa.analyzer: Snowball stems, bm25s's stopwords)? Measured with
`python -m bench.fit_composer` (composer refitted on half A each time, 1-sentence answer_hit on
half B's 1,056 questions of the seeded sample; read to make this choice, so a training number for
it): these helpers 0.749; the BM25 analyzer's terms 0.741; its stemmer and stopwords over these words
0.742. Nothing fitted changed because of it: the existing analyzer was kept. Matching a question to
a sentence rewards keeping "he", "first" or "8" that BM25 drops as noise, so the two stay, each where
it measured best."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

# The calendar's words, lower case, in order (dates read them; names and time words leave them out).
MONTHS = tuple(
    "january february march april may june july august september october november december".split()
)
WEEKDAYS = tuple("monday tuesday wednesday thursday friday saturday sunday".split())

# Function words that carry no evidence that a sentence answers a question.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "up",
        "down",
        "in",
        "out",
        "on",
        "off",
        "over",
        "under",
        "again",
        "further",
        "then",
        "once",
        "here",
        "there",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "can",
        "will",
        "just",
        "should",
        "now",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "have",
        "has",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "would",
        "could",
        "might",
        "must",
        "shall",
        "may",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "him",
        "his",
        "she",
        "her",
        "it",
        "its",
        "they",
        "them",
        "their",
        "what",
        "which",
        "who",
        "whom",
        "this",
        "that",
        "these",
        "those",
        "am",
        "as",
        "until",
        "while",
        "also",
        "said",
        "says",
        "say",
        "according",
        "one",
        "s",
        "t",
    ]
)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits, inner apostrophes kept)."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """A light English suffix stripper: enough to match drills/drill, held/hold is left alone."""
    for suffix in ("'s", "ies", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return word


def content_terms(text: str) -> list[str]:
    """Stemmed words minus stopwords, in order, duplicates kept."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def plural(n: int, word: str) -> str:
    """ "1 passage", "2 passages": counts read as English in messages."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def squash(text: str) -> str:
    """Whitespace runs → one space (for display only; quotes keep the exact article text)."""
    return " ".join(text.split())


def check_question(question: object, max_chars: int) -> str:
    """The question stripped, or an `InputError` that says what is wrong with it."""
    from citeqa.errors import InputError

    if not isinstance(question, str):
        raise InputError(f"a question must be text, got {type(question).__name__}")
    q = question.strip()
    if not q:
        raise InputError("the question is empty; ask something about the articles")
    try:
        q.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            "the question contains invalid characters (lone surrogates, usually text decoded with the "
            "wrong encoding); type or paste it again"
        ) from None
    if len(q) > max_chars:
        raise InputError(
            f"the question is {len(q):,} characters long; the limit is {max_chars:,}. Ask a shorter question"
        )
    if not any(ch.isalnum() for ch in q):
        raise InputError("the question has no words in it; ask something about the articles")
    return q
