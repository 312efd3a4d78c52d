"""The answer composer's fitted model: `models/composer.json`, written by `python -m bench.fit_composer`.

Sentence scorer: logistic regression, P(sentence holds a gold answer), on SQuAD v1.1 dev questions
of half A of the articles. Confidence: logistic regression, P(best sentence answers), on the same
questions asked with and without their article. Threshold: answers 97% of half A's answerable.
Both are keyed by feature name (features.SENTENCE_FEATURES, answer.CONFIDENCE_FEATURES).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.logistic import Logistic

PATH = Path(__file__).with_name("models") / "composer.json"


@dataclass(frozen=True)
class ComposerModel:
    sentence: Logistic  #: P(the sentence holds the answer)
    confidence: Logistic  #: P(the best sentence answers the question)
    abstain_below: float  #: confidence under this → abstain

    def sentence_weights(self, names: Sequence[str]) -> np.ndarray:
        """The sentence weights in the column order of a feature table (a feature the fitted model
        has not seen yet weighs nothing, until bench.fit_composer is rerun)."""
        return np.array([self.sentence.weights.get(n, 0.0) for n in names], dtype=np.float32)

    def to_dict(self, **about: Any) -> dict[str, Any]:
        return {
            **about,
            "sentence": self.sentence.to_dict(),
            "confidence": self.confidence.to_dict(),
            "abstain_below": round(self.abstain_below, 4),
        }


@lru_cache(maxsize=1)
def load(path: Path = PATH) -> ComposerModel:
    d = json.loads(path.read_text(encoding="utf-8"))
    return ComposerModel(
        Logistic.from_dict(d["sentence"]), Logistic.from_dict(d["confidence"]), float(d["abstain_below"])
    )


def save(model: ComposerModel, path: Path = PATH, **about: Any) -> None:
    path.write_text(json.dumps(model.to_dict(**about), indent=2) + "\n", encoding="utf-8")
