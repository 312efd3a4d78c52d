"""Documents: PDF (pypdf) and Word .docx (python-docx).

The text extracted here is what is stored, so it is what citations point into and what the page
shows: PDF pages are joined by blank lines (a page's own line breaks are kept: the chunker reads a
single line break inside a sentence as wrapping), .docx paragraphs by blank lines. Titles and dates
come from the document's properties (PDF /Title and /CreationDate, .docx core properties). Tables,
headers, footers and images are not read; a PDF without a text layer (a scan) or one that needs a
password is skipped with a reason.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import zipfile
from collections.abc import Iterator

from citeqa.errors import InputError
from citeqa.schema import Article
from citeqa.sources.article import CONTROL, build_article

_BLANK_RUNS = re.compile(r"\n[ \t]*\n\s*")
# python-docx's own template stamps every new document with this creation time: not a real date.
_DOCX_TEMPLATE_CREATED = "2013-12-23T23:15:00Z"
_DC = {
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
}


def _tidy(text: str) -> str:
    """One page or paragraph: "\n" line ends, no control characters or trailing spaces, and at most
    one blank line in a row (a blank line is a paragraph break to the chunker)."""
    text = CONTROL.sub("", re.sub(r"\r\n?", "\n", text)).replace("\x00", "")
    lines = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", lines).strip()


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """pypdf logs each oddity of a damaged file as a warning, which would reach the user's terminal
    beside the one `skipped` line that says what happened; hold its logger to errors meanwhile."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def from_pdf(raw: bytes, *, file_id: str, stem: str, path: str) -> Article:
    with _quiet("pypdf"):
        return _from_pdf(raw, file_id=file_id, stem=stem, path=path)


def _from_pdf(raw: bytes, *, file_id: str, stem: str, path: str) -> Article:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            # Many PDFs are "encrypted" only against editing, with an empty password to read them.
            try:
                opened = reader.decrypt("")
            except DependencyError:  # AES needs the `cryptography` package
                raise InputError(
                    "encrypted PDF (reading it needs the cryptography package: pip install cryptography)"
                ) from None
            if not opened:
                raise InputError("encrypted PDF: it needs a password; save a copy without one")
        pages = [_tidy(page.extract_text() or "") for page in reader.pages]
        info = reader.metadata or {}
        title, created = info.get("/Title"), info.get("/CreationDate")
    except FileNotDecryptedError:
        raise InputError("encrypted PDF: it needs a password; save a copy without one") from None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"not a readable PDF ({type(e).__name__}: {e})") from None
    body = "\n\n".join(p for p in pages if p)
    if not body:
        raise InputError("no text in the PDF (scanned pages or images only?); run OCR on it first")
    meta = {"title": _str(title), "published": _str(created)}
    return build_article(meta, body, default_id=file_id, path=path, stem=stem)


def _str(value: object) -> str:
    """A PDF string object (pypdf's TextStringObject is a str; a ByteStringObject is not text)."""
    return str(value) if isinstance(value, str) else ""


def from_docx(raw: bytes, *, file_id: str, stem: str, path: str) -> Article:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise InputError(f"not a readable Word .docx file ({type(e).__name__}: {e})") from None
    found = [(p, text) for p in document.paragraphs if (text := _tidy(p.text))]
    title = (document.core_properties.title or "").strip()
    # Only the first paragraph's style is looked up: python-docx finds a style by a search through
    # the style sheet, which made every paragraph cost as much as its text.
    if found and found[0][0].style is not None and found[0][0].style.name == "Title":
        title = title or found[0][1]
        if found[0][1] == title:  # the document's own title paragraph: the title, not the body
            found = found[1:]
    paragraphs = [text for _, text in found]
    body = "\n\n".join(paragraphs)
    if not body:
        raise InputError("no text in the document (tables, headers and images are not read)")
    meta = {"title": title, "published": _docx_created(raw)}
    return build_article(meta, body, default_id=file_id, path=path, stem=stem)


def _docx_created(raw: bytes) -> str:
    """The document's creation date as its core properties write it (W3CDTF, offset kept).
    python-docx parses it too, but drops a value it cannot read without a word: read here, such a
    value is reported (a `DateNote`) instead of silently missing."""
    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            root = etree.fromstring(z.read("docProps/core.xml"))
    except (KeyError, zipfile.BadZipFile, etree.XMLSyntaxError, OSError):
        return ""
    created = (root.findtext("dcterms:created", default="", namespaces=_DC) or "").strip()
    return "" if created == _DOCX_TEMPLATE_CREATED else created
