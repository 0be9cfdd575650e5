"""The checker's relation blind spots: an added party, a changed relation, facts fused across sentences.

Each case that must be refused was supported before ``assistant.claims_relations`` (the ablation
``Thresholds(relations="off")`` shows it); each near miss is a faithful claim that must stay supported.
The checks run by default against sources of one sentence (the sentence an answer cites); the cases here
use whole texts, so they ask for ``relations="always"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.claims_checks import ANTONYMS, profile, stem, swapped_pair
from assistant.claims_relations import RELATION_SWAPS, relation_problems, tokens
from assistant.grounding import GroundingChecker, Thresholds
from assistant.providers import MiniLMEmbeddings
from assistant.schemas import SourceText
from assistant.settings import Settings

ALWAYS = Thresholds(relations="always")
SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_1ad185ed54b8e960.txt"
CIVILIANS = (
    "Israeli jets carried out airstrikes in Lebanon's Bekaa Valley for a second consecutive day, resulting in the"
    " death of two Hezbollah fighters and Lebanese civilians."
)
SUMMIT = "The foreign ministry announced on May 3 that the summit will be held in June in Geneva."
ARREST = "The police said on Monday that the suspect had been arrested in Leeds."
DEBUT = (
    "Smith made his debut for Leeds in 2010. He was nineteen at the time. He later set a club record with 40 goals"
    " in 2014."
)
NEXT_DEBUT = "Smith made his debut for Leeds in 2010. He later set a club record with 40 goals in 2014."
MEETING = "Hezbollah leader Hassan Nasrallah met Hamas official Khalil al-Hayya in Beirut on Tuesday."
STRIKE = "Israel struck Hezbollah in the Bekaa Valley on Tuesday."
KILLED = (
    "Israeli strikes killed two Hezbollah members in the village of Khiam on Tuesday. The army said the strikes hit"
    " a weapons depot. Aid groups said Lebanese civilians fled their homes in the south."
)
SIGNED = "The deal was signed by Israel and Egypt in Washington."

# (claim, source; None for the seed article, what it gets wrong, words the reason must carry)
REFUSED = [
    (CIVILIANS, None, "party added from another sentence", "civilians"),
    ("Israeli strikes killed two Hezbollah members and several civilians.", KILLED, "party added", "civilians"),
    ("The summit was held on May 3.", SUMMIT, "announcement date as event date", "announced"),
    ("The phone was released on September 10.", "Apple announced on September 10 that the phone will be released in"
     " October.", "announcement date as release date", "relation changed"),
    ("The summit was held in Geneva.", SUMMIT, "future event told as done", "will happen"),
    ("Smith set a record for Leeds in 2010.", DEBUT, "debut given as a record", "debut"),
    ("Hamas leader Hassan Nasrallah met a top Hamas official.", None, "role moved to another group", "hezbollah"),
    ("Hezbollah leader Khalil al-Hayya met Hamas official Hassan Nasrallah.", MEETING, "role moved", "leader"),
    ("Hezbollah leader Hassan Nasrallah met a top Hamas official.", "Hezbollah leader Naim Qassem met a top Hamas"
     " official. Hassan Nasrallah was not there.", "role given to another person", "qassem"),
    ("Hezbollah struck Israel in the Bekaa Valley.", STRIKE, "agent and patient swapped", "swapped"),
]
KEPT = [
    ("Israeli jets carried out airstrikes in Lebanon's Bekaa Valley, killing two members of the Iran-backed group.",
     None, "paraphrase of the cited sentence"),
    ("The Israeli military targeted military compounds in Khiam and Bint Jubayl.", None, "name in another form"),
    ("The deal was signed by the Egyptians and the Israelis.", SIGNED, "demonym for the country"),
    ("The ministry announced on 3 May that the summit will be held in Geneva in June.", SUMMIT, "date respelt"),
    ("The summit will take place in Geneva in June, the ministry said on May 3.", SUMMIT, "reported, not done"),
    ("Police said on Monday the suspect had been arrested in Leeds.", ARREST, "announcement kept as such"),
    ("The suspect was arrested in Leeds, police said on Monday.", ARREST, "announcement after the event"),
    ("Israeli strikes hit Khiam and killed two Hezbollah members.", KILLED, "'and' opens a new verb"),
    ("Israeli strikes in Khiam killed two members of Hezbollah and Amal.",
     "Israeli strikes in Khiam killed two members of Hezbollah and one of the Amal movement.", "list as written"),
    ("Smith debuted for Leeds in 2010.", DEBUT, "the debut, in another form"),
    ("Smith, who made his debut for Leeds in 2010, set a club record in 2014.", NEXT_DEBUT, "two sentences"),
    ("Hezbollah leader Hassan Nasrallah met a top Hamas official.", None, "title as written"),
    ("Hezbollah chief Hassan Nasrallah met Hamas official Khalil al-Hayya in Beirut.", MEETING, "title paraphrased"),
    ("Hezbollah was struck by Israel in the Bekaa Valley.", STRIKE, "passive voice"),
    ("Israeli jets struck Hezbollah in the Bekaa Valley.", STRIKE, "demonym agent"),
]


def _sources(text: str | None) -> list[SourceText]:
    return [SourceText(id="s", text=text if text is not None else SEED.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def lexical() -> GroundingChecker:
    return GroundingChecker(thresholds=ALWAYS)


@pytest.fixture(scope="module")
def strict() -> GroundingChecker:
    return GroundingChecker(thresholds=Thresholds(relations="always", one_sentence=True))


@pytest.fixture(scope="module")
def semantic() -> GroundingChecker:
    return GroundingChecker(embeddings=MiniLMEmbeddings(), thresholds=ALWAYS)


@pytest.mark.parametrize(("claim", "source", "error", "word"), REFUSED, ids=[r[2] for r in REFUSED])
def test_blind_spot_is_refused_with_a_reason(
    lexical: GroundingChecker, claim: str, source: str | None, error: str, word: str
) -> None:
    verdict = lexical.verdict(claim, _sources(source))
    assert verdict.label != "supported", f"{error} slipped through: {claim}"
    assert word in verdict.reason.lower(), verdict.reason


@pytest.mark.parametrize(("claim", "source", "error", "word"), REFUSED, ids=[r[2] for r in REFUSED])
def test_the_relation_checks_are_what_refuses_it(claim: str, source: str | None, error: str, word: str) -> None:
    before = GroundingChecker(thresholds=Thresholds(relations="off"))
    assert before.verdict(claim, _sources(source)).label == "supported", "not a blind spot of the item checks"


@pytest.mark.parametrize(("claim", "source", "case"), KEPT, ids=[k[2] for k in KEPT])
def test_near_miss_stays_supported(lexical: GroundingChecker, claim: str, source: str | None, case: str) -> None:
    verdict = lexical.verdict(claim, _sources(source))
    assert verdict.label == "supported", f"{case}: {verdict.reason}"


@pytest.mark.slow
@pytest.mark.parametrize(("claim", "source", "error", "word"), REFUSED[:3], ids=[r[2] for r in REFUSED[:3]])
def test_blind_spot_is_refused_with_minilm_alignment(
    semantic: GroundingChecker, claim: str, source: str | None, error: str, word: str
) -> None:
    assert semantic.verdict(claim, _sources(source)).label != "supported"


@pytest.mark.slow
@pytest.mark.parametrize(("claim", "source", "case"), KEPT[:4], ids=[k[2] for k in KEPT[:4]])
def test_near_miss_stays_supported_with_minilm_alignment(
    semantic: GroundingChecker, claim: str, source: str | None, case: str
) -> None:
    verdict = semantic.verdict(claim, _sources(source))
    assert verdict.label == "supported", f"{case}: {verdict.reason}"


def test_tokens_mark_names_clauses_and_sentence_openers() -> None:
    found = tokens("Israel struck Hezbollah, and Lebanon said so.", names={"israel"})
    assert [(t.low, t.name) for t in found if not t.stop] == [
        ("israel", True), ("struck", False), ("hezbollah", True), ("lebanon", True),
    ]
    assert found[0].clause == found[2].clause < found[-1].clause


TWO_DAYS = "On Monday, Israel struck Baalbek. On Tuesday, Hezbollah fired 100 rockets at Metula."


@pytest.mark.parametrize(
    ("claim", "wrong"),
    [
        ("Israel struck Baalbek on Tuesday.", "Tuesday"),
        ("Hezbollah fired 100 rockets at Baalbek.", "Baalbek"),
        ("On Tuesday, Israel fired 100 rockets at Metula.", "Israel"),
    ],
)
def test_fact_of_the_next_sentence_is_not_fused_into_this_one(
    strict: GroundingChecker, lexical: GroundingChecker, claim: str, wrong: str
) -> None:
    """A window of two sentences aligns best; with ``one_sentence`` each fact must hold in the sentence that
    tells its event. By default the window stands (summaries join adjacent sentences)."""
    verdict = strict.verdict(claim, _sources(TWO_DAYS))
    assert verdict.label != "supported" and wrong in verdict.reason, verdict.reason
    assert lexical.verdict(claim, _sources(TWO_DAYS)).label == "supported"


def test_phrase_of_the_next_sentence_is_refused_in_one_sentence_mode(
    strict: GroundingChecker, lexical: GroundingChecker
) -> None:
    claim = "Smith set a record for Leeds in 2010."
    assert strict.verdict(claim, _sources(NEXT_DEBUT)).label == "unsupported"
    assert lexical.verdict(claim, _sources(NEXT_DEBUT)).label == "supported"  # the window holds every word


@pytest.mark.parametrize(
    "claim",
    [
        "Israel struck Baalbek on Monday, and Hezbollah fired 100 rockets at Metula on Tuesday.",
        "Israel struck Baalbek a day before Hezbollah fired 100 rockets at Metula.",
        "Israeli forces struck Baalbek on Monday.",
    ],
)
@pytest.mark.parametrize("mode", ["lexical", "strict"])
def test_faithful_fusion_of_two_sentences_stays_supported(
    request: pytest.FixtureRequest, mode: str, claim: str
) -> None:
    checker: GroundingChecker = request.getfixturevalue(mode)
    verdict = checker.verdict(claim, _sources(TWO_DAYS))
    assert verdict.label == "supported", verdict.reason


SINGLE_SOURCE_KEPT = [k for k in KEPT if k[1] is not NEXT_DEBUT]  # one-sentence mode refuses a join by design


@pytest.mark.parametrize(("claim", "source", "case"), SINGLE_SOURCE_KEPT, ids=[k[2] for k in SINGLE_SOURCE_KEPT])
def test_near_miss_stays_supported_in_one_sentence_mode(
    strict: GroundingChecker, claim: str, source: str | None, case: str
) -> None:
    verdict = strict.verdict(claim, _sources(source))
    assert verdict.label == "supported", f"{case}: {verdict.reason}"


def test_another_title_for_the_same_person_is_not_judged(lexical: GroundingChecker) -> None:
    source = "Kremlin leader Vladimir Putin met Chinese President Xi Jinping in Moscow."
    verdict = lexical.verdict("Russian President Vladimir Putin met Xi Jinping in Moscow.", _sources(source))
    assert "relation changed" not in verdict.reason


def test_a_noun_that_looks_past_is_not_a_past_verb(lexical: GroundingChecker) -> None:
    source = "The company will need more funds next year, its founder said."
    verdict = lexical.verdict("The company's need for more funds next year, its founder said.", _sources(source))
    assert "relation changed" not in verdict.reason


SEED_FIRST = (
    "Israeli jets have carried out airstrikes in Lebanon\u2019s Bekaa Valley for a second consecutive day, targeting"
    " Hezbollah facilities and resulting in the death of two members from the Iran-backed group."
)
ONE_SENTENCE_CASES = [
    ("Israeli jets carried out airstrikes in the Bekaa Valley, resulting in the death of two members from the"
     " Iran-backed group and Lebanese civilians.", SEED_FIRST),
    ("The summit was held on May 3.", SUMMIT),
    ("Hamas leader Hassan Nasrallah met a top Hamas official.",
     "Hezbollah leader Hassan Nasrallah met a top Hamas official in Beirut."),
    ("Hezbollah struck Israel in the Bekaa Valley.", STRIKE),
    ("Israeli strikes killed two Hezbollah members and several civilians.", KILLED.split(". ")[0] + "."),
]


@pytest.mark.parametrize(("claim", "sentence"), ONE_SENTENCE_CASES)
def test_by_default_a_claim_is_held_to_the_one_sentence_it_cites(claim: str, sentence: str) -> None:
    verdict = GroundingChecker().verdict(claim, _sources(sentence))
    assert verdict.label != "supported", claim
    assert "relation changed" in verdict.reason or "adds" in verdict.reason
    assert GroundingChecker(thresholds=Thresholds(relations="off")).verdict(claim, _sources(sentence)).label == (
        "supported"
    )


@pytest.mark.parametrize(("claim", "source", "case"), [k for k in KEPT if k[1] and ". " not in k[1]])
def test_by_default_a_faithful_claim_passes_its_cited_sentence(claim: str, source: str, case: str) -> None:
    verdict = GroundingChecker().verdict(claim, _sources(source))
    assert verdict.label == "supported", f"{case}: {verdict.reason}"


@pytest.mark.parametrize(("claim", "source", "error", "word"), REFUSED, ids=[r[2] for r in REFUSED])
def test_by_default_whole_documents_get_the_checker_as_measured(
    claim: str, source: str | None, error: str, word: str
) -> None:
    """Against sources of several sentences the default ('cited') is the checker without relation checks,
    the configuration whose SummEdits figure is reported."""
    text = source if source and len(source.split(". ")) > 1 else f"{source or ''} It was a quiet week otherwise."
    sources = _sources(text if source else None)
    default = GroundingChecker().verdict(claim, sources)
    off = GroundingChecker(thresholds=Thresholds(relations="off")).verdict(claim, sources)
    assert default == off


@pytest.mark.parametrize("mode", ["cited", "always", "off"])
def test_the_setting_reaches_the_service_checker(fake_settings: Settings, mode: str) -> None:
    from assistant.service import Assistant

    with Assistant.from_settings(fake_settings.model_copy(update={"check_relations": mode})) as assistant:
        assert isinstance(assistant.checker, GroundingChecker)
        assert assistant.checker.thresholds.relations == mode


def test_a_bad_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_CHECK_RELATIONS", "sometimes")
    with pytest.raises(ValueError, match="check_relations"):
        Settings()


def test_the_cited_seed_sentence_is_verbatim() -> None:
    assert SEED_FIRST in SEED.read_text(encoding="utf-8")


@pytest.mark.parametrize(("claim", "evidence", "said"), [
    ("Smith set a record in 2010.", "Smith made his debut in 2010.", ("record", "debut")),
    ("The actor won the award.", "The actor was nominated for the award.", ("win", "nominat")),
    ("The phone was announced in June.", "The phone was released in June.", ("announc", "releas")),
])
def test_a_relation_swapped_for_another_is_named_both_ways(claim: str, evidence: str, said: tuple[str, str]) -> None:
    problems = relation_problems(profile(claim), profile(evidence))
    assert [(p.label, p.reason) for p in problems] == [
        ("contradicted", f"relation changed: the claim says '{said[0]}', the evidence '{said[1]}'")]


def test_relations_and_antonyms_share_one_pair_loop() -> None:
    """A pair fires only when each text has its own word and lacks the other's; the first pair in order wins."""
    pairs = [(stem(a), stem(b)) for a, b in RELATION_SWAPS]
    debut, record = profile("He made his debut."), profile("He set a record.")
    assert swapped_pair(pairs, record, debut) == ("record", "debut")
    assert swapped_pair(pairs, debut, record) == ("debut", "record")
    assert swapped_pair(pairs, profile("A debut and a record."), debut) is None  # the claim keeps the evidence's word
    assert swapped_pair(pairs, profile("He made his debut, then set a record."), profile("Nothing here.")) is None
    antonyms = [(stem(a), stem(b)) for a, b in ANTONYMS]
    assert swapped_pair(antonyms, profile("Prices rose and sales fell."), profile("Prices fell; sales dropped.")) == (
        "rise", "drop")
