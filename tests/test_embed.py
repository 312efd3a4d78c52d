"""The real MiniLM wrapper: query vectors, passage vectors and token counting."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import run_in_threads


def test_query_fast_path_matches_sentence_transformers_encode(real_embedder):
    texts = ["Where will the drills be held?", "Which border checkpoint did the units pass on their way?"]
    reference = real_embedder._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    one_by_one = np.vstack([real_embedder.encode_queries([t]) for t in texts])
    together = real_embedder.encode_queries(texts)  # padded to the longer one: the mask must hide it
    many = real_embedder.encode_queries(texts * 3)  # more than a few: the batched encode path
    for got in (one_by_one, together, many[:2]):
        assert got.shape == (2, real_embedder.dim) and got.dtype == np.float32
        assert np.allclose(got, reference, atol=1e-5)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert real_embedder.encode_queries([]).shape == (0, real_embedder.dim)


def test_passage_vectors_are_normalised_and_one_per_sentence(real_embedder):
    text = "The drills start on Monday. Units crossed the Araz bridge."
    spans = [(0, 27), (28, len(text))]
    (emb,) = real_embedder.encode_passages([text], [spans])
    assert abs(float(np.linalg.norm(emb.vector)) - 1.0) < 1e-5
    assert len(emb.sentence_vectors) == 2
    # The passage vector is the model's own embedding of the passage.
    assert float(emb.vector @ real_embedder.encode_queries([text])[0]) > 0.999


def test_token_count_and_truncation_agree(real_embedder):
    text = "word " * 400
    assert real_embedder.count_tokens(text) == 400
    cut = real_embedder.truncate(text, 256)
    assert real_embedder.count_tokens(cut) == 256 and text.startswith(cut)


def test_questions_go_through_onnx_with_the_same_vectors(real_embedder):
    from citeqa import onnx_query

    encoder = real_embedder._onnx_encoder()
    assert encoder is not None, "onnxruntime is a dependency: the fast path must be on"
    texts = ["Who spoke at the ceremony?", "And when was it signed?"]
    torch_vecs = real_embedder._encode_few(texts)
    assert np.abs(encoder.encode(texts) - torch_vecs).max() < 1e-5
    assert list(onnx_query.cache_dir().glob("onnx/*.onnx")), "the export is cached"


def test_onnx_falls_back_to_torch_and_repairs_its_cache(real_embedder, monkeypatch, caplog):
    from citeqa import onnx_query

    model, path, ref = real_embedder._model, real_embedder._path, real_embedder._encode_few
    tok = real_embedder._tok
    monkeypatch.setenv("CITEQA_ONNX", "0")
    assert onnx_query.load(model, path, ref, tok) is None
    monkeypatch.setenv("CITEQA_ONNX", "1")
    # A reference it can't reproduce: refused, with the reason logged.
    assert onnx_query.load(model, path, lambda texts: np.zeros((len(texts), 384), np.float32), tok) is None
    assert "differs" in caplog.text
    # A damaged cache file is exported again, not trusted and not fatal.
    (cached,) = onnx_query.cache_dir().glob("onnx/*.onnx")
    cached.write_bytes(b"not an onnx file")
    assert onnx_query.load(model, path, ref, tok) is not None
    assert cached.stat().st_size > 1_000_000
    # The live torch model stays in eval mode after an export (no dropout in passage vectors).
    assert not model.training and not model[0].auto_model.training


def test_tokenizer_is_safe_from_many_threads(real_embedder):
    """Questions, token counts and passage batches at once, as the web server does them. Fast
    tokenizers are known to raise "Already borrowed" when two threads re-configure them at once
    (huggingface/transformers#47085); tokenizers 0.23.3 did not here, but the embedder serialises its
    tokenizer calls anyway, and this checks the whole mix stays error-free."""
    texts = ["Where will the drills be held?", "Units crossed the Araz bridge. " * 30]

    def work(i: int) -> None:
        for _ in range(8):
            if i % 3 == 0:
                real_embedder.encode_queries(texts[:1])
            elif i % 3 == 1:
                real_embedder.count_tokens(texts[1])
                real_embedder.truncate(texts[1], 50)
            else:
                real_embedder.encode_passages(texts, [[(0, 10)], [(0, 30)]])

    errors = run_in_threads(work, 6)
    assert errors == []


def test_onnx_cache_is_bounded(tmp_path):
    import os
    import time

    from citeqa import onnx_query

    old = time.time() - 7200
    files = [tmp_path / f"{i}.onnx" for i in range(6)]
    for i, f in enumerate(files):
        f.write_bytes(b"x")
        os.utime(f, (old + i, old + i))
    stale, fresh = tmp_path / "a.tmp", tmp_path / "b.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (old, old))
    fresh.write_bytes(b"an export in progress")
    onnx_query._sweep(files[0], newest=4)
    left = sorted(f.name for f in tmp_path.glob("*.onnx"))
    assert left == ["0.onnx", "3.onnx", "4.onnx", "5.onnx"]  # the one in use and the 3 newest others
    assert not stale.exists() and fresh.exists()


@pytest.mark.slow  # imports sentence-transformers (about 5 s) before it finds no such model
def test_unknown_model_is_one_clear_line():
    from citeqa.embed import load_embedder
    from citeqa.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_embedder("no-such-org/no-such-model")
    msg = str(info.value)
    assert "no such local folder" in msg and "\n" not in msg and "huggingface.co" not in msg


def test_precision_is_checked_and_auto_follows_the_cpu():
    from citeqa.embed import _cpu_has_bf16, resolve_precision
    from citeqa.errors import ConfigError

    assert resolve_precision("auto") == ("bf16" if _cpu_has_bf16() else "fp32")
    assert resolve_precision("fp32") == "fp32" and resolve_precision("auto", device="cuda") == "fp32"
    with pytest.raises(ConfigError, match="precision must be one of auto, fp32, bf16"):
        resolve_precision("fp8")


def test_bf16_passages_keep_the_float32_vectors(real_embedder):
    texts = [
        "Heydar Aliyev-2023\nThe drills will be held in Kars. Units left Nakhchivan for the border.",
        "The ferry crossing took 19 hours. Eight inches of rain fell overnight.",
    ]
    spans = [[(19, 52), (53, len(texts[0]))], [(0, 32), (33, len(texts[1]))]]
    saved = real_embedder.precision
    try:
        real_embedder.precision = "fp32"
        full = real_embedder.encode_passages(texts, spans)
        real_embedder.precision = "bf16"
        half = real_embedder.encode_passages(texts, spans)
    finally:
        real_embedder.precision = saved
    for a, b in zip(full, half):
        assert float(a.vector @ b.vector) > 0.999
        assert (a.sentence_vectors * b.sentence_vectors).sum(axis=1).min() > 0.999
