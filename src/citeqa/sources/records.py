"""Records: .json (an object, a list, or {"articles": [...]}), .jsonl (one object a line) and dicts.

A record has `text` (or `body` / `content`) and optional `id`, `title`, `url`, `source` and
`published` (or `date`: a string, or a number for a Unix time). Each malformed record or line skips
only itself; a date that can't be read only drops the date, with a note.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

from citeqa.encoding import decode_file
from citeqa.errors import InputError
from citeqa.schema import Article, Skipped
from citeqa.sources.article import Item, build_article


def from_record(record: object, *, default_id: str, path: str, where: str = "") -> Article:
    if not isinstance(record, Mapping):
        raise InputError(f"expected a JSON object with a 'text' field, got {type(record).__name__}")
    # `published` and `date` may be anything: a number is a Unix time, and any date that can't be
    # read is a note (citeqa.dates), never a reason to lose the article.
    for key in ("id", "title", "url", "source", "text", "body", "content"):
        value = record.get(key)
        if value is not None and not isinstance(value, str) and not (key == "id" and type(value) is int):
            raise InputError(f"field {key!r} must be a string, got {type(value).__name__}")
    texts = (
        re.sub(r"\r\n?", "\n", record.get(k) or "").lstrip("\ufeff").strip()
        for k in ("text", "body", "content")
    )
    body = next((t for t in texts if t), "")
    if not body:
        raise InputError("needs a non-empty 'text' (or 'body' / 'content')")
    article = build_article(record, body, default_id=default_id, path=path, where=where)
    try:  # JSON "\ud800" escapes decode to lone surrogates, which no later stage could write out
        "".join([article.id, article.title, article.text, article.source, article.url]).encode()
    except UnicodeEncodeError:
        raise InputError("invalid Unicode (a lone surrogate \\uXXXX escape)") from None
    return article


def article_from_record(record: Mapping[str, object], *, where: str) -> Article:
    """An `Article` from a dict with `text` (or `body`/`content`) and optional `id`, `title`, `url`,
    `source`, `published`/`date`. Without `id`, the id is the url's slug, else `sha256(text)[:16]`.
    Raises `InputError` naming `where` when the record can't be used."""
    try:
        return from_record(record, default_id="", path="", where=where)
    except InputError as e:
        raise InputError(f"{where}: {e}") from None


def from_json(raw: bytes, *, file_id: str, path: str, lines: bool) -> Iterator[Item]:
    """Records of a .jsonl (one a line, numbered from 1) or a .json (object, list or {"articles"})."""
    text = decode_file(raw, path)

    def loads(s: str) -> object:
        try:
            return json.loads(s)
        except json.JSONDecodeError as e:
            at = f"column {e.colno}" if lines else f"line {e.lineno}, column {e.colno}"
            raise InputError(f"malformed JSON: {e.msg} ({at})") from None

    if lines:  # parsed one by one below, so a malformed line skips only itself
        numbered = [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
        rows: list[tuple[str, str, object]] = [(f"{path}:{n}", f"{file_id}#{n}", ln) for n, ln in numbered]
    else:
        data = loads(text)
        if isinstance(data, dict) and isinstance(data.get("articles"), list):
            data = data["articles"]
        if isinstance(data, list):
            rows = [(f"{path}[{i}]", f"{file_id}#{i}", r) for i, r in enumerate(data)]
        else:
            rows = [(path, file_id, data)]
    for where, default_id, record in rows:
        try:
            record = loads(str(record)) if lines else record
            yield where, from_record(record, default_id=default_id, path=path, where=where)
        except InputError as e:
            yield Skipped(where, str(e))
