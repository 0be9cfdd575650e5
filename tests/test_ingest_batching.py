"""Batched ingestion: full embedder batches, each distinct chunk text embedded once, replacements written safely."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from assistant.grounding import GroundingChecker
from assistant.providers import MiniLMEmbeddings, batch_threads, chat_backend, embedding_backend
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import ArticleStore
from tests.test_store import DIM, MODEL, TEXT_A, TEXT_B, _article, _chunks


class _Counting(Embeddings):
    """Deterministic vectors, and a record of every text embedded."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts.extend(texts)
        return DeterministicFakeEmbedding(size=DIM).embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return DeterministicFakeEmbedding(size=DIM).embed_query(text)


def test_identical_chunk_texts_are_embedded_once() -> None:
    counting = _Counting()
    a = _article(TEXT_A)
    copy = _article(TEXT_A + " Reporting by a wire service.")  # a syndicated copy: same sentences, one more
    with ArticleStore.ephemeral(embeddings=counting, embedding_model=MODEL, dimension=DIM) as store:
        assert store.add_articles([(a, _chunks(a)), (copy, _chunks(copy))]) == 7
        assert sorted(counting.texts) == sorted({c.text for c in _chunks(copy)})  # 4 distinct of 7
        assert counting.calls == 1
        later = _article("Prefix sentence here. " + TEXT_A)
        store.add_article(later, _chunks(later))
        assert counting.texts[-1] == "Prefix sentence here."  # only the new sentence; the rest reused
        assert len(counting.texts) == 5
        vector = DeterministicFakeEmbedding(size=DIM).embed_documents([_chunks(a)[0].text])[0]
        reused = store.get_embeddings([f"{later.id}:1"])[f"{later.id}:1"]
        assert reused == pytest.approx(vector, abs=1e-6)
        assert store.keyword_chunk_ids() == store.chunk_ids()


def _bot(tmp_path: Path, embeddings: Embeddings) -> Assistant:
    settings = Settings(llm="fake", embeddings="fake", data_dir=tmp_path / "data")
    backend = dataclasses.replace(embedding_backend(settings), embeddings=embeddings, name=MODEL, dimension=DIM)
    store = ArticleStore.ephemeral(embeddings=embeddings, embedding_model=MODEL, dimension=DIM)
    return Assistant(settings=settings, store=store, embedding=backend, chat=chat_backend(settings),
                     checker=GroundingChecker(embeddings=embeddings))


def test_ingest_batches_articles_across_files_and_replaces_after_writing(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    for i in range(6):
        (folder / f"{i}.txt").write_text(f"Story {i} begins here. " + (TEXT_A if i % 2 else TEXT_B), encoding="utf-8")
    (folder / "dup.txt").write_text("Story 0 begins here. " + TEXT_B, encoding="utf-8")  # same text as 0.txt
    counting = _Counting()
    with _bot(tmp_path, counting) as bot:
        report = bot.ingest([folder])
        assert (report.new, report.unchanged, report.replaced) == (6, 1, 0)
        assert counting.calls == 1  # one embedding pass for the whole folder
        (folder / "3.txt").write_text("Story 3 was corrected. " + TEXT_A, encoding="utf-8")
        again = bot.ingest([folder])
        assert (again.new, again.unchanged, again.replaced) == (1, 6, 1)
        assert counting.calls == 2 and counting.texts[-1].startswith("Story 3 was corrected.")
        assert {c.chunk_id.split(":")[0] for c in bot.store.all_chunks()} == bot.store.article_ids()
        assert len(bot.store.article_ids()) == 6
        assert bot.store.keyword_chunk_ids() == bot.store.chunk_ids()


def test_batch_threads_switch_minilm_and_restore_it() -> None:
    minilm = MiniLMEmbeddings(threads=1)
    with batch_threads(minilm, 2):
        assert minilm.threads == 2
    assert minilm.threads == 1
    other = DeterministicFakeEmbedding(size=DIM)
    with batch_threads(other, 2):
        pass  # other embeddings are left alone
