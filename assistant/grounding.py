"""Grounding: split a text into claims, give each a verdict against the sources, score the text.

Offline and LLM-free: a claim is aligned with the best source sentence (or pair of adjacent
sentences) by MiniLM cosine plus lexical coverage, and then hard checks in
``assistant.claims_checks`` veto what similarity cannot see (numbers, dates, names, negation).

Example::

    >>> from assistant.schemas import SourceText
    >>> checker = GroundingChecker()  # lexical only; pass embeddings= for semantic alignment
    >>> src = [SourceText(id="a", text="Hezbollah launched over 100 rockets on Tuesday.")]
    >>> checker.check("Hezbollah launched over 300 rockets.", src).claims[0].reason
    'number over 300 not in evidence (says: over 100)'
    >>> checker.check("Hezbollah launched over 300 rockets.", src).claims[0].label
    'contradicted'
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field

from assistant.claims_checks import Index, Problem, Profile, find_problems, profile
from assistant.claims_relations import changed_relations
from assistant.schemas import Claim, Evidence, GroundingReport, Label, SourceText
from assistant.sentences import sentence_spans

_CITATION = re.compile(r"\s*\[\d+(?:\s*[,;\u2013-]\s*\d+)*\]")
# Where a compound sentence splits: "; " always, ", and/but/while/whereas " when a subject follows.
_JOINT = re.compile(r";\s+|,\s+(?:and|but|while|whereas|although)\s+")
_SUBJECT_WORDS = "the a an he she it they we i his her its their this that these those there some many most both all"
_SUBJECT_START = frozenset(_SUBJECT_WORDS.split())
_CLAUSE = re.compile(r"[,;:()\u2014]|\s-\s|\b(?:who|which|whose|whom)\b")
_CACHE_LIMIT = 20_000
_INDEX_LIMIT = 64


Relations = Literal["cited", "always", "off"]


class Thresholds(BaseModel):
    """Tuned numbers of the checker (tuned on SummEdits news, split "evaluation", only) and its two switches."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cosine_weight: float = Field(default=0.5, ge=0, le=1, description="Share of MiniLM cosine in alignment.")
    min_alignment: float = Field(default=0.5, ge=0, le=1, description="Below this, nothing backs the claim.")
    min_alignment_lexical: float = Field(default=0.6, ge=0, le=1, description="The same without embeddings.")
    min_context: float = Field(default=0.25, ge=0, le=1, description="Share of a fact's neighbours a sentence needs.")
    swap_context: float = Field(
        default=0.65, ge=0, le=1, description="Neighbours shared with the evidence that make a changed name a swap."
    )
    max_novel_share: float = Field(default=0.34, ge=0, le=1, description="Share of words no source has.")
    clause_novel_share: float = Field(default=0.6, ge=0, le=1, description="The same for one clause.")
    relations: Relations = Field(
        default="cited",
        description="When the relation checks (assistant.claims_relations) run: 'cited' when every source is one"
        " sentence (a claim checked against the sentence it cites), 'always', or 'off'.",
    )
    one_sentence: bool = Field(
        default=False,
        description="Check each fact against one sentence, not a window of two: refuses facts fused from adjacent"
        " sentences, at the cost of faithful summaries that join them (off by default: see docs/benchmarks.md).",
    )


@dataclass(frozen=True)
class _Unit:
    """A source sentence or a window of two adjacent ones: the smallest span that can be evidence."""

    origin: str  # the whole source text: the cache is keyed by texts, ids and order may differ between calls
    start: int
    end: int
    text: str
    profile: Profile
    single: bool = True  # one sentence, not a window of two


@dataclass(frozen=True)
class _Alignment:
    unit: _Unit
    score: float


class GroundingChecker:
    """Labels each claim of a text supported, unsupported or contradicted by the given sources."""

    def __init__(self, *, embeddings: Embeddings | None = None, thresholds: Thresholds | None = None) -> None:
        """Without ``embeddings`` the alignment is lexical only (fast, weaker on paraphrase)."""
        self.embeddings = embeddings
        self.thresholds = thresholds or Thresholds()
        self._vectors: dict[str, np.ndarray] = {}
        self._profiles: dict[str, Profile] = {}
        self._indexes: dict[tuple[str, ...], tuple[list[_Unit], Index]] = {}

    def check(self, text: str, sources: Sequence[SourceText]) -> GroundingReport:
        """Ground every claim of ``text``; the score is the share of supported claims."""
        claims = self._claims(text)
        verdicts = self._verdicts(claims, sources)
        return GroundingReport(score=self._score(verdicts), claims=verdicts)

    def verdict(self, claim: str, sources: Sequence[SourceText]) -> Claim:
        """One claim's label, score, evidence span and reason."""
        return self._verdicts([claim], sources)[0]

    def best_evidence(self, claim: str, sources: Sequence[SourceText]) -> tuple[Evidence, float] | None:
        """The source span that best matches ``claim`` and its alignment, for citation quotes."""
        units, index = self._index(sources)
        if not units or not claim.strip():
            return None
        best = self._align([claim], units, index)[0]
        return _evidence(best.unit, sources), best.score

    def _claims(self, text: str) -> list[str]:
        return split_claims(text)

    def _verdicts(self, claims: Sequence[str], sources: Sequence[SourceText]) -> list[Claim]:
        if not claims:
            return []
        units, index = self._index(sources)
        if not units:
            return [Claim(text=c, label="unsupported", reason="no sources") for c in claims]
        alignments = self._align(claims, units, index)
        relations = self._relations_apply(sources)  # once per call: it reads every source
        return [self._judge(c, a, index, sources, relations) for c, a in zip(claims, alignments, strict=True)]

    def _score(self, verdicts: Sequence[Claim]) -> float:
        if not verdicts:
            return 1.0
        return sum(v.label == "supported" for v in verdicts) / len(verdicts)

    def _judge(
        self, claim: str, best: _Alignment, index: Index, sources: Sequence[SourceText], relations: bool
    ) -> Claim:
        mine = self._profile(claim)
        text, facts = best.unit.text, best.unit.profile
        if self.thresholds.one_sentence:
            text, facts = self._closest_sentence(mine, best.unit, index)
        problems = find_problems(mine, facts, index, min_context=self.thresholds.min_context,
                                 swap_context=self.thresholds.swap_context)
        problems += self._novelty(claim, mine, index)
        if relations:
            problems += changed_relations(claim, text, mine, facts, index)
        floor = self.thresholds.min_alignment if self.embeddings else self.thresholds.min_alignment_lexical
        if best.score < floor:  # nothing aligns: no evidence can contradict the claim either
            problems = [Problem("unsupported", f"no source sentence matches (alignment {best.score:.2f})")]
        label = _label(problems)
        score = best.score if label == "supported" else min(best.score, floor) * 0.5
        reason = "; ".join(p.reason for p in problems)
        evidence = _evidence(best.unit, sources)
        return Claim(text=claim, label=label, score=round(score, 4), evidence=evidence, reason=reason)

    def _relations_apply(self, sources: Sequence[SourceText]) -> bool:
        """'cited' runs the relation checks only against sources of one sentence each.

        Against a cited sentence a claim must say what that sentence says, with nothing fused in. Against whole
        documents the same checks also refuse faithful summaries that join and restructure sentences: on
        SummEdits news (test) 'always' scored 0.643 balanced accuracy against 0.648 without them.
        """
        mode = self.thresholds.relations
        if mode == "cited":
            return all(len(sentence_spans(s.text)) <= 1 for s in sources)
        return mode == "always"

    def _closest_sentence(self, mine: Profile, unit: _Unit, index: Index) -> tuple[str, Profile]:
        """The sentence of a two-sentence window that shares most of the claim's words (the unit if a sentence).

        The relation checks compare a claim with one sentence: a claim whose parts come from two sentences
        ("set a record" from one, "for Leeds in 2010" from the next) says what neither sentence says.
        """
        spans = sentence_spans(unit.text)
        if len(spans) < 2:
            return unit.text, unit.profile
        texts = [unit.text[s:e] for s, e in spans]
        profiles = [self._profile(t) for t in texts]
        best = max(range(len(texts)), key=lambda n: index.share(mine.content, profiles[n].stems))
        return texts[best], profiles[best]

    def _novelty(self, claim: str, mine: Profile, index: Index) -> list[Problem]:
        """Words no source has: a claim, or one of its clauses, made mostly of them is not from the sources."""
        words = set(mine.content)
        novel = index.novel(mine.content)
        if words and len(novel) / len(words) > self.thresholds.max_novel_share:
            return [Problem("unsupported", "words not in sources: " + ", ".join(novel[:5]))]
        for clause in _CLAUSE.split(claim):  # an inserted "..., who was released on bail, ..."
            words = set(self._profile(clause).content)
            if len(words) >= 3 and len(index.novel(words)) / len(words) >= self.thresholds.clause_novel_share:
                return [Problem("unsupported", f"clause not in sources: {clause.strip()}")]
        return []

    def _align(self, claims: Sequence[str], units: Sequence[_Unit], index: Index) -> list[_Alignment]:
        """Best unit per claim by cosine (when embeddings are given) mixed with lexical coverage."""
        similarity = self._similarities(claims, units)
        weight = self.thresholds.cosine_weight if self.embeddings else 0.0
        out: list[_Alignment] = []
        for i, claim in enumerate(claims):
            coverage = index.coverage(self._profile(claim).content)
            scores = weight * similarity[i] + (1 - weight) * coverage
            j = int(np.argmax(scores))
            out.append(_Alignment(units[j], float(scores[j])))
        return out

    def _similarities(self, claims: Sequence[str], units: Sequence[_Unit]) -> np.ndarray:
        if self.embeddings is None:
            return np.zeros((len(claims), len(units)), dtype=np.float32)
        left = np.asarray(self.embeddings.embed_documents(list(claims)), dtype=np.float32)
        right = self._embed_units([u.text for u in units])
        similarity: np.ndarray = np.clip(_normalise(left) @ right.T, 0.0, 1.0)
        return similarity

    def _embed_units(self, texts: Sequence[str]) -> np.ndarray:
        """Source spans are embedded once and cached by text, so re-checking the same sources is cheap."""
        assert self.embeddings is not None
        found = {t: v for t in texts if (v := self._vectors.get(t)) is not None}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = _normalise(np.asarray(self.embeddings.embed_documents(missing), dtype=np.float32))
            found.update(zip(missing, vectors, strict=True))
            if len(self._vectors) + len(missing) > _CACHE_LIMIT:
                self._vectors.clear()
            self._vectors.update(zip(missing, vectors, strict=True))
        return np.stack([found[t] for t in texts])

    def _index(self, sources: Sequence[SourceText]) -> tuple[list[_Unit], Index]:
        """Units and index of a set of sources, kept for the next check against the same sources."""
        key = tuple(sorted({s.text for s in sources}))
        cached = self._indexes.get(key)
        if cached is None:
            if len(self._indexes) >= _INDEX_LIMIT:
                self._indexes.clear()
            units = [u for text in key for u in self._source_units(text)]
            whole = Profile()
            for text in key:
                whole = whole.merged(self._profile(text))
            singles = [u.profile for u in units if u.single] if self.thresholds.one_sentence else None
            cached = self._indexes[key] = (units, Index(whole, [u.profile for u in units], singles))
        return cached

    def _source_units(self, text: str) -> list[_Unit]:
        singles = [_Unit(text, s, e, text[s:e], self._profile(text[s:e])) for s, e in sentence_spans(text)]
        pairs = [
            _Unit(text, a.start, b.end, text[a.start : b.end], a.profile.merged(b.profile), single=False)
            for a, b in itertools.pairwise(singles)
        ]
        return singles + pairs

    def _profile(self, text: str) -> Profile:
        cached = self._profiles.get(text)
        if cached is None:
            if len(self._profiles) > _CACHE_LIMIT:
                self._profiles.clear()
            cached = self._profiles[text] = profile(text)
        return cached


def split_claims(text: str) -> list[str]:
    """Sentences of ``text`` without citation markers, compound ones split where each part asserts something."""
    claims: list[str] = []
    for s, e in sentence_spans(text):
        sentence = _CITATION.sub("", text[s:e]).strip()
        claims += [part for part in _split_compound(sentence) if part]
    return claims


def _split_compound(sentence: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for joint in _JOINT.finditer(sentence):
        rest = sentence[joint.end() :].split()
        head = sentence[start : joint.start()].split()
        least = 2 if joint.group(0).startswith(";") else 3  # words each side: enough for a subject and a verb
        if len(head) >= least and len(rest) >= least and _asserts(rest[0], joint.group(0)):
            parts.append(_tidy(sentence[start : joint.start()]))
            start = joint.end()
    parts.append(_tidy(sentence[start:]))
    return parts


def _asserts(first: str, joint: str) -> bool:
    """A part asserts on its own when it opens with a subject (a name or a determiner), or after '; '."""
    return joint.startswith(";") or first[:1].isupper() or first.lower() in _SUBJECT_START


def _tidy(part: str) -> str:
    part = part.strip().rstrip(",;")
    if part and part[-1] not in ".!?\"'\u201d":
        part += "."
    return part[:1].upper() + part[1:]


def _label(problems: Sequence[Problem]) -> Label:
    if any(p.label == "contradicted" for p in problems):
        return "contradicted"
    return "unsupported" if problems else "supported"


def _evidence(unit: _Unit, sources: Sequence[SourceText]) -> Evidence:
    source = next(s.id for s in sources if s.text is unit.origin or s.text == unit.origin)
    return Evidence(source=source, quote=unit.text, start=unit.start, end=unit.end)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = vectors / np.maximum(norms, 1e-12)
    return unit
