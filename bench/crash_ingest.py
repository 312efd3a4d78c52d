"""Kill an ingest with SIGKILL at random moments; check the knowledge base each time.

    python bench/crash_ingest.py [--runs 40] [--seed 0]

Each run builds a small knowledge base (3 articles, "old"), starts a subprocess that re-ingests a batch
of n articles (the 3 old ones with changed text plus n-3 new ones: "new"), committing every 40
passages (about 20 articles; `Config(commit_every=40)`), and kills it with SIGKILL:
half of the runs at a random moment after start-up (mostly while embedding), half at a random moment
just after the writer entered `KnowledgeBase.write` (inside the SQLite transaction, or while the index
files and manifest are being replaced). Then it opens the knowledge base and checks: it opens, `verify()`
is empty, and it holds the old articles, the new ones, or "partial": the batches committed before the
kill (a0..ak-1 new, the old ones after them old), never a mix inside one article (nothing half-added,
nothing duplicated). Running the ingest again then completes it. The HashEmbedder test double is
used: this is a storage test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys
from citeqa import Assistant
from citeqa.config import Config
from citeqa.embed import HashEmbedder
from citeqa.schema import Article
from citeqa.kb import KnowledgeBase

kb, n, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
_write = KnowledgeBase.write
def write(self, *a, **k):
    print("writing", flush=True)
    return _write(self, *a, **k)
KnowledgeBase.write = write
docs = [Article(id=f"a{i}", title=f"Doc {i}", text=(f"Report {i} {tag}. The river {i} rose. " * 30))
        for i in range(n)]
qa = Assistant.open(kb, embedder=HashEmbedder(dim=64), config=Config(commit_every=40))
print("ready", flush=True)
qa.add(docs, progress=False)
print("done", flush=True)
"""


@dataclass(frozen=True)
class Trial:
    seed: int
    n: int
    mode: str  # "anytime" or "in-write"
    phase: str  # where the kill landed: "before-write", "during-write", "after-done"
    state: str  # "old" or "new"
    problems: tuple[str, ...]  # empty when the knowledge base is whole

    @property
    def lost(self) -> bool:
        return bool(self.problems)


def old_docs():  # type: ignore[no-untyped-def]
    from citeqa.schema import Article

    return [
        Article(id=f"a{i}", title=f"Doc {i}", text=(f"Report {i} old. The river {i} rose. " * 30))
        for i in range(3)
    ]


def _readline(proc: subprocess.Popen[bytes], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().decode().strip() if ready else ""


SIZES = (5, 40, 150, 400, 800)


def trial(folder: Path, seed: int, sizes: tuple[int, ...] = SIZES) -> Trial:
    """One build, one killed ingest, one check. `folder` must not exist yet."""
    from citeqa import Assistant, CiteqaError
    from citeqa.embed import HashEmbedder

    rng = random.Random(seed)
    n = rng.choice(sizes)
    mode = "in-write" if seed % 2 else "anytime"
    emb = HashEmbedder(dim=64)
    Assistant.build(old_docs(), kb=folder, embedder=emb, progress=False).close()
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), str(n), f"v{seed}"],
        stdout=subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    seen: list[str] = []
    try:
        line = _readline(proc, 60)
        if line != "ready":
            raise RuntimeError(f"the ingest child did not start (said {line!r})")
        if mode == "anytime":
            time.sleep(rng.uniform(0.0, 0.15 + n / 140))  # about the whole ingest
        else:
            line = _readline(proc, 60)
            seen.append(line)
            # the write takes about 0.06 s + 0.8 ms an article here: aim inside it, and a bit past
            time.sleep(rng.uniform(0.0, 0.07 + n / 1000))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        out = proc.communicate()[0].decode().split()
    seen += out
    phase = "after-done" if "done" in seen else "during-write" if "writing" in seen else "before-write"
    problems: list[str] = []
    state = "?"
    try:
        qa = Assistant.open(folder, embedder=emb)
        try:
            problems += qa.verify()
            ids = {a.id for a in qa.articles()}
            state = _state(qa, ids, n, seed)
            if state == "?":
                problems.append(
                    f"neither old, new nor whole batches: {len(ids)} articles {sorted(ids)[:5]}..."
                )
            elif phase != "after-done" and state != "new":
                qa.add(_docs(n, f"v{seed}"), progress=False)  # running it again completes the ingest
                if _state(qa, {a.id for a in qa.articles()}, n, seed) != "new" or qa.verify():
                    problems.append("running the ingest again did not complete it")
            manifest = json.loads((folder / "manifest.json").read_text())
            if manifest["counts"] != qa.kb.counts():
                problems.append(f"manifest counts {manifest['counts']} != store {qa.kb.counts()}")
            if phase == "after-done" and state != "new":
                problems.append("the ingest finished but its articles are not there")
        finally:
            qa.close()
    except CiteqaError as exc:
        problems.append(f"does not open: {exc}")
    return Trial(seed, n, mode, phase, state, tuple(problems))


def _docs(n: int, tag: str):  # type: ignore[no-untyped-def]
    from citeqa.schema import Article

    return [
        Article(id=f"a{i}", title=f"Doc {i}", text=(f"Report {i} {tag}. The river {i} rose. " * 30))
        for i in range(n)
    ]


def _state(qa, ids: set[str], n: int, seed: int) -> str:  # type: ignore[no-untyped-def]
    """ "old", "new", "partial" (whole batches in order: a0..ak-1 new, the old ones after them old)
    or "?" (anything else: a lost or mixed state)."""
    new = [i for i in range(n) if f"a{i}" in ids and f" v{seed}." in qa.article(f"a{i}").text]
    k = len(new)
    if new != list(range(k)):
        return "?"
    old = [i for i in range(3) if f"a{i}" in ids and " old." in qa.article(f"a{i}").text]
    if ids != {f"a{i}" for i in range(max(k, 3))} or old != list(range(k, 3)):
        return "?"
    return "new" if k == n else "old" if k == 0 else "partial"


def table(trials: list[Trial]) -> str:
    runs = len(trials)
    during = sum(t.phase == "during-write" for t in trials)
    before = sum(t.phase == "before-write" for t in trials)
    after = sum(t.phase == "after-done" for t in trials)
    old = sum(t.state == "old" for t in trials)
    new = sum(t.state == "new" for t in trials)
    partial = sum(t.state == "partial" for t in trials)
    lost = sum(t.lost for t in trials)
    sizes = ", ".join(str(s) for s in sorted({t.n for t in trials}))
    return (
        "| runs | batch sizes | killed before write | killed during write | finished first | "
        "old state | whole batches kept | new state | lost or corrupt |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        f"| {runs} | {sizes} | {before} | {during} | {after} | {old} | {partial} | {new} | {lost} |"
    )


def main(argv: list[str] | None = None) -> int:
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0, help="first seed; runs use seed, seed+1, ...")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    trials = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="citeqa-crash-") as tmp:
        for seed in range(args.seed, args.seed + args.runs):
            t = trial(Path(tmp) / f"kb{seed}", seed)
            trials.append(t)
            flag = "LOST: " + "; ".join(t.problems) if t.lost else "ok"
            print(
                f"seed {seed:3d}  n={t.n:4d}  {t.mode:8s}  killed {t.phase:12s}  -> {t.state}  {flag}",
                flush=True,
            )
    print(f"\n{len(trials)} runs in {time.perf_counter() - t0:.0f} s\n")
    print(table(trials))
    return 1 if any(t.lost for t in trials) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    sys.exit(main())
