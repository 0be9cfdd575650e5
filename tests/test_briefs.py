"""Briefs on fake models: schema and rendering, lint, dates, merging, disagreements, map-reduce."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.brief_render import render_json, render_markdown
from assistant.brief_schema import TOP_LEVEL_KEYS, Brief, Provenance
from assistant.briefs import BriefOptions, BriefTools, build_brief
from assistant.fakes import HashingEmbeddings, plant_error
from assistant.grounding import GroundingChecker
from assistant.neutrality import lexicon, lint_text, neutralise, speakers
from assistant.providers import ChatBackend, chat_backend
from assistant.schemas import RetrievedChunk
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.stories import embed_units, map_reduce_select, sentence_units
from assistant.timeline import find_dates

SNAPSHOTS = Path(__file__).parent / "snapshots"
FIXED = Provenance(model="fake", provider="fake", prompts={}, retrieval={}, articles={}, package_version="0",
                   created=datetime(2026, 1, 1, tzinfo=UTC), fingerprint="0" * 64)


def chunk(article: str, n: int, text: str, *, source: str = "unknown", published: date | None = None,
          title: str = "") -> RetrievedChunk:
    return RetrievedChunk(chunk_id=f"{article}:{n}", article_id=article, title=title or f"Story {article}",
                          source=source, published=published, text=text, start=n * 1000, end=n * 1000 + len(text))


def tools() -> BriefTools:
    embeddings = HashingEmbeddings()
    return BriefTools(chat=chat_backend(Settings(llm="fake", embeddings="fake")),
                      checker=GroundingChecker(embeddings=embeddings), embeddings=embeddings)


def story() -> list[RetrievedChunk]:
    """Three outlets on one event; the third gives another death toll."""
    return [
        chunk("a" * 16, 0, "Floods struck the coastal town of Marlow on Tuesday after three days of heavy rain. "
              "The mayor of Marlow said 12 people were killed in the floods. "
              "Rescue teams evacuated about 400 residents from the lower districts overnight.",
              source="Daily Post", published=date(2024, 3, 14)),
        chunk("b" * 16, 0, "Rescue teams evacuated about 400 residents from the lower districts overnight. "
              "The regional government said it would send army engineers to repair the broken levee. "
              "The mayor of Marlow said 12 people were killed in the floods.",
              source="Coast Radio", published=date(2024, 3, 14)),
        chunk("c" * 16, 0, "The mayor of Marlow said 19 people were killed in the floods. "
              "Schools in Marlow will stay closed until Monday while the water recedes from the streets.",
              source="Evening Star", published=date(2024, 3, 15)),
    ]


# -- schema and rendering -------------------------------------------------------------------------


def test_brief_json_has_exactly_the_documented_keys_and_citations_shaped_as_in_ask() -> None:
    brief = build_brief(story(), tools=tools(), provenance=FIXED)
    data = json.loads(render_json(brief))
    assert tuple(data) == TOP_LEVEL_KEYS
    statement = data["summary"][0]
    assert {"text", "citations", "label"} <= set(statement)
    assert set(statement["citations"][0]) == {"n", "article_id", "title", "chunk_id", "quote", "source", "published",
                                              "url"}
    chunks = {c.chunk_id: c.text for c in story()}
    for s in brief.statements():
        assert s.label == "supported" and s.citations
        for c in s.citations:
            assert c.quote in chunks[c.chunk_id]
    assert Brief.model_validate_json(render_json(brief)) == brief


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_rendering_snapshot(fmt: str) -> None:
    brief = build_brief(story(), tools=tools(), provenance=FIXED)
    rendered = render_markdown(brief) if fmt == "md" else render_json(brief)
    snapshot = SNAPSHOTS / f"brief_story.{fmt}"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(rendered, encoding="utf-8")
    assert rendered == snapshot.read_text(encoding="utf-8")


# -- neutrality -----------------------------------------------------------------------------------


def test_lexicon_is_package_data_with_categories_and_alternatives() -> None:
    terms = {e.term: e for e in lexicon()}
    assert {"terrorist", "martyr", "regime", "occupation", "resistance", "massacre", "so-called", "slammed",
            "blasted", "brutal", "horrific"} <= set(terms)
    assert terms["slammed"].neutral == "criticised" and terms["terrorist"].category == "conflict_label"


@pytest.mark.parametrize(
    ("text", "hits"),
    [
        ("The army hit terrorist infrastructure in the south.", ["terrorist"]),
        ("The minister slammed the decision as a brutal move.", ["slammed", "brutal"]),
        ('The statement called it "a brutal massacre" of civilians.', []),  # quoted
        ("The Israeli military said it struck terrorist infrastructure.", []),  # attributed
        ("According to Hamas, the strike was a massacre.", []),  # attributed
        ("Officials met in Geneva on Monday.", []),
        ("The so-called ceasefire collapsed.", ["so-called"]),
    ],
)
def test_lint_finds_loaded_terms_outside_quotes_and_attribution(text: str, hits: list[str]) -> None:
    assert [h.term.lower() for h in lint_text(text)] == hits


def test_neutralise_uses_the_alternative_or_gives_up() -> None:
    assert neutralise("The minister slammed the plan.") == "The minister criticised the plan."
    assert neutralise("It was a brutal attack.") is None


def test_speakers_are_the_parties_a_sentence_attributes_words_to() -> None:
    assert speakers("The Israeli military said it hit two command centres.") == ["Israeli military"]
    assert speakers("Two were killed, according to the Health Ministry.") == ["Health Ministry"]
    assert speakers("He said nothing.") == []


# -- dates ----------------------------------------------------------------------------------------


def test_relative_dates_resolve_against_the_article_date() -> None:
    thursday = date(2024, 3, 14)
    found = {m.when: m.date for m in find_dates("Rockets fell on Tuesday and again yesterday.", thursday)}
    assert found == {"on Tuesday": date(2024, 3, 12), "yesterday": date(2024, 3, 13)}
    assert find_dates("The war began on October 8.", thursday)[0].date == date(2024, 10, 8)
    assert find_dates("It began on Feb 7, 2021.", None)[0].date == date(2021, 2, 7)


def test_relative_dates_stay_as_written_without_an_article_date() -> None:
    mention = find_dates("Rockets fell on Tuesday.", None)[0]
    assert (mention.when, mention.date) == ("on Tuesday", None)


# -- stories: merging and disagreements -----------------------------------------------------------


def test_statements_several_outlets_carry_are_merged_and_counted() -> None:
    brief = build_brief(story(), tools=tools(), provenance=FIXED)
    shipped = [s for s in brief.summary + brief.key_facts if "400 residents" in s.text]
    assert len(shipped) == 1
    assert (shipped[0].reported_by, shipped[0].of_sources, shipped[0].single_source) == (2, 3, False)
    assert {c.article_id for c in shipped[0].citations} == {"a" * 16, "b" * 16}
    lonely = [s for s in brief.summary + brief.key_facts if s.reported_by == 1]
    assert lonely and all(s.single_source for s in lonely)
    assert "reported by 2 of 3 sources" in render_markdown(brief)


def test_a_conflicting_figure_is_contested_with_each_side_cited_and_never_stated_as_fact() -> None:
    brief = build_brief(story(), tools=tools(), provenance=FIXED)
    figures = [c for c in brief.contested if c.kind == "figure"]
    assert len(figures) == 1
    values = {side.value for side in figures[0].sides}
    assert values == {"12", "19"}
    assert {c.article_id for side in figures[0].sides for c in side.statement.citations} == {"a" * 16, "b" * 16,
                                                                                           "c" * 16}
    facts = " ".join(s.text for s in brief.summary + brief.key_facts + [e.statement for e in brief.timeline])
    assert "19 people" not in facts and "12 people" not in facts


def test_agreeing_sources_raise_no_conflict_and_quoted_parties_get_positions() -> None:
    agreeing = [c for c in story() if c.article_id != "c" * 16]
    brief = build_brief(agreeing, tools=tools(), provenance=FIXED)
    assert [c for c in brief.contested if c.kind != "single_party"] == []
    assert brief.lint.parties_in_sources == brief.lint.parties_in_positions
    assert "mayor of Marlow" in " ".join(brief.lint.parties_in_positions)
    assert brief.lint.missing_parties == []


def test_timeline_resolves_the_weekday_of_the_story() -> None:
    brief = build_brief(story(), tools=tools(), provenance=FIXED)
    tuesday = [e for e in brief.timeline if e.when == "on Tuesday"]
    assert tuesday and tuesday[0].date == date(2024, 3, 12) and tuesday[0].resolved_from == date(2024, 3, 14)


def test_an_unsupported_rewrite_is_dropped_listed_and_replaced_by_the_quoted_source() -> None:
    """A model that changes a number in every rewrite: each rewrite is dropped, the source is quoted instead."""
    sentences = [u.text for u in sentence_units(story()[:1])]
    replies = iter([AIMessage(content=json.dumps({"text": plant_error(s), "cites": [1]})) for s in sentences * 4])
    wrong = ChatBackend(GenericFakeChatModel(messages=replies), "planting", 8192, lambda s: len(s.split()))
    t = tools()
    brief = build_brief(story()[:1], tools=BriefTools(chat=wrong, checker=t.checker, embeddings=t.embeddings),
                        provenance=FIXED)
    shipped = brief.summary + brief.key_facts
    assert brief.provenance.rewrites_rejected == len(shipped) >= 1
    assert brief.provenance.rewrites_accepted == 0
    assert brief.provenance.dropped and all(d.label != "supported" for d in brief.provenance.dropped)
    assert all(s.origin == "quoted" and s.text.startswith("According to Daily Post: \u201c") for s in shipped)


# -- map-reduce -----------------------------------------------------------------------------------


def test_map_reduce_under_a_tiny_token_budget_keeps_chunk_ids_and_the_salient_sentences() -> None:
    chunks = story()
    units = sentence_units(chunks)
    vectors = embed_units(units, HashingEmbeddings())
    wide = map_reduce_select(units, vectors, keep=3, budget=100_000, count_tokens=lambda t: len(t.split()))
    narrow = map_reduce_select(units, vectors, keep=3, budget=20, count_tokens=lambda t: len(t.split()))
    assert len(narrow) == 3 and len(wide) == 3
    texts = {c.chunk_id: c.text for c in chunks}
    for unit, _ in narrow:
        assert unit.text in texts[unit.chunk.chunk_id]
    assert np.isfinite([s for _, s in narrow]).all()
    brief = build_brief(chunks, tools=tools(), provenance=FIXED, options=BriefOptions(select_budget=20))
    assert brief.summary and all(c.quote in texts[c.chunk_id] for s in brief.statements() for c in s.citations)


# -- the facade -----------------------------------------------------------------------------------


def test_facade_brief_of_the_seed_is_cited_neutral_and_has_provenance(seeded_bot: Assistant) -> None:
    article_id = next(iter(seeded_bot.store.article_ids()))
    brief = seeded_bot.brief([article_id])
    assert len(brief.summary) + len(brief.key_facts) >= 5
    assert brief.grounded_fraction >= 0.9
    assert brief.lint.hits == []
    assert brief.provenance.articles == {article_id: article_id}
    assert set(brief.provenance.prompts) == {"statement"}
    assert len(brief.provenance.prompts["statement"]) == 64
    assert "api_key" not in render_json(brief).lower()
    assert brief.sources[0].id == article_id
    terrorist = [h for h in brief.lint.fixed if h.term == "terrorist"]
    assert all(h.fixed in ("quoted", "neutral") for h in terrorist)


def test_facade_topic_brief_retrieves_and_groups_by_article(seeded_bot: Assistant) -> None:
    brief = seeded_bot.brief(topic="Hezbollah rockets Bekaa Valley strikes")
    assert brief.sources and brief.provenance.retrieval["mode"] == "topic"
    assert brief.provenance.retrieval["topic"] == "Hezbollah rockets Bekaa Valley strikes"
