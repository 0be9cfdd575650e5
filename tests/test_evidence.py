"""The shared evidence step: selection, answer-type fit, condense, the check against the cited sentence, fallback."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant import tokens
from assistant.answer_types import answer_type, fits, focus_noun, unfit_reason
from assistant.evidence import (
    MESSAGE_OVERHEAD,
    WINDOW_MARGIN,
    EvidenceSentence,
    added_names_or_numbers,
    check_draft,
    condense,
    draft_messages,
    fit_to_window,
    keyword_overlap,
    select_evidence,
    split_evidence,
)
from assistant.fakes import HashingEmbeddings
from assistant.grounding import GroundingChecker
from assistant.prompts import Prompt
from assistant.providers import ChatBackend
from assistant.schemas import RetrievedChunk
from assistant.settings import Settings

BEKAA = (
    "Israeli jets have carried out airstrikes in Lebanon's Bekaa Valley for a second consecutive day, targeting "
    "Hezbollah facilities and resulting in the death of two members from the Iran-backed group. This escalation "
    "of hostilities between Hezbollah and Israel parallels the ongoing Gaza war."
)
AREAS = (
    "The Israeli military's response included the targeting of two Hezbollah military command centers in the "
    "Baalbek area. Among the locations targeted by the Israeli military were military compounds in southern "
    "Lebanon, including the areas of Khiam and Bint Jbeil. These strikes aimed at reducing Hezbollah's "
    "operational capabilities in the region."
)
COSTS = (
    "Since the start of the Gaza war, hundreds of Hezbollah fighters and Lebanese civilians, as well as Israeli "
    "soldiers and civilians, have been killed. Hezbollah launched over 100 Katyusha rockets towards several "
    "Israeli military positions."
)
AREAS_QUESTION = "Which areas in southern Lebanon were targeted?"


def _chunk(n: int, text: str) -> RetrievedChunk:
    return RetrievedChunk(chunk_id=f"art:{n}", article_id="art", title="Strikes", text=text, source="Wire")


CHUNKS = [_chunk(0, BEKAA), _chunk(1, AREAS), _chunk(2, COSTS)]


def _chat(*replies: str) -> ChatBackend:
    """A chat backend that plays ``replies`` in order (and fails loudly if asked once more)."""
    model = GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))
    return ChatBackend(model, "scripted", 8192, tokens.count_tokens)


def _sentence(chunk_index: int, contains: str) -> EvidenceSentence:
    return next(e for e in split_evidence(CHUNKS) if e.chunk is CHUNKS[chunk_index] and contains in e.text)


@pytest.fixture
def checker() -> GroundingChecker:
    return GroundingChecker(embeddings=HashingEmbeddings())


# -- selection -----------------------------------------------------------------------------------------------------


def test_split_evidence_gives_verbatim_spans_once_each_numbered_by_chunk() -> None:
    overlapping = [*CHUNKS, _chunk(3, AREAS)]
    sentences = split_evidence(overlapping)
    assert all(s.text == s.chunk.text[s.start : s.end] for s in sentences)
    assert len({s.text for s in sentences}) == len(sentences) == 7
    assert {s.n for s in sentences} == {1, 2, 3}  # the repeated chunk adds nothing


def test_selection_puts_the_answering_sentence_first_and_drops_the_beside_the_point() -> None:
    picked = select_evidence(AREAS_QUESTION, CHUNKS, embeddings=HashingEmbeddings())
    assert "Khiam and Bint Jbeil" in picked[0].text
    assert picked[0].n == 2
    assert all("capabilities" not in p.text for p in picked)
    assert [p.score for p in picked] == sorted((p.score for p in picked), reverse=True)


def test_selection_prefers_the_sentence_with_the_count_asked_for() -> None:
    counted = "Officials said rockets hit the north on Monday. Hezbollah fired 40 rockets at the north."
    picked = select_evidence("How many rockets did Hezbollah fire at the north?", [_chunk(0, counted)],
                             embeddings=HashingEmbeddings(), limit=1)
    assert picked[0].text == "Hezbollah fired 40 rockets at the north."


def test_selection_of_nothing_is_empty() -> None:
    assert select_evidence(AREAS_QUESTION, [], embeddings=HashingEmbeddings()) == []


def test_keyword_overlap_counts_question_words_found() -> None:
    assert keyword_overlap("Which areas were targeted?", "The areas targeted were Khiam.") == 1.0
    assert keyword_overlap("Which areas were targeted?", "Nothing here.") == 0.0


# -- answer types ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many rockets were launched?", "count"),
        ("When did the war in Gaza break out?", "date"),
        ("On what date did the war start?", "date"),
        ("Where were the command centers?", "place"),
        (AREAS_QUESTION, "place"),
        ("Who met the Hamas official?", "person"),
        ("Which group launched the rockets?", "person"),
        ("Why did Hezbollah launch rockets?", "reason"),
        ("What happened in the Bekaa Valley?", "other"),
    ],
)
def test_answer_type_reads_the_question_form(question: str, kind: str) -> None:
    assert answer_type(question) == kind


@pytest.mark.parametrize(
    ("kind", "fitting", "unfitting"),
    [
        ("count", "Hezbollah launched over 100 rockets.", "Hezbollah launched rockets."),
        ("date", "The war broke out on October 8.", "The war broke out."),
        ("place", "Strikes hit targets in Khiam.", "Strikes hit targets."),
        ("place", "Targets included the areas of Khiam and Bint Jbeil.", "Targets included several areas."),
        ("place", "Strikes hit compounds in southern Lebanon.", "Strikes hit compounds in the south."),
        ("person", "Hassan Nasrallah met a Hamas official.", "a meeting took place."),
        ("person", "Since the war began, hundreds of Hezbollah fighters have been killed.", "It rained all day."),
        ("reason", "Rockets were fired in retaliation for shelling.", "Rockets were fired."),
    ],
)
def test_fits_finds_the_kind_of_fact(kind: str, fitting: str, unfitting: str) -> None:
    assert fits(kind, fitting)  # type: ignore[arg-type]
    assert not fits(kind, unfitting)  # type: ignore[arg-type]


# -- condense ------------------------------------------------------------------------------------------------------


def test_extractive_gives_the_sentence_verbatim_quoted_and_cited(checker: GroundingChecker) -> None:
    areas = _sentence(1, "Khiam")
    statement = condense([areas], task=f"Answer the question: {AREAS_QUESTION}", chat=_chat(), checker=checker,
                         style="extractive")
    assert statement.text == f"\u201c{areas.text}\u201d [2]"
    assert statement.fallback and statement.label == "supported" and statement.draft == ""
    (citation,) = statement.citations
    assert citation.quote == areas.text and citation.quote in CHUNKS[1].text
    assert (citation.n, citation.chunk_id, citation.article_id) == (2, "art:1", "art")
    assert statement.claims[0].evidence is not None and statement.claims[0].evidence.start == areas.start


def test_a_supported_condensed_sentence_is_kept_with_the_chunk_number(checker: GroundingChecker) -> None:
    areas = _sentence(1, "Khiam")
    reply = "The Israeli military targeted the areas of Khiam and Bint Jbeil in southern Lebanon [1]."
    statement = condense([areas], task=f"Answer the question: {AREAS_QUESTION}", chat=_chat(reply),
                         checker=checker)
    assert statement.text == (
        "The Israeli military targeted the areas of Khiam and Bint Jbeil in southern Lebanon [2]."
    )
    assert not statement.fallback and statement.draft == reply
    assert [c.label for c in statement.claims] == ["supported"]
    assert statement.citations[0].quote == areas.text


def test_an_added_party_fails_and_the_cited_sentence_stands_in(checker: GroundingChecker) -> None:
    deaths = _sentence(0, "two members")
    reply = ("Israeli jets carried out airstrikes in the Bekaa Valley for a second consecutive day, resulting in "
             "the death of two members from the Iran-backed group and Lebanese civilians [1].")
    statement = condense([deaths], task="Answer the question: Who died in the strikes?", chat=_chat(reply),
                         checker=checker)
    assert statement.fallback
    assert statement.text == f"\u201c{deaths.text}\u201d [1]"
    failed = statement.claims[0]
    assert failed.removed and failed.label != "supported"
    assert "adds" in failed.reason and "Lebanese" in failed.reason  # the checker or the strict check may say it


def test_facts_fused_from_two_sentences_fail_against_the_one_cited(checker: GroundingChecker) -> None:
    deaths, rockets = _sentence(0, "two members"), _sentence(2, "Katyusha")
    reply = "Israeli airstrikes killed two members after Hezbollah launched over 100 Katyusha rockets [1]."
    statement = condense([deaths, rockets], task="Summarise what happened.", chat=_chat(reply), checker=checker)
    assert statement.fallback
    assert statement.citations[0].quote == deaths.text
    assert statement.claims[0].removed


def test_a_changed_number_fails(checker: GroundingChecker) -> None:
    rockets = _sentence(2, "Katyusha")
    reply = "Hezbollah launched over 300 Katyusha rockets towards Israeli positions [1]."
    statement = condense([rockets], task="Answer the question: How many rockets?", chat=_chat(reply),
                         checker=checker)
    assert statement.fallback and "300" not in statement.text and "100" in statement.text


def test_a_refusal_or_empty_reply_falls_back_to_the_best_sentence(checker: GroundingChecker) -> None:
    areas = _sentence(1, "Khiam")
    for reply in ("The sources do not say.", "1."):
        statement = condense([areas], task="Answer the question: Which areas?", chat=_chat(reply), checker=checker)
        assert statement.fallback and "Khiam" in statement.text


def test_an_uncited_sentence_is_checked_against_the_closest_one(checker: GroundingChecker) -> None:
    deaths, areas = _sentence(0, "two members"), _sentence(1, "Khiam")
    reply = "The Israeli military targeted the areas of Khiam and Bint Jbeil."
    statement = condense([deaths, areas], task="Which areas?", chat=_chat(reply), checker=checker)
    assert not statement.fallback and statement.text.endswith("[2].")


def test_at_most_the_allowed_number_of_sentences(checker: GroundingChecker) -> None:
    areas = _sentence(1, "Khiam")
    reply = ("The Israeli military targeted Khiam [1]. The Israeli military targeted Bint Jbeil [1]. "
             "The Israeli military targeted military compounds [1].")
    statement = condense([areas], task="Which areas?", chat=_chat(reply), checker=checker, max_sentences=2)
    assert len([c for c in statement.claims if not c.removed]) <= 2
    assert "compounds [2]" not in statement.text


def test_the_model_tokens_reach_the_sink(checker: GroundingChecker) -> None:
    areas = _sentence(1, "Khiam")
    seen: list[str] = []
    reply = "The Israeli military targeted Khiam and Bint Jbeil [1]."
    condense([areas], task="Which areas?", chat=_chat(reply), checker=checker, on_token=seen.append)
    assert "".join(seen) == reply and len(seen) > 1


def test_no_evidence_gives_an_explicit_empty_statement(checker: GroundingChecker) -> None:
    statement = condense([], task="Which areas?", chat=_chat(), checker=checker)
    assert statement.text == "" and statement.label == "unsupported" and not statement.citations


@pytest.mark.parametrize(
    ("text", "sentence", "added"),
    [
        ("Two Hezbollah members and Lebanese civilians died.", "the death of two members of Hezbollah", ["Lebanese"]),
        ("Israel fired 300 shells.", "Israeli forces fired 100 shells.", ["300"]),
        ("The strikes hit Khiam.", "Strikes hit Khiam and Bint Jbeil.", []),
        ("Israeli jets hit Iranian-backed Hezbollah's sites.", "Israel hit sites of the Iran-backed Hezbollah.", []),
        ("Lebanese civilians died.", "Civilians died in Lebanon's south.", ["Lebanese"]),
        ("They fired 4,000 shells.", "They fired 4000 shells.", []),
    ],
)
def test_added_names_or_numbers(text: str, sentence: str, added: Sequence[str]) -> None:
    assert added_names_or_numbers(text, sentence) == list(added)


def test_answer_style_auto_picks_by_model() -> None:
    assert Settings(llm="local").resolved_answer_style() == "extractive"
    assert Settings(llm="fake").resolved_answer_style() == "abstractive"
    assert Settings(llm="local", answer_style="abstractive").resolved_answer_style() == "abstractive"


@pytest.mark.parametrize(
    ("question", "noun"),
    [
        ("What damage did the rockets cause?", "damage"),
        ("What kind of rockets were fired?", "rockets"),
        ("What did the court decide?", None),
        ("What happened in the valley?", None),
        ("How did it end?", None),
    ],
)
def test_focus_noun(question: str, noun: str | None) -> None:
    assert focus_noun(question) == noun


def test_unfit_reason_names_what_is_missing() -> None:
    launched = "Hezbollah launched over 100 Katyusha rockets towards several Israeli military positions."
    assert unfit_reason("What damage did the Katyusha rockets cause?", launched) == (
        "the sources do not say which damage"
    )
    assert unfit_reason("How many rockets were launched?", launched) == ""
    assert unfit_reason("When were the rockets launched?", launched) == "no day or month in the sources"
    assert unfit_reason("Which numbered resolution is called for?", "Calls grow for the U.N. resolutions.") != ""


@pytest.mark.parametrize(
    ("question", "sentence", "reason"),
    [
        ("Who won the final in 2021?", "Who won the final in 2021?", "the sources only ask this question"),
        ("Who won the final in 2021?", "Spain won the final in 2022.", "the sources do not speak of 2021"),
        ("When was the game released?", "The game was released in 2017.", "no day or month in the sources"),
        ("In what year was the game released?", "The game was released in 2017.", ""),
        ("When was the game released?", "The game was released on March 3, 2017.", ""),
    ],
)
def test_unfit_reason_for_echoes_other_years_and_vague_dates(question: str, sentence: str, reason: str) -> None:
    assert unfit_reason(question, sentence) == reason


@pytest.mark.parametrize(("claim", "source"), [
    ("The band set a record at the Glastonbury festival in June [1].",
     "The band made its debut at the Glastonbury festival in June."),
    ("The phone was released on September 10 in Cupertino [1].",
     "The phone was announced on September 10 in Cupertino."),
    ("The actor won an Oscar for the role in 2019 [1].",
     "The actor was nominated for an Oscar for the role in 2019."),
])
def test_a_changed_relation_fails_against_the_cited_sentence(
    checker: GroundingChecker, claim: str, source: str
) -> None:
    chunk = RetrievedChunk(chunk_id="r:0", article_id="r", title="Relations", text=source, source="Wire")
    evidence = split_evidence([chunk])
    statement = check_draft(claim, evidence, checker=checker)
    assert statement.fallback and statement.text.startswith("\u201c")  # the cited sentence stands in, verbatim
    failed = [c for c in statement.claims if c.removed]
    assert failed and "relation changed" in failed[0].reason
    kept = check_draft(source.rstrip(".") + " [1].", evidence, checker=checker)
    assert not kept.fallback and kept.label == "supported"


def test_evidence_is_fitted_to_the_window_by_the_prompt_that_is_sent() -> None:
    picked = split_evidence(CHUNKS)[:3]
    task = f"Answer the question: {AREAS_QUESTION}"

    def cost(evidence: Sequence[EvidenceSentence]) -> int:
        return sum(tokens.count_tokens(str(m.content)) + MESSAGE_OVERHEAD
                   for m in draft_messages(evidence, task=task))

    roomy = _chat()
    assert fit_to_window(picked, task=task, chat=roomy, max_tokens=96) == (picked, 0)
    window = cost(picked[:1]) + 96 + WINDOW_MARGIN  # room for the best sentence alone
    small = ChatBackend(roomy.model, "scripted", window, tokens.count_tokens)
    assert cost(picked) > cost(picked[:1])
    assert fit_to_window(picked, task=task, chat=small, max_tokens=96) == (picked[:1], len(picked) - 1)
    tiny = ChatBackend(roomy.model, "scripted", window - 1, tokens.count_tokens)
    assert fit_to_window(picked, task=task, chat=tiny, max_tokens=96) == ([], len(picked))


def test_fitting_to_the_window_loads_the_prompt_once_however_many_sentences_it_drops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import assistant.evidence as evidence_module

    loads: list[str] = []
    real = evidence_module.load_prompt

    def counted(name: str) -> Prompt:
        loads.append(name)
        return real(name)

    monkeypatch.setattr(evidence_module, "load_prompt", counted)
    picked = split_evidence(CHUNKS)[:3]
    tiny = ChatBackend(_chat().model, "scripted", 8, tokens.count_tokens)  # nothing fits: every sentence dropped
    assert fit_to_window(picked, task="Answer the question: x", chat=tiny, max_tokens=96) == ([], len(picked))
    assert loads == ["condense"]
