"""A fitted logistic model over named features: the weights files (models/*.json) are keyed by
feature name, so a model never depends on the column order of a feature table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Logistic:
    """P(yes | features) = sigmoid(bias + sum of weight * feature); a feature it doesn't name weighs
    nothing, a name it has but the features lack counts as 0."""

    weights: Mapping[str, float]
    bias: float

    def probability(self, features: Mapping[str, float]) -> float:
        return sigmoid(self.bias + sum(w * features.get(name, 0.0) for name, w in self.weights.items()))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Logistic:
        return cls({str(k): float(v) for k, v in dict(d["weights"]).items()}, float(d["bias"]))

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        return {
            "weights": {k: round(float(v), digits) for k, v in self.weights.items()},
            "bias": round(float(self.bias), digits),
        }


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))
