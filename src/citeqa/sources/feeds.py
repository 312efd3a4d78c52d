"""RSS and Atom feeds (feedparser): each entry is one article.

An entry's text is its full content when the feed carries it (`content:encoded`, Atom `<content>`),
else its summary: a feed of links with one-line summaries gives one-line articles. The linked pages
are not fetched (network is used only for the URLs the user gives; `citeqa ingest URL` reads a page).
An entry is known by its link (the same id as `citeqa ingest LINK` gives the page), else by its
guid, so ingesting a feed again finds the same articles and re-embeds only entries that changed.
"""

from __future__ import annotations

import io
import re
import urllib.parse
from collections.abc import Mapping

from citeqa.dates import iso_published, read_published
from citeqa.errors import InputError
from citeqa.schema import Article, Skipped
from citeqa.sources.article import Item, build_article, meta_str, noted, sha, slug, url_id
from citeqa.sources.html import fragment_text

# The root element, after the XML declaration, comments, processing instructions and a DOCTYPE.
_PROLOG = re.compile(rb"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*", re.DOTALL)
_ROOT = re.compile(rb"<(?:[\w.-]+:)?([\w.-]+)")
FEED_ROOTS = frozenset({"rss", "feed", "RDF"})  # RSS 0.9x/2.0, Atom, RSS 1.0 (rdf:RDF)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def feed_root(raw: bytes) -> str:
    """The name of the document's root element ("rss", "feed", "html", ...); "" if not XML-like.
    Reads the first bytes only: a feed says what it is in its first element."""
    head = raw[:4096].lstrip(b"\xef\xbb\xbf")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: read a little of it as such
        head = head.decode("utf-16", "ignore").encode("utf-8", "ignore")
    m = _ROOT.match(head, _PROLOG.match(head).end())  # type: ignore[union-attr]
    return m[1].decode("ascii", "replace") if m else ""


def is_feed(raw: bytes) -> bool:
    return feed_root(raw) in FEED_ROOTS


def from_feed(raw: bytes, *, file_id: str, path: str, base_url: str = "") -> list[Item]:
    """The entries of a feed file or a fetched feed (`base_url`: where it came from, for relative
    links). A document that is not a feed is one `Skipped`, as is a feed without entries."""
    import feedparser  # only when a feed shows up

    root = feed_root(raw)
    if root not in FEED_ROOTS:
        found = f"its root element is <{root}>" if root else "it is not XML"
        raise InputError(f"not an RSS or Atom feed ({found})")
    headers = {"content-location": base_url} if base_url else None
    # Bytes in a stream: given a str, feedparser would open it as a file name or fetch it as a URL.
    parsed = feedparser.parse(io.BytesIO(raw), response_headers=headers, sanitize_html=True)
    if not parsed.entries:
        error = parsed.get("bozo_exception")
        malformed = parsed.get("bozo") and error
        raise InputError(f"malformed feed: {error}" if malformed else "the feed has no entries")
    source = meta_str(parsed.feed.get("title"))
    # Relative entry links resolve against where the feed came from, else against the site it names.
    base = base_url or meta_str(parsed.feed.get("link"))
    items: list[Item] = []
    for n, entry in enumerate(parsed.entries, start=1):
        where = f"{path} entry {n}"
        try:
            article = _entry_article(entry, n, source=source, file_id=file_id, path=path, base=base)
            items.append((where, article))
        except InputError as e:
            items.append(Skipped(where, str(e)))
    return items


def _entry_article(
    entry: Mapping[str, object], n: int, *, source: str, file_id: str, path: str, base: str
) -> Article:
    link = urllib.parse.urljoin(base, meta_str(entry.get("link")))
    if not is_web_address(link):  # feedparser falls back to an Atom id such as "tag:site,2024:x"
        link = ""
    guid = meta_str(entry.get("id"))
    title = _text_of(entry.get("title"), entry.get("title_detail"))
    contents = entry.get("content")
    parts = contents if isinstance(contents, list) else []
    full = next((t for c in parts if isinstance(c, Mapping) and (t := _text_of(c.get("value"), c))), "")
    body = full or _text_of(entry.get("summary"), entry.get("summary_detail"))
    if not body:
        raise InputError("no text (the entry has neither content nor a summary)")
    # A guid is unique within its feed only: it is kept under the feed's id.
    default_id = url_id(link) or f"{file_id}#{slug(guid) or sha(title + body)[:12]}"
    meta = {"title": title, "url": link, "source": source, "published": _entry_date(entry, path, n)}
    return build_article(meta, body, default_id=default_id, path=path, where=f"{path} entry {n}")


def is_web_address(url: str) -> bool:
    """An absolute http(s) address (not a relative link, nor an Atom "tag:" or "urn:" id)."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _text_of(value: object, detail: object) -> str:
    """A feed text construct as plain text: HTML (feedparser has sanitised it) becomes paragraphs."""
    text = value if isinstance(value, str) else ""
    kind = detail.get("type", "") if isinstance(detail, Mapping) else ""
    if kind in _HTML_TYPES or (not kind and "<" in text):
        return fragment_text(text)
    return re.sub(r"\r\n?", "\n", text).strip()


def _entry_date(entry: Mapping[str, object], path: str, n: int) -> str:
    """The entry's own date string (its offset kept), else feedparser's UTC reading of it; a date
    neither can read is noted (`DateNote`) and left out, as is a time zone the first can't read."""
    for key in ("published", "updated", "created"):
        if raw := meta_str(entry.get(key)):
            reading = read_published(raw)
            if not reading.stored and (parsed := iso_published(entry.get(f"{key}_parsed"))):
                return parsed
            return noted(reading, f"{path} entry {n}")
    return ""
