"""Per-tab state: one `Conversation` per Gradio session (browser tab or gradio_client), never shared."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import gradio as gr

from citeqa.assistant import Assistant
from citeqa.chat import ChatSession
from citeqa_app import render

MAX_TURNS = 50  # turns a tab keeps on screen (the chat session keeps its own, shorter, history)


@dataclass
class Conversation:
    """What one browser tab (or one gradio_client) has asked, and the chat session behind it."""

    session: ChatSession
    turns: list[render.Turn] = field(default_factory=list)
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, question: str) -> render.Turn:
        turn = render.Turn(self.next_id, question)
        self.next_id += 1
        self.turns.append(turn)
        del self.turns[:-MAX_TURNS]
        return turn

    def turn(self, turn_id: int) -> render.Turn | None:
        return next((t for t in self.turns if t.id == turn_id), None)


class Conversations:
    """Conversations by Gradio session hash; the least recently used are dropped past `capacity`."""

    def __init__(self, qa: Assistant, capacity: int = 500) -> None:
        self.qa = qa
        self.capacity = capacity
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, request: gr.Request | None) -> Conversation:
        key = getattr(request, "session_hash", None) or "-"
        with self._lock:
            conv = self._items.get(key)
            if conv is None:
                conv = self._items[key] = Conversation(self.qa.chat())
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
            self._items.move_to_end(key)
            return conv

    def drop(self, request: gr.Request | None) -> None:
        with self._lock:
            self._items.pop(getattr(request, "session_hash", None) or "-", None)

    def __len__(self) -> int:
        return len(self._items)
