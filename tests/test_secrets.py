"""An API key never shows: not in logs, errors, the terminal, eval reports, stored metadata or the app."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from assistant.errors import ModelError
from assistant.redaction import redact
from assistant.service import Assistant
from assistant.settings import Settings
from tests.cli_helpers import run_cli
from tests.conftest import SEEDS
from tests.openai_stub import StubState, openai_stub  # noqa: F401

CANARY = "sk-CANARY-7f3a9c1e5b2d4f6a8c0e"


def _settings(base_url: str, tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "llm": "openai", "embeddings": "openai", "openai_base_url": base_url, "openai_api_key": CANARY,
        "openai_model": "stub-chat", "openai_embedding_model": "stub-embed", "openai_max_retries": 0,
        "openai_timeout": 5, "data_dir": tmp_path / "data",
    }
    return Settings(**{**values, **extra})  # type: ignore[arg-type]


def _files_hold(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_redact_removes_remembered_and_key_shaped_secrets() -> None:
    assert redact("Authorization: Bearer abc.def-ghi_jkl") == "Authorization: [redacted]"
    assert redact("key sk-proj-AbCdEf0123456789 refused") == "key [redacted] refused"
    assert redact("url?api_key=s3cr3tvalue&x=1") == "url?[redacted]&x=1"
    assert redact("Khiam was struck on Sunday.") == "Khiam was struck on Sunday."


@pytest.mark.parametrize("status", [401, 500, 429])
def test_a_server_echoing_the_key_does_not_leak_it(
    openai_stub: tuple[str, StubState], tmp_path: Path, status: int, caplog: pytest.LogCaptureFixture,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    base_url, state = openai_stub
    caplog.set_level(logging.DEBUG)
    with Assistant.from_settings(_settings(base_url, tmp_path)) as bot:
        bot.ingest([SEEDS])
        state.fail_with, state.fail_body = status, f"Incorrect API key provided: {CANARY}. Headers: Bearer {CANARY}"
        with pytest.raises(ModelError) as err:
            bot.ask("Which areas in southern Lebanon were targeted?")
    assert state.headers[-1]["authorization"] == f"Bearer {CANARY}"  # it was sent, so it could be echoed
    out = capsys.readouterr()
    for text in (str(err.value), repr(err.value), caplog.text, out.out, out.err):
        assert CANARY not in text
    assert CANARY[:12] not in str(err.value)


def test_the_store_holds_no_key(openai_stub: tuple[str, StubState], tmp_path: Path) -> None:  # noqa: F811
    with Assistant.from_settings(_settings(openai_stub[0], tmp_path)) as bot:
        bot.ingest([SEEDS])
        answer = bot.ask("Which areas in southern Lebanon were targeted?")
    assert CANARY not in answer.model_dump_json()
    assert _files_hold(tmp_path / "data", CANARY) == []
    assert (tmp_path / "data").exists()


def test_the_command_line_never_prints_the_key(openai_stub: tuple[str, StubState], tmp_path: Path) -> None:  # noqa: F811
    base_url, state = openai_stub
    env = {"ASSISTANT_LLM": "openai", "ASSISTANT_EMBEDDINGS": "fake", "OPENAI_BASE_URL": base_url,
           "OPENAI_API_KEY": CANARY, "ASSISTANT_OPENAI_MAX_RETRIES": "0"}
    assert run_cli(["ingest", str(SEEDS)], tmp_path / "store", **env).returncode == 0
    state.fail_with, state.fail_body = 401, f"Incorrect API key provided: {CANARY}"
    failed = run_cli(["ask", "Which areas in southern Lebanon were targeted?"], tmp_path / "store", **env)
    assert failed.returncode == 4 and "refused the API key" in failed.stderr
    assert CANARY not in failed.stdout + failed.stderr


@pytest.mark.slow
def test_eval_reports_hold_no_key(openai_stub: tuple[str, StubState], tmp_path: Path) -> None:  # noqa: F811
    base_url, _ = openai_stub
    env = {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": CANARY, "ASSISTANT_EMBEDDINGS": "fake",
           "ASSISTANT_OPENAI_MAX_RETRIES": "0"}
    out = tmp_path / "reports"
    result = run_cli(["eval", "--llm", "openai", "--out", str(out)], tmp_path / "unused", **env)
    assert (out / "report.json").is_file(), result.stderr[-2000:]
    assert _files_hold(out, CANARY) == [] and CANARY not in result.stdout + result.stderr


def test_the_app_shows_no_key_and_listens_on_loopback(
    openai_stub: tuple[str, StubState], tmp_path: Path  # noqa: F811
) -> None:
    import gradio as gr

    from assistant.ui import build_app, chat

    base_url, state = openai_stub
    assert Settings().host == "127.0.0.1"
    with Assistant.from_settings(_settings(base_url, tmp_path, embeddings="fake")) as bot:
        bot.ingest([SEEDS])
        app = build_app(bot)
        assert CANARY not in str(app.config)
        state.fail_with, state.fail_body = 500, f"upstream said: key={CANARY}"
        with pytest.raises(gr.Error) as err:
            list(chat(bot, "Which areas in southern Lebanon were targeted?", [], []))
    assert CANARY not in str(err.value) and "HTTP 500" in str(err.value)
