"""Relative time in questions, read against the day asked (timewords.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from citeqa.timewords import read_time, resolve

WED = dt.date(2024, 3, 6)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "start", "end", "newest"),
    [
        ("Which head of state resigned this week?", "2024-03-04", "2024-03-06", False),
        ("What happened yesterday?", "2024-03-05", "2024-03-05", False),
        ("What did the council decide today?", "2024-03-06", "2024-03-06", False),
        ("Who won last week?", "2024-02-26", "2024-03-03", False),
        ("Who won last month?", "2024-02-01", "2024-02-29", False),  # a leap year
        ("What changed this month?", "2024-03-01", "2024-03-06", False),
        ("Who led last year?", "2023-01-01", "2023-12-31", False),
        ("How many died in the past 3 days?", "2024-03-03", "2024-03-06", False),
        ("What happened two weeks ago?", "2024-02-21", "2024-02-21", False),
        ("What did she say recently?", "2024-02-05", "2024-03-06", True),
        ("What is the latest toll?", None, None, True),
        ("How many have died so far?", None, None, True),
        ("Who resigned in March?", "2024-03-01", "2024-03-06", False),  # the month asked in, so far
        ("Who resigned in December?", "2023-12-01", "2023-12-31", False),  # the latest December
        ("What opened in May 2021?", "2021-05-01", "2021-05-31", False),
    ],
)
def test_expressions_become_windows_of_days(question, start, end, newest):
    w = resolve(question, WED)
    assert w is not None
    assert (str(w.start) if w.start else None, str(w.end) if w.end else None) == (start, end)
    assert w.newest is newest


@pytest.mark.parametrize(
    "question", ["Who is the mayor?", "When was the bridge built?", "Is it snowing?", "May I ask who won?"]
)
def test_questions_without_relative_time_have_no_window(question):
    assert resolve(question, WED) is None


def test_the_day_defaults_to_today_or_an_old_archives_newest_article():
    today = dt.date(2026, 11, 30)
    fresh = read_time("What happened yesterday?", None, "2026-11-29", today)
    assert fresh.as_of == today and fresh.note == "“yesterday” read as 2026-11-29 (as of 2026-11-30)"
    old = read_time("What happened yesterday?", None, "2024-03-05T18:00:00+01:00", today)
    assert old.as_of == dt.date(2024, 3, 5)
    assert "read as 2024-03-04" in old.note and "newest article" in old.note
    given = read_time("What happened yesterday?", dt.date(2024, 1, 2), "2024-03-05", today)
    assert given.as_of == dt.date(2024, 1, 2) and "newest" not in given.note
    assert read_time("Who is the mayor?", None, "2024-03-05", today).note == ""  # nothing to say


def test_in_window_compares_calendar_days_and_ignores_undated():
    t = read_time("What happened this week?", WED, "")
    assert t.in_window("2024-03-04T23:30:00-05:00") and t.in_window("2024-03-06")
    assert not t.in_window("2024-03-03") and not t.in_window("") and not t.in_window("soon")


@pytest.mark.parametrize(
    ("question", "read"),
    [
        ("Who resigned in November?", "Who resigned?"),
        ("How many people died in the past 3 days?", "How many people died?"),
        ("What happened yesterday in Kars?", "What happened in Kars?"),
        ("What is the latest toll?", "What is the latest toll?"),  # no window: nothing to take out
        ("Yesterday?", "Yesterday?"),  # nothing would be left
    ],
)
def test_the_reader_reads_a_question_without_its_window(question, read):
    from citeqa.timewords import without_window

    assert without_window(question, resolve(question, WED)) == read
