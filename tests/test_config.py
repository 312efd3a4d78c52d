"""Settings are data: Config round-trips through plain JSON values and a knowledge base's manifest
keeps the settings it was built with (only those that differ from the defaults)."""

from __future__ import annotations

import json

import pytest

from citeqa import Assistant
from citeqa.answer import CONFIDENCE_FEATURES, MODEL
from citeqa.config import ChunkSettings, ComposerSettings, Config, Fusion, FusionMethod
from citeqa.errors import ConfigError
from citeqa.features import SENTENCE_FEATURES
from citeqa.schema import Article


def test_config_round_trips_through_json():
    c = Config(
        fusion="rrf",
        retriever="dense",
        chunk=ChunkSettings(max_tokens=120),
        composer=ComposerSettings(max_sentences=1),
    )
    again = Config.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c and again.fusion is FusionMethod.RRF


def test_fusion_method_is_an_enum_and_one_source_of_defaults():
    assert Config().fusion is FusionMethod.SCORE and Fusion().method is FusionMethod.SCORE
    assert Config().fusion_settings() == Fusion()
    with pytest.raises(ConfigError, match="fusion must be one of score, rrf"):
        Config(fusion="mean")


def test_unknown_and_bad_settings_name_themselves():
    with pytest.raises(ConfigError, match="unknown setting.*fusoin"):
        Config.from_dict({"fusoin": "rrf"})
    with pytest.raises(ConfigError, match="max_sentences"):
        Config.from_dict({"composer": {"max_sentences": 9}})


def test_changed_only_keeps_just_the_choices():
    assert Config().to_dict(changed_only=True) == {}
    assert Config(retriever="lexical").to_dict(changed_only=True) == {"retriever": "lexical"}


def test_a_knowledge_base_remembers_its_settings(tmp_path, hash_embedder):
    docs = [Article(id="a", title="A", text="The ferry crossing took 19 hours in the storm.")]
    cfg = Config(retriever="lexical", composer=ComposerSettings(max_sentences=1))
    Assistant.build(docs, kb=tmp_path / "kb", embedder=hash_embedder, config=cfg, progress=False).close()
    manifest = json.loads((tmp_path / "kb" / "manifest.json").read_text())
    assert manifest["settings"] == {"retriever": "lexical", "composer": cfg.composer.to_dict()}
    with Assistant.open(tmp_path / "kb", embedder=hash_embedder) as qa:
        assert qa.config.retriever == "lexical" and qa.composer.max_sentences == 1
    with Assistant.open(tmp_path / "kb", embedder=hash_embedder, config=Config()) as qa:
        assert qa.config.retriever == "hybrid"  # an explicit config wins


def test_composer_weights_are_keyed_by_feature_name():
    assert set(MODEL.sentence.weights) <= set(SENTENCE_FEATURES)
    assert set(MODEL.confidence.weights) == set(CONFIDENCE_FEATURES)
    assert 0.0 < MODEL.abstain_below < 1.0
