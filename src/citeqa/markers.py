"""Citation markers are a rendering: an `Answer` holds plain sentences with their citation numbers,
and whoever renders text adds " [n]" (the CLI, the JSON's "answer", the Markdown export) or draws
its own (the web page)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citeqa.schema import Answer

_MARKER = re.compile(r"\s*\[\d+(?:,\s*\d+)*\]")


def marked(text: str, citations: tuple[int, ...]) -> str:
    """A sentence with its markers: "... held in Kars. [1]"."""
    return text + "".join(f" [{n}]" for n in citations)


def cited_text(answer: Answer) -> str:
    """The answer as text with markers: "Kars. The drills ... held in Kars. [1]"."""
    if not answer.sentences:  # an abstention: a plain refusal
        return answer.text
    return answer.lead + " ".join(marked(s.text, s.citations) for s in answer.sentences)


def strip_markers(text: str) -> str:
    """Text without citation markers ("... Kars [1]." -> "... Kars."): for answers stored with them."""
    return _MARKER.sub("", text)
