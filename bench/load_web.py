"""Load test of the web server: N concurrent gradio_client sessions × M questions each, on loopback.

    python bench/load_web.py [--kb DIR] [--clients 20] [--questions 10] [--max-seconds 300]

Starts `citeqa serve` (the real server: queue, concurrency limits, real model) on a copy of a small
knowledge base (`--kb`, else one built from data/articles) on a free 127.0.0.1 port, as a subprocess.
This process then asks the questions once as a single user (the reference answers), and then from
`--clients` concurrent `gradio_client` sessions, each asking the same questions in the same order in
its own conversation. It reports errors, answers that differ from the single-user ones, and the
latency of each `/ask` call (p50/p95/max). Everything stops by itself after `--max-seconds`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only

QUESTIONS = [
    "Where will the Heydar Aliyev-2023 drills be held?",
    "Who spoke about the unshakable brotherhood between the two countries?",
    "What is the main purpose of the drills?",
    "Which border checkpoint did the units travel towards?",
    "Which bridge did the units cross?",
    "When did military cooperation between Azerbaijan and Turkiye first emerge?",
    "What is the anniversary the drills are dedicated to?",
    "Which city did the units leave?",
    "How often do Azerbaijan and Turkiye hold joint drills?",
    "What is the population of Mars?",
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(k, None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _prepare_kb(src: Path | None, work: Path) -> Path:
    kb = work / "kb"
    if src is not None:
        shutil.copytree(src, kb)
        return kb
    from citeqa import Assistant

    Assistant.build([REPO / "data" / "articles"], kb=kb, progress=False).close()
    return kb


def _start_server(kb: Path, port: int, deadline: float, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "citeqa.cli", "serve", "--kb", str(kb), "--host", HOST, "--port", str(port)]
    with open(log, "wb") as out:  # a file, not a pipe nobody reads: the server never blocks on output
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=_env(), cwd=REPO)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start in time")


def _essence(answer: dict) -> str:  # type: ignore[type-arg]
    """What must not change under load: the answer, its citations, abstention (not timings)."""
    return json.dumps(
        {k: answer.get(k) for k in ("answer", "abstained", "citations", "sentences")},
        sort_keys=True,
        ensure_ascii=False,
    )


def _session(url: str, questions: list[str], deadline: float) -> tuple[list[str], list[float], list[str]]:
    """One client: its answers (essence), latencies (s) and errors."""
    from gradio_client import Client

    answers: list[str] = []
    latencies: list[float] = []
    errors: list[str] = []
    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001 - counted and reported
        return answers, latencies, [f"connect: {type(exc).__name__}: {exc}"]
    for q in questions:
        if time.monotonic() > deadline:
            errors.append("out of time")
            break
        t0 = time.perf_counter()
        try:
            result = client.predict(q, 5, api_name="/ask")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{type(exc).__name__}: {exc}")
            answers.append("")
            continue
        latencies.append(time.perf_counter() - t0)
        answers.append(_essence(result))
    with contextlib.suppress(Exception):  # closing is best effort
        client.close()
    return answers, latencies, errors


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]


def run(kb: Path | None, clients: int, n_questions: int, max_seconds: float) -> dict[str, object]:
    os.environ.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    os.environ.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    deadline = time.monotonic() + max_seconds
    questions = (QUESTIONS * (1 + n_questions // len(QUESTIONS)))[:n_questions]
    with tempfile.TemporaryDirectory(prefix="citeqa-load-") as tmp:
        kb_copy = _prepare_kb(kb, Path(tmp))
        port = _free_port()
        t_start = time.monotonic()
        server = _start_server(kb_copy, port, deadline, Path(tmp) / "server.log")
        url = f"http://{HOST}:{port}/"
        try:
            startup = time.monotonic() - t_start
            ref, ref_lat, ref_err = _session(url, questions, deadline)  # single user: the reference
            if ref_err:
                raise RuntimeError(f"single-user run failed: {ref_err[:3]}")
            t0 = time.perf_counter()
            pool = ThreadPoolExecutor(clients)
            futures = [pool.submit(_session, url, questions, deadline) for _ in range(clients)]
            done, not_done = wait(futures, timeout=max(1.0, deadline - time.monotonic() + 5))
            wall = time.perf_counter() - t0
            pool.shutdown(wait=False, cancel_futures=True)
            latencies: list[float] = []
            errors = [f"{len(not_done)} session(s) still running at the deadline"] if not_done else []
            mismatches = 0
            for f in done:
                answers, lat, errs = f.result()
                latencies += lat
                errors += errs
                mismatches += sum(1 for a, r in zip(answers, ref) if a and a != r)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return {
        "clients": clients,
        "questions_per_client": n_questions,
        "requests": clients * n_questions,
        "answered": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "answers_differing_from_single_user": mismatches,
        "single_user_p50_ms": round(statistics.median(ref_lat) * 1e3, 1),
        "p50_ms": round(_pct(latencies, 50) * 1e3, 1),
        "p95_ms": round(_pct(latencies, 95) * 1e3, 1),
        "max_ms": round(max(latencies, default=float("nan")) * 1e3, 1),
        "wall_s": round(wall, 1),
        "throughput_qps": round(len(latencies) / wall, 2) if wall else 0.0,
        "server_startup_s": round(startup, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kb", type=Path, help="knowledge base to copy (default: build one from data/articles)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10)
    ap.add_argument("--max-seconds", type=float, default=300, help="everything stops after this long")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    watchdog = threading.Timer(args.max_seconds + 60, lambda: os._exit(3))  # a hard stop, whatever hangs
    watchdog.daemon = True
    watchdog.start()
    r = run(args.kb, args.clients, args.questions, args.max_seconds)
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        print(
            f"{r['clients']} concurrent gradio_client sessions x {r['questions_per_client']} questions "
            f"= {r['requests']} requests on {HOST} in {r['wall_s']} s ({r['throughput_qps']} answers/s)"
        )
        print(
            f"errors: {r['errors']}   answers differing from single-user: "
            f"{r['answers_differing_from_single_user']}"
        )
        print(
            f"latency per /ask: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, max {r['max_ms']} ms "
            f"(single user p50 {r['single_user_p50_ms']} ms)"
        )
        for e in r["error_samples"]:  # type: ignore[attr-defined]
            print(f"  error: {e}")
    ok = r["errors"] == 0 and r["answers_differing_from_single_user"] == 0 and r["answered"] == r["requests"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
