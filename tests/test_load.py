"""Load: 20 concurrent app sessions of 10 questions each, and a 1,000-question soak in one process.

Loopback only, bounded loops, each test stops by itself. The figures (time, memory) are printed for
docs/RELIABILITY.md; the assertions are about errors, isolation and growth, never about speed.
"""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from assistant.service import Assistant
from assistant.ui import build_app

SESSIONS, TURNS = 20, 10
QUESTIONS = [
    "Which areas in southern Lebanon were targeted?",
    "What did Hezbollah launch?",
    "Who carried out the strikes?",
    "What is the best recipe for banana bread?",
    "When did the strikes happen?",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(seeded_bot: Assistant) -> Iterator[tuple[str, Any]]:
    app = build_app(seeded_bot)
    port = _free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/", app
    finally:
        app.close()


def _user_texts(history: list[dict[str, Any]]) -> list[str]:
    texts = []
    for message in history:
        if message.get("role") == "user":
            content = message.get("content")
            texts.append(content if isinstance(content, str) else str(content))
    return texts


def _session(url: str, number: int) -> tuple[int, list[str]]:
    """One user: ``TURNS`` chat turns, each sending back the history the app returned; then one /ask."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    history: list[dict[str, Any]] = []
    problems: list[str] = []
    for turn in range(TURNS):
        question = f"{QUESTIONS[(number + turn) % len(QUESTIONS)]} (session {number}, turn {turn})"
        history, _panel, box = client.predict(question, history, [], "", "", api_name="/chat")
        if box != "":
            problems.append(f"session {number}: the box was not cleared")
        mine = [t for t in _user_texts(history) if f"(session {number}," in t]
        if len(mine) != turn + 1 or len(_user_texts(history)) != turn + 1:
            problems.append(f"session {number} turn {turn}: history holds {_user_texts(history)}")
    result = client.predict(QUESTIONS[0], api_name="/ask")
    if result.get("abstained") is not False:
        problems.append(f"session {number}: /ask abstained")
    client.close()
    return TURNS + 1, problems


@pytest.mark.slow
def test_twenty_concurrent_sessions_are_served_and_isolated(served: tuple[str, Any]) -> None:
    url, app = served
    assert app._queue.max_size is not None and app._queue.max_size >= SESSIONS  # bounded, and room for all
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        results = list(pool.map(lambda n: _session(url, n), range(SESSIONS)))
    elapsed = time.monotonic() - started
    served_count = sum(n for n, _ in results)
    problems = [p for _, ps in results for p in ps]
    print(f"\nload: {SESSIONS} sessions x {TURNS + 1} requests = {served_count} served in {elapsed:.1f} s, "
          f"{len(problems)} problems")
    assert problems == []
    assert served_count == SESSIONS * (TURNS + 1)


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.slow
def test_a_soak_of_a_thousand_questions_holds_memory(seeded_bot: Assistant) -> None:
    warm_up, total = 100, 1000
    history: list[tuple[str, str]] = []
    baseline = 0
    started = time.monotonic()
    for i in range(total):
        if i == warm_up:
            gc.collect()
            baseline = _rss_kb()
        question = f"{QUESTIONS[i % len(QUESTIONS)]} #{i}"
        answer = seeded_bot.ask(question, history=history[-2:])
        history.append((question, answer.answer))
        history = history[-3:]  # a conversation window, as the app keeps
    gc.collect()
    final = _rss_kb()
    growth = (final - baseline) / baseline
    seconds = time.monotonic() - started
    print(f"\nsoak: {total} questions in {seconds:.1f} s; RSS after warm-up {baseline / 1024:.1f} MB, "
          f"at the end {final / 1024:.1f} MB ({growth:+.1%}); threads {threading.active_count()}")
    assert growth < 0.10
