"""The real components: MiniLM embeddings and SmolLM2-135M answering about the seed article."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistant.answering import AnswerEvent, StageEvent, TokenEvent
from assistant.grounding import GroundingChecker
from assistant.providers import MINILM_DIMENSION, chat_backend, embedding_backend, minilm_count_tokens
from assistant.sentences import split_sentences
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import ArticleStore
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    settings = Settings(llm="local", embeddings="local", data_dir=tmp_path_factory.mktemp("local"))
    embedding = embedding_backend(settings)
    store = ArticleStore.ephemeral(embeddings=embedding.embeddings, embedding_model=embedding.name,
                                   dimension=embedding.dimension, name="real-models")
    bot = Assistant(settings=settings, store=store, embedding=embedding, chat=chat_backend(settings),
                    checker=GroundingChecker(embeddings=embedding.embeddings))
    assert bot.ingest([SEEDS]).new == 1
    yield bot
    bot.close()


def test_minilm_embeds_offline_with_meaning(local_bot: Assistant) -> None:
    emb = local_bot.embedding.embeddings
    strikes, rockets, cake = emb.embed_documents(
        ["Israeli jets struck targets in Lebanon.", "Airstrikes hit Lebanese towns.", "Bake the cake for an hour."]
    )
    assert len(strikes) == MINILM_DIMENSION

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(strikes, rockets) > 0.5 > cos(strikes, cake)
    assert all(minilm_count_tokens(c.text) <= 256 for c in local_bot.store.all_chunks())


def test_smollm2_answers_the_seed_question_with_quotes_naming_the_areas(local_bot: Assistant) -> None:
    answer = local_bot.ask("Which areas in southern Lebanon were targeted?")
    assert not answer.abstained, answer
    assert answer.model.startswith("SmolLM2-135M-Instruct")
    quotes = " ".join(c.quote for c in answer.citations)
    assert "Khiam" in quotes and "Bint Jbeil" in quotes
    chunks = {c.chunk_id: c.text for c in local_bot.store.all_chunks()}
    assert all(c.quote in chunks[c.chunk_id] for c in answer.citations)


def test_the_local_answer_names_the_areas_in_one_or_two_cited_sentences(local_bot: Assistant) -> None:
    answer = local_bot.ask("Which areas in southern Lebanon were targeted?")
    assert not answer.abstained, answer.note
    assert "Khiam" in answer.answer and "Bint Jbeil" in answer.answer
    assert 1 <= len(split_sentences(answer.answer)) <= 2
    assert any("Khiam" in c.quote and f"[{c.n}]" in answer.answer for c in answer.citations)


def test_smollm2_drafts_are_streamed_checked_and_replaced_when_wrong(local_bot: Assistant) -> None:
    settings = local_bot.settings
    local_bot.settings = settings.model_copy(update={"answer_style": "abstractive"})
    try:
        events = list(local_bot.ask_stream("Which areas in southern Lebanon were targeted?"))
    finally:
        local_bot.settings = settings
    stages = [e.stage for e in events if isinstance(e, StageEvent)]
    assert stages == ["retrieving", "writing", "checking"]
    draft = "".join(e.text for e in events if isinstance(e, TokenEvent))
    assert len([e for e in events if isinstance(e, TokenEvent)]) > 1 and draft.strip()
    final = events[-1]
    assert isinstance(final, AnswerEvent)
    answer = final.answer
    assert not answer.abstained and "Khiam" in answer.answer
    assert all(c.label == "supported" for c in answer.claims if not c.removed)
    chunks = {c.chunk_id: c.text for c in local_bot.store.all_chunks()}
    assert all(c.quote in chunks[c.chunk_id] for c in answer.citations)


def test_smollm2_pipeline_abstains_off_topic(local_bot: Assistant) -> None:
    answer = local_bot.ask("What is the capital of France?")
    assert answer.abstained and not answer.citations


def test_smollm2_pipeline_abstains_when_the_article_does_not_say(local_bot: Assistant) -> None:
    answer = local_bot.ask("How many people were wounded in Baalbek?")
    assert answer.abstained and not answer.citations


def test_minilm_matches_the_sentence_transformers_pipeline(local_bot: Assistant) -> None:
    from sentence_transformers import SentenceTransformer

    from assistant.providers import minilm_dir

    texts = ["Hezbollah launched over 100 Katyusha rockets.", "Short.", "word " * 400]
    reference = SentenceTransformer(str(minilm_dir()), device="cpu").encode(texts, normalize_embeddings=True)
    ours = local_bot.embedding.embeddings.embed_documents(texts)
    for mine, theirs in zip(ours, reference, strict=True):
        assert max(abs(a - float(b)) for a, b in zip(mine, theirs, strict=True)) < 1e-5
