"""Read files, folders and records into `Article`s: the first stage of the pipeline.

Formats: .txt (optional leading metadata lines), .md (optional YAML front matter, `# Heading`),
.html (main text via trafilatura), .json / .jsonl (records). `read_paths` never raises for a bad
file: it returns what it could read plus one `Skipped` per file or record it could not use.

Files are UTF-8 (the fast path), else UTF-16/32 with a byte-order mark, else the legacy encoding that
charset-normalizer recognises (Windows-1252, Latin-1, Windows-1251, ...); each file read in another
encoding than UTF-8 is noted with an `EncodingNote` warning, which `citeqa ingest` reports per file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

import yaml

from citeqa.encoding import DECLARED_CHARSET, decode_file
from citeqa.errors import InputError
from citeqa.schema import Article, Skipped

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl"})

_MONTHS = "january february march april may june july august september october november december".split()  # noqa: SIM905
_DATES = (  # (pattern, what its groups are): ISO, "18 April 2023", "April 18, 2023"
    (re.compile(r"(?<!\d)(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})(?!\d)"), "dmy"),
    (re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)"), "mdy"),
)
_META_LINE = re.compile(
    r"[ \t]*(?P<key>date|published|title|source|url|author)(?:[ \t]*(?P<colon>:)|[ \t]+)"
    r"[ \t]*(?P<value>.*?)\s*",
    re.IGNORECASE,
)
_URLISH = re.compile(r"(?:https?://|www\.)\S+")
_FRONT_MATTER = re.compile(r"---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*")  # ATX heading; closing #s are decoration
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # lxml refuses them in text; no page needs them
_Item = tuple[str, Article] | Skipped  # (where it was read, article) or why something was not used


def _iso_date(value: object, *, anchored: bool = False) -> str:
    """`YYYY-MM-DD` from a date, an ISO string, "18 April 2023" or "April 18, 2023"; else ""."""
    if isinstance(value, dt.date):  # YAML front matter parses bare dates itself (datetimes too)
        return dt.date(value.year, value.month, value.day).isoformat()
    if not isinstance(value, str):
        return ""
    for pattern, order in _DATES:
        if not (m := pattern.match(value) if anchored else pattern.search(value)):
            continue
        y, mo, d = (m[order.index(c) + 1] for c in "ymd")
        # "Apr", "Sept." and "April" are all prefixes of a month name; "Palms" is not.
        month = (
            int(mo)
            if mo.isdigit()
            else next((i for i, n in enumerate(_MONTHS, 1) if n.startswith(mo.lower())), 0)
        )
        try:
            return dt.date(int(y), month, int(d)).isoformat()
        except ValueError:
            continue
    return ""


def _slug(text: str) -> str:
    """Lowercase, `[a-z0-9._/-]` kept, other runs -> "-"; empty, "." and ".." segments dropped."""
    # Drop accents first so "Türkiye" becomes "turkiye", not "t-rkiye".
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    segments = (re.sub(r"[^a-z0-9._-]+", "-", s).strip("-.") for s in folded.lower().split("/"))
    return "/".join(s for s in segments if s)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _title_from_text(text: str, limit: int = 80) -> str:
    """The first sentence (or line), cut at a word boundary near `limit` characters."""
    first = re.split(r"(?<=[.!?])\s|\n", text, maxsplit=1)[0].strip()
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


def _title_from_name(stem: str, body: str) -> str:
    """ "heydar-aliyev-2023-drills" -> "Heydar Aliyev 2023 drills"."""

    # A file name has lost its capitals; each word takes the casing the article uses most for it
    # ("aliyev" -> "Aliyev", "drills" stays lower), so proper nouns come back without a dictionary.
    def cased(word: str) -> str:
        seen = Counter(re.findall(rf"(?<!\w){re.escape(word)}(?!\w)", body, re.IGNORECASE))
        return seen.most_common(1)[0][0] if seen else word

    title = " ".join(cased(w) for w in re.split(r"[-_\s]+", stem) if w)
    return title[:1].upper() + title[1:] if title else _title_from_text(body)


def _meta_str(value: object) -> str:
    """A metadata value as text; lists, mappings, booleans and nulls (from YAML) count as absent."""
    if isinstance(value, dt.date):
        return _iso_date(value)
    ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return " ".join(str(value).split()) if ok else ""


def _article(meta: Mapping[str, object], body: str, *, default_id: str, path: str, stem: str = "") -> Article:
    """The one place every format builds its `Article`; `meta` holds whatever metadata it had."""
    if not body:
        raise InputError("empty body")
    url = _meta_str(meta.get("url"))
    # A bare record (no file to name it) is named by its url, else by its text.
    default_id = default_id or _slug(re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.I)) or _sha(body)[:16]
    title = _meta_str(meta.get("title")) or (_title_from_name(stem, body) if stem else _title_from_text(body))
    return Article(
        id=_meta_str(meta.get("id")) or default_id,
        title=title,
        text=body,
        source=_meta_str(meta.get("source")),
        url=url,
        published=_iso_date(meta.get("published") or meta.get("date")),
        path=path,
    )


def _meta_line(line: str) -> tuple[str, str] | None:
    if not (m := _META_LINE.fullmatch(line)):
        return None
    key, value = m["key"].lower(), m["value"]
    key = "published" if key == "date" else key
    # Without a colon only self-evident values count, so "Date palms grow..." stays body text.
    dated = key == "published" and _iso_date(value, anchored=True)
    return (key, value) if m["colon"] or dated or (key == "url" and _URLISH.fullmatch(value)) else None


def _from_txt(raw: bytes, *, file_id: str, stem: str, path: str) -> Article:
    lines = decode_file(raw, path).split("\n")
    meta: dict[str, str] = {}
    n = 0
    while n < len(lines) and (kv := _meta_line(lines[n])):
        meta.setdefault(*kv)
        n += 1
    return _article(meta, "\n".join(lines[n:]).strip(), default_id=file_id, path=path, stem=stem)


def _from_md(raw: bytes, *, file_id: str, stem: str, path: str) -> Article:
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
    if not _meta_str(meta.get("title")) and (h := _HEADING.fullmatch(first)):
        meta["title"], body = h[1], rest.strip()
    return _article(meta, body, default_id=file_id, path=path, stem=stem)


def _html_fallback(html: str) -> tuple[str, str]:
    """(text, title) with plain lxml, for short simple pages in which trafilatura finds no article."""
    from lxml import etree
    from lxml import html as lhtml

    try:
        root = lhtml.document_fromstring(html)
    except (ValueError, etree.ParserError):
        return "", ""
    title = root.findtext(".//title") or ""
    hidden = "//head|//script|//style|//noscript|//template|//nav|//header|//footer|//aside|//comment()"
    for el in root.xpath(hidden):
        el.drop_tree()
    blocks = "p div section article main h1 h2 h3 h4 h5 h6 li blockquote pre tr dd dt"
    for el in root.iter(*blocks.split()):  # blank lines around blocks become paragraph breaks
        el.text, el.tail = "\n\n" + _CONTROL.sub("", el.text or ""), "\n\n" + _CONTROL.sub("", el.tail or "")
    paras = (" ".join(p.split()) for p in re.split(r"\n\s*\n", root.text_content()))
    return "\n\n".join(p for p in paras if p), title


def _from_html(raw: bytes, *, file_id: str, stem: str, path: str) -> Article:
    import trafilatura  # 0.4 s to import: only when an HTML file shows up
    from trafilatura.settings import Document

    # A legacy page declares its charset in a <meta> near the top: that beats any guess.
    declared = m[1].decode("ascii") if (m := DECLARED_CHARSET.search(raw[:4096])) else ""
    html = _CONTROL.sub("", decode_file(raw, path, declared))
    dates = {"extensive_search": False, "original_date": True}  # no date guessed from "© 2019"
    doc = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=False, favor_precision=True,
        date_extraction_params=dates,
    )  # fmt: skip
    info = doc.as_dict() if isinstance(doc, Document) else {}  # None when it finds no article
    text, title = info.get("text") or "", ""
    if not text.strip():
        text, title = _html_fallback(html)
        info = trafilatura.extract_metadata(html, date_config=dates).as_dict()
    title = _meta_str(info.get("title")) or _meta_str(title)
    meta = {"title": title, "url": info.get("url"), "source": info.get("sitename"), "date": info.get("date")}
    paras = [p.strip() for p in text.split("\n") if p.strip()]
    if paras and paras[0].casefold() == title.casefold():  # the <h1> repeats the title
        paras = paras[1:]
    # Paragraphs are separated by blank lines, as in the .txt and .md articles.
    return _article(meta, "\n\n".join(paras), default_id=file_id, path=path, stem=stem)


def _from_record(record: object, *, default_id: str, path: str) -> Article:
    if not isinstance(record, Mapping):
        raise InputError(f"expected a JSON object with a 'text' field, got {type(record).__name__}")
    for key in ("id", "title", "url", "source", "published", "date", "text", "body", "content"):
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
    article = _article(record, body, default_id=default_id, path=path)
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
        return _from_record(record, default_id="", path="")
    except InputError as e:
        raise InputError(f"{where}: {e}") from None


def _from_json(raw: bytes, *, file_id: str, path: str, lines: bool) -> Iterator[_Item]:
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
            yield where, _from_record(record, default_id=default_id, path=path)
        except InputError as e:
            yield Skipped(where, str(e))


def _read_file(fs_path: Path, *, path: str, file_id: str, max_bytes: int) -> list[_Item]:
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
        if suffix in (".json", ".jsonl"):
            return list(_from_json(raw, file_id=file_id, path=path, lines=suffix == ".jsonl"))
        read = _from_txt if suffix == ".txt" else _from_md if suffix in (".md", ".markdown") else _from_html
        return [(path, read(raw, file_id=file_id, stem=stem, path=path))]
    except InputError as e:
        return [Skipped(path, str(e))]
    except Exception as e:  # a parser bug on one odd file must not lose the other files
        return [Skipped(path, f"could not parse ({type(e).__name__}: {e})")]


def _file_id(rel: str) -> str:
    no_suffix = PurePosixPath(rel).with_suffix("").as_posix()
    return _slug(no_suffix) or "file-" + _sha(rel)[:12]  # e.g. a name written in a non-Latin script


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


def _expand(given: str | os.PathLike[str], max_bytes: int) -> Iterator[_Item]:
    raw = os.fspath(given)
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
    paths: Sequence[str | os.PathLike[str]], *, max_bytes: int = 20_000_000
) -> tuple[list[Article], list[Skipped]]:
    """Articles from files and folders (walked recursively in sorted order, hidden entries skipped).

    Never raises for a bad file: each becomes a `Skipped` and the good ones are still returned.
    A repeated id keeps its first article and skips the later ones.
    """
    if isinstance(paths, (str, os.PathLike)):  # one path, not a sequence of one-letter paths
        paths = [paths]
    articles: list[Article] = []
    skipped: list[Skipped] = []
    first_seen: dict[str, str] = {}
    for given in paths:
        for item in _expand(given, max_bytes):
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
