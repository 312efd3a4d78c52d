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

`iso_published` reads what sources write: ISO 8601, RFC 2822 (feeds: "Tue, 05 Mar 2024 14:30:00
+0100"), PDF dates ("D:20240305143000+01'00'"), "18 April 2023", "April 18, 2023" (with a clock time
and zone right after it kept: "18 April 2023 11:09 (UTC+04:00)"), and `date`,
`datetime` and `time.struct_time` values. A source whose date cannot be read is ingested without
one and noted with a `DateNote` warning, which `citeqa ingest` reports per file.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import time

_UTC = dt.timezone.utc
_MONTHS = "january february march april may june july august september october november december".split()  # noqa: SIM905
# An ISO 8601 date and time ("2024-03-05T14:30", ":00", ".123", then "Z" or an offset); also with a
# space for the "T", as feeds and front matter often write it.
_ISO_TIME = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"
    r"[ \t]*(Z|[+-]\d{2}(?::?\d{2})?)?(?![\d:])",
    re.IGNORECASE,
)
# A PDF date (ISO 32000 7.9.4): "D:YYYYMMDDHHmmSSOHH'mm'"; everything after the year is optional.
_PDF = re.compile(
    r"\s*D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:(Z)|([+-])(\d{2})'?(?:(\d{2})'?)?)?\s*"
)
_DATES = (  # (pattern, what its groups are): ISO, "18 April 2023", "April 18, 2023"
    (re.compile(r"(?<!\d)(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})(?!\d)"), "dmy"),
    (re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)"), "mdy"),
)
# A clock time after a written date ("18 April 2023 11:09 (UTC+04:00)", "April 18, 2023, 3:05 pm
# GMT"): hours, minutes, optional seconds and am/pm, then an optional zone (UTC/GMT, with or without
# an offset, or a bare offset), perhaps in parentheses.
_CLOCK = re.compile(
    r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])\s*([ap]\.?m\.?)?"
    r"(?:\s*\(?\s*(?:(UTC|GMT|Z)\s*(?:([+-])(\d{1,2})(?::?(\d{2}))?)?|([+-])(\d{2}):?(\d{2}))\s*\)?)?",
    re.IGNORECASE,
)
_RFC2822 = re.compile(r"\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}")  # "5 Mar 2024 14:30"


class DateNote(UserWarning):
    """A source gave a date that could not be read: the article was ingested without one (a note,
    not an error)."""

    def __init__(self, path: str, value: str) -> None:
        super().__init__(f"{path}: unreadable date {value!r}; ingested without a date")
        self.path = path
        self.value = value


def iso_published(value: object, *, anchored: bool = False) -> str:
    """The stored form (see the module's docstring) of a date a source gave; "" when there is none.

    A string is searched for the first date in it ("date 2023-04-18 18 April 2023" gives
    "2023-04-18"); `anchored` wants the date at its start (a "date" line without a colon).
    """
    if isinstance(value, dt.datetime):  # before `date`: a datetime is a date too
        return _iso_datetime(value)
    if isinstance(value, dt.date):  # YAML front matter parses bare dates itself
        return dt.date(value.year, value.month, value.day).isoformat()
    if isinstance(value, time.struct_time):  # feedparser's *_parsed values, in UTC
        try:
            return _iso_datetime(dt.datetime(*value[:6], tzinfo=_UTC))
        except ValueError:
            return ""
    if not isinstance(value, str) or not value.strip():
        return ""
    for read in (_from_pdf, _from_iso_time, _from_rfc2822):
        if found := read(value, anchored):
            return found
    day = _from_date(value, anchored)
    return _with_clock(value, day) if day else ""


def _with_clock(value: str, day: str) -> str:
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
        tz = None
        if m[5]:
            tz = _offset(m[6], m[7], m[8]) if m[6] else _UTC
        elif m[9]:
            tz = _offset(m[9], m[10], m[11])
        try:
            y, mo, d = map(int, day.split("-"))
            return _iso_datetime(dt.datetime(y, mo, d, hour, minute, second, tzinfo=tz))
        except ValueError:
            return day
    return day


def _iso_datetime(value: dt.datetime) -> str:
    # Seconds, not microseconds: no source means them, and equal times should read equal.
    return value.replace(microsecond=0).isoformat(timespec="seconds")


def _offset(sign: str, hours: str, minutes: str | None) -> dt.timezone:
    delta = dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
    return dt.timezone(-delta if sign == "-" else delta)


def _from_pdf(value: str, anchored: bool) -> str:
    if not (m := _PDF.fullmatch(value)):
        return ""
    year, month, day, hour, minute, second, z, sign, oh, om = m.groups()
    try:
        if day is None:  # "D:2024" or "D:202403": no day to give (the 1st would be made up)
            return ""
        if hour is None:
            return dt.date(int(year), int(month), int(day)).isoformat()
        tz = _UTC if z else _offset(sign, oh, om) if sign else None
        when = dt.datetime(int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0))
        return _iso_datetime(when.replace(tzinfo=tz))
    except (ValueError, TypeError, OverflowError):
        return ""


def _from_iso_time(value: str, anchored: bool) -> str:
    if not (m := (_ISO_TIME.match(value.lstrip()) if anchored else _ISO_TIME.search(value))):
        return ""
    year, month, day, hour, minute, second, zone = m.groups()
    tz = None
    try:
        if zone and zone.upper() == "Z":
            tz = _UTC
        elif zone:
            digits = zone[1:].replace(":", "")
            tz = _offset(zone[0], digits[:2], digits[2:] or None)
        hms = int(hour), int(minute), int(second or 0)
        when = dt.datetime(int(year), int(month), int(day), *hms, tzinfo=tz)
    except ValueError:
        return ""
    return _iso_datetime(when)


def _from_rfc2822(value: str, anchored: bool) -> str:
    """RSS dates ("Tue, 05 Mar 2024 14:30:00 +0100"); "-0000" means "offset unknown" (no zone)."""
    if not _RFC2822.search(value):
        return ""
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return ""
    return _iso_datetime(when)


def _from_date(value: str, anchored: bool) -> str:
    for pattern, order in _DATES:
        m = pattern.match(value.lstrip()) if anchored else pattern.search(value)
        if m and (found := _day_of(m, order)):
            return found
    return ""


def _day_of(m: re.Match[str], order: str) -> str:
    """The ISO day a `_DATES` match names ("" when it names none, as "31 February 2023")."""
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
