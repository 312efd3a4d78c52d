"""Bytes of a file → text: UTF-8 (the fast path), else UTF-16/32 with a byte-order mark, else the
page's declared charset, else the legacy encoding charset-normalizer recognises (Windows-1252,
Latin-1, Windows-1251, ...). A file read in another encoding than UTF-8 is noted with an
`EncodingNote` warning, which `citeqa ingest` reports per file."""

from __future__ import annotations

import codecs
import re
import warnings

from citeqa.errors import InputError

NOT_TEXT = "not text (a binary file, or an encoding that could not be recognised: re-save it as UTF-8)"
# Checked before any guess: a byte-order mark says exactly what the file is. UTF-32 LE first, since
# its mark begins with UTF-16 LE's. (UTF-8's mark is taken by the fast path's "utf-8-sig".)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Languages (as charset-normalizer names them) that Windows-1252 writes in full; "Unknown" is a text
# too short to tell, where the commonest legacy encoding is the best bet.
_CP1252_LANGUAGES = frozenset(
    "Unknown English French German Spanish Italian Portuguese Dutch Danish Norwegian Swedish Finnish "
    "Estonian Indonesian".split()
)
DECLARED_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)


class EncodingNote(UserWarning):
    """A file that was not UTF-8 was read as `encoding` (a note, not an error: it was ingested)."""

    def __init__(self, path: str, encoding: str) -> None:
        super().__init__(f"{path}: read as {encoding}, not UTF-8")
        self.path = path
        self.encoding = encoding


def decode_text(raw: bytes, declared: str = "") -> tuple[str, str]:
    """(text, encoding name) of a file's bytes; `InputError` when they are not text.

    UTF-8 first (nearly every file, and the cheapest check), then a byte-order mark, then the
    `declared` charset (an HTML page's own), then charset-normalizer's guess.
    """
    try:
        text, encoding = raw.decode("utf-8-sig"), "utf-8"  # "-sig" accepts and drops a BOM
    except UnicodeDecodeError:
        text, encoding = _decode_legacy(raw, declared)
    if "\x00" in text:  # decodes, but text has no NULs: it's binary
        raise InputError(NOT_TEXT)
    return text, encoding


def _decode_legacy(raw: bytes, declared: str) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):  # "utf-16"/"utf-32" read the mark for the byte order and drop it
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError:
                raise InputError(NOT_TEXT) from None
    if b"\x00" in raw:  # one-byte encodings never need NUL; binary files nearly always have one
        raise InputError(NOT_TEXT)
    for encoding in _declared(declared) + _guess_encodings(raw):
        try:
            return raw.decode(encoding), codecs.lookup(encoding).name
        except (UnicodeDecodeError, LookupError):  # a wrong declaration, or a guess from a sample
            continue
    raise InputError(NOT_TEXT)


def _declared(charset: str) -> list[str]:
    """A page's declared charset as a codec to try first; [] when there is none or Python lacks it."""
    try:
        name = codecs.lookup(charset).name if charset else ""
    except LookupError:
        return []
    # As browsers do (the WHATWG Encoding Standard): pages labelled Latin-1 or ASCII are read as
    # Windows-1252, whose curly quotes and dashes they nearly always hold.
    return ["cp1252"] if name in ("iso8859-1", "ascii") else [name] if name else []


def _guess_encodings(raw: bytes) -> list[str]:
    """charset-normalizer's guesses, best first; [] when the bytes look like no text at all."""
    from charset_normalizer import from_bytes  # only files that are not UTF-8 pay for the import

    # Without a byte-order mark a UTF-16/32 guess is a mistake: their text would hold NULs.
    found = [r for r in from_bytes(raw) if not r.encoding.startswith(("utf_16", "utf_32"))]
    if not found:
        return []
    guesses = [r.encoding for r in found]
    # Western code pages decode most such text without a "mess", and charset-normalizer then ranks
    # them by a noisy language score: Latin-1 "niño" came out as cp1250 "nińo", a French paragraph
    # as cp775 "cafķ". So Windows-1252 (the commonest legacy encoding, and what browsers read
    # Latin-1 as) wins whenever it is as clean as the best guess and its text reads as a language
    # it can write; Turkish, Polish or Greek text keeps its own code page.
    western = from_bytes(raw, cp_isolation=["cp1252"]).best()
    if (
        western is not None
        and western.chaos <= found[0].chaos
        and western.language.rstrip("—") in _CP1252_LANGUAGES
    ):
        guesses.insert(0, "cp1252")
    return guesses


def decode_file(raw: bytes, path: str, declared: str = "") -> str:
    """The text of a file with "\n" line ends, noting (warning) when it was not UTF-8."""
    text, encoding = decode_text(raw, declared)
    if encoding != "utf-8":
        warnings.warn(EncodingNote(path, encoding), stacklevel=2)
    return re.sub(r"\r\n?", "\n", text)
