"""Text → index terms for BM25: lower-case words of two or more letters/digits (as scikit-learn,
bm25s and MTEB's BM25 baseline split them), bm25s's English stopwords dropped, Snowball-stemmed
(PyStemmer). One analyzer for every lexical match against the index."""

from __future__ import annotations

import re
import threading

from citeqa.errors import MissingDependencyError

TOKEN = re.compile(r"(?u)\b\w\w+\b")
STEMMER = "english"
STOPWORDS_NAME = "bm25s-en"  # recorded in each index file: a change forces a rebuild


class _Stems(dict[str, str]):
    """word → stem ("" for a stopword), filled on first sight: each distinct word is stemmed once."""

    def __init__(self) -> None:
        try:
            import Stemmer
            from bm25s.stopwords import STOPWORDS_EN
        except ImportError as exc:
            raise MissingDependencyError(
                "lexical retrieval needs bm25s and PyStemmer: pip install bm25s PyStemmer"
            ) from exc
        super().__init__()
        self._stemmer = Stemmer.Stemmer(STEMMER)
        self._stop = frozenset(STOPWORDS_EN)
        self._lock = threading.Lock()  # a Snowball stemmer is not re-entrant

    def __missing__(self, word: str) -> str:
        with self._lock:
            stem = "" if word in self._stop else str(self._stemmer.stemWord(word))
        if len(self) > 500_000:  # a bound on memory for very large vocabularies
            self.clear()
        self[word] = stem
        return stem


class Analyzer:
    """Text → BM25 terms: lower-case words, English stopwords dropped, Snowball-stemmed."""

    def __init__(self) -> None:
        self._stems = _Stems()

    def terms(self, text: str) -> list[str]:
        return [s for s in map(self._stems.__getitem__, TOKEN.findall(text.lower())) if s]
