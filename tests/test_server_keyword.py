"""With a Chroma server, each client keeps its keyword index under DATA_DIR: reopened in step, refilled when not."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.settings import Settings
from assistant.store import ArticleStore
from tests.chroma_server import chroma_server  # noqa: F401
from tests.test_store import TEXT_A, TEXT_B, TEXT_C, _article, _chunks, _open, _settings

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, chroma_server: tuple[str, int]) -> Iterator[tuple[Settings, Settings]]:  # noqa: F811
    """Two clients of one fresh server collection, each with its own DATA_DIR (two machines, say)."""
    host, port = chroma_server
    collection = f"s-{uuid.uuid4().hex[:12]}"
    mine = _settings(tmp_path / "mine", chroma_host=host, chroma_port=port, collection=collection)
    other = _settings(tmp_path / "other", chroma_host=host, chroma_port=port, collection=collection)
    yield mine, other


def _in_step(store: ArticleStore) -> set[str]:
    ids = store.chunk_ids()
    assert store.keyword_chunk_ids() == ids
    return {cid.split(":")[0] for cid in ids}


def test_the_index_is_kept_on_disk_and_reopened_without_a_refill(
    server: tuple[Settings, Settings], refills: list[int]
) -> None:
    mine, _ = server
    a, b = _article(TEXT_A), _article(TEXT_B)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
        store.add_article(b, _chunks(b))
        store.delete_article(a.id)
    refills.clear()
    with _open(mine) as store:
        assert _in_step(store) == {b.id}
        assert store.keyword_search("engineers repairs", k=3)[0][0].startswith(b.id)
    assert refills == []
    assert list((mine.data_dir / "keyword-server").glob(f"{mine.collection}-*/server-state.json"))


def test_another_clients_add_and_delete_are_seen_on_the_next_open(
    server: tuple[Settings, Settings], refills: list[int]
) -> None:
    mine, other = server
    a, b, c = _article(TEXT_A), _article(TEXT_B), _article(TEXT_C)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
    with _open(other) as store:
        store.add_article(b, _chunks(b))
    refills.clear()
    with _open(mine) as store:
        assert _in_step(store) == {a.id, b.id}
        assert store.keyword_search("engineers repairs", k=3)[0][0].startswith(b.id)
    assert refills == []  # caught up from the server's change log: just b's chunks were read
    with _open(other) as store:
        store.delete_article(a.id)
    with _open(mine) as store:
        assert _in_step(store) == {b.id}
        assert store.keyword_search("council budget", k=3) == []
        store.add_article(c, _chunks(c))  # my write after theirs: I was in step again, so no refill is due
    refills.clear()
    with _open(mine) as store:
        assert _in_step(store) == {b.id, c.id}
    assert refills == []


def test_a_replacement_that_keeps_the_chunk_count_is_seen_by_its_marker(
    server: tuple[Settings, Settings], refills: list[int]
) -> None:
    mine, other = server
    a = _article(TEXT_A)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
    edited = a.model_copy(update={"text": TEXT_A.replace("libraries", "orchards")})
    with _open(other) as store:  # same chunk ids and count, one chunk's text changed
        store.add_article(edited, _chunks(edited))
    refills.clear()
    with _open(mine) as store:
        assert store.keyword_search("orchards", k=3)[0][0].startswith(a.id)
        assert store.keyword_search("libraries", k=3) == []
    assert refills == []  # the change log names the replaced article


def test_a_write_by_another_client_while_mine_was_open_makes_the_next_open_refill(
    server: tuple[Settings, Settings], refills: list[int]
) -> None:
    mine, other = server
    a, b, c = _article(TEXT_A), _article(TEXT_B), _article(TEXT_C)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
        with _open(other) as theirs:
            theirs.add_article(b, _chunks(b))
        store.add_article(c, _chunks(c))  # my index lacks b: its state must not claim to be in step
    refills.clear()
    with _open(mine) as store:
        assert _in_step(store) == {a.id, b.id, c.id}
    assert refills == [1]


def test_a_second_process_on_the_same_data_dir_keeps_its_index_in_memory(server: tuple[Settings, Settings]) -> None:
    mine, _ = server
    a = _article(TEXT_A)
    with _open(mine) as first:
        first.add_article(a, _chunks(a))
        with _open(mine) as second:  # the folder is locked by the first: filled from the server instead
            assert _in_step(second) == {a.id}
            b = _article(TEXT_B)
            second.add_article(b, _chunks(b))
    with _open(mine) as store:
        assert _in_step(store) == {a.id, b.id}


def test_a_client_without_a_folder_still_marks_its_writes(server: tuple[Settings, Settings]) -> None:
    mine, _ = server
    a = _article(TEXT_A)
    with _open(mine) as first:
        first.add_article(a, _chunks(a))
        with _open(mine) as second:  # in memory (the folder is locked): its replacement keeps the chunk count
            edited = a.model_copy(update={"text": TEXT_A.replace("libraries", "orchards")})
            second.add_article(edited, _chunks(edited))
    with _open(mine) as store:
        assert store.keyword_search("orchards", k=3)[0][0].startswith(a.id)


def test_copy_signatures_are_kept_beside_the_index_and_dropped_when_another_client_wrote(
    server: tuple[Settings, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.store as store_module

    mine, other = server
    a, b = _article(TEXT_A), _article(TEXT_B)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
        assert a.id in store.copy_index()
    rebuilt: list[int] = []
    real = store_module.stored_texts
    monkeypatch.setattr(store_module, "stored_texts", lambda chunks: rebuilt.append(1) or real(chunks))
    with _open(mine) as store:  # in step: the signatures come from the file
        assert a.id in store.copy_index()
    assert rebuilt == []
    edited = a.model_copy(update={"text": TEXT_A.replace("libraries", "orchards")})
    with _open(other) as store:  # a replacement that keeps the chunk count, which the file's own check misses
        store.add_article(edited, _chunks(edited))  # (builds the other client's own signatures from the server)
    rebuilt.clear()
    with _open(mine) as store:  # another client wrote: rebuilt from the server
        assert a.id in store.copy_index()
    assert rebuilt == [1]
    with _open(other) as store:
        store.add_article(b, _chunks(b))
    with _open(mine) as store:
        index = store.copy_index()
        assert a.id in index and b.id in index


def test_an_index_further_behind_than_the_change_log_is_refilled_on_open(
    server: tuple[Settings, Settings], refills: list[int]
) -> None:
    mine, other = server
    a, b, c = _article(TEXT_A), _article(TEXT_B), _article(TEXT_C)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
    # The other client's writes leave a log that remembers the last write only.
    with _open(other.model_copy(update={"chroma_change_log_articles": 1})) as store:
        store.add_article(b, _chunks(b))
        store.add_article(c, _chunks(c))
    refills.clear()
    with _open(mine) as store:
        assert _in_step(store) == {a.id, b.id, c.id}
    assert refills == [1]
