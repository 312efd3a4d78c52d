"""How fast the chat page answers, as a person sees it in a real browser.

Starts the app in-process on a free loopback port over the demo knowledge base (built from
data/articles/ if --kb does not exist), drives Debian's chromium with Playwright, and for each
question measures, from the click on Send (browser clock, `performance.now()`):

- question shown:  the question and the typing indicator are on screen;
- first text:      the first words of the answer are on screen (streaming starts);
- full answer:     the answer is complete, with its markers, and the sources panel is filled.

    .venv/bin/python bench/ui_latency.py [--kb embeddings/default] [--rounds 3]

Prints numbers; it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import REPO, cache_dir, pct  # noqa: E402

QUESTIONS = (
    "Where will the Heydar Aliyev-2023 drills be held?",
    "Who spoke about the brotherhood between the two countries?",
    "When did military cooperation between Azerbaijan and Turkiye begin?",
    "What is the main purpose of the drills?",
    "When did the two countries sign a memorandum of alliance?",
    "Which bridge did the units cross?",
    "Who is the Deputy Commander of the Combined Arms Army?",
    "What does the Shusha Declaration focus on?",
)
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip

# Clicks Send and watches the chat box; resolves with the three times in milliseconds.
MEASURE_JS = """
() => new Promise((resolve) => {
  const box = document.querySelector('#cq-chat');
  const users0 = box.querySelectorAll('.cq-user').length;
  const finals0 = box.querySelectorAll('.cq-bot.cq-final').length;
  const t = {};
  let t0;
  const check = () => {
    const now = performance.now() - t0;
    const users = box.querySelectorAll('.cq-user').length;
    if (users <= users0) return;
    if (t.shown === undefined) t.shown = now;
    const msgs = box.querySelectorAll('.cq-msg');
    const last = msgs[msgs.length - 1];
    if (t.first === undefined && last.classList.contains('cq-bot') &&
        (last.querySelector('.cq-sent') || last.classList.contains('cq-final'))) t.first = now;
    if (box.querySelectorAll('.cq-bot.cq-final').length > finals0) {
      t.full = now; observer.disconnect(); resolve(t);
    }
  };
  const observer = new MutationObserver(check);
  setTimeout(() => { observer.disconnect(); resolve({...t, timeout: true}); }, 120000);
  observer.observe(box, {subtree: true, childList: true, characterData: true, attributes: true});
  t0 = performance.now();
  document.querySelector('#cq-send').click();
})
"""


def demo_kb(given: Path | None) -> Path:
    """The knowledge base to serve: --kb, else embeddings/default, else one built from data/articles."""
    from citeqa import Assistant

    for path in (given, REPO / "embeddings" / "default"):
        if path is not None and (path / "manifest.json").is_file():
            return path
    articles = sorted((REPO / "data" / "articles").iterdir())
    kb = cache_dir("ui-demo", [(p.name, p.stat().st_size) for p in articles])
    Assistant.build([REPO / "data" / "articles"], kb=kb, progress=False).close()
    return kb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<16} p50 {pct(values, 50):7.0f} ms   p95 {pct(values, 95):7.0f} ms   "
        f"mean {statistics.fmean(values):7.0f} ms   min {min(values):6.0f}   max {max(values):6.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--kb", type=Path, help="knowledge base (default: embeddings/default or the demo corpus)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked (default 3)")
    args = parser.parse_args()
    if not Path("/usr/bin/chromium").exists():
        print("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)", file=sys.stderr)
        return 2

    from playwright.sync_api import sync_playwright

    from citeqa import Assistant
    from citeqa_app.ui import build_app, launch_options

    kb = demo_kb(args.kb)
    qa = Assistant.open(kb)
    t = time.perf_counter()
    qa.ask("warm up the model")
    print(f"knowledge base {kb}: {qa.kb.counts()}; model ready in {time.perf_counter() - t:.1f} s")
    compute: list[float] = []  # Assistant.ask as the chat sessions call it: retrieve + compose
    ask = qa.ask

    def timed_ask(*a, **kw):  # type: ignore[no-untyped-def]
        answer = ask(*a, **kw)
        compute.append(answer.timings_ms.get("total", float("nan")))
        return answer

    qa.ask = timed_ask  # type: ignore[method-assign]
    demo = build_app(qa)
    port = free_port()
    demo.queue().launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options()
    )
    shown, first, full = [], [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            for _ in range(args.rounds):
                page = browser.new_page(viewport={"width": 1360, "height": 900})  # a new tab: a new chat
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("#cq-chat .cq-empty", timeout=60_000)
                for q in QUESTIONS:
                    page.fill("#cq-question textarea", q)
                    r = page.evaluate(MEASURE_JS)
                    if r.get("timeout"):
                        print(f"  no answer within 120 s: {q!r} ({r})", flush=True)
                        continue
                    print(f"  {r['first']:6.0f} ms first text, {r['full']:6.0f} ms full: {q}", flush=True)
                    shown.append(r["shown"])
                    first.append(r["first"])
                    full.append(r["full"])
                page.close()
            browser.close()
    finally:
        demo.close()
    qa.close()
    print(
        f"{len(full)} questions ({len(QUESTIONS)} x {args.rounds} rounds), send → on screen, browser clock:"
    )
    print(summary("question shown", shown))
    print(summary("first text", first))
    print(summary("full answer", full))
    print(summary("server compute", compute) + "   (Assistant.ask: retrieve + compose)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
