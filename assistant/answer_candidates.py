"""Answer candidates: the span of a sentence that would answer the question, and the question's constraints.

A sentence on the right topic is not an answer. News search results are full of sentences that repeat the
question's own words ("Meet the new CEO of Vanguard", "2017 Walter Camp Award Semifinalist") or speak of the same
thing in another year. So before a sentence may answer, it must hold a *candidate*: a span of the kind asked for
(a name for "who", a day for "when", an amount for "how much", a place for "where") that the question does not
already contain; and it must not contradict the question's constraints (a year the question names, absent from
the sentence's passage, or replaced there by another year). Cheap surface rules, no tagger: they run on every
evidence sentence.

Example::

    >>> candidates("person", "Who won the 2021 Tour de France?", "Tadej Pogacar won the 2021 Tour de France.")
    ['Tadej Pogacar']
    >>> candidates("person", "Who is the new CEO of Vanguard?", "Meet the new CEO of Vanguard.")
    []
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from dateutil import parser as dateparser

from assistant.answer_types import AnswerType
from assistant.dates import (
    MONTH,
    MONTH_WORDS,
    WEEKDAY,
    WEEKDAY_WORDS,
    YEAR,
    YEAR_IN_TEXT,
    YEAR_QUESTION,
    day_month,
    years,
)
from assistant.sentences import STOPWORDS, content_words

_DAY_DATE = re.compile(
    rf"\b(?:{day_month(MONTH, YEAR)})\b|\b\d{{1,2}}/\d{{1,2}}/(?:\d\d)?\d\d\b|\b{MONTH},?\s+{YEAR}\b|"
    rf"\b(?:{WEEKDAY}|today|yesterday|tonight|last night)\b",
    re.IGNORECASE,
)
_MONTH_IN_SPAN = re.compile(rf"\b{MONTH}|/", re.IGNORECASE)
_AMOUNT = re.compile(
    r"(?:[$€£¥]\s?)?\b\d[\d,.]*(?:\s?(?:%|percent|per cent|million|billion|trillion|thousand|hundred|bn|m|k)\b)?|"
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds|"
    r"thousands|millions|dozens)\b",
    re.IGNORECASE,
)
_NAME_WORD = r"[A-Z][\w.'’-]*[\w]|[A-Z]"
_NAME = re.compile(rf"(?:{_NAME_WORD})(?:\s+(?:(?:de|da|van|von|der|del|la|le|bin|al)\s+)?(?:{_NAME_WORD}))*")
_LOCATIVE = re.compile(r"\b(?:in|at|near|inside|outside|across|into|from|around|throughout|towards?)\s+(?:the\s+)?$",
                       re.IGNORECASE)
_COUNTRY_Q = re.compile(r"\b(which|what) (countr(y|ies)|nations?|states?|city|cities|towns?|venue)\b", re.IGNORECASE)
_PLACE_LIST = re.compile(r"\b(areas?|towns?|villages?|cities|city|regions?|provinces?|districts?)\s+"
                         r"(of|including|such as)\s+(?:[\w'’-]+,?\s+(?:and\s+)?)*$|\b(including|such as)\s+$",
                         re.IGNORECASE)
_NUMBER_IN_QUESTION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]*\d)")
_ORDINAL_WORDS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6", "seventh": "7",
                  "eighth": "8", "ninth": "9", "tenth": "10", "eleventh": "11", "twelfth": "12"}
_ORDINAL = re.compile(r"\b(?:" + "|".join(_ORDINAL_WORDS) + r"|\d+(?:st|nd|rd|th))\b", re.IGNORECASE)
# Irregular and derived forms that carry the same relation ("won"/"win"/"winner", "directed"/"director").
_IRREGULAR = {"won": "win", "wins": "win", "winner": "win", "winners": "win", "winning": "win", "beat": "win",
              "champion": "win", "directed": "direc", "director": "direc", "starring": "star", "stars": "star",
              "plays": "play", "playing": "play", "role": "play", "bought": "buy", "purchased": "buy",
              "purchase": "buy", "acquired": "buy", "acquisition": "buy", "acquires": "buy", "buys": "buy",
              "held": "hold", "led": "lead", "hosted": "host", "hosts": "host", "runner-up": "runne",
              "runners-up": "runne"}
_WIN_VERBS = frozenset("win wins won".split())  # the verb of a contest: its object is the contest
_WH_WORDS = frozenset("who what which whoever".split())
_DETERMINERS = frozenset("the a an its their his her this that these".split())
_DETERMINER_NEXT = re.compile(r"\s+(the|a|an|of|your|our|this|these|all|my)\b")
# The words that carry what a question asks of its subject; an answer sits near one of them.
_CUE = re.compile(r"win|won|wins|winner|champion|ceo|director|directed|president|founder|founded|starring|stars|"
                  r"plays?|playing|acquired|bought|released?|premieres?|premiered|announced|launch(ed)?|"
                  r"hosted|awarded|elected|runner-up|actor|actress", re.IGNORECASE)
# A role with one of these before it is another role ("former president", "creative director", "vice-president").
_QUALIFIERS = frozenset("""former ex vice deputy assistant acting interim creative executive art video music casting
    associate co then late future supporting""".split())
_RELATION_FILLER = frozenset("many much name date year time new movie film".split())
_NOT_NAMES = MONTH_WORDS | WEEKDAY_WORDS | {"i"}


def candidates(kind: AnswerType, question: str, sentence: str) -> list[str]:
    """Spans of ``sentence`` of the ``kind`` asked for that ``question`` does not already name, in order.

    ``reason`` and ``other`` questions have no candidate form: every sentence passes as its own candidate.
    """
    if kind in ("reason", "other"):
        return [sentence]
    asked = _word_set(question)
    if kind == "date":
        found = [m.group(0) for m in _DAY_DATE.finditer(sentence)]
        if YEAR_QUESTION.search(question):
            found += YEAR_IN_TEXT.findall(sentence)
    elif kind == "count":
        found = [m.group(0).strip() for m in _AMOUNT.finditer(sentence)]
    elif kind == "place":
        anywhere = bool(_COUNTRY_Q.search(question))  # a country need not follow "in" or "at"
        found = [m.group(0) for m in _NAME.finditer(sentence) if anywhere or _after_place_word(sentence[: m.start()])]
    else:
        found = [part for m in _NAME.finditer(sentence)
                 if not _opens_sentence(sentence, m.end()) and not _paired_with_asked(sentence, m, asked)
                 for part in _name_parts(m.group(0), asked)]
    if kind in ("date", "count"):
        spans = [f for f in found if not _word_set(f) <= asked]
    else:  # a name has a word of two letters or more: not a stray letter or code ("W", "T40"), nor only the
        # question's own words ("the Olympic Games" for "which city hosted the olympic games")
        stems = set(content_words(question))
        spans = [t for t in (_trim(f) for f in found) if re.search(r"[^\W\d_]{2}", t) and not _word_set(t) <= asked
                 and not set(content_words(t)) <= stems]  # "Officials" for "the official who..."
    return list(dict.fromkeys(c for c in spans if c))


def _after_place_word(before: str) -> bool:
    """The text before a name ends as a place's does: "in", "near the", "the areas of Khiam and"."""
    return bool(_LOCATIVE.search(before[-32:]) or _PLACE_LIST.search(before[-60:]))


def _paired_with_asked(sentence: str, match: re.Match[str], asked: set[str]) -> bool:
    """A name joined by "and"/"or" to a name the question holds is of the same kind as it ("CEO of Google and
    Alphabet", "SpaceX and Tesla"), a sibling of the thing asked about, not the answer."""
    before = re.search(r"([\w'’.-]+)\s+(?:and|or|&)\s+$", sentence[: match.start()])
    after = re.match(r"\s+(?:and|or|&)\s+([\w'’.-]+)", sentence[match.end() :])
    return any(m is not None and _key(m.group(1)) in asked for m in (before, after))


def _opens_sentence(sentence: str, end: int) -> bool:
    """A capital word opening the sentence before "the", "of"... is a verb or noun ("Meet the new CEO",
    "Results of the election"), not a name."""
    return " " not in sentence[:end].strip() and bool(_DETERMINER_NEXT.match(sentence[end:]))


def _name_parts(span: str, asked: set[str]) -> list[str]:
    """The runs of ``span`` between the words the question holds. A single word right after such a word
    continues the name asked about ("LEGO Group", "Walter Camp Award Semifinalist"), so it is not an answer;
    "Tesla CEO Elon Musk" gives "Elon Musk"."""
    parts: list[str] = []
    run: list[str] = []
    after_asked = False
    for word in [*span.split(), ""]:
        if word and _key(word) not in asked:
            run.append(word)
            continue
        if run and not (after_asked and len(run) == 1):
            parts.append(" ".join(run))
        run, after_asked = [], bool(word)
    return parts


def _trim(span: str) -> str:
    """The span without stopwords or month names at its edges."""
    keep = span.split()
    while keep and (_key(keep[0]) in STOPWORDS or _key(keep[0]) in _NOT_NAMES):
        keep.pop(0)
    while keep and (_key(keep[-1]) in STOPWORDS or _key(keep[-1]) in _NOT_NAMES):
        keep.pop()
    return " ".join(keep).strip(" ,.;:'’-")


CUE_WINDOW = 8  # words between a candidate and the relation's cue for the candidate to count as by it


def anchored(question: str, sentence: str, candidate: str, *, window: int = CUE_WINDOW) -> bool:
    """True when the candidate sits within ``window`` words of the question's relation cue in the sentence
    ("won", "director", "released"...), or the question has no such cue. "Wimbledon 2019 – women's singles:
    Serena Williams and Johanna Konta" names players but not who won."""
    distance = cue_distance(question, sentence, candidate)
    return distance is not None and distance <= window


def cue_distance(question: str, sentence: str, candidate: str) -> int | None:
    """Words between the candidate and the nearest cue of the question's relation in the sentence (0 when the
    question has no cue); ``None`` when the sentence holds no such cue or not the candidate."""
    cues = {_fold(w) for w in re.findall(r"[\w'’-]+", question) if _CUE.fullmatch(_key(w))}
    if not cues:
        return 0
    words = re.findall(r"[\w'’-]+", sentence)
    asked = _word_set(question)
    at = [i for i, w in enumerate(words) if _fold(w) in cues and not _other_role(words, i, asked)]
    first = re.findall(r"[\w'’-]+", candidate)[:1]
    where = [i for i, w in enumerate(words) if first and w == first[0]]
    return min((abs(i - j) for i in at for j in where), default=None)


def _key(word: str) -> str:
    return re.sub(r"['’]s$", "", word.lower()).strip(".,;:'’\"()-")


def _word_set(text: str) -> set[str]:
    return {_key(w) for w in re.findall(r"[\w.'’-]+", text)}


DateKey = tuple[int | None, int, int | None]


@lru_cache(maxsize=4096)  # the scorer asks for the same spans' keys once per pair of sentences
def date_key(span: str) -> DateKey | None:
    """(year or None, month, day or None) of a date span ("Sept. 20th", "20/9/2019", "December 2015")."""
    if not _MONTH_IN_SPAN.search(span):
        return None  # "Friday", "yesterday": no calendar date to compare
    has_year = bool(YEAR_IN_TEXT.search(span))
    has_day = bool(re.search(r"(?<![\d])\d{1,2}(?![\d])", YEAR_IN_TEXT.sub("", span)))
    try:
        day_first = "/" in span and int(span.split("/")[0]) > 12  # 27/10/2017
        when = dateparser.parse(re.sub(r"\bSept\b", "Sep", span), default=datetime(2000, 1, 1), dayfirst=day_first,
                                fuzzy=True)
    except (ValueError, OverflowError):
        return None
    return (when.year if has_year else None, when.month, when.day if has_day else None)


def same_date(a: DateKey, b: DateKey) -> bool:
    """Two date keys that do not disagree on any part both give."""
    return a[1] == b[1] and all(x is None or y is None or x == y for x, y in ((a[0], b[0]), (a[2], b[2])))


def dates_in(text: str) -> list[DateKey]:
    """The keys of every date span of ``text``."""
    return [k for k in (date_key(m.group(0)) for m in _DAY_DATE.finditer(text)) if k is not None]


def ordinals(text: str) -> set[str]:
    """The ordinals a text names ("first", "3rd"), as numbers."""
    return {_ORDINAL_WORDS.get(m.lower(), re.sub(r"\D", "", m)) for m in _ORDINAL.findall(text)}


def constraint_conflict(question: str, sentence: str, passage: str) -> str:
    """Why the sentence cannot answer the question's year, number or ordinal: its passage lacks one the question
    names, or the sentence names another of the same kind instead ("the tenth season" for "the first season",
    2022 for 2021); empty when there is no conflict."""
    numbers = [n for n in _NUMBER_IN_QUESTION.findall(question) if not YEAR_IN_TEXT.fullmatch(n)]
    missing = sorted(years(question) - years(passage)) + [n for n in numbers if not _has_number(passage, n)]
    if missing:
        return f"the sources do not speak of {missing[0]}"
    for extract in (years, ordinals):
        wanted, said = extract(question), extract(sentence)
        if wanted and said - wanted and not wanted & said:
            return f"the sources speak of {sorted(said - wanted)[0]}, not {sorted(wanted)[0]}"
    if ordinals(question) - ordinals(passage):
        return f"the sources do not speak of the {_ordinal_name(sorted(ordinals(question) - ordinals(passage))[0])}"
    return ""


def _other_role(words: Sequence[str], i: int, asked: set[str]) -> bool:
    """The cue at ``i`` names another role than the one asked: qualified ("former president", "creative
    director") or of something else ("director of music videos" when the film is asked about)."""
    before = _key(words[i - 1]) if i else ""
    if before in _QUALIFIERS and before not in asked:
        return True
    if {before, _key(words[i - 2]) if i > 1 else ""} & _WH_WORDS:
        return True  # "who is winning the ...": the sentence asks, it does not say
    rest = [_key(w) for w in words[i + 1 : i + 4]]
    if _key(words[i]) in _WIN_VERBS:  # "to win the final stage" is not winning the race asked about
        following = [w for w in (_key(x) for x in words[i + 1 : i + 6]) if w not in STOPWORDS]
        return bool(following) and not any(w in asked for w in following[:3])
    if rest[:1] != ["of"]:
        return False
    target = next((w for w in rest[1:] if w not in _DETERMINERS), "")
    return bool(target) and target not in asked


def _has_number(text: str, number: str) -> bool:
    return re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d])", text) is not None


def _ordinal_name(number: str) -> str:
    return next((word for word, n in _ORDINAL_WORDS.items() if n == number), f"#{number}")


def relation_coverage(question: str, sentence: str) -> float:
    """Share of the question's relation words ("won", "director", "released": its content words other than names
    and numbers) that the sentence holds, irregular forms folded ("won" is "win")."""
    names = set(content_words(" ".join(t for t in question.split()[1:] if t[:1].isupper())))
    wanted = [w for w in dict.fromkeys(content_words(question))
              if w not in names and not w[:1].isdigit() and w not in _RELATION_FILLER]
    if not wanted:
        return 1.0
    words = re.findall(r"[\w'’-]+", sentence)
    have = {_fold(t) for t in words}
    lowered = [t.lower() for t in words]
    return sum(_fold(w) in have or (len(w) >= 4 and any(w in t for t in lowered)) for w in wanted) / len(wanted)


def _fold(word: str) -> str:
    key = _key(word)
    return _IRREGULAR.get(key, key[:5])
