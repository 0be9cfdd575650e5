"""A learned score for "this sentence answers the question", and the threshold under which the assistant abstains.

Surface rules written while reading one set of questions fit that set's phrasings. So the rules of
``answer_candidates`` and ``answerability`` are not verdicts here but *features*, beside general signals: MiniLM
similarity, how much of the question (weighted by how rare each word is among the retrieved sentences) the
sentence and its passage hold, whether it holds a candidate of the kind asked and how many sources state that
candidate, and the passage's retrieval rank. A logistic regression weighs them. Its coefficients live in
``assistant/data/answer_scorer.json`` with a note of what they were fitted on (derived numbers only, no text of
the data); ``bench/rgb_select.py --fit`` refits them.

Example::

    >>> model = load_scorer()                                        # doctest: +SKIP
    >>> probabilities = model.probabilities(feature_matrix(question, pool))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.answer_candidates import date_key
from assistant.answer_facts import PoolFacts, SentenceFacts
from assistant.dates import YEAR_IN_TEXT, YEAR_QUESTION
from assistant.errors import ConfigError
from assistant.evidence import EvidenceSentence
from assistant.sentences import content_words

_UNIT = re.compile(r"[$€£¥%]|\b(?:percent|per cent|million|billion|trillion|thousand|bn)\b", re.IGNORECASE)
SCORER_FILE = Path(__file__).resolve().parent / "data" / "answer_scorer.json"
FEATURES: tuple[str, ...] = (
    "cosine",  # MiniLM cosine of question and sentence
    "overlap",  # share of the question's content words in the sentence
    "rare_overlap",  # the same, each word weighted by its rarity among the retrieved sentences
    "passage_overlap",  # share of the question's content words in the sentence's passage
    "relation",  # share of the question's relation words ("won", "director") in the sentence
    "conflict",  # the sentence or its passage contradicts the question's year, number or ordinal
    "unfit",  # the sentence does not give the kind of answer asked, or speaks of little the question asks
    "candidate",  # the sentence holds a span of the kind asked that the question lacks
    "anchored",  # ... within a few words of the question's relation cue
    "support",  # other retrieved articles stating the best candidate, in any spelling (0..1, capped at 3)
    "rank",  # 1 / the passage's retrieval rank
    "typed",  # the question asks for a kind of fact (a count, date, place, name)
    "cosine_gap",  # cosine minus the best cosine among the retrieved sentences
    "precise",  # a date with its day (a year where a year is asked), an amount with its unit; 1 for other kinds
    "closeness",  # 1 / (1 + words between the nearest candidate and the question's relation cue); 0 without
)


class ScorerModel(BaseModel):
    """A logistic regression over some of ``FEATURES`` (each standardised by ``mean`` and ``scale``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features: list[str] = Field(min_length=1, description="Feature names, in the order of the coefficients.")
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float = Field(ge=0, le=1, description="Top probability under which the assistant abstains.")
    tight_overlap: float | None = Field(
        default=None, ge=0, le=1, description="A sentence holding this share of the question's content words, "
        "and passing the rules, answers even under the threshold (None: never).")
    vote: bool = Field(default=False, description="Sentences of other articles stating the same candidate add "
                                                   "their probability (noisy-or) to a sentence's own.")
    fitted_on: str = Field(default="", description="What the coefficients and threshold were fitted and chosen on.")

    @model_validator(mode="after")
    def _consistent(self) -> ScorerModel:
        unknown = sorted(set(self.features) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown features {unknown}")
        if not len(self.features) == len(self.mean) == len(self.scale) == len(self.coef):
            raise ValueError("features, mean, scale and coef differ in length")
        if any(v <= 0 for v in self.scale):
            raise ValueError("scale must be positive")
        return self

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """The probability that each row's sentence holds the answer (``matrix``: one row of ``FEATURES`` per
        sentence). A missing value (NaN: support with one article) counts as the fitted mean."""
        columns = matrix[:, [FEATURES.index(f) for f in self.features]]
        z = np.nan_to_num((columns - np.asarray(self.mean)) / np.asarray(self.scale), nan=0.0)
        logits = z @ np.asarray(self.coef) + self.intercept
        result: np.ndarray = 1.0 / (1.0 + np.exp(-logits))
        return result


def fit_scorer(matrix: np.ndarray, labels: np.ndarray, *, features: Sequence[str], l2: float = 3.0,
               threshold: float = 0.5, vote: bool = False, tight_overlap: float | None = None,
               fitted_on: str = "") -> ScorerModel:
    """A logistic regression of ``labels`` (1: the sentence holds the answer) on the named columns of ``matrix``,
    by Newton steps with an L2 penalty (numpy only: a dozen features and a few hundred rows need no more)."""
    columns = matrix[:, [FEATURES.index(f) for f in features]]
    mean = np.nanmean(columns, axis=0) if len(columns) else np.zeros(len(features))
    mean = np.nan_to_num(mean, nan=0.0)
    scale = np.nanstd(columns, axis=0) if len(columns) else np.ones(len(features))
    scale = np.where(np.nan_to_num(scale, nan=0.0) > 1e-9, scale, 1.0)
    z = np.nan_to_num((columns - mean) / scale, nan=0.0)
    design = np.hstack([z, np.ones((len(z), 1))])
    penalty = l2 * np.diag([*([1.0] * len(features)), 0.0])
    weights = np.zeros(design.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-design @ weights))
        gradient = design.T @ (p - labels) + penalty @ weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(weights)), gradient)
        weights -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return ScorerModel(features=list(features), mean=[round(float(v), 6) for v in mean],
                       scale=[round(float(v), 6) for v in scale], coef=[round(float(v), 6) for v in weights[:-1]],
                       intercept=round(float(weights[-1]), 6), threshold=threshold, vote=vote,
                       tight_overlap=tight_overlap, fitted_on=fitted_on)


@cache
def load_scorer(path: Path = SCORER_FILE) -> ScorerModel:
    """The fitted scorer shipped with the package; a clear error when its file is missing or malformed."""
    try:
        return ScorerModel.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise ConfigError(f"cannot read the answer scorer {path} ({type(exc).__name__}); reinstall the package or "
                          "refit it with bench/rgb_select.py --fit --write") from exc


def feature_matrix(question: str, pool: Sequence[EvidenceSentence]) -> np.ndarray:
    """One row of ``FEATURES`` per sentence of ``pool``."""
    return feature_rows(PoolFacts(question, pool))


def feature_rows(facts: PoolFacts) -> np.ndarray:
    """One row of ``FEATURES`` per sentence of the pool ``facts`` reads (its records filled on the way, for the
    choice to read after)."""
    rarity = _rarity(facts)
    best = max((e.cosine for e in facts.pool), default=0.0)
    several = len(facts.bearing) > 1
    rows = [_row(sentence, rarity=rarity, several=several, best_cosine=best) for sentence in facts.sentences]
    return np.asarray(rows, dtype=np.float64).reshape(len(facts.sentences), len(FEATURES))


def _row(sentence: SentenceFacts, *, rarity: dict[str, float], several: bool, best_cosine: float) -> list[float]:
    facts, evidence = sentence.facts, sentence.sentence
    found = sentence.spans
    near = sentence.near
    support = max((facts.support(c) for c in near or found), default=0)
    return [
        evidence.cosine,
        sentence.overlap,
        _rare_overlap(sentence.words, rarity),
        facts.passage_overlap(evidence.chunk),
        sentence.relation,
        float(bool(sentence.conflict)),
        float(bool(sentence.fit_problem)),
        float(bool(found)),
        float(bool(near)),
        min(max(support - 1, 0), 3) / 3 if several else math.nan,  # one article: support cannot count
        1.0 / evidence.n,
        float(facts.typed),
        evidence.cosine - best_cosine,
        float(any(_precise(facts.kind, facts.question, c) for c in near or found)) if facts.kind in ("date", "count")
        else 1.0,
        max((1.0 / (1 + d) for d in sentence.distances if d is not None), default=0.0),
    ]


def _precise(kind: str | None, question: str, candidate: str) -> bool:
    """A date that names its day, or a year where the question asks for a year; an amount with its unit or
    currency ("$6.3 billion", "12%"), or any number where the question asks "how many" (``kind``: the question's
    answer type)."""
    if kind == "count":
        return bool(re.search(r"\bhow many\b", question, re.IGNORECASE) or _UNIT.search(candidate))
    if YEAR_QUESTION.search(question):
        return bool(YEAR_IN_TEXT.search(candidate))
    key = date_key(candidate)
    return key is not None and key[2] is not None


def _rarity(facts: PoolFacts) -> dict[str, float]:
    """Each content word of the question, weighted by how few retrieved sentences hold it (smoothed IDF): the
    words every on-topic snippet repeats tell sentences apart less than a year or an edition does."""
    words = list(dict.fromkeys(content_words(facts.question)))
    bags = [sentence.words for sentence in facts.sentences]
    return {w: math.log((1 + len(bags)) / (1 + sum(w in b for b in bags))) + 1.0 for w in words}


def _rare_overlap(have: set[str], rarity: dict[str, float]) -> float:
    total = sum(rarity.values())
    if not total:
        return 0.0
    return sum(weight for word, weight in rarity.items() if word in have) / total


def voted(question: str, pool: Sequence[EvidenceSentence], probabilities: np.ndarray,
          eligible: Sequence[int]) -> dict[int, float]:
    """``votes`` on a pool read afresh."""
    return votes(PoolFacts(question, pool), probabilities, eligible)


def votes(facts: PoolFacts, probabilities: np.ndarray, eligible: Sequence[int]) -> dict[int, float]:
    """For each eligible sentence, the chance that its candidate is right given every article stating it: one
    minus the product, over those articles, of one minus the best probability among their eligible sentences that
    state it (noisy-or). One source stating a fact loosely stays weak; three loosely agreeing sources add up.
    Untyped questions have no candidate to agree on: a sentence keeps its own probability."""
    if not facts.typed:
        return {i: float(probabilities[i]) for i in eligible}
    out = {}
    for i in eligible:
        lead = facts.sentences[i].lead
        best: dict[str, float] = {}
        for j in eligible:
            if j == i or facts.states(lead, j):
                article = facts.pool[j].chunk.article_id
                best[article] = max(best.get(article, 0.0), float(probabilities[j]))
        out[i] = 1.0 - math.prod(1.0 - p for p in best.values())
    return out
