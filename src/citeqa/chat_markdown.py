"""A conversation as Markdown (`ChatSession.to_markdown`, the page's export): each question, its
answer with the [n] markers, and under it the numbered citations (title, date, quoted span, other
copies). Article and user text is escaped, so a quote's markup reads as text wherever the file is
rendered."""

from __future__ import annotations

import re
from collections.abc import Sequence

from citeqa.answer_direct import lead_in
from citeqa.dates import display_published
from citeqa.markers import marked, unsupported_mark
from citeqa.schema import Answer, Citation
from citeqa.text import squash


def conversation_markdown(turns: Sequence[tuple[str, Answer]]) -> str:
    """(question, answer) pairs as one Markdown document."""
    parts = ["# citeqa conversation", ""]
    if not turns:
        parts += ["_No questions yet._", ""]
    for i, (question, answer) in enumerate(turns, start=1):
        parts += [f"## {i}. {md_escape(question)}", "", _answer_markdown(answer), ""]
        cites = [_citation_markdown(c) for c in answer.citations]
        if cites:
            parts += [*cites, ""]
    return "\n".join(parts)


# Characters that start emphasis, code, links, HTML, entities or headings anywhere in a line
# ("(" and "!" need a "[" first, so escaping "[" is enough); a backslash makes each literal.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#~&])")
_MD_LIST_START = re.compile(r"^(\d+)([.)])|^([-+=])")


def md_escape(text: str) -> str:
    """One line of plain text that renders as itself in Markdown (whitespace runs become one space)."""
    out = _MD_SPECIAL.sub(r"\\\1", squash(text))
    # A line that starts like a list item or a setext underline would change the block it is in.
    return _MD_LIST_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", out)


def _answer_markdown(answer: Answer) -> str:
    """The short answer in bold (as the page shows it first), then the answer's sentences, escaped,
    each followed by its own unescaped [n] markers; a written sentence its citation doesn't support
    struck through, as the page shows it, and flagged."""
    if not answer.sentences:  # an abstention: "The articles don't say who ..."
        return md_escape(answer.text)
    # "**Kars.**": the answer's own lead when it has one, else the short answer as a sentence.
    lead = answer.lead.strip() or (lead_in(answer.short.text, "").strip() if answer.short is not None else "")
    out = [f"**{md_escape(lead)}**"] if lead else []
    for s in answer.sentences:
        text = md_escape(s.text) if s.supported is not False else f"~~{md_escape(s.text)}~~"
        flag = unsupported_mark(s).strip()
        out.append(marked(text, s.citations) + (f" {md_escape(flag)}" if flag else ""))
    return " ".join(out)


def _citation_markdown(c: Citation) -> str:
    title = md_escape(c.title or c.article_id)
    date = f" ({md_escape(display_published(c.published))})" if c.published else ""
    also = f" Also in: {md_escape(', '.join(x.label() for x in c.also_in))}." if c.also_in else ""
    return f"- [{c.n}] **{title}**{date}: “{md_escape(c.quote)}”{also}"
