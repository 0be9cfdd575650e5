"""Fitting the answer scorer on RGB's tune half, checked across two folds so that a change that only fits one
set of phrasings shows.

The tune half (even ids) splits in two fixed folds: ``A`` (id % 4 == 0) and ``B`` (id % 4 == 2). ``cross_check``
fits the scorer on one fold and measures it on the other, both ways; the threshold is chosen on those
out-of-fold results together; the scorer shipped is then fitted on the whole tune half with that threshold. The
report half (odd ids) is never used here.

Each question gives its pool of evidence sentences (as ``AnswerWriter`` builds it) twice, once per run (mixed,
negatives only); a sentence's label is whether it holds RGB's answer (RGB's own matching).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.answer_scorer import FEATURES, ScorerModel, feature_matrix, fit_scorer
from assistant.answering import answer_pool, choose_answer
from assistant.evidence import EvidenceSentence
from assistant.rgb_eval import RgbRecord
from assistant.schemas import RetrievedChunk

Fold = Literal["A", "B"]
FOLDS: tuple[Fold, ...] = ("A", "B")
THRESHOLDS = tuple(round(0.2 + 0.025 * i, 3) for i in range(21))  # 0.2 .. 0.7
DEFAULT_L2 = 3.0


def fold_of(question_id: int) -> Fold | None:
    """The tune half's fold of a question id (``None`` for the report half's odd ids)."""
    if question_id % 2:
        return None
    return "A" if question_id % 4 == 0 else "B"


@dataclass(frozen=True)
class PoolItem:
    """One question's run: its evidence pool's features, each sentence's label, and the texts for the figures."""

    id: int
    run: str
    query: str
    matrix: np.ndarray
    labels: np.ndarray
    record: RgbRecord
    pool: tuple[EvidenceSentence, ...]


def pool_items(items: Sequence[dict[str, object]], embeddings: Embeddings, *, loose: bool = False) -> list[PoolItem]:
    """The cached retrievals as scorer inputs: the pool ``AnswerWriter`` weighs, its features and labels (RGB's
    matching, or with ``loose`` also the answer in another spelling: ``RgbRecord.found_loosely``)."""
    out = []
    for item in items:
        record = record_of(item)
        chunks = [RetrievedChunk.model_validate(c) for c in item["chunks"]]  # type: ignore[attr-defined]
        pool = answer_pool(record.query, chunks, embeddings) if chunks else []
        matrix = feature_matrix(record.query, pool) if pool else np.zeros((0, len(FEATURES)))
        holds = record.found_loosely if loose else record.found_in
        labels = np.asarray([holds(" ".join(e.text.split())) for e in pool], dtype=np.float64)
        out.append(PoolItem(id=record.id, run=str(item["run"]), query=record.query, matrix=matrix, labels=labels,
                            record=record, pool=tuple(pool)))
    return out


def record_of(item: dict[str, object]) -> RgbRecord:
    """The RGB record of a cached item (question and answer only)."""
    return RgbRecord(id=int(str(item["id"])), query=str(item["query"]), answer=item["answer"],  # type: ignore[arg-type]
                     fakeanswer="", positive=[], positive_wrong=[], negative=[])


def fit_on(items: Sequence[PoolItem], *, features: Sequence[str], l2: float, threshold: float = 0.5,
           vote: bool = False, tight_overlap: float | None = None, fitted_on: str = "") -> ScorerModel:
    """The scorer fitted on every sentence of ``items``."""
    rows = [i for i in items if len(i.labels)]
    matrix = np.vstack([i.matrix for i in rows])
    labels = np.concatenate([i.labels for i in rows])
    return fit_scorer(matrix, labels, features=features, l2=l2, threshold=threshold, vote=vote,
                      tight_overlap=tight_overlap, fitted_on=fitted_on)


@dataclass(frozen=True)
class Outcome:
    """What the answer path would do on one run: the best sentence's probability and whether it holds the answer."""

    run: str
    probability: float
    holds_answer: bool
    holds_loosely: bool = False  # the answer in another spelling counts too (RgbRecord.found_loosely)
    fallback: tuple[bool, bool] | None = None  # what answers under the threshold (a tight sentence): its two holds


def outcomes(model: ScorerModel, items: Sequence[PoolItem]) -> list[Outcome]:
    """``choose_answer`` on each run with no threshold (the chosen sentence and its probability), and with one no
    sentence reaches (what answers anyway: a tight sentence, if the model allows it)."""
    free = model.model_copy(update={"threshold": 0.0})
    closed = model.model_copy(update={"threshold": 1.0})
    out = []
    for item in items:
        choice = choose_answer(item.query, item.pool, scorer=free) if item.pool else None
        if choice is None or choice.sentence is None:
            out.append(Outcome(item.run, -1.0, False))
            continue
        below = choose_answer(item.query, item.pool, scorer=closed).sentence
        fallback = None if below is None else (item.record.found_in(" ".join(below.text.split())),
                                               item.record.found_loosely(" ".join(below.text.split())))
        text = " ".join(choice.sentence.text.split())
        out.append(Outcome(item.run, choice.probability, item.record.found_in(text), item.record.found_loosely(text),
                           fallback))
    return out


def figures(results: Sequence[Outcome], threshold: float, *, loose: bool = False) -> dict[str, float]:
    """The eval's figures at ``threshold``: accuracy and answer rate (mixed), rejection and wrong+cited /100 (by
    RGB's matching; with ``loose``, an answer in another spelling counts as right)."""
    mixed = [r for r in results if r.run == "mixed"]
    negative = [r for r in results if r.run == "negative"]
    n, m = max(len(mixed), 1), max(len(negative), 1)

    def answered(r: Outcome) -> bool:
        return r.probability >= threshold or r.fallback is not None

    def right(r: Outcome) -> bool:
        if r.probability < threshold and r.fallback is not None:
            return r.fallback[1] if loose else r.fallback[0]
        return r.holds_loosely if loose else r.holds_answer

    return {"accuracy": round(sum(answered(r) and right(r) for r in mixed) / n, 3),
            "mixed_answer_rate": round(sum(answered(r) for r in mixed) / n, 3),
            "negative_rejection": round(sum(not answered(r) for r in negative) / m, 3),
            "wrong_with_citation_per_100": round(100 * sum(answered(r) and not right(r) for r in negative) / m, 1)}


def utility(f: dict[str, float]) -> float:
    """What the threshold is chosen for: accuracy minus the share of wrong cited answers (the targets weigh both)."""
    return f["accuracy"] - f["wrong_with_citation_per_100"] / 100


def choose_threshold(results: Sequence[Outcome]) -> float:
    """The threshold of best utility on ``results``; among equals the highest (the safer)."""
    return max(THRESHOLDS, key=lambda t: (round(utility(figures(results, t)), 6), t))


def cross_check(items: Sequence[PoolItem], *, features: Sequence[str], l2: float, vote: bool = False,
                tight_overlap: float | None = None) -> dict[str, object]:
    """Fit on each fold, measure on the other; the threshold chosen on both out-of-fold results together."""
    by_fold = {f: [i for i in items if fold_of(i.id) == f] for f in FOLDS}
    held: dict[Fold, list[Outcome]] = {}
    for fit_fold, test_fold in (("A", "B"), ("B", "A")):
        model = fit_on(by_fold[fit_fold], features=features, l2=l2, vote=vote, tight_overlap=tight_overlap)
        held[test_fold] = outcomes(model, by_fold[test_fold])
    threshold = choose_threshold([*held["A"], *held["B"]])
    return {"threshold": threshold,
            "held_out": {f"fit {other} -> {f}": figures(held[f], threshold)
                         for f, other in (("A", "B"), ("B", "A"))},
            "held_out_top1": {f: figures(held[f], 0.0)["accuracy"] for f in FOLDS},
            "held_out_other_spellings_right": {
                f"fit {other} -> {f}": figures(held[f], threshold, loose=True) for f, other in (("A", "B"), ("B", "A"))
            }}
