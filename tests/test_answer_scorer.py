"""The learned answer scorer: its features, its fitting, its file, and the folds it is checked on."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from assistant.answer_facts import states, support_of
from assistant.answer_scorer import (
    FEATURES,
    SCORER_FILE,
    ScorerModel,
    feature_matrix,
    fit_scorer,
    load_scorer,
)
from assistant.errors import ConfigError
from assistant.evidence import EvidenceSentence, split_evidence
from assistant.schemas import RetrievedChunk
from bench.rgb_folds import Outcome, choose_threshold, figures, fold_of


def _pool(*texts: str, article: str | None = None) -> list[EvidenceSentence]:
    chunks = [RetrievedChunk(chunk_id=f"a{i}:0", article_id=article or f"a{i}", title=f"Story {i}", text=t)
              for i, t in enumerate(texts)]
    return split_evidence(chunks)


def _column(matrix: np.ndarray, name: str) -> list[float]:
    return [round(float(v), 3) for v in matrix[:, FEATURES.index(name)]]


def test_features_mark_the_anchored_candidate_its_support_and_the_passage_rank() -> None:
    pool = _pool("Tadej Pogacar won the 2021 Tour de France.", "Pogacar won the Tour again in 2021, as expected.",
                 "Wout van Aert sprinted to win the final stage of the 2021 Tour de France.")
    matrix = feature_matrix("Who won the 2021 Tour de France?", pool)
    assert matrix.shape == (3, len(FEATURES))
    assert _column(matrix, "candidate") == [1.0, 1.0, 1.0]
    assert _column(matrix, "anchored") == [1.0, 1.0, 0.0]  # winning a stage is not winning the race
    assert _column(matrix, "support")[0] == pytest.approx(1 / 3, abs=1e-3)  # one other article names Pogacar
    assert _column(matrix, "support")[2] == 0.0
    assert _column(matrix, "rank") == [1.0, 0.5, 0.333]
    assert _column(matrix, "typed") == [1.0, 1.0, 1.0]


def test_rare_question_words_weigh_more_than_the_ones_every_sentence_repeats() -> None:
    pool = _pool("Ana Lima won the 2019 Open final.", "Bea Cruz won the Open final of 2018.",
                 "The Open final drew record crowds.", "Results from 2019 are in.")
    matrix = feature_matrix("Who won the 2019 Open final?", pool)
    rare, plain = _column(matrix, "rare_overlap"), _column(matrix, "overlap")
    assert rare[0] == plain[0] == 1.0
    assert rare[1] < plain[1] and rare[2] < plain[2]  # they lack the rare "2019"
    assert rare[3] > plain[3]  # it holds only the rare "2019"


def test_support_counts_other_articles_in_any_spelling() -> None:
    assert states("Liu Yifei", "Actress Yifei Liu plays the lead.")
    assert states("Justin Kurzel", "the Australian director Justin Kurze")
    assert not states("Justin Kurzel", "directed by Ridley Scott")
    assert states("Oct. 27, 2017", "It came out on 27 October 2017.", dated=True)
    assert not states("Oct. 27, 2017", "It came out on 27 October 2018.", dated=True)
    pool = _pool("Liu Yifei stars as Mulan.", "Yifei Liu plays Mulan in the remake.", "Mulan opens in March.")
    assert support_of("Liu Yifei", pool) == 2


def test_support_cannot_count_with_one_article_and_is_left_to_the_fitted_mean() -> None:
    pool = _pool("Tadej Pogacar won the 2021 Tour de France.", "He won by five minutes.", article="one")
    matrix = feature_matrix("Who won the 2021 Tour de France?", pool)
    assert all(math.isnan(v) for v in _column(matrix, "support"))
    model = fit_scorer(np.zeros((2, len(FEATURES))), np.array([0.0, 1.0]), features=["support"])
    assert np.allclose(model.probabilities(matrix), 0.5)  # a missing value is the mean: no push either way


def test_fitting_finds_the_informative_feature_and_ranks_by_it() -> None:
    rng = np.random.default_rng(7)
    matrix = rng.random((200, len(FEATURES)))
    labels = (matrix[:, FEATURES.index("support")] > 0.5).astype(float)
    model = fit_scorer(matrix, labels, features=["cosine", "support"], l2=1.0, threshold=0.4, fitted_on="made up")
    weights = dict(zip(model.features, model.coef, strict=True))
    assert weights["support"] > 2 * abs(weights["cosine"])
    probabilities = model.probabilities(matrix)
    assert probabilities[labels == 1].min() > probabilities[labels == 0].max() - 0.2
    assert model.threshold == 0.4 and model.fitted_on == "made up"


def test_a_constant_feature_does_not_break_the_fit() -> None:
    matrix = np.zeros((10, len(FEATURES)))
    matrix[:5, FEATURES.index("cosine")] = 1.0
    labels = np.array([1.0] * 5 + [0.0] * 5)
    model = fit_scorer(matrix, labels, features=["cosine", "typed"])
    assert model.scale[1] == 1.0 and np.isfinite(model.probabilities(matrix)).all()


def test_the_scorer_file_is_validated_with_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "scorer.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="--fit --write"):
        load_scorer(broken)
    shipped = json.loads(SCORER_FILE.read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match="unknown features"):
        ScorerModel.model_validate({**shipped, "features": ["shoe_size", *shipped["features"][1:]]})
    with pytest.raises(ValueError, match="differ in length"):
        ScorerModel.model_validate({**shipped, "coef": shipped["coef"][1:]})
    with pytest.raises(ValueError, match="extra"):
        ScorerModel.model_validate({**shipped, "note": "x"})


def test_the_shipped_scorer_says_what_it_was_fitted_on_and_weighs_support_up() -> None:
    model = load_scorer()
    assert "tune half" in model.fitted_on and "fold" in model.fitted_on
    assert 0.0 < model.threshold < 1.0
    assert dict(zip(model.features, model.coef, strict=True))["support"] > 0


def test_the_tune_half_splits_in_two_fixed_folds_and_the_report_half_in_none() -> None:
    assert [fold_of(i) for i in range(8)] == ["A", None, "B", None, "A", None, "B", None]


def test_the_threshold_trades_accuracy_against_wrong_cited_answers() -> None:
    results = [Outcome("mixed", 0.9, True), Outcome("mixed", 0.5, True), Outcome("mixed", 0.3, False),
               Outcome("negative", 0.6, False), Outcome("negative", 0.2, False)]
    assert figures(results, 0.4) == {"accuracy": 0.667, "mixed_answer_rate": 0.667, "negative_rejection": 0.5,
                                     "wrong_with_citation_per_100": 50.0}
    # Above 0.6: one right answer of three and no wrong one (utility 0.333) beats two right and one wrong (0.167);
    # among the thresholds as good, the highest is kept.
    assert choose_threshold(results) == 0.7
    assert figures(results, 0.7)["wrong_with_citation_per_100"] == 0.0


def test_voting_adds_up_the_articles_that_state_the_same_candidate() -> None:
    from assistant.answer_scorer import voted

    pool = _pool("Liu Yifei stars as Mulan.", "Yifei Liu plays Mulan in the remake.", "Gong Li plays the witch.")
    question = "Who plays Mulan?"
    chances = voted(question, pool, np.array([0.5, 0.5, 0.5]), [0, 1, 2])
    assert chances[0] == chances[1] == pytest.approx(0.75)  # two articles agree: 1 - 0.5 * 0.5
    assert chances[2] == pytest.approx(0.5)
