"""The Jinja2 environment the page's HTML comes from: macros in templates/*.html, autoescaped.

Every value a template prints is escaped (quotes too) unless it is markup another macro made, so an
uploaded `<script>` or `<img onerror=…>` shows up as the characters it is made of. Python decides
what to show (render.py, render_library.py); the templates say how, and nothing else builds HTML.

Templates are written one element a line, for reading. A line break in a template's text, with the
white space around it, is not part of the markup: chat bubbles and the article keep white space as
it is (`pre-wrap`), so the markup holds exactly the spaces the template writes inside its lines. A
tag, a `{{ … }}` and a sentence of prose therefore stay on one line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

from citeqa.dates import display_published, parse_published

TEMPLATES = Path(__file__).with_name("templates")
_LINE_BREAK = re.compile(r"\s*\n\s*")


class JoinLines(Extension):
    """Drops the line breaks (and the indentation around them) from a template's own text; what
    `{{ … }}` prints is left alone."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        for token in stream:
            if token.type == "data":
                token = Token(token.lineno, token.type, _LINE_BREAK.sub("", token.value))
            yield token


def nice_date(iso: str) -> str:
    """ "2023-04-18" → "18 April 2023"; "2024-03-05T14:30:00+01:00" → "5 March 2024, 14:30 +01:00"
    (the time as the source gave it, in its own offset; "UTC" for +00:00); else shown as given."""
    parsed = parse_published(iso) if isinstance(iso, str) else None
    if parsed is None:
        return iso
    day = f"{parsed.day} {parsed.strftime('%B')} {parsed.year}"
    if not isinstance(parsed, dt.datetime):
        return day
    return f"{day}, {display_published(iso)[11:]}"


def thousands(n: float) -> str:
    """12345 → "12,345"."""
    return f"{n:,}"


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,  # a misspelt name fails the render (and the tests), never shows as ""
    extensions=[JoinLines],
    auto_reload=False,  # the templates ship with the package; don't stat them on every render
)
ENV.filters.update(nice_date=nice_date, thousands=thousands)


def render(template: str, macro: str, /, *args: object, **kwargs: object) -> str:
    """The HTML of `macro` in `templates/<template>`, called with these arguments."""
    return str(getattr(ENV.get_template(template).module, macro)(*args, **kwargs))
