"""`manifest.json`: how a knowledge base was built (format, model, dimension, chunker) and its
counts at a generation. Readers refuse a knowledge base built with another model or format; repair
rebuilds a damaged manifest from what survives (`damage`, `chunker_of`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from citeqa.config import DEFAULT_MODEL, ChunkSettings
from citeqa.errors import CiteqaError, KBError
from citeqa.kb.files import write_text_atomically

FORMAT = "citeqa-kb"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    """How a knowledge base was built; opening with a different model or dimension is refused."""

    model: str
    dim: int
    chunker: dict[str, int]
    format_version: int = FORMAT_VERSION
    normalized: bool = True
    metric: str = "inner_product"
    settings: dict[str, object] = field(default_factory=dict)  #: the Config it was built with

    def __hash__(self) -> int:
        return hash((self.model, self.dim, self.format_version))

    def to_dict(self, counts: dict[str, int], generation: int) -> dict[str, object]:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "model": self.model,
            "dim": self.dim,
            "normalized": self.normalized,
            "metric": self.metric,
            "chunker": self.chunker,
            "counts": counts,
            "generation": generation,
        } | ({"settings": self.settings} if self.settings else {})

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Manifest:
        """The build settings of a parsed manifest; ValueError/KeyError/TypeError when malformed."""
        return cls(
            model=str(raw["model"]),
            dim=int(raw["dim"]),  # type: ignore[call-overload]
            chunker={str(k): int(v) for k, v in dict(raw["chunker"]).items()},  # type: ignore[call-overload]
            format_version=int(raw["format_version"]),  # type: ignore[call-overload]
            settings=dict(raw["settings"]) if isinstance(raw.get("settings"), dict) else {},  # type: ignore[arg-type]
        )

    def write(self, root: Path, counts: dict[str, int], generation: int) -> None:
        """Atomically, through a private temporary name (two processes refreshing stale counts at
        once never rename each other's file away)."""
        data = self.to_dict(counts, generation)
        write_text_atomically(root / MANIFEST, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_raw(root: Path) -> dict[str, object]:
    """The parsed manifest.json of `root` (a KBError naming the repair when it is not JSON)."""
    path = root / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise KBError(damaged_advice(path, root, str(exc))) from exc
    if not isinstance(raw, dict):
        raise KBError(damaged_advice(path, root, "not a JSON object"))
    return raw


def damaged_advice(path: Path, root: Path, why: str) -> str:
    """What to do about a damaged manifest: repair needs the model's name when the manifest lost it,
    so say so up front (a fresh user ran the advised command and was asked for --model)."""
    return (
        f"the manifest {path} is damaged ({why}); run `citeqa repair --kb {root} --model NAME` with the "
        f"model it was built with (the default is {DEFAULT_MODEL}), or rebuild with `citeqa ingest`"
    )


def damage(m: dict[str, object]) -> str:
    """Why a parsed manifest is unusable, or "" when it is usable."""
    if m.get("format") != FORMAT:
        return f"has format {m.get('format')!r}, not {FORMAT!r}"
    if m.get("format_version") != FORMAT_VERSION:
        return f"has format version {m.get('format_version')!r}, not {FORMAT_VERSION}"
    if not isinstance(m.get("model"), str) or not m.get("model"):
        return "has no model name"
    if not isinstance(m.get("dim"), int) or int(m["dim"]) <= 0:  # type: ignore[call-overload]
        return f"has a bad dimension {m.get('dim')!r}"
    if chunker_of(m)[1] != "the old manifest":
        return f"has bad chunker settings {m.get('chunker')!r}"
    return ""


def chunker_of(m: dict[str, object]) -> tuple[dict[str, int], str]:
    """The manifest's chunker settings and where they came from (the defaults when they are lost)."""
    raw = m.get("chunker")
    try:
        if isinstance(raw, dict):
            return ChunkSettings(**{str(k): int(v) for k, v in raw.items()}).to_dict(), "the old manifest"
    except (TypeError, ValueError, CiteqaError):
        pass
    return ChunkSettings().to_dict(), "the defaults (the old manifest lost them)"
