"""Example questions drawn from the stored articles, so a new reader sees what the library can answer.

The names that the articles repeat (people, places, organisations: capitalised runs of
words that are not just the first word of a sentence) make questions the retrieval can
find; nothing here asks a model, so the examples are instant and never invent a topic.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_NAME = re.compile(r"\b[A-Z][\w'’-]+(?:\s+(?:of\s+|the\s+|al-)?[A-Z][\w'’-]+)*")
_STOP = frozenset(
    "The A An In On At For And But Or If When While After Before This That These Those It Its He She They We "
    "I You His Her Their Our Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March "
    "April May June July August September October November December Mr Mrs Ms Dr However Meanwhile Also".split()
)

# "Israeli", "Iranian", "Lebanese": adjectives, not things a question can be about.
_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:ian|ese|ish|i)$")


def _names(text: str) -> Iterable[str]:
    for match in _NAME.finditer(text):
        words = match.group(0).split()
        while words and words[0] in _STOP:
            words = words[1:]
        name = " ".join(words).rstrip("’'s").strip()
        if len(name) > 2 and name not in _STOP:
            yield name.removesuffix("’s").removesuffix("'s")


def example_questions(texts: Iterable[str], *, limit: int = 4) -> list[str]:
    """Up to ``limit`` questions about the names the texts mention most, longest names first on ties."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(name for name in _names(text) if not _DEMONYM.search(name))
    ranked = sorted(counts, key=lambda name: (-counts[name], -len(name.split()), name))
    chosen: list[str] = []
    for name in ranked:
        if any(name in other or other in name for other in chosen):
            continue
        chosen.append(name)
        if len(chosen) == limit:
            break
    return [f"What do the articles say about {name}?" for name in chosen]
