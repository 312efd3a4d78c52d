"""The scale suite (issue 13): whole knowledge bases of 10k, 100k and 1M passages.

    python -m bench.scale_suite [--sizes 10000 100000 1000000] [--questions 100]

For each size: ingest rate, knowledge-base open time, `ask` latency p50/p95 (hybrid and dense, models
loaded, SQuAD dev questions whose paragraphs are in the knowledge base), peak memory of the asking
process, disk per passage, and which dense index the ladder chose.

Passages: the 7,733 real paragraphs of bench.scale_data (SQuAD dev, SQuADShifts), then copies with
light perturbation (a random tenth of the words dropped, a tag of their own) until there are N
articles of one paragraph each. Only the smallest size is embedded by the real model (its rate is
the encoder's, measured); embedding 1M passages takes hours here, so larger sizes replay vectors:
the real vector of the paragraph a copy came from, perturbed (cosine about 0.9), through
`ReplayEmbedder`, which keeps the real tokenizer (chunking is real) and skips only the model's
arithmetic. Their "ingest" column is therefore citeqa's own work per passage (parse, chunk, store,
index) with the encoder excluded, the overhead that must stay well above the encoder's rate.

Above --tokenizer-up-to (100k) passages, the replay also counts word pieces from word counts
(ReplayEmbedder.words), so 1M passages can be built within a session.

Each size's questions are asked in a fresh process (`--probe KB`), so open time and memory are a
cold start's. Knowledge bases are kept under runs/scale/ (`--rebuild` to start over).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from bench.common import RUNS, SQUAD_DEV, pct, peak_rss_mb
from bench.scale_data import load
from citeqa.embed import EmbeddedPassage, Progress
from citeqa.schema import Article

OUT = RUNS / "scale"
CHUNK = 100_000  # articles per `add` call (a quarter of N at most 4 calls): bounded memory


class ReplayEmbedder:
    """The real model's tokenizer and query encoder, with passage vectors replayed from the real
    vectors of the paragraphs the passages were copied from (perturbed per copy)."""

    def __init__(
        self, real: object, base: np.ndarray, keys: dict[str, int], noise: float = 0.48, words: bool = False
    ) -> None:
        self.real = real
        self.name, self.dim, self.max_tokens = real.name, real.dim, real.max_tokens  # type: ignore[attr-defined]
        self.base, self.keys, self.noise, self.words = base, keys, noise, words

    # `words`: count word pieces as 4/3 per word instead of running the tokenizer (about 0.1 ms per
    # sentence here, and the chunker counts every sentence): what lets 1M passages be built in a
    # session; the rows built this way say so.
    def count_tokens(self, text: str) -> int:
        if self.words:
            return len(text.split()) * 4 // 3 + 1
        return self.real.count_tokens(text)  # type: ignore[attr-defined]

    def truncate(self, text: str, max_tokens: int) -> str:
        if self.words:
            return " ".join(text.split()[: max(0, max_tokens * 3 // 4)])
        return self.real.truncate(text, max_tokens)  # type: ignore[attr-defined]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.real.encode_queries(texts)  # type: ignore[attr-defined]

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Progress | None = None,
    ) -> list[EmbeddedPassage]:
        out = []
        for text, sp in zip(texts, spans, strict=True):
            body = text.split("\n", 1)[-1]
            seed = zlib.crc32(body.encode())
            b = self.keys.get(key_of(body), seed % len(self.base))
            rng = np.random.default_rng(seed)
            v = self.base[b] + rng.standard_normal(self.dim).astype(np.float32) * (
                self.noise / np.sqrt(self.dim)
            )
            v /= np.linalg.norm(v)
            s = v + rng.standard_normal((len(sp), self.dim)).astype(np.float32) * (0.3 / np.sqrt(self.dim))
            out.append(EmbeddedPassage(v.astype(np.float32), s / np.linalg.norm(s, axis=1, keepdims=True)))
        if progress is not None:
            progress(len(texts))
        return out


def key_of(body: str) -> str:
    return " ".join(body.split()[:8])


def articles(texts: list[str], n: int, keys: dict[str, int]) -> Iterator[Article]:
    """N one-paragraph articles: the real paragraphs, then perturbed copies; `keys` learns which
    paragraph each came from (first words → index)."""
    rng = random.Random(0)
    for i in range(n):
        b, copy = i % len(texts), i // len(texts)
        text = texts[b]
        if copy:
            text = " ".join(w for w in text.split() if rng.random() > 0.1) + f" copy{copy}"
        keys[key_of(text)] = b
        yield Article(id=f"p{i}", title=f"Paragraph {b}" + (f" copy {copy}" if copy else ""), text=text)


def build(
    kb: Path, n: int, *, real: bool, texts: list[str], base: np.ndarray, words: bool = False
) -> dict[str, float]:
    from citeqa import Assistant
    from citeqa.embed import load_embedder

    keys: dict[str, int] = {}
    model = load_embedder()
    emb = model if real else ReplayEmbedder(model, base, keys, words=words)
    qa = Assistant.create(kb, embedder=emb)  # type: ignore[arg-type]
    gen = articles(texts, n, keys)
    t0 = time.perf_counter()
    done = 0
    while done < n:
        batch = [a for _, a in zip(range(min(max(CHUNK, n // 4), n - done)), gen)]
        qa.add(batch, progress=False)
        done += len(batch)
        print(
            f"  {kb.name}: {done:,}/{n:,} articles, {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    seconds = time.perf_counter() - t0
    passages = qa.counts()["passages"]
    qa.close()
    return {"passages": passages, "ingest_s": seconds, "rate": passages / seconds}


def questions(k: int) -> list[str]:
    qs = [p["qas"][0]["question"] for a in json.loads(SQUAD_DEV.read_text())["data"] for p in a["paragraphs"]]
    return random.Random(1).sample(qs, k)


def probe(kb: Path, k: int) -> dict[str, object]:
    """In a fresh process: open, first ask (models and indexes load), then warm asks."""
    t0 = time.perf_counter()
    import citeqa.assistant as assistant_module
    from citeqa.config import Config

    imported = time.perf_counter() - t0
    out: dict[str, object] = {"import_s": imported}
    qs = questions(k)
    for retriever in ("hybrid", "dense"):
        t0 = time.perf_counter()
        qa = assistant_module.Assistant.open(kb, config=Config(retriever=retriever))
        out[f"{retriever}_open_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        qa.ask(qs[0])
        out[f"{retriever}_first_ask_s"] = time.perf_counter() - t0
        lat = []
        for q in qs[1:]:
            t = time.perf_counter()
            qa.ask(q)
            lat.append((time.perf_counter() - t) * 1e3)
        out[f"{retriever}_p50_ms"], out[f"{retriever}_p95_ms"] = pct(lat, 50), pct(lat, 95)
        out["index"] = qa.kb.dense.describe()
        qa.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def disk_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--rebuild", action="store_true", help="build the knowledge bases again")
    ap.add_argument(
        "--tokenizer-up-to",
        type=int,
        default=100_000,
        help="larger sizes count word pieces from word counts instead of the tokenizer",
    )
    ap.add_argument("--probe", type=Path, help=argparse.SUPPRESS)  # the fresh asking process
    args = ap.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, args.questions)))
        return
    texts, base, _, _ = load()
    load0 = os.getloadavg()[0]
    rows = []
    for i, n in enumerate(sorted(args.sizes)):
        kb = OUT / f"kb-{n}"
        built: dict[str, float] = {}
        stamp = kb / "built.json"
        if args.rebuild or not stamp.exists():
            shutil.rmtree(kb, ignore_errors=True)
            words = n > args.tokenizer_up_to
            built = build(kb, n, real=i == 0, texts=texts, base=base, words=words)
            built["real_encoder"], built["word_counts"] = i == 0, words
            stamp.write_text(json.dumps(built))
        built = json.loads(stamp.read_text())
        cmd = [
            sys.executable,
            "-m",
            "bench.scale_suite",
            "--probe",
            str(kb),
            "--questions",
            str(args.questions),
        ]
        probed = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        rows.append((n, built, probed, disk_bytes(kb) / built["passages"]))
        print(json.dumps({"size": n, **built, **probed}), file=sys.stderr, flush=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
        f"load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        "| passages | ingest passages/s | dense index | open s | first ask s | hybrid ask p50 / p95 ms "
        "| dense ask p50 / p95 ms | peak RSS MB | disk KiB/passage |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for _, b, p, disk in rows:
        rate = (
            f"{b['rate']:.1f} (real encoder)" if b["real_encoder"] else f"{b['rate']:,.0f} (encoder excluded)"
        )
        print(
            f"| {b['passages']:,} | {rate} | {p['index']} | {p['hybrid_open_s']:.2f} "
            f"| {p['hybrid_first_ask_s']:.2f} | {p['hybrid_p50_ms']:.1f} / {p['hybrid_p95_ms']:.1f} "
            f"| {p['dense_p50_ms']:.1f} / {p['dense_p95_ms']:.1f} "
            f"| {p['peak_rss_mb']:,.0f} | {disk / 1024:.1f} |"
        )


if __name__ == "__main__":
    main()
