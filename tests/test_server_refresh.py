"""A process that stays open against a Chroma server follows other clients' writes without a restart."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from assistant.errors import StoreError
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from assistant.store import ArticleStore
from tests.chroma_server import chroma_server  # noqa: F401
from tests.test_store import DIM, TEXT_A, TEXT_B, TEXT_C, _article, _chunks, _open, _settings

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, chroma_server: tuple[str, int]) -> Iterator[tuple[Path, str, int, str]]:  # noqa: F811
    host, port = chroma_server
    yield tmp_path, host, port, f"r-{uuid.uuid4().hex[:12]}"


def _client(server: tuple[Path, str, int, str], name: str, *, every: float, log: int = 400) -> Settings:
    """One client of the shared collection, with its own DATA_DIR, checking for others' writes every ``every`` s
    (its writes logged within ``log`` articles)."""
    root, host, port, collection = server
    return _settings(root / name, chroma_host=host, chroma_port=port, collection=collection,
                     chroma_refresh_seconds=every, chroma_change_log_articles=log)


def _retriever(store: ArticleStore) -> HybridRetriever:
    return HybridRetriever(store=store, embeddings=DeterministicFakeEmbedding(size=DIM), k=3, fetch_k=10)


def _articles_found(store: ArticleStore, query: str, **limits: object) -> set[str]:
    chunks = _retriever(store).retrieve(query, **limits).chunks  # type: ignore[arg-type]
    return {c.article_id for c in chunks}


def _catch_up(store: ArticleStore) -> None:
    """A retrieval notices other clients' writes and refills in the background; wait for that to finish."""
    _retriever(store).retrieve("anything at all")
    store.wait_for_refresh()


def test_another_clients_add_and_delete_are_seen_without_a_restart(
    server: tuple[Path, str, int, str], refills: list[int]
) -> None:
    a, b = _article(TEXT_A, source="Reuters"), _article(TEXT_B, source="AP")
    with _open(_client(server, "mine", every=0)) as mine:
        mine.add_article(a, _chunks(a))
        assert _articles_found(mine, "engineers repairs", sources=["AP"]) == set()
        with _open(_client(server, "other", every=0)) as other:
            other.add_article(b, _chunks(b))
        refills.clear()  # the other client's own first fill
        _catch_up(mine)
        assert _articles_found(mine, "engineers repairs", sources=["AP"]) == {b.id}  # a filtered retrieval
        assert mine.keyword_search("engineers repairs", k=3)[0][0].startswith(b.id)
        assert refills == []  # caught up from the change log: just b's chunks were read
        with _open(_client(server, "other", every=0)) as other:
            other.delete_article(a.id)
        _catch_up(mine)
        assert _articles_found(mine, "council budget libraries", sources=["Reuters"]) == set()
        assert mine.keyword_search("council budget", k=3) == []
        assert mine.keyword_chunk_ids() == mine.chunk_ids()
        mine.wait_for_refresh()
        assert refills == []


def test_no_check_runs_before_the_interval_is_up(server: tuple[Path, str, int, str]) -> None:
    b = _article(TEXT_B, source="AP")
    with _open(_client(server, "mine", every=3600)) as mine:
        with _open(_client(server, "other", every=3600)) as other:
            other.add_article(b, _chunks(b))
        _catch_up(mine)
        assert _articles_found(mine, "engineers repairs", sources=["AP"]) == set()
        assert mine.keyword_search("engineers repairs", k=3) == []
        assert mine.refresh() is False  # not due
        assert mine.refresh(force=True) is True
        assert mine.keyword_search("engineers repairs", k=3)[0][0].startswith(b.id)


def test_this_processs_own_writes_cause_no_refill(
    server: tuple[Path, str, int, str], refills: list[int]
) -> None:
    a, b, c = _article(TEXT_A), _article(TEXT_B), _article(TEXT_C)
    with _open(_client(server, "mine", every=0)) as mine:
        refills.clear()
        for article in (a, b, c):
            mine.add_article(article, _chunks(article))
            _retriever(mine).retrieve("council bridge floods")
        mine.delete_article(b.id)
        assert b.id not in _articles_found(mine, "engineers repairs highway")
        assert mine.keyword_search("engineers repairs", k=3) == []
        mine.wait_for_refresh()
        assert mine.refresh(force=True) is False
    assert refills == []


def test_an_unreachable_server_during_the_check_keeps_the_last_good_index(
    server: tuple[Path, str, int, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = _article(TEXT_A), _article(TEXT_B)
    with _open(_client(server, "mine", every=0)) as mine:
        mine.add_article(a, _chunks(a))
        with _open(_client(server, "other", every=0)) as other:
            other.add_article(b, _chunks(b))

        def refused(*_: object, **__: object) -> object:
            raise httpx.ConnectError("[Errno 111] Connection refused")

        with monkeypatch.context() as patch, caplog.at_level(logging.WARNING, logger="assistant.store"):
            patch.setattr(mine._client, "get_collection", refused)
            assert mine.refresh() is False
        assert "keeping the keyword index as it was" in caplog.text
        assert "check the Chroma server" in caplog.text
        assert mine.keyword_search("council budget", k=3)[0][0].startswith(a.id)
        assert mine.refresh() is True  # the server is back: the next check catches up
        assert mine.keyword_search("engineers repairs", k=3)[0][0].startswith(b.id)


def test_a_refill_cut_short_leaves_the_old_index_whole(
    server: tuple[Path, str, int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _article(TEXT_A), _article(TEXT_B)
    with _open(_client(server, "mine", every=0)) as mine:
        mine.add_article(a, _chunks(a))
        before = mine.keyword_chunk_ids()
        with _open(_client(server, "other", every=0)) as other:
            other.add_article(b, _chunks(b))
        pages = mine._vector_pages  # every read of chunks from the server goes through it

        def dropped(*args: object, **kwargs: object) -> Iterator[object]:
            yield from list(pages(*args, **kwargs))[:1]  # type: ignore[arg-type]
            raise StoreError("could not read chunks: connection reset; check the Chroma server")

        with monkeypatch.context() as patch:
            patch.setattr(mine, "_vector_pages", dropped)
            assert mine.refresh() is False
        assert mine.keyword_chunk_ids() == before
        assert mine.refresh() is True
        assert mine.keyword_chunk_ids() == mine.chunk_ids()


def test_copy_signatures_follow_another_clients_writes(server: tuple[Path, str, int, str]) -> None:
    a, b = _article(TEXT_A), _article(TEXT_B)
    with _open(_client(server, "mine", every=0)) as mine:
        mine.add_article(a, _chunks(a))
        assert mine.find_copy(TEXT_B, threshold=0.8) is None
        with _open(_client(server, "other", every=0)) as other:
            other.add_article(b, _chunks(b))
        mine.find_copy(TEXT_B, threshold=0.8)  # notices the write; the signatures are dropped in the background
        mine.wait_for_refresh()
        assert mine.find_copy(TEXT_B, threshold=0.8) == b.id
        assert b.id in mine.copy_index()


def test_a_second_process_on_the_same_data_dir_follows_the_first(server: tuple[Path, str, int, str]) -> None:
    a, b = _article(TEXT_A), _article(TEXT_B)
    settings = _client(server, "mine", every=0)
    with _open(settings) as first:
        first.add_article(a, _chunks(a))
        with _open(settings) as second:  # its index is in memory (the folder is locked by the first)
            first.add_article(b, _chunks(b))
            assert second.keyword_search("engineers repairs", k=3) == []  # not checked yet
            assert second.refresh() is True
            assert second.keyword_search("engineers repairs", k=3)[0][0].startswith(b.id)


def test_searches_during_a_refill_see_the_old_index_and_do_not_wait_for_it(
    server: tuple[Path, str, int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _article(TEXT_A), _article(TEXT_B, source="AP")
    with _open(_client(server, "mine", every=0)) as mine:
        mine.add_article(a, _chunks(a))
        with _open(_client(server, "other", every=0)) as other:
            other.add_article(b, _chunks(b))
        pages, release = mine._vector_pages, threading.Event()

        def slow(*args: object, **kwargs: object) -> Iterator[object]:
            rows = iter(pages(*args, **kwargs))  # type: ignore[arg-type]
            yield next(rows)
            release.wait(timeout=30)  # the refill is half read here
            yield from rows

        monkeypatch.setattr(mine, "_vector_pages", slow)
        try:
            _retriever(mine).retrieve("council budget")  # starts the refill
            started = time.monotonic()
            assert _articles_found(mine, "engineers repairs", sources=["AP"]) == set()  # the old index, whole
            assert mine.keyword_search("engineers repairs", k=3) == []
            assert mine.keyword_search("council budget", k=3)[0][0].startswith(a.id)
            assert time.monotonic() - started < 10
        finally:
            release.set()
        mine.wait_for_refresh()
        assert _articles_found(mine, "engineers repairs", sources=["AP"]) == {b.id}


def test_a_client_further_behind_than_the_change_log_refills_whole(
    server: tuple[Path, str, int, str], refills: list[int]
) -> None:
    a, b, c = _article(TEXT_A), _article(TEXT_B), _article(TEXT_C)
    with _open(_client(server, "mine", every=0)) as mine:
        mine.add_article(a, _chunks(a))
        with _open(_client(server, "other", every=0, log=1)) as other:  # its log remembers the last write only
            other.add_article(b, _chunks(b))
            other.add_article(c, _chunks(c))  # b's write has left the log
        refills.clear()
        _catch_up(mine)
        assert refills == [1]
        assert mine.keyword_chunk_ids() == mine.chunk_ids()
        assert mine.keyword_search("engineers repairs", k=3)[0][0].startswith(b.id)


def test_a_write_of_mine_after_anothers_still_catches_up_with_theirs(
    server: tuple[Path, str, int, str], refills: list[int]
) -> None:
    a, b, c = _article(TEXT_A), _article(TEXT_B), _article(TEXT_C)
    with _open(_client(server, "mine", every=3600)) as mine:
        mine.add_article(a, _chunks(a))
        with _open(_client(server, "other", every=0)) as other:
            other.add_article(b, _chunks(b))
        refills.clear()
        mine.add_article(c, _chunks(c))  # before any check: my index lacks b
        assert mine.keyword_search("engineers repairs", k=3) == []
        assert mine.refresh(force=True) is True
        assert mine.keyword_search("engineers repairs", k=3)[0][0].startswith(b.id)
        assert mine.keyword_chunk_ids() == mine.chunk_ids()
        assert refills == []


def test_a_clients_index_answers_which_articles_are_new_only_while_in_step(
    server: tuple[Path, str, int, str],
) -> None:
    a, b = _article(TEXT_A, source="Reuters"), _article(TEXT_B, source="AP")
    with _open(_client(server, "mine", every=0)) as mine, _open(_client(server, "other", every=3600)) as other:
        mine.add_article(a, _chunks(a))
        assert mine.check_local_answers() and mine.local_answers_in_step()
        mine.add_article(b, _chunks(b))  # its own write keeps the index trusted
        assert mine.local_answers_in_step() and mine.has_article(b.id)
        other.refresh(force=True)
        other.delete_article(a.id)  # another client's write: mine's index still holds a
        assert not mine.has_article(a.id)  # the index's "yes" is checked on the server: a changed file is not skipped
        c = _article(TEXT_C, source="AFP")
        other.add_article(c, _chunks(c))
        assert mine.has_article(c.id)  # another client wrote: the marker moved, so the index is not asked
        assert not mine.local_answers_in_step()
        assert mine.check_local_answers()  # an ingest catches up first, then trusts it again
        assert mine.has_article(c.id) and not mine.has_article(a.id)
