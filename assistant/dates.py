"""Month, weekday and year patterns, written once for every module that reads dates in news text.

The names come from python-dateutil's own table (``parserinfo``), so a month the patterns find is one its parser
reads: "Sep", "Sept" and "September" alike. The pieces are regular-expression sources to build with, since each
user wants its own form: the timeline reads capitalised dates only ("may" is mostly a verb), answer candidates
read any case and a year in the news range, the answer-type cues settle for a loose month prefix.

Example::

    >>> sorted(years("The 2021 final, after the 1998 one; not 3000 seats."))
    ['1998', '2021']
    >>> bool(re.fullmatch(day_month(MONTH, YEAR), "5th of Sept. 2021", re.IGNORECASE))
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dateutil.parser import parserinfo


def _alternation(words: Iterable[str]) -> str:
    """``(?:a|b|...)``, longest first: "September" is tried before "Sept" and "Sep", as a greedy ``Sep(?:t...)?``."""
    return "(?:" + "|".join(sorted(words, key=lambda w: (-len(w), w))) + ")"


MONTH_NUMBERS: dict[str, int] = {
    name.lower(): number for number, names in enumerate(parserinfo.MONTHS, start=1) for name in names
}
"""Every month name and abbreviation dateutil reads, in lower case, with its number ("sept": 9)."""
MONTH_WORDS = frozenset(MONTH_NUMBERS)
MONTH_NAMES = frozenset(names[-1].lower() for names in parserinfo.MONTHS)
"""The months' full names in lower case, without the abbreviations."""
WEEKDAY_NUMBERS: dict[str, int] = {names[-1].lower(): number for number, names in enumerate(parserinfo.WEEKDAYS)}
"""The weekdays' full names in lower case ("mon" is too often not a day), Monday 0, as dateutil counts them."""
WEEKDAY_WORDS = frozenset(WEEKDAY_NUMBERS)

MONTH_NAME = _alternation(MONTH_WORDS)
"""A month's name or abbreviation in lower case, for patterns compiled with ``re.IGNORECASE``."""
MONTH = rf"{MONTH_NAME}\.?"
"""A month with its abbreviation's dot ("Sept."), in lower case, for ``re.IGNORECASE`` patterns."""
CAPITALISED_MONTH = _alternation(w.capitalize() for w in MONTH_WORDS) + r"\.?"
"""A month as English writes it ("March", "Sept."), for case-sensitive patterns: "may" and "march" are verbs."""
MONTH_PREFIX = _alternation({w[:3] for w in MONTH_WORDS}) + r"[a-z]*\.?"
"""Any word opening with a month's first three letters: a loose cue, for a yes-or-no search only."""
WEEKDAY = _alternation(WEEKDAY_WORDS)
"""A weekday's full name in lower case, for ``re.IGNORECASE`` patterns."""
CAPITALISED_WEEKDAY = _alternation(w.capitalize() for w in WEEKDAY_WORDS)
"""A weekday's full name as English writes it ("Tuesday"), for case-sensitive patterns."""

YEAR = r"(?:1[89]|20)\d\d"
"""A year that news speaks of (1800-2099): a bare four-digit number outside it is more often a count."""
ANY_YEAR = r"\d{4}"
"""The year of a date written out ("March 5, 1750"): its day and month already say that it is a year."""
YEAR_IN_TEXT = re.compile(rf"\b{YEAR}\b")
YEAR_QUESTION = re.compile(r"\b(what|which|in what) year\b", re.IGNORECASE)
"""A question that asks for a year, which a year alone answers."""


def day_month(month: str, year: str) -> str:
    """A day and month either way round, the year optional ("March 5, 2024", "5th of March"), as a pattern source.

    ``month`` is one of the month patterns above and ``year`` one of the year patterns; the source holds no word
    boundary of its own, so that each user puts its own around it.
    """
    return (rf"{month}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+{year})?|"
            rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{month}(?:,?\s+{year})?")


def years(text: str) -> set[str]:
    """The years (1800-2099) a text names."""
    return set(YEAR_IN_TEXT.findall(text))
