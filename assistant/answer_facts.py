"""What the answer path reads off each evidence sentence for one question, read once.

Choosing the sentence that answers asks the same things of each sentence several times: its candidates of the kind
asked (``answer_spans``), whether each sits by the question's cue, why the sentence may not answer
(``fit_problem``, the question's constraints), how many articles state a candidate, which articles bear on the
question. The scorer's features ask them, the choice asks them, and the rules that may veto the choice and the note
that explains an abstention ask them again. ``PoolFacts`` holds one ``SentenceFacts`` record per sentence; each
fact is read when first asked for and kept (an abstention before the scorer runs needs only the candidates), so
the scorer, the decision and the answer-form checks all read the same record.

Example::

    >>> facts = PoolFacts("Who won the 2021 Tour de France?", pool)     # doctest: +SKIP
    >>> [(f.spans, f.eligible, f.fit_problem) for f in facts.sentences]  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property, lru_cache

from assistant.answer_candidates import (
    CUE_WINDOW,
    candidates,
    constraint_conflict,
    cue_distance,
    date_key,
    dates_in,
    relation_coverage,
    same_date,
)
from assistant.answer_types import KIND_NAMES, AnswerType, answer_type, unfit_reason
from assistant.answerability import Verdict, answers_question
from assistant.evidence import EvidenceSentence, keyword_overlap
from assistant.schemas import RetrievedChunk
from assistant.sentences import STOPWORDS, content_words

BEARING_SHARE = 0.6  # the share of the best selection score at which an article bears on the question
RELATION_FLOOR = 0.5  # share of the question's relation words below which a sentence "lacks the relation"


class PoolFacts:
    """The facts of every sentence of ``pool`` for ``question``, and those of the pool as a whole."""

    def __init__(self, question: str, pool: Sequence[EvidenceSentence]) -> None:
        self.question = question
        self.pool = pool
        self.kind: AnswerType = answer_type(question)
        self.typed = self.kind not in ("reason", "other")
        self.dated = self.kind == "date"
        self.sentences = tuple(SentenceFacts(self, sentence) for sentence in pool)
        self._passages: dict[str, str] = {}
        self._support: dict[str, int] = {}
        self._states: dict[tuple[str, int], bool] = {}

    @cached_property
    def bearing(self) -> set[str]:
        """The articles that bear on the question (``bearing_articles``)."""
        return bearing_articles(self.pool)

    def passage_overlap(self, chunk: RetrievedChunk) -> float:
        """The share of the question's content words in ``chunk``: one reading per chunk, however many of its
        sentences are asked about."""
        return keyword_overlap(self.question, chunk.text)  # cached by text (evidence.keyword_overlap)

    def passage_problem(self, chunk: RetrievedChunk) -> str:
        """Why ``chunk`` as a whole does not answer the question (``answers_question``); empty when it may."""
        if chunk.text not in self._passages:
            self._passages[chunk.text] = answers_question(self.question, chunk.text).reason
        return self._passages[chunk.text]

    def support(self, candidate: str) -> int:
        """How many retrieved articles state ``candidate`` (``support_of``), counted once per candidate."""
        if candidate not in self._support:
            self._support[candidate] = support_of(candidate, self.pool, dated=self.dated)
        return self._support[candidate]

    def states(self, candidate: str, index: int) -> bool:
        """Sentence ``index`` of the pool states ``candidate`` (``states``), read once per pair."""
        key = (candidate, index)
        if key not in self._states:
            self._states[key] = states(candidate, self.pool[index].text, dated=self.dated)
        return self._states[key]


class SentenceFacts:
    """One sentence's facts for the question of its ``PoolFacts``, each read on first use."""

    def __init__(self, facts: PoolFacts, sentence: EvidenceSentence) -> None:
        self.facts = facts
        self.sentence = sentence
        self.text = sentence.text

    @cached_property
    def spans(self) -> tuple[str, ...]:
        """The candidates of the kind asked (``answer_spans``)."""
        return tuple(candidates(self.facts.kind, self.facts.question, self.text))

    @cached_property
    def anchors(self) -> tuple[bool, ...]:
        """For each span, whether it sits by the question's relation cue (``anchored``)."""
        return tuple(d is not None and d <= CUE_WINDOW for d in self.distances)

    @cached_property
    def distances(self) -> tuple[int | None, ...]:
        """For each span, the words between it and the question's relation cue (``cue_distance``)."""
        return tuple(cue_distance(self.facts.question, self.text, c) for c in self.spans)

    @cached_property
    def near(self) -> tuple[str, ...]:
        """The spans by the cue (every span for an untyped question)."""
        if not self.facts.typed:
            return self.spans
        return tuple(c for c, a in zip(self.spans, self.anchors, strict=True) if a)

    @cached_property
    def lead(self) -> str:
        """The candidate the sentence puts forward: the first by the cue, else the first (needs a span)."""
        return next((c for c, a in zip(self.spans, self.anchors, strict=True) if a), self.spans[0])

    @cached_property
    def form(self) -> Verdict:
        """Whether the sentence has the answer's form where the question asks for it, whatever its coverage."""
        return answers_question(self.facts.question, self.text, min_coverage=0.0)

    @cached_property
    def eligible(self) -> bool:
        """Not a question itself, holding a candidate of the kind asked (any sentence, for untyped questions),
        where the question's form asks for it."""
        return not self.text.rstrip().endswith("?") and bool(self.spans) and self.form.ok

    @cached_property
    def relation(self) -> float:
        """Share of the question's relation words in the sentence (``relation_coverage``)."""
        return relation_coverage(self.facts.question, self.text)

    @cached_property
    def fit_problem(self) -> str:
        """Why the sentence does not give what the question asks for (kind of fact, relation, passage on topic);
        empty when it may."""
        if self.relation < RELATION_FLOOR:
            return "the sources do not say this of what the question asks about"
        return (self.form.reason or self.facts.passage_problem(self.sentence.chunk)
                or unfit_reason(self.facts.question, self.text, numbers=False))

    @cached_property
    def conflict(self) -> str:
        """Why the sentence cannot answer the question's year, number or ordinal (``constraint_conflict``)."""
        return constraint_conflict(self.facts.question, self.text, self.sentence.chunk.text)

    @cached_property
    def rule_problem(self) -> str:
        """Why the rules say the sentence does not answer the question; empty when it may."""
        problem = self.fit_problem or self.conflict
        if problem or not self.facts.typed:
            return problem
        if not any(self.anchors):
            return f"no {KIND_NAMES[self.facts.kind]} beside what the question asks in the sources"
        return ""

    @cached_property
    def overlap(self) -> float:
        """Share of the question's content words in the sentence (``keyword_overlap``)."""
        return keyword_overlap(self.facts.question, self.text)

    @cached_property
    def words(self) -> set[str]:
        """The sentence's content words."""
        return set(content_words(self.text))


def answer_spans(question: str, sentence: str) -> list[str]:
    """The candidates of the kind ``question`` asks for in ``sentence`` (the sentence itself for untyped ones)."""
    return candidates(answer_type(question), question, sentence)


def bearing_articles(pool: Sequence[EvidenceSentence], *, share: float = BEARING_SHARE) -> set[str]:
    """The articles with a sentence scoring at least ``share`` of the best selection score: the ones that bear on the
    question. Other articles of the store that retrieval also returned (another story) do not make a question
    one of several sources, whose answer other articles should repeat."""
    top = max((e.score for e in pool), default=0.0)
    return {e.chunk.article_id for e in pool if e.score >= top * share}


def support_of(candidate: str, pool: Sequence[EvidenceSentence], *, dated: bool = False) -> int:
    """How many retrieved articles state ``candidate`` (in any of their evidence chunks); dates match in any
    spelling ("Oct. 27, 2017", "27 October 2017")."""
    chunks = {e.chunk.chunk_id: e.chunk for e in pool}.values()
    return len({c.article_id for c in chunks if states(candidate, c.text, dated=dated)})


def states(candidate: str, text: str, *, dated: bool = False) -> bool:
    """``text`` states ``candidate`` in some spelling: a date as any date that does not disagree with it, a name
    by half its words in any order (see ``_names_match``), anything else as written (case and spacing aside)."""
    key = date_key(candidate) if dated else None
    if key is not None:
        return any(same_date(key, k) for k in dates_in(text))
    low = " ".join(candidate.lower().split())
    words = [w for w in re.findall(r"[\w'’-]+", low) if len(w) >= 3 and w not in STOPWORDS]
    if not words or not candidate[:1].isupper():
        return low in _folded(text)
    return _names_match(words, text)


def _names_match(words: Sequence[str], text: str) -> bool:
    """At least half of a name's words are in ``text``, in any order, a word matching by its first five letters
    ("Liu Yifei" is "Yifei Liu"; "Justin Kurze" is "Justin Kurzel")."""
    have = _prefixes(text)
    return sum(w[:5] in have for w in words) * 2 >= len(words)


# Support asks each retrieved chunk about every candidate of every sentence: the chunk's side is read once.
@lru_cache(maxsize=1024)
def _folded(text: str) -> str:
    """``text`` in lower case, its spacing made single."""
    return " ".join(text.lower().split())


@lru_cache(maxsize=1024)
def _prefixes(text: str) -> frozenset[str]:
    """The first five letters of each word of ``text``, lower-cased."""
    return frozenset(w[:5] for w in re.findall(r"[\w'’-]+", text.lower()))
