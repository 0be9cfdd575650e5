"""ArticleStore against an in-memory Chroma, the embedded persistent store, and a real `chroma run` server."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from assistant.errors import EmbeddingMismatchError, StoreError, StoreLockedError
from assistant.schemas import Article, Chunk
from assistant.settings import Settings
from assistant.store import ArticleStore, build_filter
from tests.chroma_server import chroma_server  # noqa: F401

DIM = 16
MODEL = "fake-16"
REPO = Path(__file__).resolve().parents[1]

TEXT_A = "The council approved the budget on Monday. Critics said it cuts libraries. The mayor disagreed."
TEXT_B = "Floods closed the northern highway. Engineers expect repairs to take a week."
TEXT_C = "A new bridge design was unveiled. Its cost has not been disclosed."


def _embeddings() -> DeterministicFakeEmbedding:
    return DeterministicFakeEmbedding(size=DIM)


def _article(text: str, *, source: str = "Reuters", published: date | None = None, path: str | None = None) -> Article:
    return Article(
        id=hashlib.sha256(text.encode()).hexdigest()[:16],
        title=text.split(".")[0],
        source=source,
        published=published,
        url=f"https://example.org/{source.lower()}",
        path=path,
        text=text,
    )


def _chunks(article: Article) -> list[Chunk]:
    """One chunk per sentence, with true offsets into the article text."""
    chunks = []
    for n, match in enumerate(re.finditer(r"[^.]+\.", article.text)):
        start = match.start() + (len(match.group()) - len(match.group().lstrip()))
        text = article.text[start : match.end()]
        chunks.append(
            Chunk(
                id=f"{article.id}:{n}",
                article_id=article.id,
                n=n,
                text=text,
                start=start,
                end=match.end(),
                tokens=len(text.split()),
            )
        )
    return chunks


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    base: dict[str, object] = {"data_dir": tmp_path / "data", "collection": "articles", "chroma_host": None}
    return Settings(**{**base, **overrides})  # type: ignore[arg-type]


def _open(settings: Settings, *, model: str = MODEL, size: int = DIM) -> ArticleStore:
    return ArticleStore.open(
        settings=settings, embeddings=DeterministicFakeEmbedding(size=size), embedding_model=model, dimension=size
    )


@pytest.fixture(params=["ephemeral", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArticleStore]:
    """The same store API on an in-memory Chroma and on the real `chroma run` server (fresh collection each)."""
    if request.param == "server":
        host, port = request.getfixturevalue("chroma_server")
        settings = _settings(tmp_path, chroma_host=host, chroma_port=port, collection=f"t-{uuid.uuid4().hex[:12]}")
        opened = _open(settings)
    else:
        opened = ArticleStore.ephemeral(embeddings=_embeddings(), embedding_model=MODEL, dimension=DIM)
    with opened:
        yield opened


# -- the shared API, on both backends ----------------------------------------------------------------


def test_add_and_count(store: ArticleStore) -> None:
    article = _article(TEXT_A, path="news/a.txt")
    before = store.version
    assert store.add_article(article, _chunks(article)) == 3
    assert store.count() == 3
    assert store.article_ids() == {article.id}
    assert store.has_article(article.id)
    assert not store.has_article("0" * 16)
    assert store.path_article_ids("news/a.txt") == {article.id}
    assert store.path_article_ids("news/other.txt") == set()
    assert store.version > before


def test_upsert_is_idempotent(store: ArticleStore) -> None:
    article = _article(TEXT_A)
    store.add_article(article, _chunks(article))
    store.add_article(article, _chunks(article))
    assert store.count() == 3
    assert sorted(c.chunk_id for c in store.all_chunks()) == sorted(c.id for c in _chunks(article))


def test_delete_article(store: ArticleStore) -> None:
    a, b = _article(TEXT_A), _article(TEXT_B)
    store.add_article(a, _chunks(a))
    store.add_article(b, _chunks(b))
    version = store.version
    assert store.delete_article(a.id) == 3
    assert store.count() == 2
    assert store.article_ids() == {b.id}
    assert store.version > version
    assert store.delete_article(a.id) == 0


def test_dense_search_finds_each_chunk_by_its_own_embedding(store: ArticleStore) -> None:
    a, b = _article(TEXT_A, published=date(2024, 5, 1)), _article(TEXT_B)
    store.add_article(a, _chunks(a))
    store.add_article(b, _chunks(b))
    for chunk in _chunks(a) + _chunks(b):
        vector = _embeddings().embed_documents([chunk.text])[0]
        hits = store.dense_search(vector, k=3)
        assert len(hits) == 3
        best, similarity = hits[0]
        assert best.chunk_id == chunk.id
        assert similarity == pytest.approx(1.0, abs=1e-4)
        assert best.similarity == similarity
        assert (best.text, best.start, best.end) == (chunk.text, chunk.start, chunk.end)
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        assert all(-1.0 - 1e-5 <= s <= 1.0 + 1e-5 for _, s in hits)  # cosine space (l2 would go far below -1)
    first = store.dense_search(_embeddings().embed_documents([_chunks(a)[0].text])[0], k=1)[0][0]
    assert (first.article_id, first.title, first.source) == (a.id, a.title, "Reuters")
    assert (first.published, first.url) == (date(2024, 5, 1), "https://example.org/reuters")


def test_filters_by_source_and_date(store: ArticleStore) -> None:
    a = _article(TEXT_A, source="Reuters", published=date(2024, 5, 1))
    b = _article(TEXT_B, source="AP", published=date(2024, 6, 10))
    c = _article(TEXT_C, source="AP")  # undated
    for article in (a, b, c):
        store.add_article(article, _chunks(article))

    def articles(where: dict[str, object] | None) -> set[str]:
        return {chunk.article_id for chunk in store.all_chunks(where=where)}

    assert articles(build_filter(sources=["AP"])) == {b.id, c.id}
    assert articles({"source": "Reuters"}) == {a.id}
    assert articles(build_filter(since=date(2024, 6, 1))) == {b.id}
    assert articles(build_filter(until=date(2024, 5, 31))) == {a.id}
    assert articles(build_filter(since=date(2024, 5, 1), until=date(2024, 6, 10))) == {a.id, b.id}
    assert articles(build_filter(sources=["AP"], until=date(2024, 5, 31))) == set()
    query = _embeddings().embed_documents([_chunks(a)[0].text])[0]
    hits = store.dense_search(query, k=10, where=build_filter(sources=["AP"], since=date(2024, 1, 1)))
    assert {chunk.article_id for chunk, _ in hits} == {b.id}


def test_get_chunks_and_embeddings_by_id(store: ArticleStore) -> None:
    article = _article(TEXT_A)
    chunks = _chunks(article)
    store.add_article(article, chunks)
    wanted = [chunks[2].id, "missing:0", chunks[0].id]
    assert [c.chunk_id for c in store.get_chunks(wanted)] == [chunks[2].id, chunks[0].id]
    vectors = store.get_embeddings(wanted)
    assert set(vectors) == {chunks[2].id, chunks[0].id}
    expected = _embeddings().embed_documents([chunks[0].text])[0]
    assert vectors[chunks[0].id] == pytest.approx(expected, abs=1e-5)
    assert store.get_chunks([]) == [] and store.get_embeddings([]) == {}


# -- behaviour that does not depend on the backend -----------------------------------------------------


def _ephemeral() -> ArticleStore:
    return ArticleStore.ephemeral(embeddings=_embeddings(), embedding_model=MODEL, dimension=DIM)


def test_build_filter_shapes() -> None:
    assert build_filter() is None
    assert build_filter(sources=[]) is None
    assert build_filter(sources=["AP"]) == {"source": {"$in": ["AP"]}}
    until_only = build_filter(until=date(2024, 1, 2))
    assert until_only == {"$and": [{"published_ord": {"$gt": 0}}, {"published_ord": {"$lte": 738887}}]}


def test_ephemeral_stores_are_isolated() -> None:
    article = _article(TEXT_A)
    with _ephemeral() as first, _ephemeral() as second:
        first.add_article(article, _chunks(article))
        assert (first.count(), second.count()) == (3, 0)


def test_empty_chunk_text_is_refused_and_nothing_written() -> None:
    article = _article(TEXT_A)
    chunks = _chunks(article)
    chunks[1] = chunks[1].model_copy(update={"text": "   "})
    with _ephemeral() as store:
        with pytest.raises(ValueError, match="empty text"):
            store.add_article(article, chunks)
        assert store.count() == 0


class _FailingSecondBatch(Embeddings):
    """Embeds the first batch, fails on the second: the store must not have written the first."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.batches.append(len(texts))
        if len(self.batches) > 1:
            raise ConnectionError("embedding server went away")
        return _embeddings().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return _embeddings().embed_query(text)


def test_embeds_everything_in_batches_before_writing() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(70))
    article = _article(text)
    failing = _FailingSecondBatch()
    with ArticleStore.ephemeral(embeddings=failing, embedding_model=MODEL, dimension=DIM) as store:
        with pytest.raises(ConnectionError):
            store.add_article(article, _chunks(article))
        assert failing.batches == [64, 6]
        assert store.count() == 0


def test_query_with_wrong_dimension_is_a_mismatch() -> None:
    with _ephemeral() as store, pytest.raises(EmbeddingMismatchError, match="8-dim"):
        store.dense_search([0.1] * 8, k=3)


def test_all_chunks_pages_through_the_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("assistant.store._PAGE", 2)
    a, b = _article(TEXT_A, path="a.txt"), _article(TEXT_B, path="a.txt")
    with _ephemeral() as store:
        store.add_article(a, _chunks(a))
        store.add_article(b, _chunks(b))
        assert sorted(c.chunk_id for c in store.all_chunks()) == sorted(c.id for c in _chunks(a) + _chunks(b))
        assert store.article_ids() == store.path_article_ids("a.txt") == {a.id, b.id}


def test_closed_store_says_so() -> None:
    store = _ephemeral()
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        store.count()


# -- the embedded persistent store -------------------------------------------------------------------


def test_persists_across_close_and_reopen(tmp_path: Path) -> None:
    article = _article(TEXT_A, path="a.txt")
    with _open(_settings(tmp_path)) as store:
        store.add_article(article, _chunks(article))
    with _open(_settings(tmp_path)) as store:
        assert store.count() == 3
        assert store.path_article_ids("a.txt") == {article.id}
        vector = _embeddings().embed_documents([_chunks(article)[1].text])[0]
        assert store.dense_search(vector, k=1)[0][0].chunk_id == _chunks(article)[1].id


def test_other_embedding_model_is_refused(tmp_path: Path) -> None:
    with _open(_settings(tmp_path)) as store:
        store.add_article(_article(TEXT_A), _chunks(_article(TEXT_A)))
    with pytest.raises(EmbeddingMismatchError, match=r"built with fake-16 \(16 dims\), not other-model \(16\)"):
        _open(_settings(tmp_path), model="other-model")
    with pytest.raises(EmbeddingMismatchError, match="ASSISTANT_EMBEDDINGS"):
        _open(_settings(tmp_path), size=8)
    with _open(_settings(tmp_path)) as store:  # the refused opens released the lock
        assert store.count() == 3


def test_second_open_of_a_data_dir_is_locked(tmp_path: Path) -> None:
    with _open(_settings(tmp_path)):
        started = time.monotonic()
        with pytest.raises(StoreLockedError, match=f"in use by another assistant process \\(pid {os.getpid()}\\)"):
            _open(_settings(tmp_path))
        assert time.monotonic() - started < 2
    with _open(_settings(tmp_path)) as store:
        assert store.count() == 0


def test_second_process_is_refused_fast(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from langchain_core.embeddings import DeterministicFakeEmbedding
        from assistant.settings import Settings
        from assistant.store import ArticleStore
        settings = Settings(data_dir={str(tmp_path / "data")!r}, chroma_host=None)
        ArticleStore.open(settings=settings, embeddings=DeterministicFakeEmbedding(size={DIM}),
                          embedding_model={MODEL!r}, dimension={DIM})
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with _open(_settings(tmp_path)):
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=10)
        elapsed = time.monotonic() - started
    assert proc.returncode != 0
    assert "StoreLockedError" in proc.stderr
    assert f"in use by another assistant process (pid {os.getpid()})" in proc.stderr
    assert elapsed < 10


# -- the server client -------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_fails_fast(tmp_path: Path) -> None:
    port = _closed_port()
    settings = _settings(tmp_path, chroma_host="127.0.0.1", chroma_port=port, chroma_timeout=2.0)
    started = time.monotonic()
    with pytest.raises(StoreError, match=f"cannot reach the Chroma server at http://127.0.0.1:{port}") as err:
        _open(settings)
    assert time.monotonic() - started < 10
    assert f"chroma run --host 127.0.0.1 --port {port}" in str(err.value)
    assert "unset CHROMA_HOST" in str(err.value)
    assert not (tmp_path / "data").exists()  # server mode never touches the embedded store
