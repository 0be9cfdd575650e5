"""Sentences of a story across articles: salience, near-duplicates and disagreements.

A brief starts from the source sentences, never from a model's summary. Each sentence keeps
the chunk id it came from so every later step can cite it exactly. Salience is MiniLM
centrality plus position plus facts (names, numbers, dates); selection runs map-reduce in
groups that fit a token budget so that no step ever holds more than one window's worth.
Two sentences from different articles that say the same thing except for a figure, date or
name are a disagreement: both go to ``contested``, neither is stated as fact.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.claims_checks import Item, items_match, profile
from assistant.dates import MONTH_NAMES, WEEKDAY_WORDS
from assistant.schemas import RetrievedChunk
from assistant.sentences import STOPWORDS, content_words, sentence_spans

TokenCounter = Callable[[str], int]
MIN_WORDS = 8
_KIND_NAMES = {"number": "figure", "date": "date", "entity": "name"}
_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Unit:
    """One source sentence with where it came from."""

    uid: int
    chunk: RetrievedChunk
    text: str
    order: int = 0  # position of the sentence in its article
    position: float = 1.0  # 1.0 for the lead sentence, falling towards 0 at the end
    start: int = 0  # offset of the sentence in its chunk: ``chunk.text[start:end] == text``
    end: int = 0

    @property
    def article_id(self) -> str:
        return self.chunk.article_id

    @property
    def full(self) -> bool:
        """Long enough to state a fact on its own (not a heading or a fragment)."""
        return len(self.text.split()) >= MIN_WORDS


@dataclass
class Cluster:
    """Sentences that carry the same statement, from one or more articles."""

    head: Unit
    members: list[Unit] = field(default_factory=list)
    score: float = 0.0

    def articles(self) -> list[str]:
        """The distinct articles that carry the statement, in order of first appearance."""
        return list(dict.fromkeys(u.article_id for u in [self.head, *self.members]))


@dataclass(frozen=True)
class Conflict:
    """Two sentences that agree except for a figure, date or name."""

    kind: str
    left: Unit
    right: Unit
    left_value: str
    right_value: str


def sentence_units(chunks: Sequence[RetrievedChunk], *, min_words: int = 3) -> list[Unit]:
    """Every sentence of the chunks once (chunks overlap), in article order, with its chunk.

    Short ones (a heading, "Release date.") are kept for finding disagreements; ``Unit.full`` tells
    the sentences long enough to state a fact on their own.
    """
    units: list[Unit] = []
    seen: set[tuple[str, str]] = set()
    per_article: dict[str, list[tuple[int, RetrievedChunk, int, int]]] = {}
    for chunk in sorted(chunks, key=lambda c: (c.article_id, c.start, c.chunk_id)):
        for start, end in sentence_spans(chunk.text):
            text = chunk.text[start:end]
            key = (chunk.article_id, " ".join(text.split()))
            if key in seen or len(text.split()) < min_words:
                continue
            seen.add(key)
            per_article.setdefault(chunk.article_id, []).append((chunk.start + start, chunk, start, end))
    for rows in per_article.values():
        for order, (_, chunk, start, end) in enumerate(rows):
            position = 1.0 - order / max(len(rows), 1)
            units.append(Unit(uid=len(units), chunk=chunk, text=chunk.text[start:end], order=order,
                              position=position, start=start, end=end))
    return units


def _facts(text: str) -> float:
    items = profile(text).items
    return min(len(items), 4) / 4


def salience(units: Sequence[Unit], vectors: np.ndarray) -> list[float]:
    """Centrality (mean cosine to the others) + position + facts, each weighted."""
    if not units:
        return []
    sims = vectors @ vectors.T
    n = len(units)
    centrality = (sims.sum(axis=1) - 1.0) / max(n - 1, 1)
    return [float(c) + 0.25 * u.position + 0.25 * _facts(u.text) for c, u in zip(centrality, units, strict=True)]


def embed_units(units: Sequence[Unit], embeddings: Embeddings) -> np.ndarray:
    """Unit-length vectors of the sentences, one row each."""
    if not units:
        return np.zeros((0, 1))
    raw = np.array(embeddings.embed_documents([u.text for u in units]), dtype=float)
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    unit: np.ndarray = raw / np.maximum(norms, 1e-12)
    return unit


def map_reduce_select(
    units: Sequence[Unit], vectors: np.ndarray, *, keep: int, budget: int, count_tokens: TokenCounter
) -> list[tuple[Unit, float]]:
    """The ``keep`` most salient units, scored in groups that each fit ``budget`` tokens.

    Map: split into groups within the budget and keep each group's best; reduce: repeat on the
    survivors until they fit one group. Units carry their chunk ids through every round.
    """
    pool = [(u, u.uid) for u in units]
    while True:
        groups = _groups(pool, budget=budget, count_tokens=count_tokens)
        scored: list[tuple[Unit, int, float]] = []
        for group in groups:
            rows = vectors[[i for _, i in group]]
            scores = salience([u for u, _ in group], rows)
            best = sorted(zip(group, scores, strict=True), key=lambda x: -x[1])[: max(keep, 1)]
            scored += [(u, i, s) for (u, i), s in best]
        if len(groups) <= 1 or len(scored) >= len(pool):  # one window, or a budget too small to reduce further
            return [(u, s) for u, _, s in sorted(scored, key=lambda x: -x[2])][:keep]
        pool = [(u, i) for u, i, _ in scored]


def _groups(
    pool: Sequence[tuple[Unit, int]], *, budget: int, count_tokens: TokenCounter
) -> list[list[tuple[Unit, int]]]:
    groups: list[list[tuple[Unit, int]]] = [[]]
    used = 0
    for unit, index in pool:
        cost = count_tokens(unit.text)
        if groups[-1] and used + cost > budget:
            groups.append([])
            used = 0
        groups[-1].append((unit, index))
        used += cost
    return groups


def _words(text: str) -> set[str]:
    return set(content_words(text))


def jaccard(a: set[str], b: set[str]) -> float:
    """Shared share of two word sets."""
    return len(a & b) / len(a | b) if a | b else 0.0


def cluster_units(
    ranked: Sequence[tuple[Unit, float]], vectors: np.ndarray, *, same: float = 0.86, lexical: float = 0.6
) -> list[Cluster]:
    """Greedy near-duplicate merging: a unit joins the first cluster whose head it nearly repeats."""
    clusters: list[Cluster] = []
    for unit, score in ranked:
        for cluster in clusters:
            cos = float(vectors[unit.uid] @ vectors[cluster.head.uid])
            if cos >= same or jaccard(_words(unit.text), _words(cluster.head.text)) >= lexical:
                cluster.members.append(unit)
                break
        else:
            clusters.append(Cluster(head=unit, score=score))
    return clusters


def _checkable(items: Sequence[Item]) -> list[Item]:
    return [i for i in items if i.kind in ("number", "date", "entity")]


def _unmatched(mine: Sequence[Item], theirs: Sequence[Item]) -> list[Item]:
    return [i for i in mine if not any(items_match(i, j) or items_match(j, i) for j in theirs)]


def find_conflicts(units: Sequence[Unit], *, min_ratio: float = 0.6, max_span: int = 6) -> list[Conflict]:
    """Pairs of sentences from different articles that say the same thing but for a figure, date or name.

    The sentences are aligned word by word (difflib); a conflict is a short replaced span whose facts
    (numbers, dates, names) differ on both sides, in sentences that are otherwise alike (``min_ratio``).
    Added or missing detail is not a conflict.
    """
    tokens = {u.uid: list(_TOKEN.finditer(u.text)) for u in units}
    words = {u.uid: _words(u.text) for u in units}
    out: list[Conflict] = []
    for i, left in enumerate(units):
        for right in units[i + 1 :]:
            if left.article_id == right.article_id or jaccard(words[left.uid], words[right.uid]) < 0.25:
                continue
            conflict = _conflict(left, right, tokens, min_ratio=min_ratio, max_span=max_span)
            if conflict is not None:
                out.append(conflict)
    return out


def _conflict(
    left: Unit, right: Unit, tokens: dict[int, list[re.Match[str]]], *, min_ratio: float, max_span: int
) -> Conflict | None:
    a, b = tokens[left.uid], tokens[right.uid]
    matcher = difflib.SequenceMatcher(a=[t.group(0).lower() for t in a], b=[t.group(0).lower() for t in b],
                                      autojunk=False)
    if matcher.ratio() < min_ratio:
        return None
    spans: list[tuple[str, tuple[int, int], tuple[int, int]]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace" or i2 - i1 > max_span or j2 - j1 > max_span:
            continue
        lspan = (a[i1].start(), a[i2 - 1].end())
        rspan = (b[j1].start(), b[j2 - 1].end())
        kind = _differs(left.text[slice(*lspan)], right.text[slice(*rspan)])
        if kind is not None:
            spans.append((kind, lspan, rspan))
    if not spans:
        return None
    kind = spans[0][0]
    same = [s for s in spans if s[0] == kind]
    lv = left.text[same[0][1][0] : same[-1][1][1]]
    rv = right.text[same[0][2][0] : same[-1][2][1]]
    return Conflict(kind=_KIND_NAMES[kind], left=left, right=right, left_value=lv, right_value=rv)


def _differs(left: str, right: str) -> str | None:
    """The kind of fact on which two replaced spans disagree, or None when they do not."""
    lp, rp = profile(left), profile(right)
    li, ri = _checkable(lp.items + lp.maybe), _checkable(rp.items + rp.maybe)
    lu, ru = _unmatched(li, ri), _unmatched(ri, li)
    kinds = {i.kind for i in lu} & {i.kind for i in ru}
    return next((k for k in ("number", "date", "entity") if k in kinds), None)


def mentions(text: str, value: str) -> bool:
    """True when ``text`` contains ``value`` (ignoring case and spacing)."""
    squash = re.compile(r"\s+")
    return squash.sub(" ", value.lower()).strip() in squash.sub(" ", text.lower())


# -- the figure guard: a value another source contradicts is never stated as fact ---------------------------------

_NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred "
                 "thousand million billion first second third fourth fifth sixth seventh eighth ninth tenth")
_VALUE_WORDS = MONTH_NAMES | WEEKDAY_WORDS | frozenset(_NUMBER_WORDS.split())


def _value_tokens(words: Sequence[str]) -> set[str]:
    """The tokens of a span that carry a figure, date or name: digits, capitals (sentence-initial ones too),
    month and weekday names, number words."""
    return {w.lower() for w in words if any(c.isdigit() for c in w) or w.lower() in _VALUE_WORDS
            or (w[:1].isupper() and w.lower() not in STOPWORDS)}


def guard_values(
    units: Sequence[Unit], vectors: np.ndarray, *, similar: float = 0.75, min_ratio: float = 0.5, max_span: int = 8,
) -> list[Conflict]:
    """Pairs of alike sentences from different articles whose aligned words give different values.

    The contested detector pairs sentences strictly (word alignment ``min_ratio`` 0.7 and its fact profile),
    so that what it lists is a real disagreement. This guard is looser on purpose: it only keeps values out of
    the facts, so a sentence pair that is merely alike (MiniLM cosine ``similar``, or half its words shared)
    and replaces a value-bearing token the other side lacks (a figure, a date, a name even at the start of a
    sentence or inside a table-like list) is enough. ``similar`` and ``min_ratio`` were picked on RGB's
    evaluation half (bench/briefs_rgb.py --split evaluation): with the detector off and 30 facts per brief,
    0.75/0.4 to 0.85/0.6 all kept every changed value out (24 of 50 reach the facts with neither); 0.75/0.5 is
    the loosest pairing that costs true-only clusters no more than 1 of 50 stated answers (0.98 to 0.96).
    """
    tokens = {u.uid: list(_TOKEN.finditer(u.text)) for u in units}
    words = {u.uid: _words(u.text) for u in units}
    out: list[Conflict] = []
    for i, left in enumerate(units):
        for right in units[i + 1 :]:
            if left.article_id == right.article_id:
                continue
            alike = float(vectors[left.uid] @ vectors[right.uid]) >= similar or (
                jaccard(words[left.uid], words[right.uid]) >= 0.5)
            if alike and (conflict := _guarded(left, right, tokens, min_ratio=min_ratio, max_span=max_span)):
                out.append(conflict)
    return out


def _guarded(left: Unit, right: Unit, tokens: dict[int, list[re.Match[str]]], *, min_ratio: float,
             max_span: int) -> Conflict | None:
    a, b = [t.group(0) for t in tokens[left.uid]], [t.group(0) for t in tokens[right.uid]]
    matcher = difflib.SequenceMatcher(a=[t.lower() for t in a], b=[t.lower() for t in b], autojunk=False)
    if matcher.ratio() < min_ratio:
        return None
    left_all, right_all = {t.lower() for t in a}, {t.lower() for t in b}
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace" or i2 - i1 > max_span or j2 - j1 > max_span:
            continue
        if _value_tokens(a[i1:i2]) - right_all and _value_tokens(b[j1:j2]) - left_all:
            lm, rm = tokens[left.uid], tokens[right.uid]
            return Conflict(kind="value", left=left, right=right,
                            left_value=left.text[lm[i1].start() : lm[i2 - 1].end()],
                            right_value=right.text[rm[j1].start() : rm[j2 - 1].end()])
    return None
