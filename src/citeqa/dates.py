"""Publication dates: one stored form for whatever a source writes, and helpers to compare them.

`Article.published` is a string in one of three forms:

- ``""``: the source gave no date (or none that could be read);
- ``"2024-03-05"``: the source gave a date only;
- ``"2024-03-05T14:30:00+01:00"``: the source gave a time; its UTC offset is kept when it gave one
  (``"2024-03-05T14:30:00"`` when it gave none; UTC is written ``+00:00``).

Knowledge bases written before times were kept hold date-only strings, which are still valid. Code
that compares dates should not compare these strings: use `parse_published` (a `date` or a
`datetime`), `published_date` (the calendar date as the source wrote it) or `published_key` (a
sort key on which every form orders together).

`read_published` reads what sources write: ISO 8601 (also "20240305T1430Z"), RFC 2822 (feeds),
PDF dates ("D:20240305143000+01'00'"), "18 April 2023", "April 18, 2023", slashed dates whose order
is plain ("2024/03/05", "18/04/2023"; not "05/04/2023"), a time and zone right after a written date
("18 April 2023 11:09 (UTC+04:00)"), zone abbreviations ("14:00 CET" is +01:00: `ZONES`), Unix
times (numbers) and `date`, `datetime` and `time.struct_time` values. What it could not read, or
only in part (a zone it does not know, or one that names several), is its `Reading.problem`: the
article keeps what was read and a `DateNote` warning says the rest; `citeqa ingest` reports it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import time
from typing import NamedTuple

from citeqa.text import MONTHS

# the zone tables are read from here too (README: citeqa.dates.ZONES)
from citeqa.zones import AMBIGUOUS_ZONES as AMBIGUOUS_ZONES
from citeqa.zones import ZONES as ZONES
from citeqa.zones import offset, zone_at

_UTC = dt.timezone.utc
# An ISO 8601 date and time ("2024-03-05T14:30", ":00", ".123", then "Z" or an offset); also with a
# space for the "T", as feeds and front matter often write it.
_ISO_TIME = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"
    r"[ \t]*(Z(?![A-Za-z])|[+-]\d{2}(?::?\d{2})?)?(?![\d:])",
    re.IGNORECASE,
)
# ISO 8601's basic form, the whole value: "20240305", "20240305T1430Z", "20240305T143000+0100". Only
# the whole value: eight digits inside other text are more often a number than a date.
_BASIC = re.compile(
    r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(?:[.,]\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.IGNORECASE,
)
# A PDF date (ISO 32000 7.9.4): "D:YYYYMMDDHHmmSSOHH'mm'"; everything after the year is optional.
_PDF = re.compile(
    r"\s*D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:(Z)|([+-])(\d{2})'?(?:(\d{2})'?)?)?\s*"
)
_DATES = (  # (pattern, what its groups are): ISO, "18 April 2023", "April 18, 2023", "18/04/2023"
    (re.compile(r"(?<!\d)(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})(?!\d)"), "dmy"),
    (re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)"), "mdy"),
    (re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])"), "slashed"),  # d/m or m/d
)
# A clock time after a written date ("18 April 2023 11:09 (UTC+04:00)", "April 18, 2023, 3:05 pm
# GMT"): hours, minutes, optional seconds and am/pm; its zone is read by `_zone_at`.
_CLOCK = re.compile(
    r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])\s*([ap]\.?m\.?(?![A-Za-z]))?", re.IGNORECASE
)
_RFC2822 = re.compile(r"\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?")  # "5 Mar 2024 14:30"
_KINDS = {list: "list", tuple: "list", dict: "JSON object"}  # what a note calls a value that is no date
#: Above this, a Unix time only makes sense in milliseconds (1e11 seconds is the year 5138).
_MILLISECONDS = 1e11


class Reading(NamedTuple):
    """What `read_published` made of a date: the stored form ("" when none could be read) and, when
    the date could not be read, or only in part, why (a sentence for a `DateNote`), with the value
    as the note shows it."""

    stored: str
    problem: str = ""
    value: str = ""


class DateNote(UserWarning):
    """A source gave a date that could not be read, or only in part: the article was ingested with
    what could be read (a note, not an error). `problem` says what happened; by default that the
    date was unreadable and left out."""

    def __init__(self, path: str, value: str, problem: str = "") -> None:
        self.problem = problem or f"unreadable date {value!r}; ingested without a date"
        super().__init__(f"{path}: {self.problem}")
        self.path = path
        self.value = value


def iso_published(value: object, *, anchored: bool = False) -> str:
    """The stored form (see the module's docstring) of a date a source gave; "" when there is none.

    A string is searched for the first date in it ("date 2023-04-18 18 April 2023" gives
    "2023-04-18"); `anchored` wants the date at its start (a "date" line without a colon).
    """
    return read_published(value, anchored=anchored).stored


def read_published(value: object, *, anchored: bool = False) -> Reading:
    """`iso_published`, and what could not be read of `value` (see `Reading`)."""
    stored, why = _read(value, anchored)
    if not why:
        return Reading(stored)
    outcome = "the time is kept without a zone" if stored else "ingested without a date"
    return Reading(stored, f"{why}; {outcome}", _shown(value))


def _read(value: object, anchored: bool) -> tuple[str, str]:
    if value is None:
        return "", ""
    if isinstance(value, dt.datetime):  # before `date`: a datetime is a date too
        return _iso_datetime(value), ""
    if isinstance(value, dt.date):  # YAML front matter parses bare dates itself
        return dt.date(value.year, value.month, value.day).isoformat(), ""
    if isinstance(value, time.struct_time):  # feedparser's *_parsed values, in UTC
        try:
            return _iso_datetime(dt.datetime(*value[:6], tzinfo=_UTC)), ""
        except ValueError:
            return "", ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_number(value)
    if not isinstance(value, str):  # JSON or YAML gave true/false, a list or an object
        kind = (
            "true/false value" if isinstance(value, bool) else _KINDS.get(type(value), type(value).__name__)
        )
        return "", f"unreadable date {_shown(value)} (a {kind}, not text or a number)"
    if not value.strip():
        return "", ""
    for read in (_from_pdf, _from_basic, _from_iso_time, _from_rfc2822):
        if (found := read(value, anchored))[0]:
            return found
    if day := _from_date(value, anchored):
        return _with_clock(value, day)
    if orders := _ambiguous(value):
        return "", f"ambiguous date {_shown(value)!r} (day/month order unknown: {orders[0]} or {orders[1]})"
    return "", f"unreadable date {_shown(value)!r}"


def _shown(value: object) -> str:
    """A date as a note shows it: text on one line; anything else as JSON would write it."""
    if isinstance(value, str):
        return " ".join(value.split())
    shown = json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= 60 else shown[:59] + "…"


# Numbers below this (3 March 1973) are not taken for Unix times: no news source writes an article's
# date as one so early, and a year ("2024") or a date typed as a decimal is far more likely.
_EARLIEST_UNIX = 100_000_000


def _from_number(value: float) -> tuple[str, str]:
    """A Unix time (seconds, or milliseconds when only those make sense), stored in UTC."""
    if isinstance(value, int) and 10_000_101 <= value <= 99_991_231 and (day := _basic_day(str(value))):
        # Eight digits that make a date are that date ("20240305", a number in JSON or YAML): as a
        # Unix time they would be a day in 1970-1973, and no news source writes those as numbers.
        return day, ""
    if value == 0:  # the usual "no date" placeholder, not 1 January 1970
        return "", "unreadable date 0 (a Unix time of 0 stands for no date)"
    if 0 < abs(value) < _EARLIEST_UNIX:  # "2024" is a year, not 33 minutes past midnight in 1970
        return "", f"unreadable date {_shown(value)} (too small for a Unix time; a year alone is no date)"
    try:
        seconds = value / 1000 if abs(value) > _MILLISECONDS else value
        return _iso_datetime(dt.datetime.fromtimestamp(seconds, _UTC)), ""
    except (ValueError, OverflowError, OSError):  # NaN, infinity, or beyond the year 9999
        return "", f"unreadable date {_shown(value)} (not a Unix time)"


def _basic_day(digits: str) -> str:
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])).isoformat()
    except ValueError:
        return ""


def _with_clock(value: str, day: str) -> tuple[str, str]:
    """`day` with the clock time written right after a date of that day in `value` (and its zone
    when one is given), else `day` alone."""
    for m in _CLOCK.finditer(value):
        before = value[: m.start()]
        written = [
            (d.end(), _day_of(d, order)) for pattern, order in _DATES for d in pattern.finditer(before)
        ]
        # Right after a date (", at " at most), and that date is `day` (the last one written before
        # the clock; "2023-04-18 18 April 2023 11:09" writes the day twice).
        end, last = max(written, default=(-99, ""))
        if len(before) - end > 6 or last != day:
            continue
        hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
        if m[4]:  # 12 am is midnight, 12 pm noon
            hour = hour % 12 + (12 if m[4].lower().startswith("p") else 0)
        tz, problem = _zone_at(value, m.end())
        try:
            y, mo, d = map(int, day.split("-"))
            return _iso_datetime(dt.datetime(y, mo, d, hour, minute, second, tzinfo=tz)), problem
        except ValueError:
            return day, ""
    return day, ""


def _zone_at(value: str, at: int, *, named_only: bool = False) -> tuple[dt.tzinfo | None, str]:
    """zones.zone_at, its problem said with the value it is in."""
    tz, why = zone_at(value, at, named_only=named_only)
    return tz, (f"{why} in {_shown(value)!r}" if why else "")


def _iso_datetime(value: dt.datetime) -> str:
    # Seconds, not microseconds: no source means them, and equal times should read equal.
    return value.replace(microsecond=0).isoformat(timespec="seconds")


def _from_pdf(value: str, anchored: bool) -> tuple[str, str]:
    if not (m := _PDF.fullmatch(value)):
        return "", ""
    year, month, day, hour, minute, second, z, sign, oh, om = m.groups()
    try:
        if day is None:  # "D:2024" or "D:202403": no day to give (the 1st would be made up)
            return "", ""
        if hour is None:
            return dt.date(int(year), int(month), int(day)).isoformat(), ""
        tz = _UTC if z else offset(sign, oh, om) if sign else None
        when = dt.datetime(int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0))
        return _iso_datetime(when.replace(tzinfo=tz)), ""
    except (ValueError, TypeError, OverflowError):
        return "", ""


def _from_basic(value: str, anchored: bool) -> tuple[str, str]:
    if not (m := _BASIC.fullmatch(value.strip())):
        return "", ""
    return (_basic_day(m[0]) if m[4] is None else _iso_time(m)), ""


def _from_iso_time(value: str, anchored: bool) -> tuple[str, str]:
    if not (m := (_ISO_TIME.match(value.lstrip()) if anchored else _ISO_TIME.search(value))):
        return "", ""
    stored = _iso_time(m)
    if not stored or m[7]:
        return stored, ""
    # No offset: perhaps a zone written after it ("2024-03-05 14:30 CET").
    tz, problem = _zone_at(m.string, m.end())
    return (_iso_datetime(dt.datetime.fromisoformat(stored).replace(tzinfo=tz)) if tz else stored), problem


def _iso_time(m: re.Match[str]) -> str:
    """The stored form of an `_ISO_TIME` or `_BASIC` match with a time ("" when it names none):
    both have year, month, day, hour, minute, second and zone as their groups."""
    year, month, day, hour, minute, second, zone = m.groups()
    tz = None
    try:
        if zone and zone.upper() == "Z":
            tz = _UTC
        elif zone:
            digits = zone[1:].replace(":", "")
            tz = offset(zone[0], digits[:2], digits[2:] or None)
        hms = int(hour), int(minute), int(second or 0)
        return _iso_datetime(dt.datetime(int(year), int(month), int(day), *hms, tzinfo=tz))
    except ValueError:
        return ""


def _from_rfc2822(value: str, anchored: bool) -> tuple[str, str]:
    """RSS dates ("Tue, 05 Mar 2024 14:30:00 +0100"); "-0000" means "offset unknown" (no zone)."""
    if not (m := _RFC2822.search(value)):
        return "", ""
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return "", ""
    # email.utils knows the US zones only and reads any other name as no zone at all: a name is
    # read here, by the same table as everywhere else (its offsets it reads itself).
    tz, problem = _zone_at(value, m.end(), named_only=True)
    if tz or problem:
        when = when.replace(tzinfo=tz)
    return _iso_datetime(when), problem


def _from_date(value: str, anchored: bool) -> str:
    for pattern, order in _DATES:
        m = pattern.match(value.lstrip()) if anchored else pattern.search(value)
        if m and (found := _day_of(m, order)):
            return found
    return ""


def _ambiguous(value: str) -> tuple[str, str] | None:
    """The two days a slashed date could be ("05/04/2023": 5 April or May 4), when it could be both."""
    for m in _DATES[-1][0].finditer(value):
        a, b, year = int(m[1]), int(m[2]), int(m[3])
        try:
            return dt.date(year, b, a).isoformat(), dt.date(year, a, b).isoformat()
        except ValueError:
            continue
    return None


def _day_of(m: re.Match[str], order: str) -> str:
    """The ISO day a `_DATES` match names ("" when it names none, as "31 February 2023", or when a
    slashed date could be day/month or month/day: "05/04/2023")."""
    if order == "slashed":
        a, b = int(m[1]), int(m[2])
        if a != b and max(a, b) <= 12:  # either order makes a date: guessing one would be wrong half the time
            return ""
        order = "dmy" if a > 12 or a == b else "mdy"
    y, mo, d = (m[order.index(c) + 1] for c in "ymd")
    # "Apr", "Sept." and "April" are all prefixes of a month name; "Palms" is not.
    month = (
        int(mo) if mo.isdigit() else next((i for i, n in enumerate(MONTHS, 1) if n.startswith(mo.lower())), 0)
    )
    try:
        return dt.date(int(y), month, int(d)).isoformat()
    except ValueError:
        return ""


def parse_published(published: str) -> dt.datetime | dt.date | None:
    """A stored `published` string as a `date` (date only) or a `datetime` (aware when the source
    gave an offset, naive when it did not); None when it is "" or not in a stored form."""
    try:
        if len(published) == 10:
            return dt.date.fromisoformat(published)
        return dt.datetime.fromisoformat(published) if published else None
    except (TypeError, ValueError):
        return None


def published_date(published: str) -> dt.date | None:
    """The calendar date of a stored `published`, as the source wrote it (in its own time zone)."""
    parsed = parse_published(published)
    return parsed.date() if isinstance(parsed, dt.datetime) else parsed


def published_key(published: str) -> dt.datetime:
    """A sort key on which every stored form orders together: an aware UTC datetime. A date counts
    as its midnight UTC, a time without an offset as UTC; an unknown date sorts first."""
    parsed = parse_published(published)
    if parsed is None:
        return dt.datetime.min.replace(tzinfo=_UTC)
    if not isinstance(parsed, dt.datetime):
        parsed = dt.datetime(parsed.year, parsed.month, parsed.day)
    return parsed.astimezone(_UTC) if parsed.tzinfo else parsed.replace(tzinfo=_UTC)


def display_published(published: str) -> str:
    """A stored `published` for people, unambiguous and short: "2024-03-05", "2024-03-05 14:30
    +01:00", "2024-03-05 13:30 UTC"; anything not in a stored form is shown as it is."""
    parsed = parse_published(published)
    if not isinstance(parsed, dt.datetime):
        return published
    shown = parsed.strftime("%Y-%m-%d %H:%M") + (f":{parsed.second:02d}" if parsed.second else "")
    if parsed.utcoffset() == dt.timedelta(0):
        return f"{shown} UTC"
    return f"{shown} {parsed.isoformat()[19:]}" if parsed.tzinfo else shown
