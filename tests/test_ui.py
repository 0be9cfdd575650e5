"""The chat app: handlers as plain functions, the app over HTTP through gradio_client."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import gradio as gr
import pytest

from assistant.service import Assistant
from assistant.ui import answer_markdown, ask_api, build_app, history_pairs, respond


def test_respond_appends_the_turn_with_sources(seeded_bot: Assistant) -> None:
    history, box = respond(seeded_bot, "Which areas in southern Lebanon were targeted?", [])
    assert box == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert "**Sources**" in history[1]["content"] and "Khiam" in history[1]["content"]


def test_history_pairs_feed_follow_ups(seeded_bot: Assistant) -> None:
    history, _ = respond(seeded_bot, "What did Hezbollah launch?", [])
    pairs = history_pairs(history)
    assert pairs[0][0] == "What did Hezbollah launch?"
    assert "**Sources**" not in pairs[0][1]
    blocks = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}, {"role": "assistant", "content": "Yo"}]
    assert history_pairs(blocks) == [("Hi", "Yo")]


def test_abstention_is_shown_plainly(seeded_bot: Assistant) -> None:
    answer = seeded_bot.ask("What is the best recipe for banana bread?")
    assert answer_markdown(answer).startswith("The sources do not say.")


def test_errors_become_gradio_errors(seeded_bot: Assistant) -> None:
    with pytest.raises(gr.Error):
        respond(seeded_bot, "   ", [])
    with pytest.raises(gr.Error):
        ask_api(seeded_bot, "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(seeded_bot: Assistant) -> Iterator[str]:
    app = build_app(seeded_bot)
    port = _free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def test_the_app_answers_over_http(served: str) -> None:
    from gradio_client import Client

    client = Client(served, verbose=False)
    result = client.predict("Which areas in southern Lebanon were targeted?", api_name="/ask")
    assert result["abstained"] is False
    assert any("Khiam" in c["quote"] for c in result["citations"])
    off = client.predict("What is the best recipe for banana bread?", api_name="/ask")
    assert off["abstained"] is True and off["citations"] == []
