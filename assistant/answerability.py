"""Does a grounded answer answer the question? Answer-type checks on the supported claims.

Grounding proves each kept sentence is in the sources; it does not prove the sentence
answers what was asked. A model asked "How many people were wounded in Baalbek?" may
quote a true sentence about Baalbek that gives no count. These checks read the question's
form and look for the kind of answer it needs, near the words it asks about:

- "how many / how much": a quantity beside the counted thing ("over 100 Katyusha rockets");
- "when / what date / which year": a date or time expression;
- "the name(s) of X": a proper name beside X;
- "where": a place ("in Khiam", "near Tyre") beside what the question is about;
- every question: most of its content words appear in the answer.

Failing any check means the sources do not say, and the assistant abstains.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.dates import MONTH_NAME, WEEKDAY, YEAR
from assistant.sentences import STOPWORDS, content_words

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.-]*[A-Za-z0-9]|[A-Za-z0-9]")
_QUANTITY = re.compile(
    r"^(\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens|several|few|many|"
    r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(st|nd|rd|th)|both|single|no|none)$",
    re.IGNORECASE,
)
_DATE = re.compile(
    rf"\b(?:{MONTH_NAME}|{WEEKDAY}|today|yesterday|tomorrow|tonight|morning|evening|night|week|month|year|{YEAR})\b",
    re.IGNORECASE,
)
_LOCATIVE = frozenset("in at near inside outside across into from around throughout toward towards".split())
_QUESTION_FILLER = frozenset(
    """many much exactly kind sort type name names named number numbered part take took happen happened
    say said according date day year month time""".split()
)
_COUNT_STOP = frozenset("did do does were was are is have has had will would can could took".split())


@dataclass(frozen=True)
class Verdict:
    """Whether the answer fits the question, and why not."""

    ok: bool
    reason: str = ""


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def _same(a: str, b: str) -> bool:
    """Crude stem equality: 'wounded'~'wounds', 'meet'~'meeting', 'full'~'fully'."""
    a, b = a.lower(), b.lower()
    n = min(len(a), len(b), 5)
    return (n >= 4 and a[:n] == b[:n]) or a == b


Hit = Callable[[Sequence[str], int], bool]


def _near(tokens: Sequence[str], focus: Sequence[str], hit: Hit, *, before: int, after: int) -> bool:
    """True when some token within the window around an occurrence of a focus word passes ``hit``."""
    for i, token in enumerate(tokens):
        if any(_same(token, f) for f in focus):
            window = [*range(max(0, i - before), i), *range(i + 1, min(len(tokens), i + 1 + after))]
            if any(hit(tokens, j) for j in window):
                return True
    return False


def _after(question: str, phrase: str, *, stop: frozenset[str]) -> list[str]:
    """Content words right after ``phrase`` in the question, up to a verb-like stop word."""
    match = re.search(phrase, question, re.IGNORECASE)
    if not match:
        return []
    words: list[str] = []
    for token in _tokens(question[match.end() :]):
        low = token.lower()
        if low in stop or (words and low in STOPWORDS):
            break
        if low not in STOPWORDS:
            words.append(low)
        if len(words) == 3:
            break
    return words


def _coverage(question: str, answer: str) -> float:
    wanted = [w for w in dict.fromkeys(content_words(question)) if w not in _QUESTION_FILLER]
    if not wanted:
        return 1.0
    have = content_words(answer)
    return sum(any(_same(w, h) for h in have) for w in wanted) / len(wanted)


def _count_check(question: str, tokens: list[str]) -> Verdict | None:
    if not re.search(r"\bhow (many|much)\b", question, re.IGNORECASE):
        return None
    focus = _after(question, r"\bhow (many|much)\b", stop=_COUNT_STOP)
    # Names only qualify the counted thing ("how many Hezbollah drones"): a number beside "Hezbollah" alone is
    # not a count of drones.
    names = {t.lower() for t in _tokens(question)[1:] if t[:1].isupper()}
    focus = [f for f in focus if f not in names] or focus
    if focus and not _near(tokens, focus, lambda t, j: bool(_QUANTITY.match(t[j])), before=4, after=2):
        return Verdict(False, f"no number of {' '.join(focus)} in the sources")
    return Verdict(True)


def _date_check(question: str, answer: str) -> Verdict | None:
    if not re.search(r"^\s*when\b|\b(what|which|on what) (date|day|year|month|time)\b", question, re.IGNORECASE):
        return None
    return Verdict(True) if _DATE.search(answer) else Verdict(False, "no date in the sources")


def _name_check(question: str, tokens: list[str]) -> Verdict | None:
    if not re.search(r"\bnames? of\b", question, re.IGNORECASE):
        return None
    asked = {t.lower() for t in _tokens(question)}
    focus = _after(question, r"\bnames? of\b", stop=_COUNT_STOP | {"who", "that", "which", "killed"})
    focus = [f for f in focus if not _QUANTITY.match(f)]

    def fresh_name(toks: Sequence[str], j: int) -> bool:
        return toks[j][:1].isupper() and toks[j].lower() not in asked

    if focus and not _near(tokens, focus[-1:], fresh_name, before=3, after=2):
        return Verdict(False, f"no name of the {' '.join(focus)} in the sources")
    return Verdict(True)


def _place_check(question: str, tokens: list[str]) -> Verdict | None:
    if not re.match(r"\s*where\b", question, re.IGNORECASE):
        return None
    asked_tokens = _tokens(question)
    asked = {t.lower() for t in asked_tokens}
    names = {t.lower() for t in asked_tokens[1:] if t[:1].isupper()}
    focus = [w for w in content_words(question) if w not in names]

    def place(toks: Sequence[str], j: int) -> bool:
        return (toks[j].lower() in _LOCATIVE and j + 1 < len(toks) and toks[j + 1][:1].isupper()
                and toks[j + 1].lower() not in asked)

    if focus and not _near(tokens, focus, place, before=6, after=6):
        return Verdict(False, "no place in the sources")
    return Verdict(True)


def answers_question(question: str, answer: str, *, min_coverage: float = 0.5) -> Verdict:
    """Whether ``answer`` (its supported sentences) gives the kind of answer ``question`` asks for."""
    tokens = _tokens(answer)
    for check in (
        _count_check(question, tokens),
        _date_check(question, answer),
        _name_check(question, tokens),
        _place_check(question, tokens),
    ):
        if check is not None and not check.ok:
            return check
    coverage = _coverage(question, answer)
    if coverage < min_coverage:
        return Verdict(False, f"the sources speak of little the question asks about ({coverage:.0%} of its words)")
    return Verdict(True)
