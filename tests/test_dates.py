"""citeqa.dates: what sources write → the stored ISO 8601 form, and comparing stored forms."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from citeqa.dates import (
    DateNote,
    Reading,
    display_published,
    iso_published,
    parse_published,
    published_date,
    published_key,
    read_published,
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
        # ISO 8601's basic form, when it is the whole value
        ("20240507", "2024-05-07"),
        ("20240507T1400Z", "2024-05-07T14:00:00+00:00"),
        ("20240507T140000+0200", "2024-05-07T14:00:00+02:00"),
        ("20240507T1400", "2024-05-07T14:00:00"),
        ("20241307", ""),  # no 13th month
        ("order 20240507", ""),  # eight digits in other text: a number, not a date
        # slashed dates, when the day/month order is plain
        ("2024/05/07", "2024-05-07"),  # year first
        ("13/05/2024", "2024-05-13"),  # 13 can only be the day
        ("05/13/2024", "2024-05-13"),
        ("05/05/2024", "2024-05-05"),  # either order gives the same day
        ("07/05/2024", ""),  # 7 May or July 5: not guessed (read_published says why)
        ("13/05/2024 14:00 CEST", "2024-05-13T14:00:00+02:00"),
        # a time zone abbreviation after a time is its fixed offset
        ("7 May 2024 14:00 CET", "2024-05-07T14:00:00+01:00"),
        ("2024-05-07 14:00 CEST", "2024-05-07T14:00:00+02:00"),
        ("2024-05-07T14:00 (UTC)", "2024-05-07T14:00:00+00:00"),
        ("May 7, 2024, 9:00 am PDT", "2024-05-07T09:00:00-07:00"),
        ("7 May 2024 14:00 BST", "2024-05-07T14:00:00+01:00"),  # British Summer Time
        ("7 May 2024 14:00 AZT", "2024-05-07T14:00:00+04:00"),
        ("7 May 2024 14:00 AEDT", "2024-05-07T14:00:00+11:00"),
        ("Tue, 05 Mar 2024 14:30:00 CET", "2024-03-05T14:30:00+01:00"),  # email.utils knows US zones only
        ("Tue, 05 Mar 2024 14:30:00 EST", "2024-03-05T14:30:00-05:00"),
        ("7 May 2024 14:00 IST", "2024-05-07T14:00:00"),  # India, Ireland or Israel: time kept, zone not
        ("7 May 2024 14:00 XYZ", "2024-05-07T14:00:00"),  # not a zone it knows: the same
        ("18 April 2023 11:09 west of town", "2023-04-18T11:09:00"),  # a word, not a zone: capitals only
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
    assert iso_published(None) == iso_published(True) == iso_published(["2024-03-05"]) == ""


@pytest.mark.parametrize(
    ("number", "stored"),
    [
        (1715077800, "2024-05-07T10:30:00+00:00"),  # a Unix time, in UTC
        (1715077800.75, "2024-05-07T10:30:00+00:00"),  # seconds, like every stored time
        (1715077800000, "2024-05-07T10:30:00+00:00"),  # above 1e11 only milliseconds make sense
        (-864000000, "1942-08-16T00:00:00+00:00"),  # long before 1970: still a time
        (-86400, ""),  # too close to 1970 for a news date: noted, not 31 December 1969
        (2024, ""),  # a year, not 33 minutes past midnight on 1 January 1970
        (20240305.0, ""),  # a date typed as a decimal is not a Unix time in 1970
        (20240507, "2024-05-07"),  # eight digits that make a date: ISO 8601's basic form, not 1970
        (0, ""),  # the usual "no date" placeholder
        (float("nan"), ""),
        (1e30, ""),  # beyond the year 9999
    ],
)
def test_numbers_are_unix_times(number: float, stored: str) -> None:
    assert iso_published(number) == stored


@pytest.mark.parametrize(
    ("written", "stored", "problem"),
    [
        ("7 May 2024 14:00 CET", "2024-05-07T14:00:00+01:00", ""),
        ("", "", ""),
        (None, "", ""),
        # read in part: the date and time are kept, and what was not read is said
        (
            "7 May 2024 14:00 IST",
            "2024-05-07T14:00:00",
            "ambiguous time zone 'IST' (India +05:30, Ireland +01:00 or Israel +02:00) in "
            "'7 May 2024 14:00 IST'; the time is kept without a zone",
        ),
        (
            "Tue, 05 Mar 2024 14:30:00 GST",
            "2024-03-05T14:30:00",
            "ambiguous time zone 'GST' (Gulf +04:00 or South Georgia -02:00) in "
            "'Tue, 05 Mar 2024 14:30:00 GST'; the time is kept without a zone",
        ),
        (
            "2024-05-07 14:00 XYZ",
            "2024-05-07T14:00:00",
            "time zone 'XYZ' not understood in '2024-05-07 14:00 XYZ'; the time is kept without a zone",
        ),
        # not read
        (
            "07/05/2024",
            "",
            "ambiguous date '07/05/2024' (day/month order unknown: 2024-05-07 or 2024-07-05); "
            "ingested without a date",
        ),
        ("someday  soon", "", "unreadable date 'someday soon'; ingested without a date"),
        (
            True,
            "",
            "unreadable date true (a true/false value, not text or a number); ingested without a date",
        ),
        (
            ["2024-03-05"],
            "",
            'unreadable date ["2024-03-05"] (a list, not text or a number); ingested without a date',
        ),
        (
            {"$date": 1715077800},
            "",
            'unreadable date {"$date": 1715077800} (a JSON object, not text or a number); '
            "ingested without a date",
        ),
        (0, "", "unreadable date 0 (a Unix time of 0 stands for no date); ingested without a date"),
        (float("inf"), "", "unreadable date Infinity (not a Unix time); ingested without a date"),
    ],
)
def test_read_published_says_what_it_could_not_read(written: object, stored: str, problem: str) -> None:
    reading = read_published(written)
    assert (reading.stored, reading.problem) == (stored, problem)


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
    reading = read_published("7 May 2024 14:00 XYZ")
    assert reading == Reading(
        "2024-05-07T14:00:00",
        "time zone 'XYZ' not understood in '7 May 2024 14:00 XYZ'; the time is kept without a zone",
        "7 May 2024 14:00 XYZ",
    )
    note = DateNote("a.txt", reading.value, reading.problem)
    assert (note.path, note.value, note.problem) == ("a.txt", "7 May 2024 14:00 XYZ", reading.problem)
    assert str(note) == f"a.txt: {reading.problem}"
