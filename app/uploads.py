"""Uploaded files → copies under the knowledge base's `uploads/` folder, with limits and safe names.

A browser sends whatever file name it likes ("../../.bashrc", "C:\\x\\evil.txt", "<img>.md"). The
copy is named from the last path segment only, reduced to `[A-Za-z0-9._-]`, and checked to land
inside the uploads folder before anything is written. Limits are checked before any file is copied,
so a refused upload leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from citeqa.errors import InputError
from citeqa.ingest import SUPPORTED_SUFFIXES

# What an upload may be is what ingest can read; sorted, for the help text, messages and file picker.
ALLOWED_SUFFIXES = tuple(sorted(SUPPORTED_SUFFIXES))


class UploadError(InputError):
    """The upload as a whole is refused (too many files, too large); nothing was saved."""


@dataclass(frozen=True)
class UploadLimits:
    """How much one upload may hold. Bad values are refused on construction."""

    max_files: int = 20
    max_file_bytes: int = 5_000_000
    max_total_bytes: int = 25_000_000

    def __post_init__(self) -> None:
        for name in ("max_files", "max_file_bytes", "max_total_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


def megabytes(n: int) -> str:
    return f"{n / 1_000_000:.0f} MB" if n >= 1_000_000 else f"{n / 1000:.0f} kB"


def safe_name(name: str, limit: int = 96) -> str:
    """A file name that is one harmless path segment, its suffix kept (lower-cased).

    >>> safe_name("../../etc/passwd.txt"), safe_name("C:\\\\tmp\\\\Ünïcode Title!.MD")
    ('passwd.txt', 'Unicode-Title.md')
    """
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(c for c in unicodedata.normalize("NFKD", base) if not unicodedata.combining(c))
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:limit] or "upload"
    suffix = re.sub(r"[^a-z0-9]+", "", suffix.lower())
    return f"{stem}.{suffix}" if suffix else stem


def stage(
    files: Sequence[str | os.PathLike[str]], folder: Path, limits: UploadLimits = UploadLimits()
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Copy acceptable files into `folder`; returns (copies, [(file name, why it was refused)]).

    Raises `UploadError` when the upload as a whole breaks a limit."""
    paths = [Path(f) for f in files]
    if len(paths) > limits.max_files:
        raise UploadError(
            f"{len(paths)} files were uploaded at once; the limit is {limits.max_files}. "
            "Upload them in smaller batches."
        )
    sizes = {p: _size(p) for p in paths}
    total = sum(s for s in sizes.values() if s > 0)
    if total > limits.max_total_bytes:
        raise UploadError(
            f"the upload holds {megabytes(total)}; the limit is {megabytes(limits.max_total_bytes)} at once. "
            "Upload fewer or smaller files."
        )
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    saved: list[Path] = []
    refused: list[tuple[str, str]] = []
    taken: set[str] = set()
    for p in paths:
        shown = p.name
        name = safe_name(shown)
        suffix = Path(name).suffix
        if sizes[p] < 0:
            refused.append((shown, "could not be read"))
        elif suffix not in ALLOWED_SUFFIXES:
            kinds = ", ".join(ALLOWED_SUFFIXES)
            refused.append((shown, f"unsupported file type {suffix or '(none)'}; use one of {kinds}"))
        elif sizes[p] > limits.max_file_bytes:
            refused.append(
                (
                    shown,
                    f"too large ({megabytes(sizes[p])}; the limit is "
                    f"{megabytes(limits.max_file_bytes)} a file)",
                )
            )
        elif name.lower() in taken:
            refused.append((shown, f"another file in this upload is also named {name}"))
        else:
            dest = (root / name).resolve()
            if dest.parent != root:  # cannot happen after safe_name; checked anyway
                refused.append((shown, "unsafe file name"))
                continue
            _copy(p, dest)
            taken.add(name.lower())
            saved.append(dest)
    return saved, refused


def _size(p: Path) -> int:
    try:
        return p.stat().st_size if p.is_file() else -1
    except OSError:
        return -1


def _copy(src: Path, dest: Path) -> None:
    """Write next to `dest`, then rename: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
