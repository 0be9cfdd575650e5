"""What kind of answer a question asks for, and whether a sentence offers that kind.

Evidence selection ranks a sentence higher when it holds the kind of fact the question wants: a count for
"how many", a date for "when", a place for "where", a person or organisation for "who", a reason for "why".
The checks are deliberately cheap surface cues (no tagger, no model): they run on every retrieved sentence of
every question, and a false "fits" costs only a place in the ranking, never a wrong answer, because every
answer sentence is grounded separately.

Example::

    >>> answer_type("How many rockets were fired?")
    'count'
    >>> fits("count", "Hezbollah fired over 100 rockets.")
    True
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["count", "date", "place", "person", "reason", "other"]

_COUNT_Q = re.compile(r"\bhow (many|much)\b|\bwhat (number|percentage|share|proportion)\b", re.IGNORECASE)
_DATE_Q = re.compile(
    r"^\s*when\b|\b(what|which|on what|in what) (date|day|year|month|time|week)\b|\bhow long ago\b", re.IGNORECASE
)
_PLACE_Q = re.compile(
    r"^\s*where\b|\b(what|which) (areas?|places?|towns?|villages?|cities|city|countr(y|ies)|regions?|"
    r"locations?|sites?|provinces?|districts?)\b|\bin what (country|city|town|region)\b",
    re.IGNORECASE,
)
_PERSON_Q = re.compile(
    r"^\s*(who|whom|whose)\b|\bnames? of\b|\b(which|what) (group|party|organi[sz]ation|company|person|"
    r"official|leader|minister|team|country|militia|agency)\b",
    re.IGNORECASE,
)
_REASON_Q = re.compile(r"^\s*why\b|\bwhat (caused|prompted|led to|triggered)\b|\bfor what reason\b|\breason\b",
                       re.IGNORECASE)

_NUMBER = re.compile(
    r"\b(\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundreds?|thousands?|millions?|billions?|dozens?|several|single|both|no)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|today|yesterday|tomorrow|tonight|last (week|month|year)|(1[89]|20)\d\d)\b",
    re.IGNORECASE,
)
_PLACE = re.compile(r"\b(in|at|near|inside|outside|across|into|from|around|throughout|towards?)\s+(the\s+)?"
                    r"[A-Z][\w'-]+")
_PERSON = re.compile(
    r"\b(Mr|Mrs|Ms|Dr|President|Prime Minister|Minister|Secretary|General|spokesman|spokeswoman|spokesperson|"
    r"official|officials|leader|chief|head|director)\b|\b[A-Z][a-z]+\s+[A-Z][a-z]+\b|\b[A-Z]{2,}\b|"
    r"\b[A-Z][a-z]+(?=\s+(said|says|told|announced|stated|claimed|denied))",
)
_REASON = re.compile(
    r"\b(because|due to|owing to|as a result|in response|in retaliation|retaliat\w*|after|following|amid|"
    r"so that|in order to|aimed at|led to|caused|prompted|triggered|since)\b",
    re.IGNORECASE,
)
_FORMS: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    ("count", _COUNT_Q), ("date", _DATE_Q), ("place", _PLACE_Q), ("person", _PERSON_Q), ("reason", _REASON_Q),
)
_FIT: dict[AnswerType, re.Pattern[str]] = {
    "count": _NUMBER, "date": _DATE, "place": _PLACE, "person": _PERSON, "reason": _REASON,
}


def answer_type(question: str) -> AnswerType:
    """The kind of fact ``question`` asks for; ``other`` when its form does not say."""
    for kind, pattern in _FORMS:
        if pattern.search(question):
            return kind
    return "other"


def fits(kind: AnswerType, sentence: str) -> bool:
    """True when ``sentence`` holds a fact of the kind asked for (any sentence fits ``other``)."""
    pattern = _FIT.get(kind)
    return True if pattern is None else bool(pattern.search(sentence))
