"""The shipped fakes behave like models, and the ranking pieces do what their names say."""

from __future__ import annotations

from assistant.fakes import NO_ANSWER, FakeChatModel, HashingEmbeddings, plant_error
from assistant.keyword import KeywordIndex, KeywordRow
from assistant.prompts import load_prompt
from assistant.retrieval import mmr, rrf


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_hashing_embeddings_are_deterministic_and_lexical() -> None:
    emb = HashingEmbeddings(size=384)
    a = emb.embed_query("Hezbollah launched rockets at Israeli positions")
    assert a == HashingEmbeddings(size=384).embed_documents(["Hezbollah launched rockets at Israeli positions"])[0]
    near = emb.embed_query("rockets launched by Hezbollah")
    far = emb.embed_query("the price of coffee in Brazil")
    assert _cos(a, near) > 0.3 > _cos(a, far)
    assert abs(_cos(a, a) - 1.0) < 1e-9
    assert abs(_cos(emb.embed_query(""), emb.embed_query("")) - 1.0) < 1e-9


def _prompt(question: str) -> str:
    evidence = (
        "[1] Hezbollah launched over 100 Katyusha rockets. The weather was mild.\n"
        "[2] Israeli jets struck Khiam and Bint Jbeil in southern Lebanon."
    )
    return "\n".join(str(m.content) for m in load_prompt("condense").render(evidence=evidence, task=question))


def test_fake_chat_quotes_the_best_source_and_cites_it() -> None:
    answer = FakeChatModel().respond(_prompt("Which areas in southern Lebanon did Israeli jets strike?"))
    assert answer.startswith("Israeli jets struck Khiam and Bint Jbeil in southern Lebanon [2].")


def test_fake_chat_says_the_sources_do_not_say_when_nothing_overlaps() -> None:
    assert FakeChatModel().respond(_prompt("What is the capital of France?")) == NO_ANSWER


def test_fake_chat_error_mode_plants_a_wrong_fact() -> None:
    good = FakeChatModel().respond(_prompt("How many Katyusha rockets did Hezbollah launch?"))
    bad = FakeChatModel(mode="errors").respond(_prompt("How many Katyusha rockets did Hezbollah launch?"))
    assert "100" in good and "100" not in bad and "307" in bad
    assert plant_error("It was the second day.") == "It was the fifth day."


def test_bm25_prefers_rare_matching_terms() -> None:
    index = KeywordIndex.open(None)
    texts = ["the strikes hit Khiam", "the strikes hit the valley", "markets rose today"]
    index.replace_articles(["x"], [KeywordRow(chunk_id=str(i), article_id="x", text=t) for i, t in enumerate(texts)])
    hits = index.search("Khiam strikes", k=5)
    assert [cid for cid, _ in hits] == ["0", "1"]
    assert hits[0][1] > hits[1][1] > 0.0


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = rrf([["a", "b"], ["b", "c"]], k=60)
    assert fused["b"] > fused["a"] > fused["c"]
    assert abs(fused["a"] - 1 / 61) < 1e-12


def test_mmr_skips_near_duplicates() -> None:
    vectors = {"a": [1.0, 0.0], "a2": [1.0, 0.0], "b": [0.0, 1.0]}
    chosen = mmr(["a", "a2", "b"], relevance={"a": 1.0, "a2": 0.99, "b": 0.5}, vectors=vectors, k=3)
    assert chosen == ["a", "b"]


def test_year_agreement_favours_the_questions_year() -> None:
    from datetime import date

    from assistant.retrieval import year_agreement
    from assistant.schemas import RetrievedChunk

    def chunk(text: str, published: date | None = None) -> RetrievedChunk:
        return RetrievedChunk(chunk_id="a:0", article_id="a", title="", text=text, published=published)

    assert year_agreement({"2021"}, chunk("Super Bowl 2021 was played in Tampa.")) == 1
    assert year_agreement({"2021"}, chunk("Tickets for the 2024 Super Bowl in Las Vegas.")) == -1
    assert year_agreement({"2021"}, chunk("The Super Bowl is played in February.")) == 0
    assert year_agreement({"2021"}, chunk("The game was played in Tampa.", date(2021, 2, 8))) == 1


def test_answer_form_looks_for_the_answer_in_the_sentence_that_matches_the_question() -> None:
    from assistant.retrieval import answer_form

    question = "When was Xenoblade Chronicles 2 released?"
    assert answer_form(question, "Xenoblade Chronicles 2 was released on December 1, 2017. Reviews were warm.") == 1
    # Same subject, but the sentence about the release gives no day or month.
    assert answer_form(question, "Xenoblade Chronicles 2 was released to acclaim. It sold well in December.") == 0
    # The question's number must be in that sentence: another edition does not answer it.
    assert answer_form("How many medals did Norway win in 2018?", "Norway won 37 medals in 2022.") == 0
    assert answer_form("How many medals did Norway win in 2018?", "Norway won 39 medals in 2018.") == 1


def test_answer_form_lifts_the_passage_that_answers_over_an_equal_one_that_does_not() -> None:
    from assistant.retrieval import rerank_terms
    from assistant.schemas import RetrievedChunk

    found = {
        "a:0": RetrievedChunk(chunk_id="a:0", article_id="a", title="", text="The Crown season 4 filming started."),
        "b:0": RetrievedChunk(chunk_id="b:0", article_id="b", title="",
                              text="The Crown season 4 premieres on November 15, 2020."),
    }
    scores = rerank_terms("When does season 4 of The Crown premiere?", {"a:0": 0.02, "b:0": 0.02}, found)
    assert scores["b:0"] > scores["a:0"]
