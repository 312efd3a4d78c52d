"""Building an `Article` from what a source gave: the one place ids, titles and dates are settled.

Every reader (text, HTML, records, feeds, documents, web pages) ends in `build_article`, so an
article from a feed and one from a .txt file get their ids, titles and dates by the same rules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Mapping

from citeqa.dates import DateNote, Reading, iso_published, read_published
from citeqa.errors import InputError
from citeqa.schema import Article, Skipped

#: What a reader yields: (where it was read, the article) or why something there was not used.
Item = tuple[str, Article] | Skipped
#: Control characters: lxml refuses them in text, and no article needs them.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def slug(text: str) -> str:
    """Lowercase, `[a-z0-9._/-]` kept, other runs -> "-"; empty, "." and ".." segments dropped."""
    # Drop accents first so "Türkiye" becomes "turkiye", not "t-rkiye".
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    segments = (re.sub(r"[^a-z0-9._-]+", "-", s).strip("-.") for s in folded.lower().split("/"))
    return "/".join(s for s in segments if s)


def url_id(url: str) -> str:
    """The id of an article known by its url: "https://Example.com/news/a?id=2" ->
    "example.com/news/a-id-2" (the scheme dropped, so http and https give the same id)."""
    return slug(_SCHEME.sub("", url))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def title_from_text(text: str, limit: int = 80) -> str:
    """The first sentence (or line), cut at a word boundary near `limit` characters."""
    first = re.split(r"(?<=[.!?])\s|\n", text, maxsplit=1)[0].strip()
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


def title_from_name(stem: str, body: str) -> str:
    """ "heydar-aliyev-2023-drills" -> "Heydar Aliyev 2023 drills"."""

    # A file name has lost its capitals; each word takes the casing the article uses most for it
    # ("aliyev" -> "Aliyev", "drills" stays lower), so proper nouns come back without a dictionary.
    def cased(word: str) -> str:
        seen = Counter(re.findall(rf"(?<!\w){re.escape(word)}(?!\w)", body, re.IGNORECASE))
        return seen.most_common(1)[0][0] if seen else word

    title = " ".join(cased(w) for w in re.split(r"[-_\s]+", stem) if w)
    return title[:1].upper() + title[1:] if title else title_from_text(body)


def meta_str(value: object) -> str:
    """A metadata value as one line of text; lists, mappings, booleans and nulls (from YAML) count
    as absent."""
    if isinstance(value, dt.date):  # YAML reads "title: 2023-04-18" as a date
        return iso_published(value)
    ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return " ".join(str(value).split()) if ok else ""


def published_of(value: object, where: str) -> str:
    """The stored form of a source's date (citeqa.dates); a date that is there but can't be read, or
    only in part (a time zone it does not know), gives what could be read and a `DateNote` naming
    `where`, never an error."""
    return noted(read_published(value), where, stacklevel=4)


def noted(reading: Reading, where: str, stacklevel: int = 3) -> str:
    """A date's stored form, its problem (if any) warned as a `DateNote` naming `where`."""
    if reading.problem:
        warnings.warn(DateNote(where, reading.value, reading.problem), stacklevel=stacklevel)
    return reading.stored


def build_article(
    meta: Mapping[str, object], body: str, *, default_id: str, path: str, stem: str = "", where: str = ""
) -> Article:
    """The one place every format builds its `Article`; `meta` holds whatever metadata it had
    (`id`, `title`, `source`, `url`, `published` or `date`). `where` names it in a date note."""
    if not body:
        raise InputError("empty body")
    url = meta_str(meta.get("url"))
    # A bare record (no file to name it) is named by its url, else by its text.
    default_id = default_id or url_id(url) or sha(body)[:16]
    title = meta_str(meta.get("title")) or (title_from_name(stem, body) if stem else title_from_text(body))
    date = meta.get("published")
    date = date if date is not None and date != "" else meta.get("date")
    return Article(
        id=meta_str(meta.get("id")) or default_id,
        title=title,
        text=body,
        source=meta_str(meta.get("source")),
        url=url,
        published=published_of(date, where or path),
        path=path,
    )
