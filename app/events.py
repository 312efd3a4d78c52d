"""What the page's own scripts (scripts.py) send with the events they fire.

A script calls `trigger('click', {cite: '3:1'})`; Gradio hands the data to a handler whose parameter
is annotated with a `gr.EventData` subclass, built as `Subclass(target, data)` (as `gr.SelectData`
is). `PageClick` reads the keys the page's scripts send into plain fields, so the handlers read
`evt.cite` and never Gradio's private fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gradio as gr


class PageClick(gr.EventData):
    """A click on something the page drew: an example question, a citation, a source, a Remove
    button. Each field is the text the script sent under its key, or "" when it sent none; the
    handler checks it like any other input from the browser."""

    def __init__(self, target: Any, data: Any) -> None:
        sent = dict(data) if isinstance(data, Mapping) else {}
        super().__init__(target, sent)
        self.example: str = _text(sent.get("example"))
        """The example question chosen in the empty chat."""
        self.cite: str = _text(sent.get("cite"))
        """The citation marker clicked: "turn:n"."""
        self.source: str = _text(sent.get("source"))
        """The retrieved passage clicked in the Sources panel: "turn:rank"."""
        self.remove: str = _text(sent.get("remove"))
        """The id of the article whose removal was confirmed in the Library."""
        self.scope: str = _text(sent.get("scope"))
        """The id of the article whose "Ask about" was clicked in the Library."""


def _text(value: object) -> str:
    return "" if value is None else str(value)
