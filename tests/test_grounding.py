"""The offline grounding checker, against the seed article, with the real MiniLM and lexical only.

The meta-tests state true paraphrases of the seed article and the same statements with one fact
changed; the checker must support the first and refuse every one of the second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.claims_checks import Index, find_problems, profile
from assistant.grounding import GroundingChecker, Thresholds, split_claims
from assistant.providers import MiniLMEmbeddings
from assistant.schemas import SourceText

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_1ad185ed54b8e960.txt"

TRUE = [
    "For a second day in a row, Israeli warplanes hit targets in Lebanon's Bekaa Valley.",
    "Hezbollah fired more than 100 Katyusha rockets at Israeli military positions.",
    "The war in Gaza broke out on October 8.",
    "The Israeli military struck military compounds in Khiam and Bint Jbeil in southern Lebanon.",
    "Two members of Hezbollah were killed in the Israeli strikes.",
    "Hundreds of Hezbollah fighters have been killed since the Gaza war started.",
    "The United States has sought to prevent an all-out war in Lebanon.",
    "Hezbollah leader Hassan Nasrallah met a top Hamas official.",
]
# (changed statement, what was changed, the label it must get; None: either not-supported label)
CHANGED = [
    ("Hezbollah fired more than 300 Katyusha rockets at Israeli military positions.", "number", "contradicted"),
    ("The war in Gaza broke out on October 18.", "date", "contradicted"),
    ("For a fifth day in a row, Israeli warplanes hit targets in Lebanon's Bekaa Valley.", "ordinal", "contradicted"),
    ("The Israeli military struck military compounds in Tyre and Bint Jbeil in southern Lebanon.", "place", None),
    ("Hamas fired more than 100 Katyusha rockets at Israeli military positions.", "actor", "contradicted"),
    ("Hezbollah did not launch any rockets at Israeli military positions.", "negation", "contradicted"),
    ("Thousands of Hezbollah fighters have been killed since the Gaza war started.", "quantity", "contradicted"),
    ("The United States has rejected efforts to prevent an all-out war in Lebanon.", "reversal", "contradicted"),
    ("Three members of Hezbollah were killed in the Israeli strikes.", "number word", None),
    ("Hezbollah leader Hassan Nasrallah refused to meet a top Hamas official.", "negation verb", "contradicted"),
]
ABSENT = [
    "The European Union imposed new sanctions on Iran's oil exports.",
    "Twenty people were wounded in Baalbek on Sunday.",
]


class MiniLM(MiniLMEmbeddings):
    """The bundled all-MiniLM-L6-v2, counting its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        return super().embed_documents(texts)


SEMANTIC = pytest.param("semantic", marks=pytest.mark.slow)


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    return MiniLM()


@pytest.fixture(scope="module")
def semantic(minilm: MiniLM) -> GroundingChecker:
    return GroundingChecker(embeddings=minilm)


@pytest.fixture(scope="module")
def lexical() -> GroundingChecker:
    return GroundingChecker()


@pytest.fixture(scope="module")
def seed() -> list[SourceText]:
    return [SourceText(id="seed", text=SEED.read_text(encoding="utf-8"))]


@pytest.mark.slow
@pytest.mark.parametrize("statement", TRUE)
def test_true_paraphrases_are_supported(semantic: GroundingChecker, seed: list[SourceText], statement: str) -> None:
    claim = semantic.verdict(statement, seed)
    assert claim.label == "supported", claim.reason
    assert 0.0 < claim.score <= 1.0


@pytest.mark.parametrize(("statement", "change", "label"), CHANGED, ids=[c[1] for c in CHANGED])
@pytest.mark.parametrize("mode", [SEMANTIC, "lexical"])
def test_one_changed_fact_is_not_supported(
    request: pytest.FixtureRequest, seed: list[SourceText], mode: str, statement: str, change: str, label: str | None
) -> None:
    checker: GroundingChecker = request.getfixturevalue(mode)
    claim = checker.verdict(statement, seed)
    assert claim.label != "supported", f"{change} change slipped through: {statement}"
    if label:
        assert claim.label == label, claim.reason
    assert claim.reason


@pytest.mark.slow
@pytest.mark.parametrize("statement", ABSENT)
def test_statement_about_something_absent_is_unsupported(
    semantic: GroundingChecker, seed: list[SourceText], statement: str
) -> None:
    assert semantic.verdict(statement, seed).label == "unsupported"


@pytest.mark.slow
def test_reason_names_the_number_and_what_the_evidence_says(semantic: GroundingChecker, seed: list[SourceText]) -> None:
    claim = semantic.verdict(CHANGED[0][0], seed)
    assert "300" in claim.reason and "over 100" in claim.reason


def test_entity_present_elsewhere_in_the_source_is_not_accepted(
    lexical: GroundingChecker, seed: list[SourceText]
) -> None:
    assert "Hamas" in seed[0].text  # the swapped-in actor does occur in the article, in another sentence
    claim = lexical.verdict("Hamas launched over 100 Katyusha rockets towards Israeli military positions.", seed)
    assert claim.label == "contradicted" and "Hezbollah" in claim.reason


@pytest.mark.parametrize("mode", [SEMANTIC, "lexical"])
def test_evidence_is_a_verbatim_span_of_the_source(
    request: pytest.FixtureRequest, seed: list[SourceText], mode: str
) -> None:
    checker: GroundingChecker = request.getfixturevalue(mode)
    claim = checker.verdict(TRUE[1], seed)
    assert claim.evidence is not None
    assert claim.evidence.source == "seed"
    assert seed[0].text[claim.evidence.start : claim.evidence.end] == claim.evidence.quote
    assert "Katyusha" in claim.evidence.quote


@pytest.mark.slow
def test_evidence_names_the_source_that_holds_it(semantic: GroundingChecker, seed: list[SourceText]) -> None:
    other = SourceText(id="weather", text="It rained in Paris on Monday. The Seine rose by two metres.")
    claim = semantic.verdict("The Seine rose by two metres.", [*seed, other])
    assert claim.label == "supported"
    assert claim.evidence is not None and claim.evidence.source == "weather"


@pytest.mark.slow
def test_empty_text_scores_one_with_no_claims(semantic: GroundingChecker, seed: list[SourceText]) -> None:
    for text in ("", "   \n "):
        report = semantic.check(text, seed)
        assert report.score == 1.0 and report.claims == []


def test_no_sources_means_unsupported(lexical: GroundingChecker) -> None:
    report = lexical.check("Hezbollah fired rockets.", [])
    assert report.score == 0.0 and report.claims[0].label == "unsupported"
    assert lexical.best_evidence("Hezbollah fired rockets.", []) is None


@pytest.mark.slow
def test_score_is_the_share_of_supported_claims(semantic: GroundingChecker, seed: list[SourceText]) -> None:
    text = f"{TRUE[1]} [1] {TRUE[4]} [2] {CHANGED[1][0]} [1, 2]"
    report = semantic.check(text, seed)
    assert [c.label for c in report.claims] == ["supported", "supported", "contradicted"]
    assert report.score == pytest.approx(2 / 3)
    assert all("[" not in c.text for c in report.claims)


@pytest.mark.slow
def test_source_sentences_are_embedded_once(minilm: MiniLM, seed: list[SourceText]) -> None:
    checker = GroundingChecker(embeddings=minilm)
    checker.check(TRUE[0], seed)
    minilm.calls.clear()
    checker.check(f"{TRUE[1]} {TRUE[2]}", seed)
    assert minilm.calls == [2]  # the two claims, in one batch; the source spans came from the cache


@pytest.mark.slow
def test_best_evidence_returns_the_sentence_and_similarity(semantic: GroundingChecker, seed: list[SourceText]) -> None:
    found = semantic.best_evidence("How many Katyusha rockets did Hezbollah launch?", seed)
    assert found is not None
    evidence, similarity = found
    assert "over 100 Katyusha rockets" in evidence.quote
    assert 0.3 < similarity <= 1.0


def test_thresholds_are_used(seed: list[SourceText]) -> None:
    strict = GroundingChecker(thresholds=Thresholds(min_alignment_lexical=1.0))
    assert strict.verdict(TRUE[4], seed).label == "unsupported"
    with pytest.raises(ValueError):
        Thresholds(min_alignment=1.5)


def test_split_claims_strips_citations_and_splits_compound_sentences() -> None:
    text = "Israel struck Baalbek [1], and Hezbollah fired rockets at the north [2, 3]. Talks failed; no deal was made."
    assert split_claims(text) == [
        "Israel struck Baalbek.",
        "Hezbollah fired rockets at the north.",
        "Talks failed.",
        "No deal was made.",
    ]
    # a shared subject is not a second assertion: the sentence stays whole
    assert split_claims("Israeli jets struck Baalbek, and destroyed a warehouse.") == [
        "Israeli jets struck Baalbek, and destroyed a warehouse."
    ]
    assert split_claims("") == []


@pytest.mark.parametrize(
    ("claim", "evidence", "vetoed"),
    [
        ("Sales were $5bn in 2023.", "Sales reached 5 billion dollars in 2023.", False),
        ("Sales were $5bn in 2023.", "Sales reached $10bn in 2023.", True),
        ("Sales were about 5,000 units.", "Sales were 4,900 units.", False),
        ("Hundreds were killed.", "At least 300 were killed.", False),
        ("300 were killed.", "Hundreds were killed.", True),
        ("The talks began in March.", "The talks began in May 2021.", True),
        ("He pled not guilty.", "He pleaded guilty to the charge.", True),
        ("Prices rose sharply.", "Prices fell sharply.", True),
        ("Prices rose sharply.", "Prices rose sharply, not only in Paris.", False),
    ],
)
def test_hard_checks(claim: str, evidence: str, vetoed: bool) -> None:
    ev = profile(evidence)
    problems = find_problems(profile(claim), ev, Index(ev, [ev]), min_context=0.25)
    assert bool(problems) == vetoed, problems

