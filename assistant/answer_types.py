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

from assistant.dates import MONTH_NAME, MONTH_PREFIX, WEEKDAY, YEAR, YEAR_QUESTION, day_month
from assistant.sentences import STOPWORDS

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
    rf"\b(?:{MONTH_NAME}|{WEEKDAY}|today|yesterday|tomorrow|tonight|last (?:week|month|year)|{YEAR})\b", re.IGNORECASE
)
_PLACE = re.compile(
    r"\b(in|at|near|inside|outside|across|into|from|around|throughout|towards?)\s+(the\s+)?([a-z]+\s+)?[A-Z][\w'-]+|"
    r"\b(areas?|towns?|villages?|cities|city|regions?|provinces?|districts?) (of|including|such as) [A-Z]"
)
_PERSON = re.compile(
    r"\b(Mr|Mrs|Ms|Dr|President|Prime Minister|Minister|Secretary|General|spokesman|spokeswoman|spokesperson|"
    r"official|officials|leader|chief|head|director|fighters|civilians|soldiers|members|people|residents|troops|"
    r"militants|police|workers|children|women|men|group|government|army|military)\b|(?<=[a-z,;] )[A-Z][\w'-]+",
)
_REASON = re.compile(
    r"\b(because|due to|owing to|as a result|in response|in retaliation|retaliat\w*|after|following|amid|"
    r"so that|in order to|aimed at|led to|caused|prompted|triggered|since)\b",
    re.IGNORECASE,
)
# Searched only for whether a sentence names a day: the year that ``day_month`` allows after the day never
# decides a match.
_DAY = re.compile(
    rf"\b(?:{day_month(MONTH_PREFIX, YEAR)})|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b|"
    rf"\b(?:{WEEKDAY}|today|yesterday|tonight|last (?:night|week|month))\b|\b(?:morning|evening|night) of\b",
    re.IGNORECASE,
)
_FOCUS = re.compile(r"^\s*(?:what|which)\s+(?:(?:kind|sort|type|types|kinds)\s+of\s+(\w+)|(\w+))", re.IGNORECASE)
_FILLER = frozenset("kind sort type types kinds happened happen caused part".split())
KIND_NAMES: dict[AnswerType, str] = {
    "count": "number", "date": "date", "place": "place", "person": "name", "reason": "reason", "other": "answer",
}
# Keyword queries ("Super Bowl 2021 location", "Tesla revenue Q1 2021") and questions whose wh-word does not say
# the kind ("What is the release date of...", "Who is the director..."): the noun asked about does.
_KEYWORD_FORMS: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    ("date", re.compile(r"\b(date|released?|premieres?|premiered|launch(ed)?|founded|announced|debut(ed)?)\b",
                        re.IGNORECASE)),
    ("count", re.compile(r"\b(revenue|price|cost|costs|worth|salary|sales|population|budget|profit|income)\b",
                         re.IGNORECASE)),
    ("place", re.compile(r"\b(location|venue|held|hosted|host city|headquarter(s|ed))\b", re.IGNORECASE)),
    ("person", re.compile(r"\b(winner|won|wins|champion|ceo|director|directed|founder|president|starring|stars|"
                          r"actor|actress|plays?|playing|acquired|coach|author)\b", re.IGNORECASE)),
)
_FORMS: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    ("count", _COUNT_Q), ("date", _DATE_Q), ("place", _PLACE_Q), ("person", _PERSON_Q), ("reason", _REASON_Q),
)
_WH = re.compile(r"^\s*(what|which|who|whom|whose|when|where|why|how|on what|in what)\b", re.IGNORECASE)
_KIND_NOUNS = frozenset("""date revenue price cost costs worth salary sales population budget profit income location
    venue winner champion ceo director founder president actor actress coach author""".split())
_FIT: dict[AnswerType, re.Pattern[str]] = {
    "count": _NUMBER, "date": _DATE, "place": _PLACE, "person": _PERSON, "reason": _REASON,
}


def answer_type(question: str) -> AnswerType:
    """The kind of fact ``question`` asks for; ``other`` when its form does not say."""
    for kind, pattern in _FORMS:
        if pattern.search(question):
            return kind
    # A wh-question names its kind by the noun it asks for ("What is the release date of..."); its verbs do not
    # ("What was the launch a retaliation for?"). A keyword query has no wh-word: any cue counts.
    wh = _WH.match(question)
    for kind, pattern in _KEYWORD_FORMS:
        if any(not wh or m.group(0).lower() in _KIND_NOUNS for m in pattern.finditer(question)):
            return kind
    return "other"


def focus_noun(question: str) -> str | None:
    """The thing a "what X / which X" question asks about ("What damage did..." -> "damage"), if any."""
    match = _FOCUS.match(question)
    if not match:
        return None
    word = (match.group(2) or match.group(1)).lower()
    return None if word in STOPWORDS or word in _FILLER else word


def unfit_reason(question: str, sentence: str, *, numbers: bool = True) -> str:
    """Why ``sentence`` does not give the kind of answer ``question`` asks for; empty when it does.

    Typed questions need their kind of fact; a "what X" question needs its X (a sentence about rockets being
    launched does not say what damage they caused). ``numbers=False`` leaves the question's numbers to the
    caller (``answer_candidates.constraint_conflict`` looks for a year in the whole passage).
    """
    if sentence.rstrip().endswith("?"):
        return "the sources only ask this question"
    asked = [n for n in re.findall(r"\b\d[\w.]*\b", question) if numbers and n.lower() not in sentence.lower()]
    if asked:  # "the 2021 winner" is not answered by a sentence about 2022
        return f"the sources do not speak of {asked[0]}"
    kind = answer_type(question)
    if kind == "date" and not YEAR_QUESTION.search(question) and not _DAY.search(sentence):
        return "no day or month in the sources"
    if kind != "other":
        return "" if fits(kind, sentence) else f"no {KIND_NAMES[kind]} in the sources"
    noun = focus_noun(question)
    if noun is None or any(_stem_match(noun, w) for w in re.findall(r"[a-z]+", sentence.lower())):
        return ""
    return f"the sources do not say which {noun}"


def _stem_match(a: str, b: str) -> bool:
    n = min(len(a), len(b), 5)
    return a == b or (n >= 4 and a[:n] == b[:n])


def fits(kind: AnswerType, sentence: str) -> bool:
    """True when ``sentence`` holds a fact of the kind asked for (any sentence fits ``other``)."""
    pattern = _FIT.get(kind)
    return True if pattern is None else bool(pattern.search(sentence))
