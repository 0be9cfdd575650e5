"""Structured output steps down to what the server accepts (JSON schema, JSON object, prompt and parse), once per
process: against the loopback stub, and against llama-cpp-python's own OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import ModelError
from assistant.grounding import GroundingChecker
from assistant.judge import LLMJudge
from assistant.providers import chat_backend, smollm2_path
from assistant.schemas import SourceText
from assistant.settings import Settings
from assistant.structured import chosen_level, forget_levels
from tests.chroma_server import _free_port, http_ok
from tests.openai_stub import StubState, openai_stub  # noqa: F401

SOURCE = SourceText(id="s1", text="Israeli strikes targeted Khiam in southern Lebanon on Sunday. Hezbollah fired "
                                  "rockets at northern Israel.")
CLAIM = "Israeli strikes targeted Khiam in southern Lebanon."
VERDICT = {"label": "supported", "evidence": 1, "reason": "the sentence says so"}


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    forget_levels()
    yield
    forget_levels()


def _judge(base_url: str, *, retries: int = 0, model: str = "stub-chat") -> LLMJudge:
    settings = Settings(llm="openai", embeddings="fake", openai_base_url=base_url, openai_model=model,
                        openai_max_retries=retries, openai_timeout=60)
    return LLMJudge(model=chat_backend(settings).model, offline=GroundingChecker(embeddings=None))


def _formats(state: StubState) -> list[str]:
    return [(r.get("response_format") or {}).get("type", "none") for r in state.requests]


def _reply(body: dict[str, Any]) -> str:
    return json.dumps(VERDICT)


@pytest.mark.parametrize(("refused", "settles_on", "first_round"), [
    (frozenset(), "json_schema", ["json_schema"]),
    (frozenset({"json_schema"}), "json_mode", ["json_schema", "json_object"]),
    (frozenset({"json_schema", "json_object"}), "prompt", ["json_schema", "json_object", "none"]),
])
def test_steps_down_once_to_what_the_server_accepts(
    openai_stub: tuple[str, StubState], refused: frozenset[str], settles_on: str,  # noqa: F811
    first_round: list[str],
) -> None:
    base_url, state = openai_stub
    state.refuse_formats, state.chat_reply = refused, _reply
    judge = _judge(base_url)
    first = judge.check(CLAIM, [SOURCE])
    assert first.claims[0].label == "supported" and first.claims[0].reason.startswith("judge:")
    assert _formats(state) == first_round
    assert chosen_level(judge.model) == settles_on
    state.requests.clear()
    _judge(base_url).check(CLAIM, [SOURCE])  # a new judge in the same process: no second probe
    assert _formats(state) == [first_round[-1]]


def test_a_server_failing_every_form_is_a_model_error_and_nothing_is_settled(
    openai_stub: tuple[str, StubState],  # noqa: F811
) -> None:
    base_url, state = openai_stub
    state.fail_with = 500
    judge = _judge(base_url)
    with pytest.raises(ModelError, match="HTTP 500"):
        judge.check(CLAIM, [SOURCE])
    assert chosen_level(judge.model) is None
    assert _formats(state) == ["json_schema", "json_object", "none"]


def test_an_unreachable_server_does_not_step_down(tmp_path: Path) -> None:
    judge = _judge(f"http://127.0.0.1:{_free_port()}/v1")
    with pytest.raises(ModelError, match="cannot reach"):
        judge.check(CLAIM, [SOURCE])
    assert chosen_level(judge.model) is None


# -- llama-cpp-python's own server on loopback ---------------------------------------------------------


def _models_up(port: int) -> bool:
    return http_ok(f"http://127.0.0.1:{port}/v1/models")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` serving the bundled SmolLM2 GGUF on a free loopback port."""
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "2048", "--n_threads", "1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
    try:
        deadline = time.monotonic() + 120
        while not _models_up(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start; its log:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_the_llm_judge_works_against_llama_cpp_server(llama_server: str) -> None:
    """That server answers json_schema with HTTP 500 and accepts json_object: the judge settles on JSON mode."""
    judge = _judge(llama_server, model="smollm2")
    report = judge.check(CLAIM, [SOURCE])
    assert len(report.claims) == 1 and report.claims[0].label in {"supported", "unsupported", "contradicted"}
    assert chosen_level(judge.model) == "json_mode"
