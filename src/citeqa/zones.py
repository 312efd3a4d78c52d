"""Time zones written after a time ("14:00 CET", "11:09 (UTC+04:00)", "-0500"), read as fixed
offsets for citeqa.dates."""

from __future__ import annotations

import datetime as dt
import re

# The zone right after a time, perhaps in parentheses: UTC/GMT with or without an offset ("UTC+4",
# "GMT+05:30"), a bare offset ("-0500"), or an abbreviation. Abbreviations count in capitals only:
# "14:00 west of the city" names no zone.
_ZONE = re.compile(
    r"\s*\(?\s*(?:(?i:(UTC|GMT|UT|Z))(?:\s*([+-])(\d{1,2})(?::?(\d{2}))?)?|([+-])(\d{2}):?(\d{2})"
    r"|([A-Z]{2,5}))(?![A-Za-z\d])"
)
#: Time zone abbreviations read as fixed offsets (hours east of UTC): the common ones that name one
#: zone. CST is North American Central (not China's), BST British Summer Time (not Bangladesh's).
ZONES = {
    **dict.fromkeys(("UTC", "GMT", "UT", "Z", "WET"), 0),
    **dict(WEST=1, BST=1, CET=1, CEST=2, EET=2, EEST=3, MSK=3, AZT=4, JST=9, KST=9, AEST=10, AEDT=11),
    **dict(EST=-5, EDT=-4, CST=-6, CDT=-5, MST=-7, MDT=-6, PST=-8, PDT=-7, AKST=-9, AKDT=-8, HST=-10),
}
#: Abbreviations that name several zones: the time is kept without a zone, and that is noted.
AMBIGUOUS_ZONES = {
    "IST": "India +05:30, Ireland +01:00 or Israel +02:00",
    "GST": "Gulf +04:00 or South Georgia -02:00",
    "AST": "Atlantic -04:00 or Arabia +03:00",
}
_NOT_ZONES = frozenset({"AM", "PM"})  # "02:00 PM" after an ISO time: no zone (and no note)


def zone_at(value: str, at: int, *, named_only: bool = False) -> tuple[dt.tzinfo | None, str]:
    """The time zone written at `value[at:]`, right after a time, and the problem with it ("" when
    none): (None, "") when no zone is written there; (None, why) for an abbreviation that is not
    understood or names several zones. `named_only` reads abbreviations only, not offsets."""
    if not (m := _ZONE.match(value, at)):
        return None, ""
    base, sign, hours, minutes, bare_sign, bare_hours, bare_minutes, word = m.groups()
    if named_only and not (word or (base and not sign)):
        return None, ""
    if base and sign:
        return offset(sign, hours, minutes), ""
    if bare_sign:
        return offset(bare_sign, bare_hours, bare_minutes), ""
    name = (base or word).upper()
    if name in ZONES:
        return dt.timezone(dt.timedelta(hours=ZONES[name])), ""
    if name in _NOT_ZONES:
        return None, ""
    ambiguous = AMBIGUOUS_ZONES.get(name)
    return (
        None,
        f"ambiguous time zone {name!r} ({ambiguous})" if ambiguous else f"time zone {name!r} not understood",
    )


def offset(sign: str, hours: str, minutes: str | None) -> dt.timezone:
    """ "+", "04", "00" as UTC+04:00."""
    delta = dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
    return dt.timezone(-delta if sign == "-" else delta)
