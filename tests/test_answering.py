"""The answer path as events (stages, draft tokens, the checked answer) and the answer styles, on fake models."""

from __future__ import annotations

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant import tokens
from assistant.answering import AnswerEvent, StageEvent, TokenEvent
from assistant.providers import ChatBackend
from assistant.service import Assistant

AREAS = "Which areas in southern Lebanon were targeted?"


def scripted(bot: Assistant, *replies: str) -> Assistant:
    model = GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))
    bot.chat = ChatBackend(model, "scripted", 8192, tokens.count_tokens)
    return bot


def test_ask_stream_yields_stages_then_tokens_then_the_checked_answer(seeded_bot: Assistant) -> None:
    reply = "The Israeli military targeted the areas of Khiam and Bint Jbeil [1]."
    events = list(scripted(seeded_bot, reply).ask_stream(AREAS))
    stages = [e.stage for e in events if isinstance(e, StageEvent)]
    assert stages == ["retrieving", "writing", "checking"]
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == reply
    kinds = [e.kind for e in events]
    assert kinds.index("token") > kinds.index("stage") and kinds[-1] == "answer"
    assert kinds.index("token") < len(kinds) - 1 - kinds[::-1].index("stage")  # tokens come before "checking"
    final = events[-1]
    assert isinstance(final, AnswerEvent)
    answer = final.answer
    assert not answer.abstained and "Khiam" in answer.answer and "Bint Jbeil" in answer.answer
    n = answer.citations[0].n
    assert answer.answer.endswith(f"[{n}].") and "Khiam" in answer.citations[0].quote


def test_ask_is_the_last_event_of_ask_stream(seeded_bot: Assistant) -> None:
    streamed = [e for e in seeded_bot.ask_stream(AREAS) if isinstance(e, AnswerEvent)]
    assert len(streamed) == 1
    assert seeded_bot.ask(AREAS) == streamed[0].answer


def test_a_wrong_draft_is_replaced_by_the_verbatim_cited_sentence(seeded_bot: Assistant) -> None:
    reply = "Israel targeted Khiam and Tyre in southern Lebanon [1]."
    answer = scripted(seeded_bot, reply).ask(AREAS)
    assert "Tyre" not in answer.answer
    assert answer.answer.startswith("\u201c") and "Khiam" in answer.answer
    assert any(c.removed and "Tyre" in c.text for c in answer.claims)
    chunks = {c.chunk_id: c.text for c in seeded_bot.store.all_chunks()}
    assert all(c.quote in chunks[c.chunk_id] for c in answer.citations)


def test_extractive_style_answers_with_the_sentence_and_no_model_call(seeded_bot: Assistant) -> None:
    seeded_bot.settings = seeded_bot.settings.model_copy(update={"answer_style": "extractive"})
    bot = scripted(seeded_bot)  # any model call would fail: no replies scripted
    events = list(bot.ask_stream(AREAS))
    assert [e.stage for e in events if isinstance(e, StageEvent)] == ["retrieving"]
    answer = events[-1].answer if isinstance(events[-1], AnswerEvent) else None
    assert answer is not None and not answer.abstained
    assert "Khiam" in answer.answer and len(answer.citations) == 1
    assert answer.answer == f"\u201c{' '.join(answer.citations[0].quote.split())}\u201d [{answer.citations[0].n}]"


def test_answers_are_short(seeded_bot: Assistant) -> None:
    answer = seeded_bot.ask("How many rockets did Hezbollah launch towards Israeli positions?")
    assert not answer.abstained and "100" in answer.answer
    assert len(answer.answer.split()) <= 60
    assert len([c for c in answer.claims if not c.removed]) <= 2


def test_an_abstention_ends_the_stream_with_its_reason(seeded_bot: Assistant) -> None:
    events = list(seeded_bot.ask_stream("What is the best recipe for banana bread?"))
    final = events[-1]
    assert isinstance(final, AnswerEvent) and final.answer.abstained and final.answer.note


def test_a_supported_draft_answers_only_where_the_scorer_finds_an_answer_in_the_sources() -> None:
    from assistant.answer_scorer import load_scorer
    from assistant.answering import AnswerWriter
    from assistant.fakes import HashingEmbeddings
    from assistant.grounding import GroundingChecker
    from assistant.schemas import RetrievalInfo, RetrievedChunk

    chunks = [RetrievedChunk(chunk_id=f"a{i}:0", article_id=f"a{i}", title="Race", text=t) for i, t in enumerate([
        "Ana Lima won the 2019 city marathon in record time.", "Tickets for the 2019 city marathon are on sale."])]
    embeddings = HashingEmbeddings()

    def answer(threshold: float) -> AnswerEvent:
        model = GenericFakeChatModel(messages=iter([AIMessage(content="Ana Lima won the 2019 city marathon [1].")]))
        writer = AnswerWriter(chat=ChatBackend(model, "scripted", 8192, tokens.count_tokens),
                              checker=GroundingChecker(embeddings=embeddings), embeddings=embeddings,
                              style="abstractive", scorer=load_scorer().model_copy(update={"threshold": threshold}))
        question = "Who won the 2019 city marathon?"
        final = list(writer.events(question, question, chunks, RetrievalInfo(query=question)))[-1]
        assert isinstance(final, AnswerEvent)
        return final

    drafted = answer(0.0).answer
    assert not drafted.abstained and drafted.answer == "Ana Lima won the 2019 city marathon [1]."
    refused = answer(1.0).answer
    assert refused.abstained and "clearly answers" in refused.note
