"""Batched ingestion: full embedder batches, each distinct chunk text embedded once, replacements written safely."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from assistant.errors import StoreError
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


class _Recording(_Counting):
    """Counts like ``_Counting``, remembers which thread embedded, and can fail on a chosen call."""

    def __init__(self, *, fail_on_call: int = 0) -> None:
        super().__init__()
        self.threads: set[str] = set()
        self.fail_on_call = fail_on_call

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        import threading

        self.threads.add(threading.current_thread().name)
        if self.calls + 1 == self.fail_on_call:
            self.calls += 1
            raise StoreError("the embedder failed; try again")
        return super().embed_documents(texts)


def _story_folder(tmp_path: Path, n: int) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    for i in range(n):
        (folder / f"{i}.txt").write_text(f"Story {i} starts with its own line. " + (TEXT_A if i % 2 else TEXT_B),
                                         encoding="utf-8")
    return folder


def test_full_batches_are_embedded_and_written_by_the_writer_while_the_next_files_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.ingestion as ingestion

    monkeypatch.setattr(ingestion.IngestBatch.__init__, "__kwdefaults__", {"max_chunks": 4})
    recording = _Recording()
    with _bot(tmp_path, recording) as bot:
        report = bot.ingest([_story_folder(tmp_path, 8)])
        assert (report.new, report.errors) == (8, [])
        assert report.chunks_added == bot.store.count() and recording.calls == 2  # two batches of 4
        assert {name.split("_")[0] for name in recording.threads} == {"ingest-writer"}
        assert len(bot.store.article_ids()) == 8
        assert bot.store.keyword_chunk_ids() == bot.store.chunk_ids()


def test_a_failed_batch_write_stops_the_ingest_and_the_rerun_stores_everything_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.ingestion as ingestion

    monkeypatch.setattr(ingestion.IngestBatch.__init__, "__kwdefaults__", {"max_chunks": 4})
    folder = _story_folder(tmp_path, 8)
    with _bot(tmp_path, _Recording(fail_on_call=2)) as bot:
        with pytest.raises(StoreError, match="embedder failed"):
            bot.ingest([folder])
        written = bot.store.article_ids()
        assert 0 < len(written) < 8  # the first batch is in; nothing of the failed one
        assert {c.chunk_id.split(":")[0] for c in bot.store.all_chunks()} == written
        assert bot.store.keyword_chunk_ids() == bot.store.chunk_ids()
        bot.embedding.embeddings.fail_on_call = 0  # type: ignore[attr-defined]
        again = bot.ingest([folder])
        assert (again.new, again.unchanged) == (8 - len(written), len(written))
        assert len(bot.store.article_ids()) == 8 and bot.store.keyword_chunk_ids() == bot.store.chunk_ids()


def test_ingest_threads_follow_the_setting_else_the_idle_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.ingestion as ingestion

    assert ingestion.batch_threads_for(3) == 3
    monkeypatch.setattr(ingestion.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(ingestion.os, "getloadavg", lambda: (0.3, 0.0, 0.0))
    assert ingestion.batch_threads_for(None) == 2
    monkeypatch.setattr(ingestion.os, "getloadavg", lambda: (1.2, 0.0, 0.0))  # another process busy
    assert ingestion.batch_threads_for(None) == 1
    monkeypatch.setattr(ingestion.os, "getloadavg", lambda: (6.0, 0.0, 0.0))
    assert ingestion.batch_threads_for(None) == 1


def test_reingesting_unchanged_files_reads_the_store_once_for_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.txt").write_text(f"Story {i} begins here. " + TEXT_A, encoding="utf-8")
    with _bot(tmp_path, _Counting()) as bot:
        assert bot.ingest([folder]).new == 5
        reads: list[str] = []
        for name in ("path_article_ids", "articles_by_path", "_ids_where"):
            original = getattr(ArticleStore, name)

            def spy(self: ArticleStore, *args: object, _name: str = name, _original: object = original,
                    **kwargs: object) -> object:
                reads.append(_name)
                return _original(self, *args, **kwargs)  # type: ignore[operator]

            monkeypatch.setattr(ArticleStore, name, spy)
        again = bot.ingest([folder])
        assert (again.new, again.unchanged, again.replaced) == (0, 5, 0)
        assert reads == ["articles_by_path"]  # one read for the folder; no per-file queries


def test_a_stale_keyword_answer_never_skips_a_changed_file(tmp_path: Path) -> None:
    from assistant.articles import read_file
    from assistant.keyword import KeywordRow

    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text("Story A begins here. " + TEXT_A, encoding="utf-8")
    (folder / "b.txt").write_text("Story B begins here. " + TEXT_B, encoding="utf-8")
    with _bot(tmp_path, _Counting()) as bot:
        assert bot.ingest([folder]).new == 2
        (folder / "a.txt").write_text("Story A was corrected. " + TEXT_A, encoding="utf-8")
        changed = read_file(folder / "a.txt")[0]
        # The keyword index claims the changed text is stored (it is not), and forgets b.txt's (it is).
        bot.store._kw().replace_articles([changed.id], [KeywordRow(chunk_id=f"{changed.id}:0", article_id=changed.id,
                                                                   text="stale")])
        stored_b = bot.store.path_article_ids(str(folder / "b.txt"))
        bot.store._kw().replace_articles(stored_b, [])
        assert bot.store.has_article(changed.id) is False  # the index's "yes" is checked against Chroma
        again = bot.ingest([folder])
        assert (again.new, again.unchanged, again.replaced) == (1, 1, 1)
        assert changed.id in bot.store.article_ids() and len(bot.store.article_ids()) == 2
        assert stored_b <= bot.store.article_ids()  # b.txt's stored ids answered it: unchanged, kept


def test_the_next_batch_is_embedded_while_the_last_is_written_and_no_text_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import assistant.ingestion as ingestion

    monkeypatch.setattr(ingestion.IngestBatch.__init__, "__kwdefaults__", {"max_chunks": 4})
    writers: set[str] = set()
    overlapped: list[bool] = []
    original = ArticleStore.write_embedded

    def slow_write(self: ArticleStore, embedded: object) -> int:
        writers.add(threading.current_thread().name.split("_")[0])
        if not overlapped:  # the embedder starts the next batch while the first is written
            overlapped.append(recording.started.wait(timeout=5))
        return original(self, embedded)  # type: ignore[arg-type]

    class _Started(_Recording):
        def __init__(self) -> None:
            super().__init__()
            self.started = threading.Event()

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            if self.calls:
                self.started.set()
            return super().embed_documents(texts)

    monkeypatch.setattr(ArticleStore, "write_embedded", slow_write)
    recording = _Started()
    with _bot(tmp_path, recording) as bot:
        report = bot.ingest([_story_folder(tmp_path, 16)])
        assert (report.new, report.errors) == (16, [])
        assert writers == {"ingest-store"} and {t.split("_")[0] for t in recording.threads} == {"ingest-writer"}
        assert overlapped[0] is True  # the first write waited for the second batch's embedding to start
        assert len(recording.texts) == len(set(recording.texts))  # a text of the batch before is not embedded again
        assert report.chunks_added == bot.store.count()
        assert bot.store.keyword_chunk_ids() == bot.store.chunk_ids()


def test_after_a_failed_batch_no_later_batch_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.ingestion as ingestion

    monkeypatch.setattr(ingestion.IngestBatch.__init__, "__kwdefaults__", {"max_chunks": 4})
    folder = _story_folder(tmp_path, 16)
    with _bot(tmp_path, _Recording(fail_on_call=2)) as bot:
        with pytest.raises(StoreError, match="embedder failed"):
            bot.ingest([folder])
        first = bot.store.article_ids()
        assert 0 < len(first) <= 4  # the first batch only: the ones after the failed one were dropped
        assert bot.store.keyword_chunk_ids() == bot.store.chunk_ids()
        bot.embedding.embeddings.fail_on_call = 0  # type: ignore[attr-defined]
        again = bot.ingest([folder])
        assert (again.new, again.unchanged) == (16 - len(first), len(first))
