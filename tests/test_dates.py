"""citeqa.dates: what sources write → the stored ISO 8601 form, and comparing stored forms."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from citeqa.dates import (
    DateNote,
    display_published,
    iso_published,
    parse_published,
    published_date,
    published_key,
)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        # ISO 8601: the time and its offset are kept; "Z" is written +00:00; fractions are dropped
        ("2024-03-05T14:30:00+01:00", "2024-03-05T14:30:00+01:00"),
        ("2024-03-05T14:30Z", "2024-03-05T14:30:00+00:00"),
        ("2024-03-05T14:30:00.123456-05:30", "2024-03-05T14:30:00-05:30"),
        ("2024-03-05 14:30", "2024-03-05T14:30:00"),  # no offset given: none made up
        ("2024-03-05", "2024-03-05"),  # a date only stays a date
        # RFC 2822, as RSS writes it; "-0000" means "offset unknown"
        ("Tue, 05 Mar 2024 14:30:00 +0100", "2024-03-05T14:30:00+01:00"),
        ("Tue, 05 Mar 2024 14:30:00 GMT", "2024-03-05T14:30:00+00:00"),
        ("Tue, 05 Mar 2024 14:30:00 -0000", "2024-03-05T14:30:00"),
        # PDF dates
        ("D:20240305143000+01'00'", "2024-03-05T14:30:00+01:00"),
        ("D:20240305143000Z", "2024-03-05T14:30:00+00:00"),
        ("D:20240305", "2024-03-05"),
        ("D:2024", ""),  # no day: the 1st of January would be made up
        # the forms articles write by hand (a time and its offset are kept when written)
        ("date 2023-04-18 18 April 2023 11:09 (UTC+04:00)", "2023-04-18T11:09:00+04:00"),
        # a clock time right after a written date is kept, with its zone when given
        ("April 18, 2023, 3:05 pm GMT", "2023-04-18T15:05:00+00:00"),
        ("18 April 2023 12:15 am UTC", "2023-04-18T00:15:00+00:00"),
        ("18 April 2023 11:09 -0500", "2023-04-18T11:09:00-05:00"),
        ("March 5, 2024 at 9:30 am", "2024-03-05T09:30:00"),  # no zone given: none made up
        ("Meeting on 18 April 2023; doors open 11:09", "2023-04-18"),  # a clock far from the date
        ("18 April 2023 25:09", "2023-04-18"),  # not a time of day
        ("Tuesday, 18th Apr. 2023", "2023-04-18"),
        ("Sept. 3, 2021", "2021-09-03"),
        # not dates
        ("unknown", ""),
        ("2024-13-01T10:00:00", ""),
        ("", ""),
    ],
)
def test_iso_published_reads_what_sources_write(written: str, stored: str) -> None:
    assert iso_published(written) == stored


def test_iso_published_takes_date_values() -> None:
    assert iso_published(dt.date(2024, 3, 5)) == "2024-03-05"
    assert iso_published(dt.datetime(2024, 3, 5, 14, 30, 0, 999)) == "2024-03-05T14:30:00"
    tz = dt.timezone(dt.timedelta(hours=4))
    assert iso_published(dt.datetime(2024, 3, 5, 14, 30, tzinfo=tz)) == "2024-03-05T14:30:00+04:00"
    assert iso_published(time.gmtime(86400)) == "1970-01-02T00:00:00+00:00"  # feedparser's *_parsed
    assert iso_published(None) == iso_published(3) == iso_published(["2024-03-05"]) == ""


def test_anchored_wants_the_date_first() -> None:
    assert iso_published("palms grow 2023-04-18", anchored=True) == ""
    assert iso_published("2024-03-05T14:30+01:00 (Baku)", anchored=True) == "2024-03-05T14:30:00+01:00"


def test_stored_forms_parse_and_sort_together() -> None:
    assert parse_published("2024-03-05") == dt.date(2024, 3, 5)
    plus_one = parse_published("2024-03-05T14:30:00+01:00")
    assert isinstance(plus_one, dt.datetime) and plus_one.utcoffset() == dt.timedelta(hours=1)
    assert parse_published("") is None and parse_published("5 March") is None
    # Old knowledge bases hold date-only strings: they order with the new ones, unknown dates first.
    stored = [
        "2024-03-05T14:30:00+01:00",
        "",
        "2024-03-05",
        "2024-03-05T13:00:00",
        "2024-03-04T23:00:00-05:00",
    ]
    assert sorted(stored, key=published_key) == [
        "",
        "2024-03-05",  # midnight UTC
        "2024-03-04T23:00:00-05:00",  # 04:00 UTC on the 5th
        "2024-03-05T13:00:00",  # no offset: read as UTC
        "2024-03-05T14:30:00+01:00",  # 13:30 UTC
    ]
    # The calendar date is the source's own, whatever UTC says.
    assert published_date("2024-03-04T23:00:00-05:00") == dt.date(2024, 3, 4)
    assert published_date("2024-03-05") == dt.date(2024, 3, 5) and published_date("") is None


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("2024-03-05", "2024-03-05"),
        ("2024-03-05T14:30:00+01:00", "2024-03-05 14:30 +01:00"),
        ("2024-03-05T14:30:05+00:00", "2024-03-05 14:30:05 UTC"),
        ("2024-03-05T14:30:00", "2024-03-05 14:30"),
        ("", ""),
        ("someday", "someday"),
    ],
)
def test_display_published(stored: str, shown: str) -> None:
    assert display_published(stored) == shown


def test_date_note_names_the_file_and_the_value() -> None:
    note = DateNote("feeds/news.xml entry 2", "someday soon")
    assert (note.path, note.value) == ("feeds/news.xml entry 2", "someday soon")
    assert str(note) == "feeds/news.xml entry 2: unreadable date 'someday soon'; ingested without a date"
