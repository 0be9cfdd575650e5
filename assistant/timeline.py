"""Dates in news sentences, resolved against the article's date when it is known.

"On Tuesday" in an article dated Thursday 2024-03-14 is 2024-03-12 (the Tuesday on or before
the article date); "October 8" takes the article's year. Without an article date, a relative
date stays as written and resolves to nothing: the brief never guesses. Parsing and weekday
arithmetic are python-dateutil's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta, weekday

from assistant.dates import ANY_YEAR, CAPITALISED_MONTH, CAPITALISED_WEEKDAY, WEEKDAY_NUMBERS, day_month

_ABSOLUTE = re.compile(rf"\b(?:{day_month(CAPITALISED_MONTH, ANY_YEAR)}|\d{{4}}-\d{{2}}-\d{{2}})\b")
_WEEKDAY = re.compile(
    r"\b(?:(?P<ahead>until|till|by|next|from|before|this coming)\s+|on\s+|last\s+)?"
    rf"(?P<day>{CAPITALISED_WEEKDAY})\b"
)
_DAY_WORDS = {"yesterday": -1, "today": 0, "tonight": 0, "this morning": 0, "tomorrow": 1, "last night": -1}
_DAY_WORD = re.compile(r"\b(yesterday|today|tonight|this morning|tomorrow|last night)\b", re.IGNORECASE)


@dataclass(frozen=True)
class DateMention:
    """A date expression in a sentence and the calendar date it stands for (None when unknown)."""

    when: str
    date: date | None
    relative: bool


def _absolute(expr: str, published: date | None) -> date | None:
    has_year = bool(re.search(ANY_YEAR, expr))
    if not has_year and published is None:
        return None
    default = datetime(published.year if published else 2000, 1, 1)
    try:
        parsed: datetime = date_parser.parse(expr.replace("of ", ""), default=default, fuzzy=False)
    except (ValueError, OverflowError):
        return None
    return parsed.date()


def find_dates(sentence: str, published: date | None) -> list[DateMention]:
    """Every date expression of ``sentence``, absolute first, each resolved when it can be."""
    out = [DateMention(m.group(0), _absolute(m.group(0), published), False) for m in _ABSOLUTE.finditer(sentence)]
    for match in _WEEKDAY.finditer(sentence):
        day = weekday(WEEKDAY_NUMBERS[match.group("day").lower()])
        # "on Tuesday" in news is the latest Tuesday up to the article date; "until Monday" looks ahead.
        step = day(+1) if match.group("ahead") else day(-1)
        resolved = published + relativedelta(weekday=step) if published else None
        out.append(DateMention(match.group(0), resolved, True))
    for match in _DAY_WORD.finditer(sentence):
        offset = _DAY_WORDS[match.group(1).lower()]
        out.append(DateMention(match.group(0), published + timedelta(days=offset) if published else None, True))
    return out
