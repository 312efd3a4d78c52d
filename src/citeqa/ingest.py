"""Read files, folders, feeds and URLs into `Article`s: the first stage of the pipeline.

Kinds (one reader module each under `citeqa.sources`): .txt (optional leading metadata lines), .md
(optional YAML front matter, `# Heading`), .html (main text via trafilatura), .json / .jsonl
(records), RSS/Atom feeds (.xml, .rss, .atom: one article per entry), .pdf and .docx, and http(s)
URLs of pages or feeds (fetched: the only network use). `read_paths` never raises for a bad file:
it returns what it could read plus one `Skipped` per file, record or URL it could not use.

Files are UTF-8 (the fast path), else UTF-16/32 with a byte-order mark, else the legacy encoding that
charset-normalizer recognises (Windows-1252, Latin-1, Windows-1251, ...); each file read in another
encoding than UTF-8 is noted with an `EncodingNote` warning, and each date that could not be read,
or only in part, with a `DateNote` (the article is kept, with what could be read of its date);
`citeqa ingest` reports both per file.
Dates are stored in ISO 8601 (citeqa.dates).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

from citeqa.errors import InputError
from citeqa.schema import Article, Skipped
from citeqa.sources.article import Item, sha, slug
from citeqa.sources.documents import from_docx, from_pdf
from citeqa.sources.feeds import from_feed
from citeqa.sources.html import from_html
from citeqa.sources.plain import from_md, from_txt
from citeqa.sources.records import article_from_record, from_json
from citeqa.sources.web import FetchSettings, is_url, read_url

__all__ = [
    "SUPPORTED_SUFFIXES",
    "FetchSettings",
    "article_from_record",
    "collect",
    "content_hash",
    "is_url",
    "read_paths",
]

# One reader per kind of file: bytes in, the file's article out (feeds and records give several).
_Reader = Callable[..., Article]
_ONE: dict[str, _Reader] = {
    ".txt": from_txt,
    ".md": from_md,
    ".markdown": from_md,
    ".html": from_html,
    ".htm": from_html,
    ".pdf": from_pdf,
    ".docx": from_docx,
}
_FEEDS = frozenset({".xml", ".rss", ".atom"})  # recognised by content: an .xml that is no feed is skipped
_RECORDS = frozenset({".json", ".jsonl"})
#: What ingest reads (and the page's uploads accept): one list, kept here.
SUPPORTED_SUFFIXES = frozenset(_ONE) | _FEEDS | _RECORDS


def _read_file(fs_path: Path, *, path: str, file_id: str, max_bytes: int) -> list[Item]:
    try:
        st = fs_path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO named x.txt would block read() forever
            return [Skipped(path, "not a regular file")]
        with open(fs_path, "rb") as fh:
            raw = fh.read(max_bytes + 1)  # bounded even if the file grew after stat()
        if (size := max(st.st_size, len(raw))) > max_bytes:
            return [Skipped(path, f"too large ({size:,} bytes; the limit is {max_bytes:,})")]
    except OSError as e:
        return [Skipped(path, f"unreadable: {e.strerror or e}")]
    suffix, stem = fs_path.suffix.lower(), fs_path.stem
    try:
        if suffix in _RECORDS:
            return list(from_json(raw, file_id=file_id, path=path, lines=suffix == ".jsonl"))
        if suffix in _FEEDS:
            return from_feed(raw, file_id=file_id, path=path)
        return [(path, _ONE[suffix](raw, file_id=file_id, stem=stem, path=path))]
    except InputError as e:
        return [Skipped(path, str(e))]
    except Exception as e:  # a parser bug on one odd file must not lose the other files
        return [Skipped(path, f"could not parse ({type(e).__name__}: {e})")]


def _file_id(rel: str) -> str:
    no_suffix = PurePosixPath(rel).with_suffix("").as_posix()
    return slug(no_suffix) or "file-" + sha(rel)[:12]  # e.g. a name written in a non-Latin script


def _walk(folder: Path, rel: str = "") -> Iterator[tuple[Path, str, str]]:
    """(path, relative posix path, error or "") for supported files, sorted by name at every level."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        yield folder, rel, f"unreadable folder: {e.strerror or e}"
        return
    for entry in entries:
        sub = f"{rel}/{entry.name}" if rel else entry.name
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):  # not following links: no cycles
            yield from _walk(Path(entry.path), sub)
        elif Path(entry.name).suffix.lower() in SUPPORTED_SUFFIXES:
            yield Path(entry.path), sub, ""


def _expand(given: str | os.PathLike[str], max_bytes: int, fetch: FetchSettings) -> Iterator[Item]:
    raw = os.fspath(given)
    if is_url(raw):
        yield from read_url(raw, fetch)
        return
    fs_path = Path(raw)
    # Stored paths stay relative: an absolute argument keeps only what lies below it.
    norm = Path(os.path.normpath(raw)).as_posix()
    shown = "" if fs_path.is_absolute() or norm == "." else norm
    try:
        if not fs_path.exists():
            yield Skipped(raw, "no such file or folder")
        elif fs_path.is_dir():
            for path, rel, error in _walk(fs_path):
                where = "/".join(p for p in (shown, rel) if p) or fs_path.name
                if error:
                    yield Skipped(where, error)
                else:
                    yield from _read_file(path, path=where, file_id=_file_id(rel), max_bytes=max_bytes)
        elif fs_path.suffix.lower() not in SUPPORTED_SUFFIXES:
            kinds = " ".join(sorted(SUPPORTED_SUFFIXES))
            yield Skipped(
                shown or fs_path.name, f"unsupported file type {fs_path.suffix!r}; use one of {kinds}"
            )
        else:
            where = shown or fs_path.name
            yield from _read_file(fs_path, path=where, file_id=_file_id(fs_path.name), max_bytes=max_bytes)
    except OSError as e:  # e.g. a parent folder without search permission
        yield Skipped(raw, f"unreadable: {e.strerror or e}")


def read_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    max_bytes: int = 20_000_000,
    fetch: FetchSettings | None = None,
) -> tuple[list[Article], list[Skipped]]:
    """Articles from files, folders (walked recursively in sorted order, hidden entries skipped) and
    http(s) URLs (fetched with `fetch`'s time limit and size cap: the only network use).

    Never raises for a bad file or URL: each becomes a `Skipped` and the good ones are still returned.
    A repeated id keeps its first article and skips the later ones.
    """
    fetch = fetch or FetchSettings(max_bytes=max_bytes)
    if isinstance(paths, (str, os.PathLike)):  # one path, not a sequence of one-letter paths
        paths = [paths]
    articles: list[Article] = []
    skipped: list[Skipped] = []
    first_seen: dict[str, str] = {}
    for given in paths:
        for item in _expand(given, max_bytes, fetch):
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
            where, article = item
            if article.id in first_seen:
                why = f"duplicate id {article.id} (first seen in {first_seen[article.id]})"
                skipped.append(Skipped(where, why))
                continue
            first_seen[article.id] = where
            articles.append(article)
    return articles, skipped


def content_hash(article: Article) -> str:
    """sha256 over title, text, source, url and published: the same hash means nothing to re-embed.

    Not the id (it is the key the hash is stored under) nor the path (moving a file changes nothing).
    """
    # A JSON list keeps field boundaries unambiguous ("ab" + "c" differs from "a" + "bc").
    payload = json.dumps([article.title, article.text, article.source, article.url, article.published])
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def collect(
    sources: Iterable[object], *, fetch: FetchSettings | None = None
) -> tuple[list[Article], list[Skipped]]:
    """Files, folders and URLs are read by `ingest`; `Article`s and `Skipped`s pass through; dicts
    become articles."""
    if isinstance(sources, (str, os.PathLike, Mapping, Article, Skipped)):
        sources = [sources]
    articles: list[Article] = []
    skipped: list[Skipped] = []
    paths: list[str | os.PathLike[str]] = []
    for i, src in enumerate(sources):
        if isinstance(src, Article):
            articles.append(src)
        elif isinstance(src, Skipped):
            skipped.append(src)
        elif isinstance(src, Mapping):
            try:
                articles.append(article_from_record(src, where=f"record {i}"))
            except InputError as exc:
                skipped.append(Skipped(f"record {i}", str(exc)))
        elif isinstance(src, (str, os.PathLike)):
            paths.append(src)
        else:
            skipped.append(Skipped(f"item {i}", f"cannot ingest a {type(src).__name__}"))
    if paths:
        read, bad = read_paths(paths, fetch=fetch)
        articles += read
        skipped += bad
    return _dedupe(articles, skipped)


def _dedupe(articles: Sequence[Article], skipped: list[Skipped]) -> tuple[list[Article], list[Skipped]]:
    seen: dict[str, Article] = {}
    for a in articles:
        if a.id in seen:
            skipped.append(Skipped(a.path or a.id, f"duplicate id {a.id!r} in the same batch"))
        else:
            seen[a.id] = a
    return list(seen.values()), skipped
