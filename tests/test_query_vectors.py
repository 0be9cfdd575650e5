"""The question's MiniLM vector is computed once for retrieval and evidence selection, and is the same vector."""

from __future__ import annotations

import pytest

import assistant.providers as providers
from assistant.providers import MiniLMEmbeddings

pytestmark = pytest.mark.slow


class Counted(MiniLMEmbeddings):
    """The bundled all-MiniLM-L6-v2, recording the texts of each pass."""

    def __init__(self) -> None:
        super().__init__()
        self.passes: list[list[str]] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.passes.append(list(texts))
        return super().embed_documents(texts)


def test_a_question_asked_again_reuses_its_vector_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "QUERY_VECTORS_KEPT", 2)
    minilm = Counted()
    question = "Which areas in southern Lebanon were targeted?"
    first = minilm.embed_query(question)
    first[0] = 99.0  # the caller's copy: the kept vector is not touched
    again = minilm.embed_query(question)
    assert minilm.passes == [[question]]
    assert again == minilm.embed_documents([question])[0]  # bit for bit what a fresh pass gives
    minilm.passes.clear()
    for other in ("How many rockets were fired?", "Who fired them?"):  # two more push the first one out
        minilm.embed_query(other)
    minilm.embed_query(question)
    assert minilm.passes == [["How many rockets were fired?"], ["Who fired them?"], [question]]
