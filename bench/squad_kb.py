"""Build (or reuse) knowledge bases over SQuAD v1.1 dev for the benchmarks."""

from __future__ import annotations

from pathlib import Path

from bench.common import SQUAD_DEV, cache_dir
from citeqa import Assistant
from citeqa.config import Config
from citeqa.datasets import Dataset, load_squad


def squad_assistant(unit: str = "article", config: Config | None = None) -> tuple[Assistant, Dataset]:
    data = load_squad(SQUAD_DEV, unit=unit)
    cfg = config or Config()
    kb: Path = cache_dir(f"squad-{unit}", cfg.model, cfg.chunk.to_dict(), [a.id for a in data.articles])
    qa = Assistant.build(list(data.articles), kb=kb, config=cfg)
    return qa, data
