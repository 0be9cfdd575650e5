"""Filtered dense search served from the keyword index's fields: same chunks as Chroma's own filter, none outside it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from assistant.keyword import KeywordRow
from assistant.retrieval import HybridRetriever
from assistant.schemas import Article, Chunk, RetrievedChunk
from assistant.settings import Settings
from assistant.store import ArticleStore, FilterPath, matches_filter, pick_filter_path
from tests.chroma_server import chroma_server  # noqa: F401

DIM = 64
SOURCES = ["Reuters", "AP", "AFP", "BBC"]
WORDS = ("council budget flood bridge election strike court police port storm minister market school hospital "
         "ceasefire talks border fire rescue protest").split()
FILTERS: list[dict[str, object]] = [
    {"sources": ["AP"]},
    {"sources": ["AP", "BBC"], "since": date(2024, 2, 1)},
    {"since": date(2024, 3, 1), "until": date(2024, 3, 20)},
    {"until": date(2024, 1, 15)},
    {"sources": ["AFP"], "until": date(2024, 2, 10)},
    {"sources": ["nobody"]},
]
PATHS: list[FilterPath] = ["direct", "overfetch", "auto"]


def _embeddings() -> DeterministicFakeEmbedding:
    """Vectors drawn at random per text: no ties between chunks, so rankings compare exactly."""
    return DeterministicFakeEmbedding(size=DIM)


def _corpus(seed: int = 3) -> Iterator[tuple[Article, list[Chunk]]]:
    """60 articles of 5 chunks over four sources and 90 days; every tenth one undated."""
    rng = random.Random(seed)
    for i in range(60):
        texts = [" ".join(rng.sample(WORDS, 6)) + f" item{rng.randint(1, 40)}." for _ in range(5)]
        published = None if i % 10 == 9 else date(2024, 1, 1) + timedelta(days=(i * 7) % 90)
        article = Article(id=f"a{i:03d}", title=f"Report {i}", source=SOURCES[i % 4], published=published,
                          text=" ".join(texts))
        chunks, start = [], 0
        for n, text in enumerate(texts):
            chunks.append(Chunk(id=f"a{i:03d}:{n}", article_id=article.id, n=n, text=text, start=start,
                                end=start + len(text), tokens=len(text.split())))
            start += len(text) + 1
        yield article, chunks


@pytest.fixture(scope="module")
def store() -> Iterator[ArticleStore]:
    with ArticleStore.ephemeral(embeddings=_embeddings(), embedding_model="hash", dimension=DIM) as s:
        s.add_articles(list(_corpus()))
        yield s


def _queries(n: int = 12) -> list[list[float]]:
    rng = random.Random(8)
    embeddings = _embeddings()
    return [embeddings.embed_query(" ".join(rng.sample(WORDS, 3))) for _ in range(n)]


def _inside(chunk: RetrievedChunk, limits: dict[str, object]) -> bool:
    day = chunk.published.toordinal() if chunk.published else 0
    return matches_filter({"source": chunk.source, "published_ord": day}, **limits)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("limits", FILTERS, ids=str)
def test_each_path_finds_what_chromas_own_filter_finds(store: ArticleStore, path: FilterPath,
                                                       limits: dict[str, object]) -> None:
    for query in _queries():
        want = store.filtered_dense_search(query, k=10, path="chroma", **limits)  # type: ignore[arg-type]
        got = store.filtered_dense_search(query, k=10, path=path, **limits)  # type: ignore[arg-type]
        assert [c.chunk_id for c, _ in got] == [c.chunk_id for c, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-4)
        assert [c.text for c, _ in got] == [c.text for c, _ in want]


@pytest.mark.parametrize("path", PATHS)
def test_no_hit_is_ever_outside_the_filter(store: ArticleStore, path: FilterPath) -> None:
    rng = random.Random(1)
    for query in _queries(30):
        start = date(2024, 1, 1) + timedelta(days=rng.randint(0, 80))
        limits: dict[str, object] = {"sources": rng.sample(SOURCES, rng.randint(1, 3)), "since": start,
                                     "until": start + timedelta(days=rng.randint(0, 30))}
        hits = store.filtered_dense_search(query, k=20, path=path, **limits)  # type: ignore[arg-type]
        assert all(_inside(chunk, limits) for chunk, _ in hits)
        everything = {c.chunk_id for c in store.all_chunks() if _inside(c, limits)}
        assert len(hits) == min(20, len(everything))


def test_a_keyword_index_out_of_step_lets_nothing_outside_the_filter_through() -> None:
    with ArticleStore.ephemeral(embeddings=_embeddings(), embedding_model="hash", dimension=DIM) as s:
        s.add_articles(list(_corpus())[:8])
        reuters = [c for c in s.all_chunks() if c.source == "Reuters"]
        # The keyword index wrongly files a Reuters article under AP (as a write cut short could leave it).
        s._kw().replace_articles([reuters[0].article_id], [
            KeywordRow(chunk_id=c.chunk_id, article_id=c.article_id, source="AP", text=c.text)
            for c in reuters if c.article_id == reuters[0].article_id
        ])
        query = _embeddings().embed_query(reuters[0].text)
        for path in PATHS:
            hits = s.filtered_dense_search(query, k=10, sources=["AP"], path=path)
            assert hits and all(chunk.source == "AP" for chunk, _ in hits)


def test_the_retriever_returns_the_same_chunks_either_way(store: ArticleStore) -> None:
    embeddings = _embeddings()
    fast = HybridRetriever(store=store, embeddings=embeddings)
    slow = HybridRetriever(store=store, embeddings=embeddings, dense_filter="chroma")
    for limits in FILTERS:
        for question in ("council budget vote", "flood at the port", "storm rescue item7"):
            a = fast.retrieve(question, **limits)  # type: ignore[arg-type]
            b = slow.retrieve(question, **limits)  # type: ignore[arg-type]
            assert [c.chunk_id for c in a.chunks] == [c.chunk_id for c in b.chunks]


def test_the_count_picks_the_path() -> None:
    assert pick_filter_path(500, 100_000, 20) == "direct"  # few chunks left: read and score them
    assert pick_filter_path(24_000, 100_000, 20) == "overfetch"  # a quarter left: search wider, then filter
    assert pick_filter_path(1000, 100_000, 20) == "direct"
    assert pick_filter_path(3000, 100_000, 20) == "overfetch"
    assert pick_filter_path(0, 100, 20) == "direct"
    assert pick_filter_path(1200, 100_000, 20) == "direct"
    assert pick_filter_path(1200, 100_000, 20, server=True) == "overfetch"  # vectors cost more over HTTP


def test_an_unfiltered_search_is_unchanged(store: ArticleStore) -> None:
    query = _queries(1)[0]
    plain = store.dense_search(query, k=10)
    assert [c.chunk_id for c, _ in store.filtered_dense_search(query, k=10)] == [c.chunk_id for c, _ in plain]


def test_an_overfetch_that_falls_short_is_widened_until_it_finds_k(
    store: ArticleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.store as store_module

    monkeypatch.setattr(store_module, "_OVERFETCH", 0.2)  # the first search brings back fewer than k inside
    for limits in FILTERS[:3]:
        for query in _queries(4):
            want = store.filtered_dense_search(query, k=10, path="chroma", **limits)  # type: ignore[arg-type]
            got = store.filtered_dense_search(query, k=10, path="overfetch", **limits)  # type: ignore[arg-type]
            assert len(got) == 10
            assert [c.chunk_id for c, _ in got] == [c.chunk_id for c, _ in want]


@pytest.mark.slow
def test_against_a_chroma_server_each_path_finds_what_its_filter_finds(
    tmp_path: Path, chroma_server: tuple[str, int]  # noqa: F811
) -> None:
    host, port = chroma_server
    settings = Settings(data_dir=tmp_path / "data", chroma_host=host, chroma_port=port,
                        collection=f"f-{random.randrange(1 << 40):x}")
    with ArticleStore.open(settings=settings, embeddings=_embeddings(), embedding_model="fake", dimension=DIM) as s:
        s.add_articles(list(_corpus()))
        for limits in FILTERS:
            for query in _queries(3):
                want = s.filtered_dense_search(query, k=10, path="chroma", **limits)  # type: ignore[arg-type]
                for path in PATHS:
                    got = s.filtered_dense_search(query, k=10, path=path, **limits)  # type: ignore[arg-type]
                    assert [c.chunk_id for c, _ in got] == [c.chunk_id for c, _ in want]
