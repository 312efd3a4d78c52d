"""Helpers shared by the benchmark scripts: where the shared data is, cached knowledge bases."""

from __future__ import annotations

import hashlib
import os
import resource
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CITEQA_DATA", REPO.parent / "shared" / "data"))
RUNS = REPO / "runs"
SQUAD_DEV = DATA / "squad_v1.1_dev" / "dev-v1.1.json"


def cache_dir(name: str, *parts: object) -> Path:
    """A folder under runs/ named by the inputs, so a second run reuses the same knowledge base."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:12]
    return RUNS / "kb-cache" / f"{name}-{digest}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    i = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[i]
