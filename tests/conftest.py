"""Shared fixtures: fake backends for determinism, real ones where a test says so."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.grounding import GroundingChecker
from assistant.keyword import KeywordIndex
from assistant.providers import chat_backend, embedding_backend
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import ArticleStore

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = SEEDS / "000_1ad185ed54b8e960.txt"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's keys or servers."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "CHROMA_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("ASSISTANT_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    return Settings(llm="fake", embeddings="fake", data_dir=tmp_path / "data")


@pytest.fixture
def fake_bot(fake_settings: Settings) -> Iterator[Assistant]:
    """An Assistant on fake models and a fresh ephemeral Chroma collection."""
    embedding = embedding_backend(fake_settings)
    store = ArticleStore.ephemeral(embeddings=embedding.embeddings, embedding_model=embedding.name,
                                   dimension=embedding.dimension)
    bot = Assistant(settings=fake_settings, store=store, embedding=embedding, chat=chat_backend(fake_settings),
                    checker=GroundingChecker(embeddings=embedding.embeddings))
    yield bot
    bot.close()


@pytest.fixture
def seeded_bot(fake_bot: Assistant) -> Assistant:
    report = fake_bot.ingest([SEEDS])
    assert report.new == 1 and not report.errors
    return fake_bot


def spy_calls(monkeypatch: pytest.MonkeyPatch, owner: type, name: str,
              record: Callable[..., Any] = lambda *args, **kwargs: 1) -> list[Any]:
    """Wrap ``owner.name`` so each call is recorded (what ``record`` makes of the call's arguments), then runs."""
    calls: list[Any] = []
    real = getattr(owner, name)

    def spied(self: object, *args: object, **kwargs: object) -> object:
        calls.append(record(*args, **kwargs))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, spied)
    return calls


@pytest.fixture
def refills(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts full refills of a keyword index (each reads every chunk from the server)."""
    return spy_calls(monkeypatch, KeywordIndex, "rebuild")
