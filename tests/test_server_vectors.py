"""With a Chroma server, each client keeps the chunk vectors beside its keyword index: in step, or not used."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import StoreError
from assistant.settings import Settings
from assistant.store import ArticleStore
from assistant.vectors import VectorCache
from tests.chroma_server import chroma_server  # noqa: F401
from tests.conftest import spy_calls
from tests.test_store import TEXT_A, TEXT_B, TEXT_C, _article, _chunks, _embeddings, _open, _settings

pytestmark = pytest.mark.slow
DAY = date(2024, 3, 1)
LIMITS: dict[str, object] = {"sources": ["Reuters"], "since": DAY}


@pytest.fixture
def server(tmp_path: Path, chroma_server: tuple[str, int]) -> Iterator[tuple[Settings, Settings]]:  # noqa: F811
    """Two clients of one fresh server collection, each with its own DATA_DIR; checks before every retrieval."""
    host, port = chroma_server
    collection = f"v-{uuid.uuid4().hex[:12]}"
    mine = _settings(tmp_path / "mine", chroma_host=host, chroma_port=port, collection=collection,
                     chroma_refresh_seconds=0.0)
    other = _settings(tmp_path / "other", chroma_host=host, chroma_port=port, collection=collection,
                      chroma_refresh_seconds=0.0)
    yield mine, other


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts searches scored from the local vectors (each call's chunk count)."""
    return spy_calls(monkeypatch, VectorCache, "lookup", lambda chunk_ids: len(chunk_ids))


@pytest.fixture
def fills(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts whole refills of the local vectors (each reads every vector from the server)."""
    return spy_calls(monkeypatch, VectorCache, "rebuild")


def _a(text: str) -> tuple[object, object]:
    article = _article(text, source="Reuters", published=DAY)
    return article, _chunks(article)


def _in_step(store: ArticleStore) -> set[str]:
    """The local vectors hold exactly the server's chunks, each with the server's own vector."""
    ids = sorted(store.chunk_ids())
    assert store.local_vector_ids() == set(ids)
    assert store.local_vectors_in_step()
    server = store.get_embeddings(ids)
    cache = store._cache
    assert cache is not None
    found = cache.lookup(ids)
    assert found is not None
    # The server prints float32 in JSON with a digit too few to round-trip (0.34558415 for 0.34558418): what
    # it sends differs from what it holds by up to 2e-7; vectors this client wrote are the ones it holds.
    assert np.allclose(found[1], np.asarray([server[cid] for cid in ids]), rtol=1e-6, atol=1e-6)
    return {cid.split(":")[0] for cid in ids}


def _ranked(store: ArticleStore, *, local: bool) -> list[tuple[str, float]]:
    query = _embeddings().embed_query("council budget libraries")
    hits = store.filtered_dense_search(query, k=5, path="direct", local_vectors=local, **LIMITS)  # type: ignore[arg-type]
    return [(c.chunk_id, round(s, 6)) for c, s in hits]


def test_writes_deletes_and_replacements_keep_the_vectors_in_step_and_a_reopen_reads_them_from_disk(
    server: tuple[Settings, Settings], lookups: list[int], fills: list[int]
) -> None:
    mine, _ = server
    a, b = _article(TEXT_A, source="Reuters", published=DAY), _article(TEXT_B, source="Reuters", published=DAY)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
        store.add_article(b, _chunks(b))
        assert _in_step(store) == {a.id, b.id}
        store.delete_article(b.id)
        assert _in_step(store) == {a.id}
        edited = a.model_copy(update={"text": TEXT_A.replace("libraries", "orchards")})
        store.add_article(edited, _chunks(edited))  # same chunk ids, one chunk's text (so its vector) changed
        assert _in_step(store) == {a.id}
    fills.clear()
    with _open(mine) as store:
        assert _in_step(store) == {a.id}
        lookups.clear()
        local = _ranked(store, local=True)
        assert lookups and local == _ranked(store, local=False)
        query = _embeddings().embed_query("council budget libraries")
        chroma = store.filtered_dense_search(query, k=5, path="chroma", **LIMITS)  # type: ignore[arg-type]
        assert [cid for cid, _ in local] == [c.chunk_id for c, _ in chroma]
    assert fills == []  # reopened from the file: no vector was read from the server
    assert list((mine.data_dir / "keyword-server").glob(f"{mine.collection}-*/vectors/rows.npz"))


def test_another_clients_writes_are_caught_up_on_open_and_while_running(
    server: tuple[Settings, Settings], fills: list[int]
) -> None:
    mine, other = server
    a, b = _article(TEXT_A, source="Reuters", published=DAY), _article(TEXT_B, source="Reuters", published=DAY)
    c = _article(TEXT_C, source="Reuters", published=DAY)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
    with _open(other) as store:
        store.add_article(b, _chunks(b))
    fills.clear()
    with _open(mine) as store:
        assert _in_step(store) == {a.id, b.id}
        assert fills == []  # from the change log: only b's vectors were read
        with _open(other) as theirs:
            theirs.delete_article(a.id)
            theirs.add_article(c, _chunks(c))
        assert store.refresh(force=True)
        assert _in_step(store) == {b.id, c.id}
    assert fills == []


def test_vectors_that_disagree_with_the_server_are_never_used(
    server: tuple[Settings, Settings], lookups: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, other = server
    a, b = _article(TEXT_A, source="Reuters", published=DAY), _article(TEXT_B, source="Reuters", published=DAY)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
        with _open(other) as theirs:
            edited = a.model_copy(update={"text": TEXT_A.replace("libraries", "orchards")})
            theirs.add_article(edited, _chunks(edited))  # same ids and count: only the marker says so

        def cut(*_: object, **__: object) -> bool:
            raise StoreError("could not read chunks: connection dropped; check the Chroma server")

        with monkeypatch.context() as patch:
            patch.setattr(store, "_apply_changes", cut)
            assert store.refresh(force=True) is False  # the catch-up failed: the server moved, we did not
        assert not store.local_vectors_in_step()
        lookups.clear()
        query = _embeddings().embed_query("council budget orchards")
        got = store.filtered_dense_search(query, k=5, path="direct", **LIMITS)  # type: ignore[arg-type]
        want = store.filtered_dense_search(query, k=5, path="chroma", **LIMITS)  # type: ignore[arg-type]
        assert lookups == []  # read from the server instead
        assert [c.chunk_id for c, _ in got] == [c.chunk_id for c, _ in want]
        assert [round(s, 5) for _, s in got] == [round(s, 5) for _, s in want]
        assert store.refresh(force=True)  # the next check catches up
        assert _in_step(store) == {a.id}
        store.add_article(b, _chunks(b))
        assert _in_step(store) == {a.id, b.id}


def test_vectors_saved_out_of_step_are_refilled_on_open_without_refilling_the_keyword_index(
    server: tuple[Settings, Settings], fills: list[int], refills: list[int]
) -> None:
    mine, _ = server
    a, b = _article(TEXT_A, source="Reuters", published=DAY), _article(TEXT_B, source="Reuters", published=DAY)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
    (folder,) = (mine.data_dir / "keyword-server").glob(f"{mine.collection}-*/vectors")
    saved = {path.name: path.read_bytes() for path in folder.iterdir()}
    with _open(mine) as store:
        store.add_article(b, _chunks(b))
    for path in folder.iterdir():  # as if the process had died before saving its vectors
        path.unlink()
    for name, data in saved.items():
        (folder / name).write_bytes(data)
    fills.clear()
    refills.clear()
    with _open(mine) as store:
        assert _in_step(store) == {a.id, b.id}
    assert fills == [1] and refills == []


def test_a_second_process_on_the_same_data_dir_keeps_no_vectors_and_reads_them_from_the_server(
    server: tuple[Settings, Settings], lookups: list[int]
) -> None:
    mine, _ = server
    a = _article(TEXT_A, source="Reuters", published=DAY)
    with _open(mine) as first:
        first.add_article(a, _chunks(a))
        with _open(mine) as second:
            assert second.local_vector_ids() is None and not second.local_vectors_in_step()
            lookups.clear()
            assert _ranked(second, local=True)[0][0].startswith(a.id)
            assert lookups == []
