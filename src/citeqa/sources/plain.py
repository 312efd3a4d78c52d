"""Plain text: .txt with optional leading metadata lines, .md with optional YAML front matter."""

from __future__ import annotations

import re

import yaml

from citeqa.dates import iso_published
from citeqa.encoding import decode_file
from citeqa.errors import InputError
from citeqa.schema import Article
from citeqa.sources.article import build_article, meta_str

_META_LINE = re.compile(
    r"[ \t]*(?P<key>date|published|title|source|url|author)(?:[ \t]*(?P<colon>:)|[ \t]+)"
    r"[ \t]*(?P<value>.*?)\s*",
    re.IGNORECASE,
)
_URLISH = re.compile(r"(?:https?://|www\.)\S+")
_FRONT_MATTER = re.compile(r"---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*")  # ATX heading; closing #s are decoration


def _meta_line(line: str) -> tuple[str, str] | None:
    if not (m := _META_LINE.fullmatch(line)):
        return None
    key, value = m["key"].lower(), m["value"]
    key = "published" if key == "date" else key
    # Without a colon only self-evident values count, so "Date palms grow..." stays body text.
    dated = key == "published" and iso_published(value, anchored=True)
    return (key, value) if m["colon"] or dated or (key == "url" and _URLISH.fullmatch(value)) else None


def from_txt(raw: bytes, *, file_id: str, stem: str, path: str) -> Article:
    lines = decode_file(raw, path).split("\n")
    meta: dict[str, str] = {}
    n = 0
    while n < len(lines) and (kv := _meta_line(lines[n])):
        meta.setdefault(*kv)
        n += 1
    return build_article(meta, "\n".join(lines[n:]).strip(), default_id=file_id, path=path, stem=stem)


def from_md(raw: bytes, *, file_id: str, stem: str, path: str) -> Article:
    text = decode_file(raw, path)
    meta: dict[str, object] = {}
    if text.split("\n", 1)[0].rstrip() == "---":
        if not (m := _FRONT_MATTER.match(text)):
            raise InputError("malformed front matter: no closing '---' line")
        try:
            loaded = yaml.safe_load(m[1]) or {}
        except yaml.YAMLError as e:
            raise InputError(f"malformed front matter: {str(e).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise InputError("malformed front matter: expected 'key: value' lines")
        meta, text = {str(k).lower(): v for k, v in loaded.items()}, text[m.end() :]
    body = text.strip()
    first, _, rest = body.partition("\n")
    if not meta_str(meta.get("title")) and (h := _HEADING.fullmatch(first)):
        meta["title"], body = h[1], rest.strip()
    return build_article(meta, body, default_id=file_id, path=path, stem=stem)
