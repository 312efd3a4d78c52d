"""Citation markers are a rendering: an `Answer` holds plain sentences with their citation numbers,
and whoever renders text adds " [n]" (the CLI, the JSON's "answer", the Markdown export) or draws
its own (the web page)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citeqa.schema import Answer, AnswerSentence

_MARKER = re.compile(r"\s*\[\d+(?:,\s*\d+)*\]")


def marked(text: str, citations: tuple[int, ...]) -> str:
    """A sentence with its markers: "... held in Kars. [1]"."""
    return text + "".join(f" [{n}]" for n in citations)


def cited_text(answer: Answer) -> str:
    """The answer as text with markers: "Kars. The drills ... held in Kars. [1]". A written one
    (language-model mode) says which of its sentences its citation doesn't support, and what in them
    no cited passage holds: "About 9,000 troops took part. [1] [unsupported: 9,000 in none of its
    sources]"."""
    if not answer.sentences:  # an abstention: a plain refusal
        return answer.text
    return answer.lead + " ".join(marked(s.text, s.citations) + unsupported_mark(s) for s in answer.sentences)


def unsupported_mark(sentence: AnswerSentence) -> str:
    """ " [unsupported: 9,000 in none of its sources]" after a written sentence its citation doesn't
    support ("" for any other sentence)."""
    if sentence.supported is not False:
        return ""
    missing = f": {', '.join(sentence.flagged)} in none of its sources" if sentence.flagged else ""
    return f" [unsupported{missing}]"


def strip_markers(text: str) -> str:
    """Text without citation markers ("... Kars [1]." -> "... Kars."): for answers stored with them."""
    return _MARKER.sub("", text)
