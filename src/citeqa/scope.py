"""Which articles a question may draw on: chosen articles, sources, a date range, and the day the
question is asked "as of" (issue 14).

Dates compare on the calendar day an article gives (`published[:10]`, in its own time zone): a
story published late on the 4th in New York is a story of the 4th. Articles without a date are
outside any `since`/`until` range (nothing says they fall in it) but stay visible "as of" any day
(nothing says they are from after it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from citeqa.errors import InputError


def day(value: object, what: str) -> dt.date | None:
    """A date from a `date`, a `datetime` or an ISO string ("2024-03-05", "2024-03-05T10:00+01:00":
    its day; questions are asked as of a day), or "today"/"now"; None stays None; anything else is
    an InputError naming `what`."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        if value.strip().lower() in ("today", "now"):  # the page's date box writes "now"
            return dt.date.today()
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise InputError(f"{what} must be a date like 2024-03-05 (or 'today'), got {value!r}")


@dataclass(frozen=True)
class Scope:
    """Filters applied inside retrieval (dense and lexical), so a narrow scope still gets its best
    passages. Empty fields filter nothing."""

    articles: tuple[str, ...] = ()  #: only these article ids
    sources: tuple[str, ...] = ()  #: only articles from these sources (exact names)
    since: dt.date | None = None  #: published on or after this day
    until: dt.date | None = None  #: published on or before this day
    as_of: dt.date | None = None  #: the question's day: later articles are invisible

    @classmethod
    def of(
        cls,
        *,
        articles: object = (),
        sources: object = (),
        since: object = None,
        until: object = None,
        as_of: object = None,
    ) -> Scope:
        """Checked construction from user values (strings, dates, lists); bad values raise InputError."""
        scope = cls(
            articles=_names(articles, "articles"),
            sources=_names(sources, "sources"),
            since=day(since, "since"),
            until=day(until, "until"),
            as_of=day(as_of, "as_of"),
        )
        if scope.since and scope.until and scope.since > scope.until:
            raise InputError(f"since ({scope.since}) is after until ({scope.until})")
        return scope

    @property
    def filters(self) -> bool:
        """Whether any passage could be left out."""
        return bool(self.articles or self.sources or self.since or self.until or self.as_of)

    def describe(self) -> str:
        """For people: "articles a, b; from Reuters; 2024-03-01 to 2024-03-05; as of 2024-03-05"."""
        parts = []
        if self.articles:
            parts.append("articles " + ", ".join(self.articles))
        if self.sources:
            parts.append("from " + ", ".join(self.sources))
        if self.since or self.until:
            parts.append(f"{self.since or '…'} to {self.until or '…'}")
        if self.as_of:
            parts.append(f"as of {self.as_of}")
        return "; ".join(parts)


def _names(value: object, what: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = [value]
    try:
        names = tuple(str(v).strip() for v in value)  # type: ignore[attr-defined]
    except TypeError:
        raise InputError(f"{what} must be a list of names, got {value!r}") from None
    return tuple(n for n in names if n)
