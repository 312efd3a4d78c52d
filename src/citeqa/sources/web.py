"""Fetching the http(s) URLs a user gives: the only place citeqa uses the network.

Nothing else fetches: not the links inside a feed, nor a page's images or scripts. A fetch has a
time limit for the whole download (not per read: a server that trickles bytes is stopped too), a
size cap, and says who it is (`USER_AGENT`). What came back decides how it is read: a feed (by its
root element, whatever the server calls it), a PDF, else an HTML page; anything else is refused.
The standard library's urllib is enough here and needs no extra package; trafilatura's own fetcher
would hide the status, the time limit and the final address behind one "None".
"""

from __future__ import annotations

import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from email.message import Message

from citeqa.errors import InputError
from citeqa.schema import Skipped
from citeqa.sources.article import Item, url_id
from citeqa.sources.documents import from_docx, from_pdf
from citeqa.sources.feeds import feed_root, from_feed, is_feed
from citeqa.sources.html import page_article

USER_AGENT = "citeqa/0.1 (offline question answering; fetches only the URLs its user gives)"
_URL = re.compile(r"https?://[^\s/]", re.IGNORECASE)
_PAGE_TYPES = ("text/html", "application/xhtml+xml")
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Servers that don't know the DOCX type send one of these; the address's .docx then says what it is.
_ZIP_TYPES = ("application/zip", "application/octet-stream", "")
_XML_TYPES = (
    "application/xml",
    "text/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
)


def is_url(value: object) -> bool:
    """True for an http:// or https:// address (what `citeqa ingest` fetches instead of opening)."""
    return isinstance(value, str) and bool(_URL.match(value.strip()))


@dataclass(frozen=True)
class FetchSettings:
    """How a URL is fetched. Bad values are refused on construction."""

    timeout: float = 20.0  #: seconds for the whole download, connection included
    max_bytes: int = 20_000_000  #: a larger response is refused (the same cap as a file's)
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        number = isinstance(self.timeout, (int, float)) and not isinstance(self.timeout, bool)
        if not number or not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int) or self.max_bytes < 1:
            raise ValueError(f"max_bytes must be a positive integer, got {self.max_bytes!r}")


@dataclass(frozen=True)
class Fetched:
    """A response: the final address (after redirects), its media type and charset, and the body."""

    url: str
    content_type: str
    charset: str
    body: bytes


def fetch(url: str, settings: FetchSettings = FetchSettings()) -> Fetched:
    """GET `url`; `InputError` with one line saying what went wrong (host, status, time, size)."""
    host = _host(url.strip())
    headers = {"User-Agent": settings.user_agent, "Accept": "*/*"}
    request = urllib.request.Request(url.strip(), headers=headers)
    deadline = time.monotonic() + settings.timeout
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout) as response:
            info: Message = response.headers
            body = _read_capped(response, settings, deadline)
            final = urllib.parse.urldefrag(response.geturl())[0]
    except urllib.error.HTTPError as e:
        raise InputError(f"HTTP error {e.code} {e.reason}".rstrip()) from None
    except TimeoutError:
        raise InputError(f"timed out after {settings.timeout:g} s") from None
    except urllib.error.URLError as e:
        raise InputError(_unreachable(host, e.reason, settings)) from None
    except (ssl.SSLError, ConnectionError, OSError) as e:  # e.g. a connection reset while reading
        raise InputError(f"the connection to {host} failed ({e.strerror or e})") from None
    except ValueError as e:  # urllib's own complaint about a malformed address
        raise InputError(f"not a valid URL ({e})") from None
    return Fetched(final, info.get_content_type(), info.get_content_charset() or "", body)


def _host(url: str) -> str:
    """The host a URL names; `InputError` for an address no request could be made to."""
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises for a port out of range or not a number
    except ValueError as e:
        raise InputError(f"not a valid URL ({e})") from None
    if not parts.hostname or any(c.isspace() for c in url):
        raise InputError("not a valid URL (no host name, or white space in it)")
    return parts.hostname


def _read_capped(response: object, settings: FetchSettings, deadline: float) -> bytes:
    chunks, size = [], 0
    while chunk := response.read(65536):  # type: ignore[attr-defined]
        size += len(chunk)
        if size > settings.max_bytes:
            raise InputError(f"too large (the limit is {settings.max_bytes:,} bytes)")
        if time.monotonic() > deadline:
            raise TimeoutError
        chunks.append(chunk)
    return b"".join(chunks)


def _unreachable(host: str, reason: object, settings: FetchSettings) -> str:
    """One line for a connection that failed before any response."""
    if isinstance(reason, TimeoutError):
        return f"timed out after {settings.timeout:g} s"
    if isinstance(reason, socket.gaierror):
        return f"cannot reach {host}: no such host (or no network)"
    if isinstance(reason, ConnectionRefusedError):
        return f"cannot reach {host}: connection refused"
    if isinstance(reason, ssl.SSLError):
        return f"cannot reach {host}: TLS error ({reason.reason or reason})"
    if isinstance(reason, OSError):
        return f"cannot reach {host}: {reason.strerror or reason}"
    return f"cannot reach {host}: {reason}"


def read_url(url: str, settings: FetchSettings = FetchSettings()) -> list[Item]:
    """The articles at `url`: a page gives one, a feed one per entry. A URL that can't be read is
    one `Skipped` naming it, like an unreadable file."""
    given = url.strip()
    try:
        return _read_response(given, fetch(given, settings))
    except InputError as e:
        return [Skipped(given, str(e))]
    except Exception as e:  # a parser bug on one odd page must not lose the other inputs
        return [Skipped(given, f"could not parse ({type(e).__name__}: {e})")]


def _read_response(given: str, got: Fetched) -> list[Item]:
    # The id follows the address the user gave (without its #fragment), so it stays the same when
    # the site redirects elsewhere; the article's url is where the page really was.
    article_id = url_id(urllib.parse.urldefrag(given)[0])
    kind = got.content_type
    if is_feed(got.body):
        return from_feed(got.body, file_id=article_id, path=given, base_url=got.url)
    if kind == "application/pdf" or got.body.startswith(b"%PDF-"):
        return [(given, replace(from_pdf(got.body, file_id=article_id, stem="", path=given), url=got.url))]
    named_docx = any(urllib.parse.urlsplit(u).path.lower().endswith(".docx") for u in (given, got.url))
    if kind == DOCX_TYPE or (kind in _ZIP_TYPES and named_docx):
        return [(given, replace(from_docx(got.body, file_id=article_id, stem="", path=given), url=got.url))]
    root = feed_root(got.body).lower()
    untyped_html = kind in ("", "text/plain") and b"<html" in got.body[:4096].lower()
    if kind in _PAGE_TYPES or root == "html" or untyped_html:
        article = page_article(got.body, default_id=article_id, path=given, url=got.url, charset=got.charset)
        return [(given, article)]
    if kind in _XML_TYPES:
        raise InputError(f"XML that is not an RSS or Atom feed (its root element is <{root or '?'}>)")
    raise InputError(f"not a web page or a feed (content type {kind or 'unknown'})")
