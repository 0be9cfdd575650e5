"""Statement rewrites decoded under a JSON schema: the fake that honours it, junk that falls back, the freer path
of strong models against the OpenAI-compatible stub, and llama.cpp's grammar with the real SmolLM2."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult

from assistant.brief_rewrite import Rewrite, RewriteSchema, ask_rewrite
from assistant.briefs import BriefTools, build_brief
from assistant.fakes import FakeChatModel, HashingEmbeddings, fill_rewrite
from assistant.grounding import GroundingChecker
from assistant.providers import ChatBackend, chat_backend
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.statements import rewrite_messages
from assistant.stories import sentence_units
from assistant.structured import forget_levels
from tests.conftest import SEED_FILE
from tests.openai_stub import StubState, openai_stub  # noqa: F401
from tests.test_briefs import FIXED, story

_SENTENCE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)


class RecordingFake(FakeChatModel):
    """The shipped fake, remembering the response_format of every call."""

    formats: ClassVar[list[object]] = []

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: object) -> ChatResult:
        RecordingFake.formats.append(kwargs.get("response_format"))
        return super()._generate(messages, stop, run_manager, **kwargs)


class GrammarJunk(FakeChatModel):
    """An in-process model whose reply ignores the schema (cut off mid-object, or another shape)."""

    replies: ClassVar[list[str]] = ['{"text": "Floods str', '{"answer": "yes"}', "[1]", '{"text": "", "cites": [1]}']

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: object) -> ChatResult:
        result = super()._generate(messages, stop, run_manager, **kwargs)
        reply = self.replies[len(messages[-1].content) % len(self.replies)]
        result.generations[0].message = AIMessage(content=reply)
        return result


def _tools(model: Any) -> BriefTools:
    embeddings = HashingEmbeddings()
    return BriefTools(chat=ChatBackend(model, "test", 8192, lambda t: len(t.split())),
                      checker=GroundingChecker(embeddings=embeddings), embeddings=embeddings)


def test_the_rewrite_is_asked_under_a_schema_that_bounds_text_and_citation() -> None:
    RecordingFake.formats.clear()
    brief = build_brief(story(), tools=_tools(RecordingFake()), provenance=FIXED)
    formats = [f for f in RecordingFake.formats if isinstance(f, dict)]
    assert formats and len(formats) == len(RecordingFake.formats)
    for response_format in formats:
        schema = response_format["schema"]
        assert response_format["type"] == "json_object" and schema["additionalProperties"] is False
        assert schema["properties"]["cites"]["items"]["enum"] == [1]  # one sentence shown: only [1] exists
        assert 0 < schema["properties"]["text"]["maxLength"] <= 320
    assert brief.provenance.rewrites_accepted >= 1
    assert any(s.origin == "rewritten" for s in brief.summary + brief.key_facts)


def test_a_reply_that_ignores_the_schema_falls_back_to_the_quoted_source() -> None:
    for model in (GrammarJunk(), GenericFakeChatModel(messages=iter([AIMessage(content="Sure! Here it is.")] * 40))):
        brief = build_brief(story()[:1], tools=_tools(model), provenance=FIXED)
        shipped = brief.summary + brief.key_facts
        assert shipped and brief.provenance.rewrites_accepted == 0
        assert brief.provenance.rewrites_rejected == len(shipped)
        assert all(s.origin == "quoted" and s.text.startswith("According to Daily Post: \u201c") for s in shipped)
        assert brief.grounded_fraction == 1.0


@pytest.mark.parametrize("reply", [
    '{"text": "Floods struck Marlow.", "cites": [2]}',  # a sentence that was not shown
    '{"text": "Floods struck Marlow.", "cites": [1], "note": "extra"}',  # a key the schema forbids
    json.dumps({"text": "Floods struck Marlow. " * 20, "cites": [1]}),  # longer than the bound
    '{"text": "Floods struck Marlow.", "cites": []}',
])
def test_a_reply_out_of_bounds_is_refused(reply: str) -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage(content=reply)]))
    chat = ChatBackend(model, "test", 8192, lambda t: len(t.split()))
    unit = sentence_units(story()[:1])[0]
    messages = rewrite_messages([unit.text], "Restate [1].")
    assert ask_rewrite(chat, messages, RewriteSchema(1, 120), max_tokens=64) is None


def test_the_fake_fills_the_schema_within_its_bounds() -> None:
    schema = RewriteSchema(sentences=2, max_chars=30, max_cites=2).json_schema()
    filled = fill_rewrite(schema, "Floods struck the coastal town of Marlow on Tuesday [2].")
    assert filled == {"text": "Floods struck the coastal town", "cites": [2]}
    assert Rewrite.model_validate(filled).cites == [2]


# -- the freer path of strong models, against the OpenAI-compatible stub ------------------------------------------


def _joining(body: dict[str, Any]) -> str:
    """A strong model: joins sentence [1] with [2] (both cited), or restates [1] alone when only it was shown."""
    prompt = "\n".join(str(m["content"]) for m in body["messages"])
    shown = {int(n): text for n, text in _SENTENCE.findall(prompt)}
    schema = body["response_format"]["json_schema"]["schema"]
    allowed = schema["properties"]["cites"]
    if "headline" in prompt.splitlines()[-1]:
        return json.dumps({"text": " ".join(shown[1].split()[:8]), "cites": [1]})
    if 2 in shown and allowed.get("maxItems", 1) >= 2:
        return json.dumps({"text": f"{shown[1].rstrip('.')}; {shown[2][0].lower()}{shown[2][1:]}", "cites": [1, 2]})
    return json.dumps({"text": shown[1], "cites": [1]})


@pytest.fixture
def stub_bot(openai_stub: tuple[str, StubState], tmp_path: Path) -> Any:  # noqa: F811
    forget_levels()
    base_url, state = openai_stub
    settings = Settings(llm="openai", embeddings="fake", openai_base_url=base_url, data_dir=tmp_path / "data")
    with Assistant.from_settings(settings) as bot:
        bot.ingest([SEED_FILE])
        yield bot, state
    forget_levels()


def test_a_strong_model_joins_two_sentences_of_one_source_citing_both(stub_bot: Any) -> None:
    bot, state = stub_bot
    state.chat_reply = _joining
    brief = bot.brief(sorted(bot.store.article_ids()))
    assert brief.provenance.retrieval["statements"] == "free"
    chat = [r for r in state.requests if "response_format" in r]
    assert chat and all(r["response_format"]["type"] == "json_schema" for r in chat)
    assert all(r.get("max_completion_tokens") or r.get("max_tokens") for r in chat)
    joined = [s for s in brief.summary + brief.key_facts if s.origin == "rewritten" and len(s.citations) == 2]
    assert joined, "no statement joined two sentences"
    for statement in joined:
        assert len({c.article_id for c in statement.citations}) == 1
        assert all(" ".join(c.quote.split()[1:6]) in statement.text for c in statement.citations)
    assert brief.grounded_fraction >= 0.9 and brief.lint.hits == []
    assert brief.headline == " ".join(brief.summary[0].text.split()[:8])  # written by the model, checked


def test_a_headline_that_adds_a_fact_gives_way_to_the_title(stub_bot: Any) -> None:
    bot, state = stub_bot

    def loaded(body: dict[str, Any]) -> str:
        if "headline" in str(body["messages"][-1]["content"]).splitlines()[-1]:
            return json.dumps({"text": "Terrorists strike Paris again", "cites": [1]})
        return _joining(body)

    state.chat_reply = loaded
    brief = bot.brief(sorted(bot.store.article_ids()))
    assert brief.headline == brief.sources[0].title


def test_a_strong_model_that_adds_a_fact_is_dropped_and_the_source_quoted(stub_bot: Any) -> None:
    bot, state = stub_bot

    def inventing(body: dict[str, Any]) -> str:
        reply = json.loads(_joining(body))
        return json.dumps({**reply, "text": reply["text"].rstrip(".") + ", and 4,000 troops crossed into Syria."})

    state.chat_reply = inventing
    brief = bot.brief(sorted(bot.store.article_ids()))
    shipped = brief.summary + brief.key_facts
    assert shipped and brief.provenance.rewrites_accepted == 0
    assert all(s.origin == "quoted" for s in shipped) and brief.provenance.dropped
    assert not any("4,000 troops" in s.text for s in brief.statements())


def test_a_server_without_json_schema_steps_down_and_still_rewrites(stub_bot: Any) -> None:
    bot, state = stub_bot
    state.refuse_formats = frozenset({"json_schema"})

    def json_mode(body: dict[str, Any]) -> str:
        prompt = "\n".join(str(m["content"]) for m in body["messages"])
        return json.dumps({"text": dict((int(n), t) for n, t in _SENTENCE.findall(prompt))[1], "cites": [1]})

    state.chat_reply = json_mode
    brief = bot.brief(sorted(bot.store.article_ids()))
    kinds = [(r.get("response_format") or {}).get("type") for r in state.requests]
    first = kinds.index("json_object")  # after the refusal (and the client's retries of it), JSON mode only
    assert set(kinds[:first]) == {"json_schema"} and set(kinds[first:]) == {"json_object"}
    assert brief.provenance.rewrites_accepted >= 1


def test_the_freer_path_is_for_remote_models_in_the_abstractive_style(
    openai_stub: tuple[str, StubState], fake_bot: Assistant, tmp_path: Path  # noqa: F811
) -> None:
    assert fake_bot.brief_settings(mode="article")["statements"] == "bounded"
    settings = Settings(llm="openai", embeddings="fake", openai_base_url=openai_stub[0], data_dir=tmp_path / "d",
                        answer_style="extractive")
    with Assistant.from_settings(settings) as bot:
        assert bot.brief_settings(mode="article")["statements"] == "bounded"


# -- llama.cpp's grammar with the real model ----------------------------------------------------------------------


@pytest.mark.slow
def test_smollm2_under_the_grammar_returns_a_rewrite_within_bounds() -> None:
    chat = chat_backend(Settings(llm="local", embeddings="fake"))
    units = [u for u in sentence_units(story()[:1]) if u.full]
    schema = RewriteSchema(sentences=1, max_chars=len(units[1].text) + 24)
    rewrite = ask_rewrite(chat, rewrite_messages([units[1].text], "Restate sentence [1] in plain, neutral words."),
                          schema, max_tokens=schema.max_chars // 3 + 16)
    assert rewrite is not None, "the grammar should make every reply parse"
    assert rewrite.cites == [1] and 0 < len(rewrite.text) <= schema.max_chars
