"""One exception family. Caller mistakes are `ConfigError`/`InputError`; broken state is `KBError`.

Every message says what was wrong and how to fix it; the CLI prints it on one line, never a traceback.
"""

from __future__ import annotations


class CiteqaError(Exception):
    """Base of every error citeqa raises on purpose."""


class ConfigError(CiteqaError):
    """A setting or argument has a bad value (the message names it)."""


class InputError(CiteqaError):
    """A question or a document the user gave can't be used as it is."""


class KBError(CiteqaError):
    """The knowledge base on disk is missing, corrupt, locked or built differently."""


class KBNotFoundError(KBError):
    """No knowledge base exists at the given path."""


class KBMismatchError(KBError):
    """The knowledge base was built with another model, dimension or format."""


class KBLockedError(KBError):
    """Another process is writing the knowledge base."""


class MissingDependencyError(CiteqaError):
    """An optional package is not installed; the message carries the install command."""


class IngestInterrupted(KeyboardInterrupt):
    """Ctrl-C (or another interrupt) during an ingest: `report` holds what was committed before it
    (whole articles, batch by batch); running the same ingest again continues from there."""

    def __init__(self, report: object, message: str) -> None:
        super().__init__(message)
        self.report = report
        self.message = message
