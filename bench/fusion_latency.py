"""`ask` latency, dense vs lexical vs hybrid, measured in the same run on the same questions.

    python -m bench.fusion_latency [N]        # SQuAD dev KB (48 articles), N questions (default 300)

The retrievers take turns question by question, so a busy machine slows them alike; the first
question of each is a warm-up (lazy loads) and is not counted.
"""

from __future__ import annotations

import statistics
import sys
import time

from bench.common import pct
from bench.fusion_data import squad_tuning_questions
from bench.squad_kb import squad_assistant
from citeqa import Assistant
from citeqa.config import Config


def main() -> None:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), 300))
    base, _ = squad_assistant("article")
    qs = [q.question for q in squad_tuning_questions(n, seed=7)]
    names = ("dense", "lexical", "hybrid")
    runs = {
        name: Assistant.open(base.kb.path, config=Config(retriever=name), embedder=base.embedder)
        for name in names
    }
    ask: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    retrieve: dict[str, list[float]] = {name: [] for name in names}
    for i, q in enumerate(qs):
        for name, qa in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            answer = qa.ask(q)
            if i:
                ask[name].append((time.perf_counter() - t0) * 1e3)
                cpu[name].append((time.process_time() - c0) * 1e3)  # all threads' CPU: less noisy
                retrieve[name].append(answer.timings_ms["retrieve"])
    for name in names:
        print(
            f"{name:8s} ask p50 {pct(ask[name], 50):6.1f} ms  p95 {pct(ask[name], 95):6.1f} ms  "
            f"CPU p50 {pct(cpu[name], 50):6.1f} ms  retrieve p50 {pct(retrieve[name], 50):6.1f} ms  "
            f"mean {statistics.fmean(ask[name]):6.1f} ms"
        )
    print(
        f"hybrid/dense ask p50 ratio: wall {pct(ask['hybrid'], 50) / pct(ask['dense'], 50):.2f}, "
        f"CPU {pct(cpu['hybrid'], 50) / pct(cpu['dense'], 50):.2f}"
    )


if __name__ == "__main__":
    main()
