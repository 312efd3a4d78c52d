"""Durable file writes shared by the knowledge base's derived files (manifest, dense and lexical
indexes): write to a private temporary name, fsync, rename, fsync the folder."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO


def fsync_path(path: Path) -> None:
    """fsync a file or a folder (a folder's fsync makes a rename in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_tmp(path: Path) -> Path:
    """A temporary name beside `path` that no other thread or process uses: `.name.<pid>.<tid>.tmp`."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` fills a private temporary file, which is fsynced and renamed over `path`: a
    reader sees the old file or the new one, never half of one, and two writers (threads or
    processes) never rename each other's temporary file away."""
    tmp = private_tmp(path)
    try:
        write(tmp)
        fsync_path(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_path(path.parent)


def write_text_atomically(path: Path, text: str) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    replace_atomically(path, write)


def write_bytes_atomically(path: Path, fill: Callable[[IO[bytes]], None]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            fill(f)

    replace_atomically(path, write)


def sweep_generations(folder: Path, prefix: str, suffix: str, gen: int) -> None:
    """Delete `prefix-N suffix` cache files of generations older than `gen` (never newer ones: another
    process may have just written them) and temporary files left by writers that died."""
    for old in folder.glob(f"{prefix}-*{suffix}"):
        stem = old.name[len(prefix) + 1 : -len(suffix)]
        if stem.isdigit() and int(stem) < gen:
            old.unlink(missing_ok=True)
    for tmp in folder.glob(f".{prefix}-*.tmp"):
        if writer_gone(tmp):
            tmp.unlink(missing_ok=True)


def writer_gone(tmp: Path) -> bool:
    """Whether the process that named this private temporary (`private_tmp`: `.<name>.<pid>.<n>.tmp`)
    has died: only then may a sweep delete it."""
    pid = tmp.name.split(".")[-3]
    return pid.isdigit() and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
