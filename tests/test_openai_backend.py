"""The scale-out path: an OpenAI-compatible server (here a stub on loopback) for chat and embeddings."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from assistant.errors import ModelError
from assistant.service import Assistant
from assistant.settings import Settings
from tests.conftest import SEEDS
from tests.openai_stub import StubState, openai_stub  # noqa: F401


def settings_for(base_url: str, tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "llm": "openai", "embeddings": "openai", "openai_base_url": base_url, "openai_api_key": "sk-test",
        "openai_model": "stub-chat", "openai_embedding_model": "stub-embed", "openai_max_retries": 0,
        "openai_timeout": 5, "data_dir": tmp_path / "data",
    }
    return Settings(**{**values, **extra})  # type: ignore[arg-type]


def test_ingest_and_ask_through_an_openai_compatible_server(
    openai_stub: tuple[str, StubState], tmp_path: Path  # noqa: F811
) -> None:
    base_url, state = openai_stub
    with Assistant.from_settings(settings_for(base_url, tmp_path)) as bot:
        assert bot.embedding.dimension == 384  # probed from the server
        assert bot.ingest([SEEDS]).new == 1
        answer = bot.ask("Which areas in southern Lebanon were targeted?")
    assert not answer.abstained and answer.model == "stub-chat"
    assert any("Khiam" in c.quote for c in answer.citations)
    assert "/v1/chat/completions" in state.paths and "/v1/embeddings" in state.paths
    chat_request = next(r for r, p in zip(state.requests, state.paths, strict=True) if p.endswith("completions"))
    assert chat_request["model"] == "stub-chat" and chat_request["temperature"] == 0


def test_no_key_is_sent_in_clear_text_anywhere(openai_stub: tuple[str, StubState], tmp_path: Path) -> None:  # noqa: F811
    settings = settings_for(openai_stub[0], tmp_path)
    assert "sk-test" not in repr(settings) and "sk-test" not in settings.model_dump_json()


@pytest.mark.parametrize(("status", "words"), [(500, "HTTP 500"), (401, "API key"), (404, "not found")])
def test_server_failures_are_one_line_model_errors(
    openai_stub: tuple[str, StubState], tmp_path: Path, status: int, words: str  # noqa: F811
) -> None:
    base_url, state = openai_stub
    with Assistant.from_settings(settings_for(base_url, tmp_path, embeddings="fake")) as bot:
        bot.ingest([SEEDS])
        state.fail_with = status
        with pytest.raises(ModelError) as caught:
            bot.ask("Which areas in southern Lebanon were targeted?")
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert len(state.requests) == 1  # max_retries=0: no retry storm


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ModelError, match="cannot reach"), Assistant.from_settings(
        settings_for(f"http://127.0.0.1:{port}/v1", tmp_path)
    ):
        pass


def test_openai_without_key_or_server_says_what_to_set(tmp_path: Path) -> None:
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        Assistant.from_settings(Settings(llm="openai", embeddings="fake", data_dir=tmp_path))


def test_llm_judge_mode_is_wired_and_falls_back_to_the_offline_checker(
    openai_stub: tuple[str, StubState], tmp_path: Path  # noqa: F811
) -> None:
    from assistant.judge import LLMJudge

    base_url, state = openai_stub
    with Assistant.from_settings(settings_for(base_url, tmp_path, grounding_judge="llm")) as bot:
        assert isinstance(bot.checker, LLMJudge)
        bot.ingest([SEEDS])
        answer = bot.ask("Which areas in southern Lebanon were targeted?")
    judged = [r for r in state.requests if "response_format" in r]
    assert judged, "the judge asked the server for structured verdicts"
    assert not answer.abstained and any("Khiam" in c.quote for c in answer.citations)
