"""The knowledge base an evaluation runs against: `--kb`, or one built from the dataset's own corpus.

Corpus knowledge bases live in `embeddings/eval-<dataset>-<hash12>/`, the hash covering everything
that changes the vectors (model, chunker settings, every article's id and content). A second run
finds the folder and `Assistant.build` sees every article unchanged, so nothing is re-embedded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from citeqa.assistant import Assistant
from citeqa.config import Config, default_kb_path
from citeqa.datasets import Dataset
from citeqa.ingest import content_hash
from citeqa.schema import Article


def corpus_hash(articles: tuple[Article, ...] | list[Article], config: Config) -> str:
    """12 hex digits over the model, the chunker settings and each article's id and content hash."""
    h = hashlib.sha256()
    h.update(json.dumps([config.model, config.chunk.to_dict()], sort_keys=True).encode())
    for a in sorted(articles, key=lambda a: a.id):
        h.update(json.dumps([a.id, content_hash(a)]).encode())
    return h.hexdigest()[:12]


def cache_path(dataset: Dataset, config: Config, root: str | os.PathLike[str] = "embeddings") -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset.name).strip("-") or "dataset"
    return Path(root) / f"eval-{slug}-{corpus_hash(dataset.articles, config)}"


def open_for(
    dataset: Dataset,
    kb: str | os.PathLike[str] | None = None,
    *,
    config: Config | None = None,
    progress: bool = True,
    cache_root: str | os.PathLike[str] = "embeddings",
) -> Assistant:
    """`--kb` when given; else the dataset's own corpus (cached); else the default knowledge base."""
    cfg = config or Config()
    if kb is not None:
        return Assistant.open(kb, config=cfg)
    if dataset.articles:
        return Assistant.build(
            list(dataset.articles), kb=cache_path(dataset, cfg, cache_root), config=cfg, progress=progress
        )
    return Assistant.open(default_kb_path(), config=cfg)
