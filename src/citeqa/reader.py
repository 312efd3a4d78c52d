"""The span reader: reads the question with each retrieved passage and returns the answer span.

A MiniLM (the embedder's own weights, fine-tuned by `python -m bench.train_reader`) with a start/end
head, run through ONNX Runtime from the file shipped in `citeqa/models/` (int8, checked against the
sha256 in `reader.json` before it is trusted). It reads windows of the question plus up to 256 word
pieces of passage, the layout it was trained on, and scores every span: start logit + end logit. The
[CLS] position's start + end is the window's "no answer here" score, learnt from windows of other
paragraphs, so best-span minus no-answer compares passages with each other.

If the file is missing, damaged or ONNX Runtime can't run it, `load_reader` returns None with a
one-line warning and answers fall back to the sentence composer (answer.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.logistic import Logistic

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "models"
MANIFEST = MODEL_DIR / "reader.json"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class Span:
    """The best answer span the reader found in one text (offsets into that text)."""

    start: int  #: character offset in the passage text
    end: int
    text: str
    score: float  #: start logit + end logit of the span
    null: float  #: start + end logit of [CLS]: "no answer in this window"
    prob: float  #: softmax(start) * softmax(end) of the span within its window

    @property
    def margin(self) -> float:
        """How much the span beats "no answer here"; comparable across passages."""
        return self.score - self.null


@dataclass(frozen=True)
class ReaderSettings:
    max_len: int = 256  #: word pieces per window, question included (as trained)
    stride: int = 128  #: overlap between windows of one long passage
    max_question: int = 64  #: question word pieces kept
    max_answer: int = 30  #: longest span, in word pieces


@dataclass(frozen=True)
class Calibration:
    """How reader spans become answers, fitted by `python -m bench.fit_reader` (answer_direct.py)."""

    sentence: Logistic  #: P(the sentence holding the span answers): confidence and abstention
    short: Logistic  #: P(the span is the answer): the short answer
    abstain_below: float
    short_above: float
    read_sentences: int = 0  #: the reading mode it was fitted with (0: whole passages)
    spans_per_window: int = 1  #: the reader's n-best spans proposed from each window read
    #: Which of one question's proposals to answer with: a listwise (softmax over the question's
    #: proposals) model; None: the likeliest by `sentence`. See answer_direct.choose.
    choice: Logistic | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibration | None:
        """From reader.json's "calibration" block; None when there is none yet (a fresh export)."""
        if not d:
            return None
        return cls(
            sentence=Logistic.from_dict(d["sentence"]),
            short=Logistic.from_dict(d["short"]),
            abstain_below=float(d["abstain_below"]),
            short_above=float(d["short_above"]),
            read_sentences=int(d.get("read_sentences", 0)),
            spans_per_window=int(d.get("spans_per_window", 1)),
            choice=Logistic.from_dict(d["choice"]) if d.get("choice") else None,
        )


class Reader:
    """Question + passages → the best span of each passage. Thread-safe."""

    def __init__(
        self, session: Any, tokenizer: Any, settings: ReaderSettings, calibration: Calibration | None
    ) -> None:
        self._session = session
        self._tok = tokenizer
        self.settings = settings
        self.calibration = calibration  # None: spans only, no answers (bench.fit_reader adds it)
        self._lock = threading.Lock()  # a fast tokenizer is not safe from two threads at once

    def read(self, question: str, texts: Sequence[str]) -> list[Span | None]:
        """One span per text (None for an empty text)."""
        return [spans[0] if spans else None for spans in self.read_nbest(question, texts, 1)]

    def read_nbest(self, question: str, texts: Sequence[str], k: int) -> list[list[Span]]:
        """Up to `k` spans per text that don't overlap, best first: the best span of a window is
        not always in the sentence that answers, and a runner-up elsewhere in the window gives the
        answer's chooser (answer_direct.choose) another option.

        Each window is its own forward pass, without padding: the windows read for one question
        differ in length (a sentence or three, some after the sentence before their passage), and
        one padded batch spent 0.25x more time on padding than one window at a time costs in calls
        (p50 34.6 vs 27.8 ms over 200 calibration questions, same run)."""
        s = self.settings
        if not texts:
            return []
        with self._lock:
            q_ids = self._tok(question, add_special_tokens=False)["input_ids"]
            q = self._tok.decode(q_ids[: s.max_question]) if len(q_ids) > s.max_question else question
            enc = self._tok(
                [q] * len(texts),
                list(texts),
                truncation="only_second",
                max_length=s.max_len,
                stride=s.stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
            )
            seq_ids = [enc.sequence_ids(i) for i in range(len(enc["input_ids"]))]
        owner = list(enc["overflow_to_sample_mapping"])
        found: list[list[Span]] = [[] for _ in texts]
        for w in range(len(owner)):
            feed = {n: np.asarray(enc[n][w : w + 1], dtype=np.int64) for n in _INPUTS}
            start_logits, end_logits = self._session.run(None, feed)
            found[owner[w]] += self._best_in_window(
                start_logits[0], end_logits[0], seq_ids[w], enc["offset_mapping"][w], texts[owner[w]], k
            )
        # Windows of one long text overlap (stride): keep the best of spans that overlap.
        return [_disjoint(sorted(spans, key=lambda x: -x.margin), k) for spans in found]

    def _best_in_window(
        self,
        start: np.ndarray,
        end: np.ndarray,
        seq: list[int | None],
        offsets: list[tuple[int, int]],
        text: str,
        k: int,
    ) -> list[Span]:
        ctx = np.array([k for k, sid in enumerate(seq) if sid == 1])
        if not len(ctx):
            return []
        valid = np.array([sid == 1 or k == 0 for k, sid in enumerate(seq)])  # [CLS] and the passage
        # Softmax over this window's real positions ([CLS] and the passage): the span's probability.
        ls = np.where(valid, start, -np.inf)
        le = np.where(valid, end, -np.inf)
        ps = np.exp(ls - ls.max())
        ps /= ps.sum()
        pe = np.exp(le - le.max())
        pe /= pe.sum()
        cs, ce = start[ctx], end[ctx]
        # score[a, b] = start[a] + end[b] for a <= b < a + max_answer, over passage tokens only.
        m = cs[:, None] + ce[None, :]
        n = len(ctx)
        a_idx, b_idx = np.indices((n, n))
        m = np.where((b_idx >= a_idx) & (b_idx < a_idx + self.settings.max_answer), m, -np.inf)
        out: list[Span] = []
        for _ in range(k):
            a, b = np.unravel_index(int(np.argmax(m)), m.shape)
            if not np.isfinite(m[a, b]):
                break
            ta, tb = int(ctx[a]), int(ctx[b])
            c0, c1 = _whole_words(text, offsets[ta][0], offsets[tb][1])
            out.append(
                Span(
                    start=c0,
                    end=c1,
                    text=text[c0:c1],
                    score=float(m[a, b]),
                    null=float(start[0] + end[0]),
                    prob=float(ps[ta] * pe[tb]),
                )
            )
            # The next span may not share a token with this one.
            m[(a_idx <= b) & (b_idx >= a)] = -np.inf
        return out


def _disjoint(spans: Sequence[Span], k: int) -> list[Span]:
    """The first `k` spans (in the given order) that overlap none kept before them."""
    kept: list[Span] = []
    for x in spans:
        if len(kept) < k and all(x.end <= y.start or y.end <= x.start for y in kept):
            kept.append(x)
    return kept


def _whole_words(text: str, a: int, b: int) -> tuple[int, int]:
    """Widen a span to whole words (word pieces can end mid-word: "19 h" → "19 hours") and trim
    punctuation and spaces at its edges."""
    while a > 0 and text[a - 1].isalnum() and text[a].isalnum():
        a -= 1
    while b < len(text) and text[b - 1].isalnum() and text[b].isalnum():
        b += 1
    while a < b and (text[a].isspace() or text[a] in ",.;:!?)]}\"'“”‘’"):
        a += 1
    while b > a and (text[b - 1].isspace() or text[b - 1] in ",.;:!?([{\"'“”‘’"):
        b -= 1
    return a, b


_cache: dict[str, Reader | None] = {}
_cache_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("CITEQA_READER", "1").strip().lower() not in ("0", "false", "no", "off")


def load_reader(manifest: Path = MANIFEST) -> Reader | None:
    """The packaged reader, loaded once per process; None (with a one-line warning) if it can't run."""
    if not enabled():
        return None
    key = str(manifest)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _load(manifest)
        return _cache[key]


def _load(manifest: Path) -> Reader | None:
    try:
        meta = json.loads(manifest.read_text())
        path = manifest.parent / meta["file"]
        digest = _sha256(path)
        if digest != meta["sha256"]:
            log.warning(
                "answers use the sentence composer: the reader weights %s are damaged (sha256 %s, "
                "expected %s); reinstall citeqa",
                path.name,
                digest[:12],
                str(meta["sha256"])[:12],
            )
            return None
        settings = ReaderSettings(**meta.get("settings", {}))
        return open_reader(path, Calibration.from_dict(meta.get("calibration", {})), settings)
    except FileNotFoundError as exc:
        log.warning("answers use the sentence composer: the reader weights are missing (%s)", exc.filename)
    except Exception as exc:  # a damaged file or a runtime problem must never stop answers
        log.warning(
            "answers use the sentence composer: the reader failed to load (%s: %s)", type(exc).__name__, exc
        )
    return None


def open_reader(
    path: Path, calibration: Calibration | None = None, settings: ReaderSettings = ReaderSettings()
) -> Reader:
    """A reader over an ONNX file (no checksum: `load_reader` checks the shipped one)."""
    import onnxruntime as ort
    from transformers import PreTrainedTokenizerFast  # not AutoTokenizer, which imports torch

    from citeqa.embed import resolve_model_path

    opts = ort.SessionOptions()
    # One thread, like the question encoder: spinning threads hurt a busy machine more than a
    # second core helps three short windows.
    opts.intra_op_num_threads = int(os.environ.get("CITEQA_READER_THREADS", "1"))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    tok = PreTrainedTokenizerFast.from_pretrained(
        resolve_model_path("all-MiniLM-L6-v2"), model_input_names=list(_INPUTS)
    )
    return Reader(session, tok, settings, calibration)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
