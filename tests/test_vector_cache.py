"""The vector file kept beside a server client's keyword index (``assistant.vectors``), on its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.errors import StoreError
from assistant.vectors import VectorCache, VectorRows

DIM = 4


def _rows(article: str, n: int, *, base: float) -> VectorRows:
    ids = [f"{article}:{i}" for i in range(n)]
    return VectorRows.of(ids, [article] * n, [[base + i, 1.0, 2.0, 3.0] for i in range(n)])


def _first(cache: VectorCache, chunk_id: str) -> float:
    found = cache.lookup([chunk_id])
    assert found is not None
    return float(found[1][0, 0])


def test_rows_survive_a_save_and_a_reload_with_their_state(tmp_path: Path) -> None:
    cache = VectorCache.empty(dim=DIM, folder=tmp_path)
    cache.replace_articles(["a"], _rows("a", 3, base=10))
    cache.save(marker="m1", collection_id="c")
    cache.replace_articles(["b"], _rows("b", 2, base=20))  # appended to the same file by the next save
    cache.save(marker="m2", collection_id="c")
    again = VectorCache.load(tmp_path, dim=DIM)
    assert again.state is not None and (again.state.marker, again.state.count) == ("m2", 5)
    assert again.chunk_ids() == {"a:0", "a:1", "a:2", "b:0", "b:1"}
    found = again.lookup(["b:1", "a:0"])
    assert found is not None
    assert found[1].dtype == np.float32 and found[1][:, 0].tolist() == [21.0, 10.0]
    assert len(list(tmp_path.glob("vectors-*.f32"))) == 1


def test_replacing_or_deleting_an_article_drops_its_old_vectors(tmp_path: Path) -> None:
    cache = VectorCache.empty(dim=DIM, folder=tmp_path)
    cache.replace_articles(["a"], _rows("a", 3, base=10))
    cache.replace_articles(["b"], _rows("b", 2, base=20))
    cache.save(marker="m1", collection_id="c")
    cache.replace_articles(["a"], _rows("a", 2, base=30))  # re-chunked: a:2 is gone, a:0 and a:1 changed
    cache.replace_articles(["b"], VectorRows())
    assert cache.chunk_ids() == {"a:0", "a:1"}
    assert cache.lookup(["a:2"]) is None and cache.lookup(["b:0"]) is None
    assert _first(cache, "a:1") == 31.0
    cache.save(marker="m2", collection_id="c")
    again = VectorCache.load(tmp_path, dim=DIM)
    assert again.chunk_ids() == {"a:0", "a:1"} and _first(again, "a:0") == 30.0


def test_a_save_with_more_dead_rows_than_live_ones_writes_a_smaller_file(tmp_path: Path) -> None:
    cache = VectorCache.empty(dim=DIM, folder=tmp_path)
    for i in range(5):
        cache.replace_articles([f"x{i}"], _rows(f"x{i}", 4, base=i))
    cache.save(marker="m1", collection_id="c")
    for i in range(4):
        cache.replace_articles([f"x{i}"], VectorRows())
    cache.save(marker="m2", collection_id="c")
    files = list(tmp_path.glob("vectors-*.f32"))
    assert len(files) == 1 and files[0].stat().st_size == 4 * DIM * 4
    again = VectorCache.load(tmp_path, dim=DIM)
    assert again.chunk_ids() == {f"x4:{i}" for i in range(4)} and _first(again, "x4:3") == 7.0


def test_bytes_left_by_a_save_cut_short_are_ignored_and_overwritten(tmp_path: Path) -> None:
    cache = VectorCache.empty(dim=DIM, folder=tmp_path)
    cache.replace_articles(["a"], _rows("a", 2, base=10))
    cache.save(marker="m1", collection_id="c")
    (file,) = tmp_path.glob("vectors-*.f32")
    with file.open("ab") as handle:  # rows appended, then the process died before rows.npz named them
        handle.write(np.full((3, DIM), 99.0, dtype=np.float32).tobytes())
    again = VectorCache.load(tmp_path, dim=DIM)
    assert again.chunk_ids() == {"a:0", "a:1"}
    again.replace_articles(["b"], _rows("b", 1, base=20))
    again.save(marker="m2", collection_id="c")
    last = VectorCache.load(tmp_path, dim=DIM)
    assert _first(last, "b:0") == 20.0 and file.stat().st_size == 3 * DIM * 4


@pytest.mark.parametrize("damage", ["missing", "garbage", "other-dim", "short-file"])
def test_an_unusable_save_loads_as_empty_with_no_state(tmp_path: Path, damage: str) -> None:
    cache = VectorCache.empty(dim=DIM, folder=tmp_path)
    cache.replace_articles(["a"], _rows("a", 2, base=10))
    cache.save(marker="m1", collection_id="c")
    (file,) = tmp_path.glob("vectors-*.f32")
    dim = DIM
    if damage == "missing":
        (tmp_path / "rows.npz").unlink()
    elif damage == "garbage":
        (tmp_path / "rows.npz").write_bytes(b"not a zip file")
    elif damage == "other-dim":
        dim = DIM * 2
    else:
        file.write_bytes(file.read_bytes()[:10])
    again = VectorCache.load(tmp_path, dim=dim)
    assert again.state is None and again.count() == 0


def test_vectors_of_another_dimension_are_refused(tmp_path: Path) -> None:
    cache = VectorCache.empty(dim=DIM, folder=tmp_path)
    with pytest.raises(StoreError, match="refill"):
        cache.replace_articles(["a"], VectorRows.of(["a:0"], ["a"], [[1.0, 2.0]]))
    assert cache.count() == 0
