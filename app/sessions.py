"""Per-tab state: one `Conversation` per Gradio session (browser tab or gradio_client), never shared.

A reload starts a new Gradio session; the page then hands the conversation it kept in the browser's
storage (storage.py) to `Conversation.restore`, which puts back the chat session's history too, so a
follow-up after a reload still knows what "they" are.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import gradio as gr

from citeqa.assistant import Assistant
from citeqa.chat import ChatSession
from citeqa.chat import Turn as ChatTurn
from citeqa_app import render

MAX_TURNS = 50  # turns a tab keeps on screen (and in the browser's storage)


@dataclass
class Conversation:
    """What one browser tab (or one gradio_client) has asked, and the chat session behind it."""

    session: ChatSession
    turns: list[render.Turn] = field(default_factory=list)
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Names this conversation's export file; never the session hash, which the client chooses.
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def start(self, question: str) -> render.Turn:
        turn = render.Turn(self.next_id, question)
        self.next_id += 1
        self.turns.append(turn)
        del self.turns[:-MAX_TURNS]
        return turn

    def turn(self, turn_id: int) -> render.Turn | None:
        return next((t for t in self.turns if t.id == turn_id), None)

    def is_latest(self, turn: render.Turn) -> bool:
        return bool(self.turns) and self.turns[-1] is turn

    def restore(self, turns: list[render.Turn], history: list[ChatTurn]) -> None:
        """Take over a conversation kept by the browser: its turns are shown again, and the chat
        session's history (what the next follow-up may refer to) is what it was before the reload."""
        self.turns[:] = turns[-MAX_TURNS:]
        self.next_id = max((t.id for t in self.turns), default=0) + 1
        self.session.reset()
        self.session.history += history[-self.session.max_turns :]

    def clear(self) -> None:
        self.turns.clear()
        self.session.reset()


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

    def drop(self, request: gr.Request | None) -> Conversation | None:
        """Forget a closed tab's conversation; returns it (None when it was not kept)."""
        with self._lock:
            return self._items.pop(getattr(request, "session_hash", None) or "-", None)

    def __len__(self) -> int:
        return len(self._items)
