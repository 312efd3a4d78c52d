"""The index ladder: exact search while small, IVF when large, chosen by size or by setting."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citeqa import Assistant, ConfigError
from citeqa.config import Config
from citeqa.kb import ladder
from citeqa.schema import Article


def _docs(n: int, start: int = 0) -> list[Article]:
    return [
        Article(id=f"a{i}", title=f"Doc {i}", text=f"Report {i}. The river R{i} flooded the town of X{i}.")
        for i in range(start, start + n)
    ]


def _clustered(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors around 50 centres: neighbourhoods like real embeddings', unlike uniform noise."""
    centres = rng.standard_normal((50, dim)).astype(np.float32)
    v = centres[rng.integers(0, 50, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_auto_is_exact_while_small_and_ivf_when_large_without_flapping():
    n = ladder.IVF_FROM
    assert ladder.wanted("auto", n - 1) == "flat"
    assert ladder.wanted("auto", n) == "ivf"
    assert ladder.wanted("auto", n - 1, current="ivf") == "ivf"  # a few removals keep IVF
    assert ladder.wanted("auto", ladder.FLAT_BELOW - 1, current="ivf") == "flat"
    assert ladder.wanted("flat", 10 * n) == "flat"
    assert ladder.wanted("ivf", ladder.IVF_MIN) == "ivf"
    assert ladder.wanted("ivf", ladder.IVF_MIN - 1) == "flat"  # too few vectors to train on


def test_lists_grow_with_the_square_root_and_never_starve_training():
    assert ladder.nlist_for(1_000_000) == 4096
    assert ladder.nlist_for(100_000) == 1024
    assert ladder.nlist_for(2_000) == 2_000 // ladder.TRAIN_PER_LIST


def test_ivf_finds_what_exact_search_finds_and_holds_the_same_ids(tmp_path):
    rng = np.random.default_rng(0)
    vecs = _clustered(4_000, 32, rng)
    ids = np.arange(4_000, dtype=np.int64) * 3 + 7  # ids are not positions
    flat = ladder.build("flat", 32, ids, vecs)
    ivf = ladder.build("ivf", 32, ids, vecs)
    assert ladder.kind_of(ivf) == "ivf" and ladder.kind_of(flat) == "flat"
    assert ladder.ids_of(ivf) == ladder.ids_of(flat) == set(ids.tolist())
    queries = _clustered(200, 32, rng)
    _, exact = flat.search(queries, 10)
    _, approx = ivf.search(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.95
    ivf.remove_ids(ids[:10])
    assert ladder.ids_of(ivf) == set(ids[10:].tolist())
    ladder_file = tmp_path / "x.faiss"
    import faiss

    faiss.write_index(ivf, str(ladder_file))
    mapped = ladder.read(ladder_file, mapped=True)
    assert mapped.nprobe == ladder.NPROBE
    assert np.array_equal(mapped.search(queries[:5], 10)[1], ivf.search(queries[:5], 10)[1])


def test_a_knowledge_base_moves_up_the_ladder_as_it_grows_and_down_as_it_shrinks(
    tmp_path, hash_embedder, monkeypatch
):
    monkeypatch.setattr(ladder, "IVF_MIN", 50)
    monkeypatch.setattr(ladder, "IVF_FROM", 300)
    monkeypatch.setattr(ladder, "FLAT_BELOW", 150)
    kb = tmp_path / "kb"
    qa = Assistant.build(_docs(250), kb=kb, embedder=hash_embedder, progress=False)
    assert qa.kb.dense.describe().startswith("flat")
    qa.add(_docs(100, start=250), progress=False)  # 350 passages: past IVF_FROM
    assert qa.kb.dense.describe().startswith("ivf")
    qa.close()
    # A fresh process maps the file read-only; its writes must work on a copy (FAISS would abort).
    qa = Assistant.open(kb, embedder=hash_embedder)
    assert qa.kb.dense.describe().startswith("ivf")
    qa.remove(*[f"a{i}" for i in range(100)])  # 250 left: in the overlap band, IVF stays
    assert qa.kb.dense.describe().startswith("ivf")
    hits = {
        qa.kb.records.passages([v])[v][0].article_id
        for v, _ in qa.kb.search(
            hash_embedder.encode_queries(["The river R320 flooded the town of X320."])[0], 5
        )
    }
    assert "a320" in hits and not any(h in hits for h in ("a5", "a50"))
    assert qa.kb.verify() == []
    qa.remove(*[f"a{i}" for i in range(100, 220)])  # 130 left: below FLAT_BELOW
    assert qa.kb.dense.describe().startswith("flat")
    assert qa.kb.verify() == []


def test_the_setting_is_kept_by_the_knowledge_base_and_can_be_changed(tmp_path, hash_embedder, monkeypatch):
    monkeypatch.setattr(ladder, "IVF_MIN", 50)
    kb = tmp_path / "kb"
    qa = Assistant.build(
        _docs(120), kb=kb, config=Config(index="ivf"), embedder=hash_embedder, progress=False
    )
    assert qa.kb.dense.describe().startswith("ivf")
    assert json.loads((kb / "manifest.json").read_text())["settings"]["index"] == "ivf"
    qa.close()
    qa = Assistant.open(kb, embedder=hash_embedder)
    assert qa.kb.dense.describe().startswith("ivf")
    assert qa.set_index("flat") is True
    assert qa.kb.dense.describe().startswith("flat")
    assert qa.set_index("flat") is False
    qa.close()
    qa = Assistant.open(kb, embedder=hash_embedder)
    assert qa.kb.dense.describe().startswith("flat")
    assert qa.set_index("auto") is True
    assert "index" not in json.loads((kb / "manifest.json").read_text()).get("settings", {})
    with pytest.raises(ConfigError, match="index must be one of auto, flat, ivf"):
        qa.set_index("hnsw")
    with pytest.raises(ConfigError, match="index must be one of"):
        Config(index="hnsw")
