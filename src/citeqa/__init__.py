"""citeqa: offline question answering over articles with exact-span citations."""

from citeqa.errors import (
    CiteqaError,
    ConfigError,
    InputError,
    KBError,
    KBLockedError,
    KBMismatchError,
    KBNotFoundError,
    MissingDependencyError,
)
from citeqa.schema import Answer, Article, Citation, Hit, IngestReport, Passage

__all__ = [
    "Answer",
    "Article",
    "Assistant",
    "Citation",
    "CiteqaError",
    "ConfigError",
    "Hit",
    "IngestReport",
    "InputError",
    "KBError",
    "KBLockedError",
    "KBMismatchError",
    "KBNotFoundError",
    "MissingDependencyError",
    "Passage",
]


def __getattr__(name: str) -> object:
    # Lazy so that `import citeqa` stays cheap (the model stack is imported only when used).
    if name == "Assistant":
        from citeqa.assistant import Assistant

        return Assistant
    raise AttributeError(name)
