"""`citeqa eval compare RUN_A RUN_B`: metric deltas, and the questions whose outcome flipped.

A run is an `--out` folder (or its metrics.json). A question's outcome is `correct` (the answer was
right) when both runs scored answers, else whether the top document was relevant (`recall@1` > 0);
`--metric NAME` picks another per-question metric, counted as a hit when it is above 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from citeqa.errors import InputError
from citeqa.evaluate.names import LOWER_IS_BETTER


@dataclass(frozen=True)
class Run:
    path: Path
    metrics: dict[str, object]
    rows: dict[str, dict[str, object]]  # results.jsonl by question id


@dataclass(frozen=True)
class Flip:
    id: str
    question: str
    a: float | None
    b: float | None


@dataclass(frozen=True)
class Comparison:
    a: Run
    b: Run
    deltas: list[tuple[str, float | None, float | None]]  # metric, A, B
    outcome: str
    lost: list[Flip]  # hit in A, miss in B
    gained: list[Flip]
    shared: int  # questions in both runs

    def to_dict(self) -> dict[str, object]:
        return {
            "a": str(self.a.path),
            "b": str(self.b.path),
            "outcome": self.outcome,
            "shared": self.shared,
            "metrics": {n: {"a": a, "b": b, "delta": _delta(a, b)} for n, a, b in self.deltas},
            "lost": [f.__dict__ for f in self.lost],
            "gained": [f.__dict__ for f in self.gained],
        }


def load_run(path: str | Path) -> Run:
    p = Path(path)
    folder = p.parent if p.name == "metrics.json" else p
    mfile = folder / "metrics.json"
    if not mfile.is_file():
        raise InputError(
            f"{p} is not an eval run: no metrics.json (write one with `citeqa eval ... --out DIR`)"
        )
    try:
        metrics = json.loads(mfile.read_text(encoding="utf-8"))
        rows: dict[str, dict[str, object]] = {}
        rfile = folder / "results.jsonl"
        if rfile.is_file():
            for line in rfile.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    rows[str(row["id"])] = row
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{folder} holds a damaged run ({exc}); run the evaluation again") from None
    return Run(folder, metrics, rows)


def compare(a_path: str | Path, b_path: str | Path, metric: str | None = None) -> Comparison:
    a, b = load_run(a_path), load_run(b_path)
    deltas = []
    for name, va in a.metrics.items():
        vb = b.metrics.get(name)
        if "_ci_" in name or not _is_num(va, vb) or name not in b.metrics:
            continue
        deltas.append((name, _float(va), _float(vb)))
    shared = [q for q in a.rows if q in b.rows]
    outcome = metric or ("correct" if _has(a, "correct") and _has(b, "correct") else "recall@1")
    lost: list[Flip] = []
    gained: list[Flip] = []
    for qid in shared:
        va, vb = _outcome(a.rows[qid], outcome), _outcome(b.rows[qid], outcome)
        if va is None or vb is None or (va > 0) == (vb > 0):
            continue
        flip = Flip(qid, str(a.rows[qid].get("question", "")), va, vb)
        (lost if va > 0 else gained).append(flip)
    return Comparison(a, b, deltas, outcome, lost, gained, len(shared))


def _is_num(*values: object) -> bool:
    return all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values)


def _has(run: Run, key: str) -> bool:
    return any(row.get(key) is not None for row in run.rows.values())


def _float(v: object) -> float | None:
    return float(v) if isinstance(v, (int, float)) else None


def _outcome(row: dict[str, object], name: str) -> float | None:
    if name == "correct":
        return _float(row.get(name))
    per_question = row.get("metrics")
    return _float(per_question.get(name)) if isinstance(per_question, dict) else None


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(b - a, 5)


def format_comparison(c: Comparison, show: int = 20) -> str:
    lines = [f"A: {c.a.path}", f"B: {c.b.path}", "", f"{'metric':<28}{'A':>12}{'B':>12}{'B-A':>11}"]
    for name, va, vb in c.deltas:
        if va is None and vb is None:  # not measured in either run
            continue
        d = _delta(va, vb)
        note = ""
        if d and not name.startswith("n_"):
            better = (d < 0) if name in LOWER_IS_BETTER else (d > 0)
            note = "  better" if better else "  worse"
            ci_a, ci_b = _ci(c.a, name), _ci(c.b, name)
            if ci_a and ci_b and (ci_a[1] < ci_b[0] or ci_b[1] < ci_a[0]):
                note += " (95% CIs disjoint)"
        digits = 0 if name.startswith("n_") else 1 if _is_timing(name) else 4
        shown = f"{_f(va, digits):>12}{_f(vb, digits):>12}{_f(d, digits, sign=True):>11}"
        lines.append(f"{name:<28}{shown}{note}")
    lines += [
        "",
        f"{c.shared} questions in both runs; outcome = {c.outcome}: "
        f"{len(c.lost)} lost (right in A, wrong in B), {len(c.gained)} gained",
    ]
    for label, flips in (("lost", c.lost), ("gained", c.gained)):
        for f in flips[:show]:
            lines.append(f"  {label:<6} {f.id}: {f.question[:90]}")
        if len(flips) > show:
            lines.append(f"  ... and {len(flips) - show} more {label}")
    return "\n".join(lines)


def _ci(run: Run, name: str) -> tuple[float, float] | None:
    lo, hi = _float(run.metrics.get(f"{name}_ci_low")), _float(run.metrics.get(f"{name}_ci_high"))
    return (lo, hi) if lo is not None and hi is not None else None


def _is_timing(name: str) -> bool:
    return name.endswith("_ms") or name in ("seconds", "setup_seconds", "throughput_qps")


def _f(v: float | None, digits: int = 4, sign: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v:{'+' if sign else ''}.{digits}f}"
