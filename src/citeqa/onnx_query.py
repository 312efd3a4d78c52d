"""Questions through ONNX Runtime: the same MiniLM, the same vectors, about 2.5x faster a question.

Encoding the question is most of `ask` (torch: ~19 ms of ~28 ms on one core). The transformer is
exported once from the loaded sentence-transformers model to a cache file (about 2 s) and checked
against torch on probe texts before it is used: if the vectors differ (a model whose pooling this
module does not reproduce, an exporter change), or ONNX Runtime is missing or the export fails,
questions keep going through torch and a warning says why. Passages are always embedded by torch.

The cache lives in $CITEQA_CACHE (default ~/.cache/citeqa); `CITEQA_ONNX=0` turns this off.

A verified export also records torch's vectors of the probe texts beside it (`<key>.json`), so a later
process can trust it without torch at all (`load_verified`): it checks the ONNX vectors of the probes
against the recorded ones and needs only onnxruntime and the tokenizer. A one-shot `citeqa ask`
then answers without importing torch or sentence-transformers (about 4 s of a cold start).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_PROBES = (
    "Where will the Heydar Aliyev-2023 drills be held?",
    "How many?",
    "Which border checkpoint did the units of the Combined Arms Army pass on their way to Kars in 2023?",
)
_TOLERANCE = 1e-4  # max abs difference of normalised vectors (float32 kernels differ at ~1e-6)


def cache_dir() -> Path:
    return Path(os.environ.get("CITEQA_CACHE") or Path.home() / ".cache" / "citeqa")


def enabled() -> bool:
    return os.environ.get("CITEQA_ONNX", "1").strip().lower() not in ("0", "false", "no", "off")


class OnnxQueryEncoder:
    """Mean-pooled, normalised question vectors from an ONNX export of the model's transformer."""

    def __init__(self, session: Any, tokenizer: Any, max_tokens: int, inputs: tuple[str, ...]) -> None:
        self._session = session
        self._tok = tokenizer
        self._max_tokens = max_tokens
        self._inputs = inputs

    def encode(self, texts: list[str]) -> np.ndarray:
        enc = self._tok(
            texts, padding=True, truncation=True, max_length=self._max_tokens, return_tensors="np"
        )
        feed = {name: np.asarray(enc[name], dtype=np.int64) for name in self._inputs}
        hidden = self._session.run(None, feed)[0]  # (batch, tokens, dim)
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.where(norms > 0, norms, 1.0), dtype=np.float32)


_export_lock = threading.Lock()


def load(st_model: Any, model_path: str, reference: Any, tokenize: Any) -> OnnxQueryEncoder | None:
    """The ONNX encoder for `st_model`, or None (with a logged reason) when it can't be trusted.

    `reference(texts)` is the torch encoder whose vectors the ONNX ones must reproduce; `tokenize` is
    the model's tokenizer behind the embedder's lock (a fast tokenizer called from two threads at once
    can fail with "Already borrowed").
    """
    if not enabled():
        return None
    try:
        import onnxruntime as ort
    except ImportError:
        log.warning("onnxruntime is not installed; questions are encoded by torch (slower)")
        return None
    try:
        if not _plain_mean_pooling(st_model):
            log.info("question encoding stays on torch: the model's pooling is not plain mean pooling")
            return None
        return _load(ort, st_model, model_path, reference, tokenize)
    except Exception as exc:  # an exporter, runtime or library-version problem must never stop answers
        log.warning("questions are encoded by torch: ONNX failed (%s: %s)", type(exc).__name__, exc)
        return None


def _load(ort: Any, st_model: Any, model_path: str, reference: Any, tok: Any) -> OnnxQueryEncoder | None:
    transformer = st_model[0].auto_model
    max_tokens = int(st_model.max_seq_length or 256)
    inputs = tuple(n for n in _INPUTS if n in st_model.tokenizer.model_input_names)
    for attempt in (1, 2):
        path = _exported(transformer, tok, model_path, inputs)
        try:
            encoder = _open(ort, path, tok, max_tokens, inputs)
            expected = reference(list(_PROBES))
            diff = float(np.abs(encoder.encode(list(_PROBES)) - expected).max())
        except PermissionError:
            raise  # someone else's file in a shared cache: leave it alone
        except Exception:
            if attempt == 2:
                raise
            path.unlink(missing_ok=True)  # damaged (a crash mid-copy, a disk error): export it again
            continue
        if diff <= _TOLERANCE:
            _record(path, inputs, max_tokens, expected)
            return encoder
        if attempt == 2:
            log.warning("questions are encoded by torch: the ONNX export differs from it by %.2g", diff)
            return None
        path.unlink(missing_ok=True)  # exported by other library versions? once more from this model
    return None


def _open(ort: Any, path: Path, tok: Any, max_tokens: int, inputs: tuple[str, ...]) -> OnnxQueryEncoder:
    opts = ort.SessionOptions()
    # One thread: a question gains nothing from more, and spinning threads hurt a busy machine.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return OnnxQueryEncoder(session, tok, max_tokens, inputs)


def _plain_mean_pooling(st_model: Any) -> bool:
    """Transformer → mean Pooling → (Normalize): what OnnxQueryEncoder.encode reproduces."""
    modules = list(st_model)
    names = [type(m).__name__ for m in modules]
    if len(names) < 2 or names[0] != "Transformer" or names[1] != "Pooling":
        return False
    if any(n != "Normalize" for n in names[2:]):
        return False
    pooling = modules[1]
    # sentence-transformers 5 names the mode; older releases had one flag per mode.
    return getattr(pooling, "pooling_mode", None) == "mean" or (
        getattr(pooling, "pooling_mode_mean_tokens", False)
        and not getattr(pooling, "pooling_mode_cls_token", False)
        and not getattr(pooling, "pooling_mode_max_tokens", False)
    )


def _exported(transformer: Any, tok: Any, model_path: str, inputs: tuple[str, ...]) -> Path:
    """Export once per model and library versions; a damaged cache file is simply exported again."""
    import torch

    path = cache_dir() / "onnx" / f"{_cache_key(model_path, inputs)}.onnx"
    if path.is_file() and path.stat().st_size > 0:
        return path
    with _export_lock:
        if path.is_file() and path.stat().st_size > 0:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)

        class _Hidden(torch.nn.Module):
            def __init__(self, model: Any) -> None:
                super().__init__()
                self.model = model

            def forward(self, *args: Any) -> Any:
                return self.model(**dict(zip(inputs, args))).last_hidden_state

        example = tok(["an example question"], return_tensors="pt")
        dynamic = {name: {0: "batch", 1: "tokens"} for name in (*inputs, "hidden")}
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        # The wrapper must be in eval mode: the exporter restores the wrapper's mode afterwards, and a
        # new module is in training mode, which would switch dropout on in the live torch model.
        wrapper = _Hidden(transformer).eval()
        try:
            with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    wrapper,
                    tuple(example[n] for n in inputs),
                    tmp,
                    input_names=list(inputs),
                    output_names=["hidden"],
                    dynamic_axes=dynamic,
                    opset_version=17,
                    dynamo=False,
                )
            os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a shared cache needs others to read it
            os.replace(tmp, path)  # whole or not at all: readers never see half a file
        finally:
            transformer.eval()
            if os.path.exists(tmp):
                os.unlink(tmp)
    _sweep(path)
    return path


def _sweep(keep: Path, newest: int = 4, stale_s: float = 3600.0) -> None:
    """Bound the cache: the `newest` exports (about 90 MB each; one per model and library versions)
    and no temporary file of an export that died more than an hour ago."""
    now = time.time()
    with contextlib.suppress(OSError):
        exports = sorted(keep.parent.glob("*.onnx"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in [f for f in exports if f != keep][newest - 1 :]:
            old.unlink(missing_ok=True)
        for tmp in keep.parent.glob("*.tmp"):
            if now - tmp.stat().st_mtime > stale_s:
                tmp.unlink(missing_ok=True)


def _cache_key(model_path: str, inputs: tuple[str, ...]) -> str:
    from importlib.metadata import version  # the installed versions, without importing torch

    versions = f"{version('torch')}|{version('onnxruntime')}|{version('transformers')}"
    h = hashlib.sha256()
    h.update(f"{Path(model_path).resolve()}|{versions}|{inputs}".encode())
    for f in sorted(Path(model_path).glob("*")):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def _record(path: Path, inputs: tuple[str, ...], max_tokens: int, probes: np.ndarray) -> None:
    """Beside a verified export: what `load_verified` needs to trust it again without torch."""
    meta = {"inputs": list(inputs), "max_tokens": max_tokens, "probes": np.asarray(probes).tolist()}
    tmp = path.with_suffix(f".{os.getpid()}.json.tmp")
    with contextlib.suppress(OSError):  # a read-only cache only costs the next process torch
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, path.with_suffix(".json"))


class VerifiedQuestionEncoder:
    """Questions only, from a verified ONNX export: no torch, no sentence-transformers. What
    `Assistant` encodes questions with until something needs the full embedder (an ingest)."""

    def __init__(self, name: str, encoder: OnnxQueryEncoder, dim: int) -> None:
        self.name = name
        self.dim = dim
        self._encoder = encoder
        self._lock = threading.Lock()  # a fast tokenizer is not safe from two threads at once

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._encoder.encode(list(texts))


_COMMON_INPUTS = (("input_ids", "attention_mask", "token_type_ids"), ("input_ids", "attention_mask"))


def load_verified(name: str, model_path: str) -> VerifiedQuestionEncoder | None:
    """The question encoder of a verified export of `model_path`, or None (then load the model)."""
    if not enabled():
        return None
    try:
        for inputs in _COMMON_INPUTS:
            path = cache_dir() / "onnx" / f"{_cache_key(model_path, inputs)}.onnx"
            meta_file = path.with_suffix(".json")
            if path.is_file() and meta_file.is_file():
                return _open_verified(name, model_path, path, json.loads(meta_file.read_text()))
    except Exception as exc:  # noqa: BLE001 - anything amiss: the model is loaded instead
        log.info("no torch-free question encoder (%s: %s)", type(exc).__name__, exc)
    return None


def _open_verified(
    name: str, model_path: str, path: Path, meta: dict[str, Any]
) -> VerifiedQuestionEncoder | None:
    import onnxruntime as ort
    from transformers import PreTrainedTokenizerFast  # not AutoTokenizer, which imports torch

    inputs = tuple(meta["inputs"])
    tok = PreTrainedTokenizerFast.from_pretrained(model_path, model_input_names=list(inputs))
    encoder = _open(ort, path, tok, int(meta["max_tokens"]), inputs)
    expected = np.asarray(meta["probes"], dtype=np.float32)
    if float(np.abs(encoder.encode(list(_PROBES)) - expected).max()) > _TOLERANCE:
        return None  # the file changed since it was checked: load the model, which checks it again
    return VerifiedQuestionEncoder(name, encoder, int(expected.shape[1]))
