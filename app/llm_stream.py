"""The page's side of the language-model mode (citeqa.llm): the answer is asked on a worker thread,
and the model's words are handed to the chat as they arrive, a few times a second, until the
verified answer is there. Gradio streams by generator; the answer streams by callback; this joins
the two.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

from citeqa.llm import OnText

FRAME = 0.08  # seconds between two updates of the streaming text (a redraw per token is wasteful)
_DONE = object()


def streamed(work: Callable[[OnText], None], frame: float = FRAME) -> Iterator[str]:
    """Run `work(on_text)` on a thread; yield the text received so far, at most once a `frame`,
    until it returns. `work` must not raise (the chat handler turns errors into messages)."""
    box: queue.Queue[object] = queue.Queue()

    def run() -> None:
        try:
            work(box.put)
        finally:
            box.put(_DONE)

    worker = threading.Thread(target=run, name="citeqa-llm-answer", daemon=True)
    worker.start()
    text, shown, last = "", "", 0.0
    while True:
        item = box.get()
        if item is _DONE:
            break
        text += str(item)
        if text != shown and time.monotonic() - last >= frame:
            shown, last = text, time.monotonic()
            yield text
    worker.join()


def switch_label(model: str) -> str:
    """The page's switch: who writes the answers (each sentence is then checked against its citation)."""
    return f"Written by {model}, checked" if model else "Written by the language model, checked"
