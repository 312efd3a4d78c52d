"""The writer lock: `.lock` in the knowledge-base folder, taken with flock, so two processes never
write at once. The kernel releases it when the holder dies, so a killed writer never wedges it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from citeqa.errors import KBLockedError


@contextlib.contextmanager
def writer_lock(root: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold the writer lock; a second writer waits up to `timeout` seconds, then fails clearly."""
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise KBLockedError(
                        f"{root} is being written by another process; try again when it has finished"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # closing releases the flock
