"""The shared date patterns: dateutil's month and weekday names, the forms each user builds, years."""

from __future__ import annotations

import re
from datetime import date

import pytest
from dateutil.parser import parserinfo

from assistant.answer_candidates import candidates, date_key
from assistant.answer_types import fits, unfit_reason
from assistant.dates import (
    ANY_YEAR,
    CAPITALISED_MONTH,
    CAPITALISED_WEEKDAY,
    MONTH,
    MONTH_NAMES,
    MONTH_NUMBERS,
    MONTH_PREFIX,
    WEEKDAY,
    WEEKDAY_NUMBERS,
    YEAR,
    YEAR_QUESTION,
    day_month,
    years,
)
from assistant.timeline import find_dates


def test_every_month_name_is_one_dateutil_reads_as_that_month() -> None:
    info = parserinfo()
    assert len(MONTH_NUMBERS) == 24 and MONTH_NUMBERS["sept"] == 9 and MONTH_NUMBERS["may"] == 5
    assert all(info.month(name) == number for name, number in MONTH_NUMBERS.items())
    assert all(info.weekday(name) == number for name, number in WEEKDAY_NUMBERS.items())
    assert len(MONTH_NAMES) == 12 and {"september", "may"} <= MONTH_NAMES and "sept" not in MONTH_NAMES
    assert sorted(WEEKDAY_NUMBERS, key=WEEKDAY_NUMBERS.__getitem__)[:2] == ["monday", "tuesday"]


@pytest.mark.parametrize(("pattern", "flags", "text", "matched"), [
    (MONTH, re.IGNORECASE, "September 5", "September"),  # the longest name first, as a greedy optional suffix
    (MONTH, re.IGNORECASE, "SEPT. 5", "SEPT."),
    (MONTH, re.IGNORECASE, "Sep 5", "Sep"),
    (CAPITALISED_MONTH, 0, "Sept. 5", "Sept."),
    (CAPITALISED_MONTH, 0, "they may 5", None),  # case-sensitive: "may" and "march" are verbs
    (CAPITALISED_MONTH, 0, "MARCH 5", None),
    (MONTH_PREFIX, re.IGNORECASE, "Marchers 5", "Marchers"),  # the loose cue: a prefix is enough
    (CAPITALISED_WEEKDAY, 0, "on tuesday", None),
    (WEEKDAY, re.IGNORECASE, "on TUESDAY", "TUESDAY"),
    (WEEKDAY, re.IGNORECASE, "on Tues", None),  # full names only
])
def test_month_and_weekday_patterns(pattern: str, flags: int, text: str, matched: str | None) -> None:
    found = re.search(pattern, text, flags)
    assert (found.group(0) if found else None) == matched


@pytest.mark.parametrize(("year", "text", "matched"), [
    (YEAR, "March 5, 2024 was", "March 5, 2024"),
    (YEAR, "5th of March 1750", "5th of March"),  # outside the news range: not a year here
    (ANY_YEAR, "5th of March 1750", "5th of March 1750"),  # a written-out date's year may be any year
    (YEAR, "on 22nd Sept. 2021", "22nd Sept. 2021"),
    (YEAR, "March, 2024", None),  # a month and year without a day is not this form
])
def test_day_month_either_way_round(year: str, text: str, matched: str | None) -> None:
    found = re.search(rf"\b(?:{day_month(MONTH, year)})\b", text, re.IGNORECASE)
    assert (found.group(0) if found else None) == matched


def test_years_are_those_news_speaks_of() -> None:
    assert years("In 1799, 1850, 2024 and 2100 (and 20211 and 3,000 seats)") == {"1850", "2024"}
    assert years("no year") == set()
    assert YEAR_QUESTION.search("In what year did it open?") and not YEAR_QUESTION.search("When did it open?")


def test_the_timeline_reads_capitalised_dates_and_every_weekday() -> None:
    thursday = date(2024, 3, 14)
    assert find_dates("They may 5 times agree.", thursday) == []
    assert [m.date for m in find_dates("On 5 Sept. 2021 and Sept 6th.", thursday)] == [date(2021, 9, 5),
                                                                                      date(2024, 9, 6)]
    back = {m.when: m.date for m in find_dates("Monday, Wednesday, Thursday and Sunday.", thursday)}
    assert back == {"Monday": date(2024, 3, 11), "Wednesday": date(2024, 3, 13), "Thursday": thursday,
                    "Sunday": date(2024, 3, 10)}
    assert find_dates("The talks run until Saturday.", thursday)[0].date == date(2024, 3, 16)


def test_answer_spans_and_cues_share_the_names() -> None:
    assert candidates("date", "When was it released?", "It came out on 5th of Sept. 2021 in Europe.") == [
        "5th of Sept. 2021"]
    assert candidates("date", "In what year was it released?", "It came out in 2019, not 1750.") == ["2019"]
    assert date_key("Sept. 20th") == (None, 9, 20) and date_key("December 2015") == (2015, 12, None)
    assert fits("date", "It opens on Sunday.") and not fits("date", "It opens soon.")
    assert unfit_reason("When did it open?", "It opened in 2017, the 3rd of Marchers.") == ""  # the loose day cue
    assert unfit_reason("When did it open?", "It opened in 2017.") == "no day or month in the sources"
