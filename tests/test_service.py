"""The facade end to end on fake models: ingestion contracts, answers, citations, abstention."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant import tokens
from assistant.errors import InputError
from assistant.providers import ChatBackend
from assistant.service import Assistant
from tests.conftest import SEED_FILE, SEEDS


def scripted(bot: Assistant, *replies: str, window: int = 8192) -> Assistant:
    """The same assistant with a chat model that gives these replies in order (and fails if asked more)."""
    model = GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))
    bot.chat = ChatBackend(model, "scripted", window, tokens.count_tokens)
    return bot


def test_ingesting_the_same_files_twice_embeds_nothing(fake_bot: Assistant) -> None:
    first = fake_bot.ingest([SEEDS])
    count = fake_bot.store.count()
    second = fake_bot.ingest([SEEDS])
    assert (first.new, first.unchanged, first.chunks_added) == (1, 0, count)
    assert (second.new, second.unchanged, second.chunks_added) == (0, 1, 0)
    assert second.summary().startswith("0 new, 1 unchanged")
    assert fake_bot.store.count() == count > 1


def test_changed_content_replaces_the_old_chunks(fake_bot: Assistant, tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    shutil.copy(SEED_FILE, path)
    fake_bot.ingest([path])
    old_ids = fake_bot.store.article_ids()
    path.write_text(SEED_FILE.read_text(encoding="utf-8").replace("over 100", "about 40"), encoding="utf-8")
    report = fake_bot.ingest([path])
    assert (report.new, report.replaced) == (1, 1)
    new_ids = fake_bot.store.article_ids()
    assert len(new_ids) == 1 and not (new_ids & old_ids)
    assert all("over 100" not in c.text for c in fake_bot.store.all_chunks())


def test_bad_files_are_reported_and_the_rest_still_go_in(fake_bot: Assistant, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("   \n\n  ")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    shutil.copy(SEED_FILE, tmp_path / "good.txt")
    report = fake_bot.ingest([tmp_path, tmp_path / "notes.docx"])
    assert report.new == 1
    joined = "\n".join(report.errors)
    assert len(report.errors) == 4, joined
    assert "empty.txt: empty file" in joined
    assert "blank.md: no text" in joined
    assert "image.txt: binary content" in joined
    assert "notes.docx: unsupported file type" in joined
    assert all(c.text.strip() for c in fake_bot.store.all_chunks())


def test_answers_cite_verbatim_sentences_of_their_chunks(seeded_bot: Assistant) -> None:
    answer = seeded_bot.ask("Which areas in southern Lebanon were targeted?")
    assert not answer.abstained
    assert answer.citations
    chunks = {c.chunk_id: c.text for c in seeded_bot.store.all_chunks()}
    for citation in answer.citations:
        assert citation.quote in chunks[citation.chunk_id]
        assert f"[{citation.n}]" in answer.answer
        assert len(citation.quote) < len(chunks[citation.chunk_id])
    quotes = " ".join(c.quote for c in answer.citations)
    assert "Khiam" in quotes and "Bint Jbeil" in quotes
    assert all(c.label == "supported" for c in answer.claims if not c.removed)
    payload = json.loads(answer.model_dump_json())
    assert set(payload) >= {"answer", "abstained", "citations", "claims", "model", "retrieval"}
    assert set(payload["citations"][0]) >= {"n", "article_id", "title", "chunk_id", "quote"}


def test_off_topic_questions_are_abstained_without_citations(seeded_bot: Assistant) -> None:
    answer = seeded_bot.ask("What is the best recipe for banana bread?")
    assert answer.abstained and answer.citations == []
    assert answer.answer == "The sources do not say."


def test_a_model_that_says_the_sources_do_not_say_abstains(seeded_bot: Assistant) -> None:
    bot = scripted(seeded_bot, "The sources do not say.")
    answer = bot.ask("How many people were wounded in the Bekaa Valley strikes?")
    assert answer.abstained and not answer.citations


def test_invented_citation_numbers_are_dropped_and_realigned(seeded_bot: Assistant) -> None:
    bot = scripted(seeded_bot, "The Israeli military targeted the areas of Khiam and Bint Jbeil [9].")
    answer = bot.ask("Which areas in southern Lebanon were targeted?")
    assert "[9]" not in answer.answer
    assert answer.citations and all(1 <= c.n <= answer.retrieval.used for c in answer.citations)
    assert "Khiam" in answer.citations[0].quote


def test_uncited_sentences_are_aligned_with_the_retrieved_ones(seeded_bot: Assistant) -> None:
    bot = scripted(seeded_bot, "Hezbollah launched over 100 Katyusha rockets towards Israeli military positions.")
    answer = bot.ask("How many rockets did Hezbollah launch?")
    assert not answer.abstained
    assert "over 100 Katyusha rockets" in answer.citations[0].quote


def test_unsupported_claims_are_removed_and_listed(seeded_bot: Assistant) -> None:
    reply = ("Israeli strikes targeted the areas of Khiam and Bint Jbeil [1]. "
             "The French navy evacuated 4,000 tourists from Cyprus [2].")
    answer = scripted(seeded_bot, reply).ask("Which areas in southern Lebanon were targeted?")
    assert "French navy" not in answer.answer
    removed = [c for c in answer.claims if c.removed]
    assert len(removed) == 1 and "French navy" in removed[0].text
    assert removed[0].label in {"unsupported", "contradicted"}


def test_flag_policy_keeps_unsupported_claims_marked(seeded_bot: Assistant) -> None:
    seeded_bot.settings = seeded_bot.settings.model_copy(update={"grounding_policy": "flag"})
    reply = "Israeli strikes targeted the areas of Khiam and Bint Jbeil [1]. The French navy evacuated Cyprus."
    answer = scripted(seeded_bot, reply).ask("Which areas in southern Lebanon were targeted?")
    assert "French navy" in answer.answer
    assert any(c.label != "supported" and not c.removed for c in answer.claims)


def test_a_reply_with_nothing_supported_gives_way_to_the_evidence_sentence(seeded_bot: Assistant) -> None:
    answer = scripted(seeded_bot, "The capital of France is Paris [1].").ask("Which areas were targeted by Israel?")
    assert not answer.abstained and "Paris" not in answer.answer
    (citation,) = answer.citations
    assert answer.answer == f"\u201c{' '.join(citation.quote.split())}\u201d [{citation.n}]"
    assert "targeted" in citation.quote or "targeting" in citation.quote
    assert answer.claims and answer.claims[0].removed and "Paris" in answer.claims[0].text


def test_nothing_fitting_the_question_means_abstention_with_the_reason(seeded_bot: Assistant) -> None:
    answer = scripted(seeded_bot, "The capital of France is Paris [1].").ask(
        "How many Hezbollah drones were shot down over the Bekaa Valley?")
    assert answer.abstained and not answer.citations
    assert answer.note


def test_a_window_too_small_for_any_evidence_answers_verbatim_without_asking_the_model(
    seeded_bot: Assistant,
) -> None:
    bot = scripted(seeded_bot, window=64)  # no reply scripted: asking the model would fail
    answer = bot.ask("Which areas in southern Lebanon were targeted?")
    assert not answer.abstained and "Khiam" in answer.answer and answer.citations
    assert answer.retrieval.dropped_for_budget >= 1 and answer.retrieval.used == len(answer.retrieval.chunk_ids)


def test_follow_ups_are_rewritten_with_the_history(seeded_bot: Assistant) -> None:
    bot = scripted(seeded_bot, "How many Katyusha rockets did Hezbollah launch?", "The sources do not say.")
    answer = bot.ask("And how many rockets?", history=[("What did Hezbollah do?", "It launched rockets [1].")])
    assert answer.retrieval.query == "How many Katyusha rockets did Hezbollah launch?"


@pytest.mark.parametrize("question", ["", "   \n ", "x" * 5000])
def test_bad_questions_are_clear_errors(seeded_bot: Assistant, question: str) -> None:
    with pytest.raises(InputError):
        seeded_bot.ask(question)


def test_braces_in_questions_are_inert(seeded_bot: Assistant) -> None:
    answer = seeded_bot.ask("Which areas in {southern} Lebanon were {context} targeted?")
    assert answer.question.startswith("Which areas in {southern}")


def test_source_and_date_filters(fake_bot: Assistant, tmp_path: Path) -> None:
    lines = [
        {"text": "Floods hit the northern valley on Monday, officials said.", "source": "Wire A",
         "published": "2024-01-05"},
        {"text": "Floods hit the northern valley again on Friday, local radio said.", "source": "Radio B",
         "published": "2024-02-10"},
    ]
    (tmp_path / "news.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    assert fake_bot.ingest([tmp_path]).new == 2
    only_b = fake_bot.ask("When did floods hit the northern valley?", sources=["Radio B"])
    assert {c.source for c in only_b.citations} == {"Radio B"}
    from datetime import date

    early = fake_bot.ask("When did floods hit the northern valley?", until=date(2024, 1, 31))
    assert {c.source for c in early.citations} == {"Wire A"}
