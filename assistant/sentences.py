"""Sentence boundaries as character spans, shared by chunking, citations and grounding.

A rule-based splitter: news text is well punctuated, and spans (not copies) keep
every quote a verbatim substring of its source.
"""

from __future__ import annotations

import re

# Words after which a period never ends a sentence (titles, initials, dotted acronyms).
_NEVER_END = frozenset(
    """mr mrs ms dr prof sr jr st gen col lt sgt capt cmdr adm gov sen rep pres gov no vs e.g i.e u.s u.n u.k
    e.u fig approx dept""".split()
)
# Words after which a period ends a sentence only when a capitalised word follows.
_MAYBE_END = frozenset("inc ltd co corp etc a.m p.m jan feb mar apr jun jul aug sep sept oct nov dec est".split())
_END = re.compile(r"""[.!?]+["'\u201d\u2019)\]]*(?=\s+|$)|\n\s*\n""")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def _continues(text: str, dot: int, after: int) -> bool:
    """True when the period at ``dot`` belongs to an abbreviation that does not end the sentence."""
    match = _WORD_BEFORE.search(text[max(0, dot - 12) : dot + 1])
    if not match:
        return False
    word = match.group(1).lower()
    if word in _NEVER_END or len(word) == 1:
        return True
    if word in _MAYBE_END:
        nxt = text[after:].lstrip()[:1]
        return not nxt.isupper()
    return False


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of sentences, stripped of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        end = match.end()
        if match.group(0) == "." and _continues(text, match.start(), end):
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    return [_strip(text, s, e) for s, e in spans if text[s:e].strip()]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings."""
    return [text[s:e] for s, e in sentence_spans(text)]


_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a an the and or but of in on at to for from by with as is are was were be been being has have had do
    does did this that these those it its their there here which who whom whose what when where why how not no
    than then so such into over under about after before between during since until while also he she they
    them his her we you i our your my me us will would can could should may might must""".split()
)


def content_words(text: str) -> list[str]:
    """Lower-cased words of ``text`` without stopwords, crudely stemmed (plural 's' dropped)."""
    words = []
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return words
