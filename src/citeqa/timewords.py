"""Relative time in a question ("this week", "yesterday", "last month", "recently", "latest"),
resolved against the day the question is asked as of (issue 14).

A resolved expression is a window of days that ranking prefers (articles published inside it win
close calls), not a filter: "Which head of state resigned this week?" should still be answered from
an article of last Sunday when that is all there is, and the answer says which day it is from.
"Latest", "now", "currently" and the like name no window; they ask for the newest account, which
ranking prefers among articles that answer equally well.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from citeqa.text import MONTHS

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10, "a": 1}
_N = r"(\d{1,3}|one|two|three|four|five|six|seven|ten|a)"


@dataclass(frozen=True)
class TimeWindow:
    """Days [start, end] a question's time expression points at; `phrase` is the words matched."""

    start: dt.date | None
    end: dt.date | None
    phrase: str
    newest: bool = False  #: the question asks for the newest account ("latest", "now", ...)


def _week_start(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())  # weeks start on Monday (ISO 8601)


def _month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_FIXED = (
    "today|tonight|yesterday|this week|last week|the past week|the last week|past week|this month|"
    "last month|this year|last year|recently|lately|in recent days|these days"
)
_NEWEST = "latest|newest|most recent|most recently|currently|current|right now|now|so far|to date"
_PATTERN = re.compile(
    rf"\b(?:in\s+(?P<month>{'|'.join(MONTHS)})(?:\s+(?P<year>\d{{4}}))?"
    rf"|(?P<fixed>{_FIXED})"
    rf"|(?:the )?(?:past|last) (?P<n>{_N}) (?P<unit>day|week|month|year)s?"
    rf"|(?P<ago_n>{_N}) (?P<ago_unit>day|week|month|year)s? ago"
    rf"|(?P<newest>{_NEWEST}))\b",
    re.IGNORECASE,
)


def _count(word: str) -> int:
    word = word.lower()
    return int(word) if word.isdigit() else _NUMBERS[word]


def _fixed(phrase: str, as_of: dt.date) -> tuple[dt.date, dt.date, bool]:
    """The window of a fixed phrase; True when it also asks for the newest account ("recently")."""
    one = dt.timedelta(days=1)
    if phrase in ("today", "tonight"):
        return as_of, as_of, False
    if phrase == "yesterday":
        return as_of - one, as_of - one, False
    if phrase == "this week":
        return _week_start(as_of), as_of, False
    if phrase in ("the past week", "the last week", "past week"):
        return as_of - 6 * one, as_of, False
    if phrase == "last week":
        start = _week_start(as_of) - 7 * one
        return start, start + 6 * one, False
    if phrase == "this month":
        return _month_start(as_of), as_of, False
    if phrase == "last month":
        end = _month_start(as_of) - one
        return _month_start(end), end, False
    if phrase == "this year":
        return as_of.replace(month=1, day=1), as_of, False
    if phrase == "last year":
        return dt.date(as_of.year - 1, 1, 1), dt.date(as_of.year - 1, 12, 31), False
    return as_of - 30 * one, as_of, True  # recently, lately, in recent days, these days


def _month_window(month: str, year: str | None, as_of: dt.date, phrase: str) -> TimeWindow:
    """ "in November" (the latest November up to as_of; "in November 2023" that one) as its days,
    ending at as_of when it is the month asked as of."""
    n = MONTHS.index(month) + 1
    y = int(year) if year else (as_of.year if n <= as_of.month else as_of.year - 1)
    start = dt.date(y, n, 1)
    end = (dt.date(y + n // 12, n % 12 + 1, 1)) - dt.timedelta(days=1)
    return TimeWindow(start, min(end, as_of) if start <= as_of else end, phrase)


def without_window(question: str, window: TimeWindow | None) -> str:
    """The question without the words that name its window of days ("Who resigned in November?"
    -> "Who resigned?"): read over the window's own articles, the words have done their work, and
    the reader, trained on questions without them, answers the rest more surely."""
    if window is None or window.start is None:
        return question
    lead = r"(?:(?:in|on|during|over|within|for|since|from|of)\s+)?"  # "in the past 3 days"
    m = re.search(rf"\s*\b{lead}{re.escape(window.phrase)}\b", question, re.IGNORECASE)
    if m is None:
        return question
    rest = (question[: m.start()] + question[m.end() :]).strip()
    rest = re.sub(r"\s+([?.!,])", r"\1", re.sub(r"\s{2,}", " ", rest))
    return rest if re.search(r"\w", rest) else question


def resolve(question: str, as_of: dt.date) -> TimeWindow | None:
    """The first relative time expression in the question as a window of days (None: there is none)."""
    m = _PATTERN.search(question)
    if m is None:
        return None
    phrase = m.group(0).lower()
    if m.group("month"):
        return _month_window(m.group("month").lower(), m.group("year"), as_of, phrase)
    if m.group("fixed"):
        start, end, newest = _fixed(phrase, as_of)
        return TimeWindow(start, end, phrase, newest)
    if m.group("n"):
        back = dt.timedelta(days=_count(m.group("n")) * _DAYS[m.group("unit").lower()])
        return TimeWindow(as_of - back, as_of, phrase)
    if m.group("ago_n"):
        d = as_of - dt.timedelta(days=_count(m.group("ago_n")) * _DAYS[m.group("ago_unit").lower()])
        return TimeWindow(d, d, phrase)
    return TimeWindow(None, None, phrase, newest=True)


# Added to the fused score (about 0 to 1) of passages from articles published inside the window a
# question's time expression names: the same size as a chat follow-up's preference
# (retrieve.PREFER_BOOST), for the same reason: it wins close calls, not against a clearly better
# passage. No dated question set exists to fit it on; tests/test_timewords.py checks its behaviour.
WINDOW_BOOST = 0.2
STALE_AFTER = dt.timedelta(days=30)  # a knowledge base whose newest article is older: "as of" that day


@dataclass(frozen=True)
class QuestionTime:
    """How a question's time was read: the day it is asked as of, the window its words name, and a
    sentence saying so when it needs saying (the day was not given and is not today)."""

    as_of: dt.date
    window: TimeWindow | None
    note: str = ""

    def in_window(self, published: str) -> bool:
        w = self.window
        if w is None or w.start is None or w.end is None or not published:
            return False
        try:
            d = dt.date.fromisoformat(published[:10])
        except ValueError:
            return False
        return w.start <= d <= w.end


def read_time(
    question: str, as_of: dt.date | None, newest: str | Callable[[], str], today: dt.date | None = None
) -> QuestionTime:
    """`as_of` when given; else today, or the newest article's day (`newest`, or a function giving
    it, called only when the question has relative time: it scans every article) when that is more
    than a month old (an archive is asked about as of its own last day, and the answer says so)."""
    today = today or dt.date.today()
    note = ""
    if as_of is None:
        as_of = today
        if resolve(question, today) is None:
            return QuestionTime(today, None)
        last_text = newest() if callable(newest) else newest
        try:
            last = dt.date.fromisoformat(last_text[:10]) if last_text else None
        except ValueError:
            last = None
        if last is not None and today - last > STALE_AFTER:
            as_of = last
            note = f"as of {last}, the date of the newest article (no article is from the last month)"
    window = resolve(question, as_of)
    if window is None:  # no relative time: the day changes nothing, nothing to say
        note = ""
    elif window.start is not None and window.end is not None:
        span = f"{window.start}" if window.start == window.end else f"{window.start} to {window.end}"
        note = f"“{window.phrase}” read as {span}" + (f", {note}" if note else f" (as of {as_of})")
    return QuestionTime(as_of, window, note)
