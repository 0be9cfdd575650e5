"""Neutrality: loaded terms outside quotes and attributions, and the parties the sources quote.

The lexicon is a data file in the package (``assistant/data/loaded_language.json``) so that
editors can extend it without touching code. A term is excused inside quotation marks and in
a sentence that attributes what it says to a speaker ("Hezbollah said ...", "according to ...").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, ValidationError

from assistant.brief_schema import LintHit
from assistant.errors import ConfigError

_VERBS = (
    "said|says|say|stated|states|told|tells|claimed|claims|announced|announces|denied|denies|accused|accuses|"
    "warned|warns|added|adds|reported|reports|described|describes|called|calls|insisted|insists|argued|argues|"
    "alleged|alleges|confirmed|confirms|vowed|vows|condemned|condemns|blamed|blames|urged|urges|"
    "acknowledged|acknowledges|maintained|maintains|wrote|writes|declared|declares"
)
_VERB = re.compile(rf"\b(?:also\s+|later\s+|has\s+|had\s+)?(?:{_VERBS})\b")
_ACCORDING = re.compile(r"\b[Aa]ccording to\s+(?P<who>[^,;:.\"“]+)")
_CLAUSE_START = re.compile(r"[,;:(\"“”]|\b(?:and|but|while|that|as|after|before|when|because)\s", re.IGNORECASE)
_STOP_AFTER = re.compile(r"\s(?:on|in|at|that|which|who|for|over|about)\s.*$")
_VERBISH = frozenset("is are was were be been has have had will would could should may might do does did not".split())
_ROLES = frozenset(
    """military army government ministry official officials spokesman spokeswoman spokesperson police authorities
    minister president mayor leader agency office forces group residents witnesses analysts experts diplomat
    diplomats prosecutors court judge lawyer lawyers doctors medics union company""".split()
)
_PREPOSITIONS = frozenset("with for of in on at by to from into about than".split())
_PRONOUNS = frozenset("he she they it we i you this that these those there who which".split())
_NOT_SPEAKERS = frozenset("the statement report reports article source sources".split())
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|‘[^’]*’(?!\w)")


class LexiconEntry(BaseModel):
    """One loaded term of the lexicon file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    term: str
    category: str
    neutral: str | None = None


class _LexiconFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[LexiconEntry]


@lru_cache(maxsize=1)
def lexicon() -> tuple[LexiconEntry, ...]:
    """The loaded-language lexicon shipped with the package."""
    path = resources.files("assistant").joinpath("data/loaded_language.json")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw.pop("_comment", None)
        return tuple(_LexiconFile.model_validate(raw).terms)
    except (OSError, ValueError, ValidationError) as exc:
        raise ConfigError(f"cannot read the lexicon {path} ({exc.__class__.__name__}); reinstall the package") from exc


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[LexiconEntry, re.Pattern[str]], ...]:
    return tuple(
        (entry, re.compile(r"(?<![\w-])" + re.escape(entry.term).replace(r"\ ", r"\s+") + r"(?![\w-])", re.IGNORECASE))
        for entry in sorted(lexicon(), key=lambda e: -len(e.term))
    )


def _speaker_ok(who: str) -> bool:
    words = who.split()
    if not words or len(words) > 6 or any(w.lower() in _VERBISH for w in words) or re.search(r"\d", who):
        return False
    if words[0].lower() in _PRONOUNS | _PREPOSITIONS or words[-1].lower() in _PRONOUNS | _NOT_SPEAKERS:
        return False
    return any(w[:1].isupper() or w.lower() in _ROLES for w in words)


def _tidy(who: str) -> str:
    who = re.sub(r"^(?:the|a|an)\s+", "", " ".join(who.split()), flags=re.IGNORECASE).strip(" .,'\"")
    return re.sub(r"[’']s$", "", who)


def speakers(sentence: str) -> list[str]:
    """The parties a sentence attributes words to ("The Israeli military said" -> "Israeli military")."""
    unquoted = _QUOTED.sub(" ", sentence)
    found: list[str] = []
    for match in _VERB.finditer(unquoted):
        before = unquoted[: match.start()]
        starts = [m.end() for m in _CLAUSE_START.finditer(before)]
        found.append(_tidy(before[starts[-1] if starts else 0 :]))
    for match in _ACCORDING.finditer(unquoted):
        found.append(_tidy(_STOP_AFTER.sub("", match.group("who"))))
    return list(dict.fromkeys(w for w in found if _speaker_ok(w)))


def party_key(name: str) -> str:
    """A party's name as compared across sentences: case and 'the' ignored."""
    return re.sub(r"^the\s+", "", " ".join(name.lower().split()))


def is_attributed(sentence: str) -> bool:
    """True when the sentence says who makes its claim."""
    return bool(speakers(sentence))


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _QUOTED.finditer(text)]


def lint_text(text: str, *, section: str = "") -> list[LintHit]:
    """Loaded terms in ``text`` that are neither quoted nor in an attributed sentence."""
    if is_attributed(text):
        return []
    quoted = _quoted_spans(text)
    hits: list[LintHit] = []
    taken: list[tuple[int, int]] = []
    for entry, pattern in _patterns():
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(s <= start and end <= e for s, e in quoted) or any(s < end and start < e for s, e in taken):
                continue
            taken.append((start, end))
            hits.append(LintHit(term=match.group(0), category=entry.category, neutral=entry.neutral, text=text,
                                section=section))
    return hits


def neutralise(text: str) -> str | None:
    """``text`` with each unattributed loaded term replaced by its neutral alternative; None when one has none."""
    out = text
    for hit in lint_text(text):
        if hit.neutral is None:
            return None
        out = re.sub(r"(?<![\w-])" + re.escape(hit.term) + r"(?![\w-])", _cased(hit.term, hit.neutral), out, count=1)
    return out if not lint_text(out) else None


def _cased(original: str, replacement: str) -> str:
    return replacement[:1].upper() + replacement[1:] if original[:1].isupper() else replacement


def parties_quoted(sentences: Iterable[str]) -> dict[str, str]:
    """Party key -> display name for every speaker the sentences attribute words to."""
    parties: dict[str, str] = {}
    for sentence in sentences:
        for who in speakers(sentence):
            parties.setdefault(party_key(who), who)
    return parties
