"""The frozen dataclasses that flow between stages. No `dict[str, Any]` crosses a module boundary.

Offsets are Python string indices into `Article.text`; the contract every test checks is
`article.text[start:end] == quote` for passages, sentences and citations alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from citeqa.dates import display_published
from citeqa.markers import cited_text
from citeqa.text import plural


@dataclass(frozen=True)
class Article:
    """One article as stored: `text` is the body exactly as ingested (metadata lines removed)."""

    id: str
    title: str
    text: str
    source: str = ""
    url: str = ""
    published: str = ""  # ISO date (YYYY-MM-DD) when known, else ""
    path: str = ""  # where it was read from, relative to the ingest root when possible


@dataclass(frozen=True)
class Span:
    """A character range `[start, end)` of an article's text."""

    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A chunk of an article: `article.text[start:end] == text`."""

    id: str
    article_id: str
    ordinal: int
    text: str
    start: int
    end: int
    sentences: tuple[Span, ...] = ()  # sentence spans inside this passage, article offsets
    n_tokens: int = 0  # word pieces the embedder sees (title prefix included)


@dataclass(frozen=True)
class StoryCopy:
    """Another article that is a near copy of the same story (the same wire story in another
    outlet: kb/copies.py groups them at ingest)."""

    article_id: str
    title: str = ""
    source: str = ""
    published: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def label(self) -> str:
        """ "Ferry back in service (Reuters, 2024-03-05)": title, then source and date when known."""
        details = ", ".join(x for x in (self.source, display_published(self.published)) if x)
        name = self.title or self.article_id
        return f"{name} ({details})" if details else name


@dataclass(frozen=True)
class Hit:
    """A retrieved passage. `score` is the final (fused) score; ranks are 1-based, 0 = not ranked."""

    passage: Passage
    score: float
    rank: int
    dense_rank: int = 0
    lexical_rank: int = 0
    dense_score: float = 0.0
    lexical_score: float = 0.0
    #: The other copies of this passage's story, earliest first (retrieval shows one copy a story).
    also_in: tuple[StoryCopy, ...] = ()


@dataclass(frozen=True)
class Citation:
    """A checkable pointer: `article.text[start:end] == quote`."""

    n: int
    article_id: str
    passage_id: str
    start: int
    end: int
    quote: str
    title: str = ""
    source: str = ""
    published: str = ""
    also_in: tuple[StoryCopy, ...] = ()  #: the other copies of the cited article's story

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "n": self.n,
            "article_id": self.article_id,
            "passage_id": self.passage_id,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "title": self.title,
            "source": self.source,
            "published": self.published,
        }
        if self.also_in:  # additive: only when the story is in other articles too
            out["also_in"] = [c.to_dict() for c in self.also_in]
        return out


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer and the citation numbers that back it (plain text: markers are
    added by whoever renders it, citeqa.markers)."""

    text: str
    citations: tuple[int, ...]
    #: written by a language model: whether its citation supports it (verify.py); None when extractive
    supported: bool | None = None
    #: numbers, names and dates it holds that none of its cited passages has (a model's inventions)
    flagged: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"text": self.text, "citations": list(self.citations)}
        if self.supported is not None:
            out["supported"] = self.supported
            out["flagged"] = list(self.flagged)
        return out


@dataclass(frozen=True)
class ShortAnswer:
    """The answer itself ("Kars"): `article.text[start:end] == text`, inside citation `citation`."""

    text: str
    article_id: str
    start: int
    end: int
    citation: int = 1  #: the number of the citation whose quote holds this span


@dataclass(frozen=True)
class Answer:
    """What `Assistant.ask` returns. `to_dict()` is the JSON contract of DESIGN.md."""

    question: str
    text: str  # plain: the short answer's lead, then the sentences (or the refusal); no markers
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    abstained: bool
    confidence: float
    short: ShortAnswer | None = None
    reason: str = ""  # why the assistant abstained (empty when it answered)
    query: str = ""  # the retrieval query actually used (differs for chat follow-ups)
    lead: str = ""  # the short answer before the sentences ("Kars. "), part of `text`
    # the day (its time too, for two reports of one day) the answer speaks as of, when later
    # articles changed an earlier account
    as_of: str = ""
    note: str = ""  # how the question's relative time was read ("this week" read as ...)
    mode: str = "extractive"  # "llm" when a language model wrote it (each sentence checked: llm.py)
    # one line when the language model could not be used and this is the fallback, or when sentences
    # of a written answer were left out (llm_unsupported="drop")
    notice: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "question": self.question,
            "answer": cited_text(self),  # rendered text, with markers (DESIGN.md)
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "mode": self.mode,
            "sentences": [s.to_dict() for s in self.sentences],
            "citations": [c.to_dict() for c in self.citations],
            "passages": [_passage_dict(h) for h in self.hits],
        }
        if self.short is not None:
            out["short"] = {
                "text": self.short.text,
                "article_id": self.short.article_id,
                "start": self.short.start,
                "end": self.short.end,
                "citation": self.short.citation,
            }
        if self.abstained:
            out["reason"] = self.reason
        if self.query and self.query != self.question:
            out["query"] = self.query
        if self.as_of:
            out["as_of"] = self.as_of
        if self.note:
            out["note"] = self.note
        if self.notice:
            out["notice"] = self.notice
        return out


def _passage_dict(h: Hit) -> dict[str, object]:
    out: dict[str, object] = {
        "rank": h.rank,
        "passage_id": h.passage.id,
        "article_id": h.passage.article_id,
        "score": round(h.score, 4),
        "dense_rank": h.dense_rank,
        "lexical_rank": h.lexical_rank,
        "start": h.passage.start,
        "end": h.passage.end,
        "text": h.passage.text,
    }
    if h.also_in:  # additive: only when the story is in other articles too
        out["also_in"] = [c.to_dict() for c in h.also_in]
    return out


@dataclass(frozen=True)
class Skipped:
    """A file or record that could not be ingested, and why (names the file and line)."""

    path: str
    reason: str


@dataclass(frozen=True)
class IngestReport:
    """What `Assistant.add` did. Lists hold article ids, except `skipped`."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    removed: tuple[str, ...] = ()
    passages: int = 0  # passages embedded by this call
    truncated: int = 0  # passages the model would cut (target 0)
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.skipped)} skipped",
        ]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        return ", ".join(parts) + f"; {plural(self.passages, 'passage')} embedded in {self.seconds:.1f}s"
