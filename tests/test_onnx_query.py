"""A cold process answers without torch: questions go through a verified ONNX export, trusted again
from the torch vectors recorded beside it (onnx_query.load_verified)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

HEAVY = ("torch", "sentence_transformers", "faiss", "gradio", "transformers", "onnxruntime", "bm25s")


def _child(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_help_imports_no_heavy_module():
    code = (
        "import sys\nfrom citeqa.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    assert _child(code) == "[]"


def test_a_cold_ask_with_a_verified_export_imports_no_torch(seed_kb, real_embedder, tmp_path):
    from citeqa import onnx_query

    assert real_embedder._onnx_encoder() is not None  # exported, checked against torch, recorded
    assert list(onnx_query.cache_dir().glob("onnx/*.json")), "the check is recorded beside the export"
    code = (
        "import sys\nfrom citeqa import Assistant\n"
        f"qa = Assistant.open({str(seed_kb)!r})\n"
        "a = qa.ask('Where will the Heydar Aliyev-2023 drills be held?')\n"
        "print(a.short.text if a.short else None, type(qa.question_encoder).__name__,"
        " 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    assert _child(code) == "Kars VerifiedQuestionEncoder False False"


def test_a_changed_record_is_not_trusted(real_embedder):
    from citeqa import onnx_query
    from citeqa.embed import resolve_model_path

    assert real_embedder._onnx_encoder() is not None
    name = "all-MiniLM-L6-v2"
    fast = onnx_query.load_verified(name, resolve_model_path(name))
    assert fast is not None and fast.dim == 384
    q = ["Where will the drills be held?"]
    assert abs(fast.encode_queries(q) - real_embedder.encode_queries(q)).max() < 1e-4
    (record,) = onnx_query.cache_dir().glob("onnx/*.json")
    saved = record.read_text()
    meta = json.loads(saved)
    meta["probes"][0][0] += 0.01  # as if the export no longer matched what torch said
    record.write_text(json.dumps(meta))
    try:
        assert onnx_query.load_verified(name, resolve_model_path(name)) is None
    finally:
        record.write_text(saved)
