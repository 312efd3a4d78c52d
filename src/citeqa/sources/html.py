"""Web pages (a saved .html file or a fetched URL) and HTML fragments (a feed entry's content).

A page's main text comes from trafilatura (boilerplate, scripts and comments dropped); a short simple
page in which it finds no article is read with plain lxml. The page's date is the one trafilatura
finds in its metadata; when the page's own metadata gives that same day with a time, the time is
kept too (trafilatura reports days only).
"""

from __future__ import annotations

import json
import re

from citeqa.dates import iso_published
from citeqa.encoding import DECLARED_CHARSET, decode_file
from citeqa.schema import Article
from citeqa.sources.article import CONTROL, build_article, meta_str

_BLOCKS = "p div section article main h1 h2 h3 h4 h5 h6 li blockquote pre tr dd dt".split()  # noqa: SIM905
_BOILERPLATE = "//head|//script|//style|//noscript|//template|//nav|//header|//footer|//aside|//comment()"
_HIDDEN = "//head|//script|//style|//noscript|//template|//comment()"
# Where pages state their publication time: Open Graph / schema.org / Dublin Core metadata.
_TIME_META = (
    "//meta[@property='article:published_time' or @name='article:published_time' "
    "or @itemprop='datePublished' or @name='pubdate' or @name='publishdate' or @name='date' "
    "or @name='dc.date' or @name='DC.date' or @name='dcterms.created' or @name='DC.date.issued']/@content"
    "|//time[@itemprop='datePublished' or @pubdate]/@datetime"
)
_JSON_LD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')


def blocks_text(html: str, *, boilerplate: bool = True) -> tuple[str, str]:
    """(text, title) with plain lxml: blocks become paragraphs separated by blank lines. For short
    simple pages in which trafilatura finds no article, and for feed entries (`boilerplate=False`:
    a fragment has no navigation to drop, and its <header> or <aside> may be the content)."""
    from lxml import etree
    from lxml import html as lhtml

    try:
        root = lhtml.document_fromstring(CONTROL.sub("", html))
    except (ValueError, etree.ParserError):
        return "", ""
    title = root.findtext(".//title") or ""
    for el in root.xpath(_BOILERPLATE if boilerplate else _HIDDEN):
        el.drop_tree()
    for el in root.iter(*_BLOCKS):  # blank lines around blocks become paragraph breaks
        el.text, el.tail = "\n\n" + CONTROL.sub("", el.text or ""), "\n\n" + CONTROL.sub("", el.tail or "")
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    paras = (" ".join(p.split()) for p in re.split(r"\n\s*\n", root.text_content()))
    return "\n\n".join(p for p in paras if p), title


def fragment_text(html: str) -> str:
    """The text of an HTML fragment (a feed entry's summary or content), paragraphs kept."""
    return blocks_text(f"<div>{html}</div>", boilerplate=False)[0] if html.strip() else ""


def from_html(raw: bytes, *, file_id: str, stem: str, path: str) -> Article:
    """A saved web page; its url, source (site name) and date from its metadata."""
    return page_article(raw, default_id=file_id, path=path, stem=stem)


def page_article(
    raw: bytes, *, default_id: str, path: str, stem: str = "", url: str = "", charset: str = ""
) -> Article:
    """A page's main text and metadata. `url` (a fetched page's final address) beats the page's own
    canonical url; `charset` (from the HTTP header) beats the one the page declares."""
    import trafilatura  # 0.4 s to import: only when a page shows up
    from trafilatura.settings import Document

    # A legacy page declares its charset in a <meta> near the top: that beats any guess.
    declared = charset or (m[1].decode("ascii") if (m := DECLARED_CHARSET.search(raw[:4096])) else "")
    html = CONTROL.sub("", decode_file(raw, path, declared))
    dates = {"extensive_search": False, "original_date": True}  # no date guessed from "© 2019"
    doc = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=False, favor_precision=True,
        date_extraction_params=dates,
    )  # fmt: skip
    info = doc.as_dict() if isinstance(doc, Document) else {}  # None when it finds no article
    text, title = info.get("text") or "", ""
    if not text.strip():
        text, title = blocks_text(html)
        info = trafilatura.extract_metadata(html, date_config=dates).as_dict()
    title = meta_str(info.get("title")) or meta_str(title)
    day = meta_str(info.get("date"))
    meta = {
        "title": title,
        "url": url or info.get("url"),
        "source": info.get("sitename"),
        "date": _with_time(html, day) if day else None,
    }
    paras = [p.strip() for p in text.split("\n") if p.strip()]
    if paras and paras[0].casefold() == title.casefold():  # the <h1> repeats the title
        paras = paras[1:]
    # Paragraphs are separated by blank lines, as in the .txt and .md articles.
    return build_article(meta, "\n\n".join(paras), default_id=default_id, path=path, stem=stem)


def _with_time(html: str, day: str) -> str:
    """`day` (trafilatura's "YYYY-MM-DD") with the time the page's metadata gives for that same
    day, if it gives one; else `day` as it is."""
    from lxml import etree
    from lxml import html as lhtml

    try:
        stated = [str(v) for v in lhtml.document_fromstring(html).xpath(_TIME_META)]
    except (ValueError, etree.ParserError):
        stated = []
    stated += _json_ld_dates(html)
    for value in stated:
        iso = iso_published(value.strip(), anchored=True)
        if len(iso) > 10 and iso[:10] == day:
            return iso
    return day


def _json_ld_dates(html: str) -> list[str]:
    """`datePublished` values of the page's JSON-LD (read as JSON strings, so escapes decode)."""
    found = []
    for m in _JSON_LD_DATE.finditer(html):
        try:
            found.append(json.loads(f'"{m[1]}"'))
        except ValueError:
            continue
    return found
