"""Hard checks that veto a claim: numbers, ordinals, dates, named entities, negation, antonyms.

Semantic similarity cannot tell "over 100" from "over 300" or "did" from "did not"; these
lexical checks can. Each text is reduced once to a ``Profile`` (cached by the caller), and a
claim's profile is compared with its aligned evidence and with the sources as a whole.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

import numpy as np

from assistant.dates import MONTH_NUMBERS, WEEKDAY_WORDS

Kind = Literal["number", "ordinal", "date", "entity"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _words(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself nor of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves
    said says say according told including among amid across along around upon per via within without
    may might must shall also however meanwhile although though despite since yet still already even
    mr mrs ms s t"""
)
NEGATIONS = _words("not no never without none nobody nothing neither nor cannot")
NEGATING_VERBS = _words("refus fail declin")  # stems; they negate when "to" follows
MONTHS = MONTH_NUMBERS  # month words and abbreviations, as dateutil reads them, to their numbers
WEEKDAYS = WEEKDAY_WORDS
_ORDINAL_WORDS = """first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth
    fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"""
ORDINALS = {w: i + 1 for i, w in enumerate(_ORDINAL_WORDS.split())}
_SMALL_NUMBERS = """two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
    seventeen eighteen nineteen"""
NUMBER_WORDS = {w: i + 2 for i, w in enumerate(_SMALL_NUMBERS.split())} | {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "dozen": 12, "hundred": 100, "thousand": 1000, "million": 1e6, "billion": 1e9,
}  # fmt: skip
QUANTITY_WORDS = {
    "dozens": (24.0, 199.0), "scores": (40.0, 199.0), "hundreds": (200.0, 1999.0),
    "thousands": (2000.0, 1.99e6), "millions": (2e6, 1.99e9), "billions": (2e9, 1.99e12),
}  # fmt: skip
MAGNITUDES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9,
              "b": 1e9, "trillion": 1e12, "tn": 1e12}  # fmt: skip
APPROX = ("over", "more than", "at least", "nearly", "almost", "about", "around", "roughly",
          "approximately", "some", "up to", "less than", "fewer than", "under", "below", "above")  # fmt: skip
IRREGULAR = {
    "sought": "seek", "struck": "strike", "fought": "fight", "won": "win", "lost": "lose", "rose": "rise",
    "risen": "rise", "fell": "fall", "fallen": "fall", "began": "begin", "begun": "begin", "held": "hold",
    "led": "lead", "left": "leave", "met": "meet", "paid": "pay", "sold": "sell", "bought": "buy",
    "brought": "bring", "took": "take", "taken": "take", "gave": "give", "given": "give", "made": "make",
    "went": "go", "gone": "go", "came": "come", "killed": "kill", "pled": "plead", "said": "say",
    "told": "tell", "thought": "think", "found": "find", "kept": "keep", "spent": "spend", "shot": "shoot",
    "hit": "hit", "cut": "cut", "grew": "grow", "grown": "grow", "drove": "drive", "wrote": "write",
    "written": "write", "chose": "choose", "chosen": "choose", "sent": "send", "built": "build",
    "men": "man", "women": "woman", "children": "child", "people": "person", "lower": "low",
    "higher": "high", "larger": "large", "smaller": "small", "better": "good", "worse": "bad",
}  # fmt: skip
# Short forms (first word of a line) and the long forms that share no prefix with them.
_ALIAS_GROUPS = """u.k. uk britain british england english london
    u.s. us america american washington
    u.n. un nation
    e.u. eu european brussels"""
# Pairs that flip a statement's meaning; both directions are checked.
ANTONYMS = [
    ("accept", "reject"), ("approve", "reject"), ("approve", "deny"), ("seek", "reject"), ("confirm", "deny"),
    ("admit", "deny"), ("increase", "decrease"), ("increase", "reduce"), ("increase", "cut"), ("rise", "fall"),
    ("rise", "drop"), ("rise", "decline"), ("grow", "shrink"), ("gain", "loss"), ("gain", "lose"),
    ("profit", "loss"), ("win", "lose"), ("win", "defeat"), ("victory", "defeat"), ("support", "oppose"),
    ("allow", "ban"), ("allow", "forbid"), ("allow", "prohibit"), ("guilty", "innocent"),
    ("convict", "acquit"), ("arrest", "release"), ("success", "failure"), ("succeed", "fail"),
    ("positive", "negative"), ("high", "low"), ("large", "small"), ("strong", "weak"), ("good", "bad"),
    ("open", "close"), ("start", "stop"), ("begin", "end"), ("before", "after"), ("early", "late"),
    ("first", "last"), ("more", "less"), ("more", "fewer"), ("up", "down"), ("buy", "sell"),
    ("hire", "fire"), ("import", "export"), ("alive", "dead"), ("survive", "die"), ("above", "below"),
    ("majority", "minority"), ("legal", "illegal"), ("public", "private"), ("north", "south"),
    ("east", "west"), ("include", "exclude"), ("agree", "disagree"), ("rich", "poor"), ("old", "young"),
    ("expand", "contract"), ("strengthen", "weaken"), ("struggle", "thrive"), ("struggle", "flourish"),
    ("boost", "cut"), ("surge", "plunge"), ("ally", "enemy"), ("peace", "war"), ("peaceful", "violent"),
    ("ease", "tighten"), ("raise", "lower"), ("lift", "impose"), ("join", "leave"), ("enter", "exit"),
    ("attack", "defend"), ("easy", "difficult"), ("easy", "hard"), ("cheap", "expensive"), ("like", "dislike"),
    ("optimistic", "pessimistic"), ("male", "female"), ("maximum", "minimum"), ("best", "worst"),
]  # fmt: skip

_NOT_NAMES = (MONTHS, WEEKDAYS, ORDINALS, NUMBER_WORDS, QUANTITY_WORDS)
_TOKEN = re.compile(r"(?:[A-Z]\.){2,}|[A-Za-z]+(?:['\u2019][A-Za-z]+)*|\d+(?:[.,]\d+)*")
_NUMBER = re.compile(
    r"(?P<cur>[$\u00a3\u20ac])?(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<dec>\d+))?"
    r"(?:\s*(?P<mag>bn|billion|mn|million|trillion|tn|thousand|k|m|b)\b)?(?P<ord>st|nd|rd|th)?(?!\w|[.,]\d)"
    r"|\b(?P<word>[a-z]+)\b(?:[\s-]+(?P<mag2>hundred|thousand|million|billion)\b)?",
    re.IGNORECASE,
)
TOKEN = _TOKEN  # the word pattern, shared with assistant.claims_relations
_APPROX_BEFORE = re.compile(r"(?:" + "|".join(re.escape(a) for a in APPROX) + r")\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class Item:
    """A checkable fact-bearing span: a quantity, an ordinal, a month or weekday, or a named entity."""

    kind: Kind
    key: str
    surface: str
    low: float = 0.0
    high: float = 0.0
    approx: bool = False
    scale: float = 1.0
    decimals: int = 0
    pos: int = 0  # index of the nearest content word: where the item sits in its sentence


@dataclass
class Profile:
    """What the checks need to know about one text, computed once."""

    stems: set[str] = field(default_factory=set)
    content: list[str] = field(default_factory=list)
    negated: set[str] = field(default_factory=set)
    items: list[Item] = field(default_factory=list)
    maybe: list[Item] = field(default_factory=list)

    def names(self) -> set[str]:
        """Stems written capitalised inside a sentence: the proper names this text uses."""
        return {i.key for i in self.items if i.kind == "entity"}

    def resolved(self, names: set[str]) -> list[Item]:
        """Items plus the sentence openers that ``names`` (from the sources) knows as proper names."""
        return self.items + [i for i in self.maybe if i.key in names]

    def context(self, item: Item, *, width: int = 4) -> set[str]:
        """The content words around ``item``: what it is said about."""
        return set(self.content[max(0, item.pos - width) : item.pos + width + 1]) - {item.key}

    def merged(self, other: Profile) -> Profile:
        """The profile of two adjacent texts read as one (an evidence window)."""
        shift = len(self.content)
        return Profile(
            stems=self.stems | other.stems,
            content=self.content + other.content,
            negated=self.negated | other.negated,
            items=self.items + [replace(i, pos=i.pos + shift) for i in other.items],
            maybe=self.maybe + [replace(i, pos=i.pos + shift) for i in other.maybe],
        )


@dataclass(frozen=True)
class Problem:
    """One reason a claim is not backed by its evidence."""

    label: Literal["unsupported", "contradicted"]
    reason: str


def stem(word: str) -> str:
    """A light suffix stripper: enough to match 'launched' with 'launch' and 'strikes' with 'strike'."""
    w = word.lower().replace("\u2019", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w in IRREGULAR:
        return IRREGULAR[w]
    if w.endswith("n't"):
        return "not"
    for suffix, repl, min_len in (("ies", "y", 5), ("sses", "ss", 5), ("ing", "", 6), ("ied", "y", 5),
                                  ("ed", "", 5), ("es", "", 5), ("ly", "", 6), ("s", "", 4)):  # fmt: skip
        if w.endswith(suffix) and len(w) >= min_len and not (suffix == "s" and w.endswith(("ss", "us", "is"))):
            w = w[: len(w) - len(suffix)] + repl
            break
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    if len(w) > 4 and w.endswith("e") and not w.endswith("ee"):
        w = w[:-1]
    return w


@lru_cache(maxsize=1 << 18)
def same_word(a: str, b: str) -> bool:
    """Stems match when equal, or when they share a long prefix (Israel/Israeli, escalation/escalating)."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 4 and long_.startswith(short):
        return True
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= max(5, len(short) - 2)


# Only the short form (first word) is widened: "London" must not stand for "U.K." in a claim.
ALIASES = {stem(line.split()[0]): frozenset(stem(v) for v in line.split()) for line in _ALIAS_GROUPS.splitlines()}
_ANTONYM_PAIRS = [(stem(a), stem(b)) for a, b in ANTONYMS]


def profile(text: str) -> Profile:
    """Tokens, content stems, negated stems and fact items of ``text``."""
    prof = Profile()
    starts: list[int] = []
    tokens = list(_TOKEN.finditer(text))
    scope = 0
    prev_end = 0
    for i, match in enumerate(tokens):
        word = match.group(0)
        low = word.lower()
        if re.search(r"[,;:()\u2014]|\s-\s", text[prev_end : match.start()]):
            scope = 0  # a clause boundary ends a negation's reach
        prev_end = match.end()
        s = stem(word)
        nxt = tokens[i + 1].group(0).lower() if i + 1 < len(tokens) else ""
        if low in NEGATIONS or low.endswith(("n't", "n\u2019t")) or (s in NEGATING_VERBS and nxt == "to"):
            scope = 0 if (low == "not" and nxt == "only") else 3
            continue
        if low in STOPWORDS or (len(low) < 2 and not low.isdigit()):
            continue
        prof.stems.add(s)
        prof.content.append(s)
        starts.append(match.start())
        if scope:
            prof.negated.add(s)
            scope -= 1
        if word[0].isupper() and not any(low in words for words in _NOT_NAMES):
            name = re.sub(r"['\u2019]s$", "", word)
            # A capitalised sentence opener may be a name or just grammar: the sources decide.
            initial = sentence_initial(text, match.start())
            item = Item("entity", s, name, pos=len(prof.content) - 1)
            (prof.maybe if initial else prof.items).append(item)
    for item, start in [*_quantities(text), *_dates(tokens)]:
        prof.items.append(replace(item, pos=min(bisect_left(starts, start), max(len(starts) - 1, 0))))
    return prof


def sentence_initial(text: str, start: int) -> bool:
    """True for a capitalised word that opens a sentence or a quote (capitalised for grammar, not as a name)."""
    before = text[:start].rstrip(" \"'\u201c\u2018(")
    return not before or before[-1] in ".!?:\n"


def _quantities(text: str) -> Iterable[tuple[Item, int]]:
    for m in _NUMBER.finditer(text):
        item = _word_quantity(m) if m.group("word") else _digit_quantity(m)
        if item is not None:
            qualifier = _APPROX_BEFORE.search(text[max(0, m.start() - 16) : m.start()])
            surface = (qualifier.group(0) if qualifier else "") + item.surface
            yield replace(item, surface=surface.strip(), approx=bool(qualifier) or item.approx), m.start()


def _digit_quantity(m: re.Match[str]) -> Item | None:
    integer = m.group("num").replace(",", "")
    dec = m.group("dec") or ""
    value = float(f"{integer}.{dec}" if dec else integer)
    surface = m.group(0).strip()
    if m.group("ord"):
        return Item("ordinal", str(int(value)), surface, value, value)
    scale = MAGNITUDES.get((m.group("mag") or "").lower(), 1.0)
    return Item("number", surface, surface, value * scale, value * scale, scale=scale, decimals=len(dec))


def _word_quantity(m: re.Match[str]) -> Item | None:
    word = m.group("word").lower()
    surface = m.group(0)
    if word in ORDINALS:
        return Item("ordinal", str(ORDINALS[word]), surface, ORDINALS[word], ORDINALS[word])
    if word in QUANTITY_WORDS:
        low, high = QUANTITY_WORDS[word]
        return Item("number", word, surface, low, high, approx=True)
    if word in NUMBER_WORDS:
        scale = MAGNITUDES.get((m.group("mag2") or "").lower(), 100.0 if m.group("mag2") else 1.0)
        value = NUMBER_WORDS[word] * scale
        return Item("number", surface, surface, value, value, scale=scale)
    return None


def _dates(tokens: Sequence[re.Match[str]]) -> Iterable[tuple[Item, int]]:
    for match in tokens:
        word = match.group(0)
        low = word.lower()
        if low in WEEKDAYS:
            yield Item("date", low, word), match.start()
        elif low in MONTHS and word[0].isupper() and (low != "may" or word == "May") and len(low) >= 3:
            if low == "may" and not _next_is_number(match):
                continue
            yield Item("date", f"month-{MONTHS[low]}", word), match.start()


def _next_is_number(match: re.Match[str]) -> bool:
    return bool(re.match(r"\s+\d", match.string[match.end() : match.end() + 3]))


def items_match(claim: Item, other: Item) -> bool:
    """True when ``other`` (from the evidence) states what ``claim`` states."""
    if claim.kind != other.kind:
        return False
    if claim.kind == "entity":
        return same_word(claim.key, other.key)
    if claim.kind != "number":
        return claim.key == other.key
    if claim.low != claim.high:  # a vague quantity ("hundreds") is backed by one in its range
        return claim.key == other.key or (other.low == other.high and claim.low <= other.low <= claim.high)
    if other.low != other.high:
        return False
    if claim.approx and abs(other.low - claim.low) <= 0.1 * max(abs(claim.low), 1.0):
        return True
    return round(other.low / claim.scale, claim.decimals) == round(claim.low / claim.scale, claim.decimals)


class Index:
    """The sources as the checks see them: one profile of everything, one per sentence or window."""

    def __init__(self, whole: Profile, sentences: Sequence[Profile], singles: Sequence[Profile] | None = None) -> None:
        """``sentences`` are every alignable unit (windows too); ``singles`` the sentences alone, when they differ.

        A fact taken from another sentence is checked against ``singles``: a window of two sentences would
        let a name of one vouch for the event of the other.
        """
        self.whole = whole
        self.sentences = list(sentences)
        self.singles = list(singles) if singles is not None else self.sentences
        self.names = whole.names()
        self._forms: dict[str, frozenset[str]] = {}
        self._postings: dict[str, list[int]] | None = None

    def forms(self, word: str) -> frozenset[str]:
        """The source stems that are ``word`` in another form (memoised: the sources' vocabulary is fixed)."""
        found = self._forms.get(word)
        if found is None:
            found = frozenset(s for s in self.whole.stems if same_word(word, s))
            found |= ALIASES.get(word, frozenset()) & self.whole.stems
            self._forms[word] = found
        return found

    def share(self, words: Iterable[str], stems: set[str]) -> float:
        """Share of ``words`` that ``stems`` (a sentence of the sources) contains in some form."""
        unique = set(words)
        if not unique:
            return 1.0
        return sum(not self.forms(w).isdisjoint(stems) for w in unique) / len(unique)

    def coverage(self, words: Iterable[str]) -> np.ndarray:
        """For every sentence of the index, the share of ``words`` it contains in some form."""
        unique = set(words)
        hits = np.zeros(len(self.sentences), dtype=np.float32)
        if not unique:
            return hits
        postings = self._postings
        if postings is None:  # built whole before it is shared, so concurrent checks never see half of it
            postings = {}
            for n, sentence in enumerate(self.sentences):
                for stem_ in sentence.stems:
                    postings.setdefault(stem_, []).append(n)
            self._postings = postings
        for word in unique:
            rows = {n for form in self.forms(word) for n in postings.get(form, ())}
            hits[list(rows)] += 1.0
        covered: np.ndarray = hits / len(unique)
        return covered

    def novel(self, words: Iterable[str]) -> list[str]:
        """The words no source contains in any form."""
        return [w for w in dict.fromkeys(words) if not self.forms(w)]


def find_problems(
    claim: Profile, evidence: Profile, index: Index, *, min_context: float, swap_context: float = 0.65
) -> list[Problem]:
    """Everything in the claim that the aligned evidence contradicts or that no source states.

    An item missing from the aligned evidence may still come from another sentence (summaries fuse
    sentences), but only from one that speaks of the same thing: at least ``min_context`` of the
    words around the item in the claim must be in that sentence. Not so when the aligned evidence has
    the item's very slot (``swap_context`` of its neighbours) filled by another value of its kind.
    """
    problems = _item_problems(claim, evidence, index, min_context, swap_context)
    problems += _negation_problems(claim, evidence)
    problems += _antonym_problems(claim, evidence)
    return problems


def _item_problems(
    claim: Profile, evidence: Profile, index: Index, min_context: float, swap_context: float
) -> list[Problem]:
    problems: list[Problem] = []
    evidence_items = evidence.resolved(index.names)
    for item in claim.resolved(index.names):
        if _holds(item, evidence, index):
            continue
        context = claim.context(item)
        rivals = [e.surface for e in evidence_items if e.kind == item.kind and not _in_claim(e, claim)]
        # The aligned evidence has this very slot (the words around the item match) filled by another
        # value: a swap, whatever other sentences say (e.g. "Hamas" put where the evidence says "Hezbollah").
        same_slot = bool(rivals) and index.share(context, evidence.stems) >= swap_context
        if not same_slot and any(
            _holds(item, s, index) and index.share(context, s.stems) >= min_context for s in index.singles
        ):
            continue
        if rivals:
            says = ", ".join(dict.fromkeys(rivals[:3]))
            problems.append(Problem("contradicted", f"{item.kind} {item.surface} not in evidence (says: {says})"))
        elif _holds(item, index.whole, index):
            problems.append(Problem("unsupported", f"{item.kind} {item.surface} is in the sources, not about this"))
        else:
            problems.append(Problem("unsupported", f"{item.kind} {item.surface} not in sources"))
    return problems


def _holds(item: Item, text: Profile, index: Index) -> bool:
    """True when ``text`` states ``item`` (a name in any of its forms, a number by value)."""
    if item.kind == "entity":
        return not index.forms(item.key).isdisjoint(text.stems)
    return any(items_match(item, e) for e in text.resolved(index.names))


def _in_claim(item: Item, claim: Profile) -> bool:
    if item.kind == "entity":
        return any(same_word(item.key, s) for s in claim.stems)
    return any(items_match(c, item) or items_match(item, c) for c in claim.items)


def _negation_problems(claim: Profile, evidence: Profile) -> list[Problem]:
    for s in claim.content:
        if s in claim.negated and s in evidence.stems and s not in evidence.negated:
            return [Problem("contradicted", f"negation: the claim denies '{s}', the evidence affirms it")]
    for s in evidence.content:
        if s in evidence.negated and s in claim.stems and s not in claim.negated:
            return [Problem("contradicted", f"negation: the evidence denies '{s}', the claim affirms it")]
    return []


def _antonym_problems(claim: Profile, evidence: Profile) -> list[Problem]:
    flipped = swapped_pair(_ANTONYM_PAIRS, claim, evidence)
    return [Problem("contradicted", f"'{flipped[0]}' in claim, evidence says '{flipped[1]}'")] if flipped else []


def swapped_pair(pairs: Iterable[tuple[str, str]], claim: Profile, evidence: Profile) -> tuple[str, str] | None:
    """The first pair, either way round, of which the claim has one stem (the evidence lacking it) and the evidence
    the other (the claim lacking it): a word of the evidence swapped for its opposite or for another relation."""
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            if x in claim.stems and y in evidence.stems and y not in claim.stems and x not in evidence.stems:
                return x, y
    return None
