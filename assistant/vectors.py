"""Chunk vectors kept on disk beside a Chroma server client's keyword index, so filtered search scores locally.

Why: through a Chroma server, vectors read by id travel as JSON (about 0.038 ms a vector at 100,000 chunks), so
scoring the 840 chunks a narrow source and date filter leaves cost more than the rest of a retrieval together.
The client already keeps a keyword index in step with the server (the write marker, the change log, the refill);
the vectors follow the same steps and are used only while in step (``ArticleStore`` decides).

Precision: float32, what Chroma itself stores, so a vector read here is the very number the server holds (one
chunk of 384 dimensions is 1,536 bytes: 154 MB at 100,000 chunks, memory-mapped, so only the rows a search
touches are read into memory).

Layout of the folder: ``vectors-HEX.f32`` holds the rows, appended by each save and never rewritten in place
(a save that finds more dead rows than live ones writes a new file); ``rows.npz`` names that file and holds each
row's chunk id and article id ("" for a row deleted since) and the state of the server it matches (marker,
collection id, chunk count). ``rows.npz`` is replaced in one rename, after the rows it names are on disk, so a
process killed while saving leaves the previous save whole.

Example::

    >>> import numpy as np
    >>> cache = VectorCache.empty(dim=2)
    >>> cache.replace_articles(["a"], VectorRows.of(["a:0"], ["a"], [[1.0, 0.0]]))
    >>> cache.lookup(["a:0"])[1].tolist()
    [[1.0, 0.0]]
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from assistant.errors import StoreError

Matrix = npt.NDArray[np.float32]
_ROWS = "rows.npz"


class VectorState(BaseModel):
    """Which state of a server's collection the saved vectors match, and where their rows are."""

    model_config = ConfigDict(extra="forbid")

    marker: str = Field(description="The collection's write marker the vectors are in step with.")
    collection_id: str
    count: int = Field(description="Live rows (chunks) when saved.")
    dim: int
    file: str = Field(description="The row file, relative to the folder.")
    rows: int = Field(description="Rows of the file this save covers (later bytes are a save cut short).")


@dataclass
class VectorRows:
    """Rows to add: chunk ids, their article ids, and their vectors in the same order."""

    chunk_ids: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    parts: list[Matrix] = field(default_factory=list)

    @classmethod
    def of(cls, chunk_ids: Sequence[str], article_ids: Sequence[str],
           vectors: Sequence[Sequence[float]] | Matrix) -> VectorRows:
        """Rows from parallel sequences (vectors as lists of floats or one matrix)."""
        rows = cls()
        rows.add(chunk_ids, article_ids, vectors)
        return rows

    def add(self, chunk_ids: Sequence[str], article_ids: Sequence[str],
            vectors: Sequence[Sequence[float]] | Matrix) -> None:
        """Append a page of rows."""
        if not len(chunk_ids):
            return
        self.chunk_ids.extend(chunk_ids)
        self.article_ids.extend(article_ids)
        self.parts.append(np.asarray(vectors, dtype=np.float32))

    def matrix(self, dim: int) -> Matrix:
        """All vectors as one (rows, dim) float32 matrix."""
        return np.vstack(self.parts) if self.parts else np.zeros((0, dim), dtype=np.float32)


class VectorCache:
    """Vectors by chunk id: rows saved in a memory-mapped file plus rows added since, with deletes by article.

    Every public method takes the cache's lock, so a search never sees half of a write made by another thread.
    """

    def __init__(self, *, dim: int, folder: Path | None = None) -> None:
        self._dim = dim
        self._folder = folder
        self._lock = threading.Lock()
        self._saved: Matrix = np.zeros((0, dim), dtype=np.float32)  # a memmap of the row file once loaded
        self._file: str | None = None
        self._extra = np.zeros((0, dim), dtype=np.float32)  # rows added since the last save (capacity grows)
        self._n_extra = 0
        self._ids: list[str] = []  # per row; "" once deleted
        self._articles: list[str] = []
        self._row: dict[str, int] = {}
        self._by_article: dict[str, list[int]] = {}
        self._rewrite = True  # the next save writes a new row file (nothing saved yet)
        self._dirty = False
        self.state: VectorState | None = None
        """The server state of the last load or save (None: nothing saved, or the file was unreadable)."""

    @classmethod
    def empty(cls, *, dim: int, folder: Path | None = None) -> VectorCache:
        """A cache with no rows (to be filled), saved to ``folder`` when given."""
        return cls(dim=dim, folder=folder)

    @classmethod
    def load(cls, folder: Path, *, dim: int) -> VectorCache:
        """The cache saved in ``folder``; an empty one (``state`` None) when missing, unreadable or of another dim."""
        cache = cls(dim=dim, folder=folder)
        with contextlib.suppress(OSError, ValueError, KeyError):
            cache._load()
        return cache

    def _load(self) -> None:
        assert self._folder is not None
        with np.load(self._folder / _ROWS, allow_pickle=False) as saved:
            state = VectorState.model_validate_json(str(saved["state"]))
            ids, articles = saved["ids"].tolist(), saved["articles"].tolist()
        path = self._folder / state.file
        if state.dim != self._dim or len(ids) != state.rows or path.stat().st_size < state.rows * self._dim * 4:
            return
        matrix = np.memmap(path, dtype=np.float32, mode="r", shape=(state.rows, self._dim)) if state.rows else None
        self._saved = matrix if matrix is not None else np.zeros((0, self._dim), dtype=np.float32)
        self._file, self._ids, self._articles = state.file, ids, articles
        for row, (cid, article) in enumerate(zip(ids, articles, strict=True)):
            if cid:
                self._row[cid] = row
                self._by_article.setdefault(article, []).append(row)
        self._rewrite, self.state = False, state

    # -- reading -------------------------------------------------------------------------------------

    @property
    def folder(self) -> Path | None:
        """Where the cache is saved (None: in memory only)."""
        return self._folder

    def count(self) -> int:
        """Live rows (chunks with a vector)."""
        with self._lock:
            return len(self._row)

    def chunk_ids(self) -> set[str]:
        """Every chunk id with a vector (for checks)."""
        with self._lock:
            return set(self._row)

    def lookup(self, chunk_ids: Sequence[str]) -> tuple[list[str], Matrix] | None:
        """These chunks' vectors as a (len, dim) float32 matrix in the order asked; None when any is missing."""
        with self._lock:
            rows = [self._row.get(cid) for cid in chunk_ids]
            if any(row is None for row in rows):
                return None
            index = np.asarray(rows, dtype=np.int64)
            out = np.empty((len(index), self._dim), dtype=np.float32)
            n_saved = len(self._saved)
            old = index < n_saved
            if old.any():
                out[old] = self._saved[index[old]]
            if (~old).any():
                out[~old] = self._extra[index[~old] - n_saved]
            return list(chunk_ids), out

    # -- writing -------------------------------------------------------------------------------------

    def replace_articles(self, article_ids: Iterable[str], rows: VectorRows) -> None:
        """Make the cache hold exactly ``rows`` for these articles (no rows: delete their vectors)."""
        matrix = rows.matrix(self._dim)
        if matrix.shape[1] != self._dim:
            raise StoreError(f"got {matrix.shape[1]}-dim vectors for a cache of {self._dim}; refill the store's index")
        with self._lock:
            for article_id in article_ids:
                for row in self._by_article.pop(article_id, []):
                    self._drop(row)
            for cid in rows.chunk_ids:  # the same chunk under another article: keep the newest only
                if cid in self._row:
                    self._drop_from_article(self._row[cid])
            self._append(rows.chunk_ids, rows.article_ids, matrix)
            self._dirty = True

    def rebuild(self, rows: VectorRows) -> None:
        """Replace every row with ``rows`` (a refill); the next save writes a new row file."""
        matrix = rows.matrix(self._dim)
        with self._lock:
            self._saved = np.zeros((0, self._dim), dtype=np.float32)
            self._extra, self._n_extra = np.zeros((0, self._dim), dtype=np.float32), 0
            self._ids, self._articles, self._row, self._by_article = [], [], {}, {}
            self._append(rows.chunk_ids, rows.article_ids, matrix)
            self._rewrite = self._dirty = True

    def _drop(self, row: int) -> None:
        cid = self._ids[row]
        if cid and self._row.get(cid) == row:
            del self._row[cid]
        self._ids[row] = ""

    def _drop_from_article(self, row: int) -> None:
        rows = self._by_article.get(self._articles[row], [])
        if row in rows:
            rows.remove(row)
        self._drop(row)

    def _append(self, chunk_ids: Sequence[str], article_ids: Sequence[str], matrix: Matrix) -> None:
        need = self._n_extra + len(chunk_ids)
        if need > len(self._extra):
            grown = np.zeros((max(need, 2 * len(self._extra), 1024), self._dim), dtype=np.float32)
            grown[: self._n_extra] = self._extra[: self._n_extra]
            self._extra = grown
        self._extra[self._n_extra : need] = matrix
        first = len(self._ids)
        for offset, (cid, article) in enumerate(zip(chunk_ids, article_ids, strict=True)):
            row = first + offset
            self._ids.append(cid)
            self._articles.append(article)
            self._row[cid] = row
            self._by_article.setdefault(article, []).append(row)
        self._n_extra = need

    # -- saving --------------------------------------------------------------------------------------

    def save(self, *, marker: str, collection_id: str) -> None:
        """Write what changed since the last save, recorded as in step with ``marker`` (no-op when unchanged)."""
        with self._lock:
            if self._folder is None or (not self._dirty and self.state is not None and self.state.marker == marker):
                return
            try:
                self._save(marker, collection_id)
            except OSError as exc:
                raise StoreError(f"could not write the vectors in {self._folder}: {exc}; "
                                 "set ASSISTANT_DATA_DIR to a writable folder with space") from exc

    def _save(self, marker: str, collection_id: str) -> None:
        assert self._folder is not None
        self._folder.mkdir(parents=True, exist_ok=True)
        live = len(self._row)
        if self._rewrite or self._file is None or len(self._ids) - live > live:
            self._compact()
        else:
            self._append_to_file()
        assert self._file is not None
        state = VectorState(marker=marker, collection_id=collection_id, count=live, dim=self._dim,
                            file=self._file, rows=len(self._ids))
        tmp = self._folder / "rows.tmp.npz"
        with tmp.open("wb") as handle:
            np.savez(handle, state=np.asarray(state.model_dump_json()), ids=np.asarray(self._ids, dtype=str),
                     articles=np.asarray(self._articles, dtype=str))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._folder / _ROWS)
        self._remove_other_files()
        self._saved = self._map()
        self._extra, self._n_extra = np.zeros((0, self._dim), dtype=np.float32), 0
        self._rewrite, self._dirty, self.state = False, False, state

    def _append_to_file(self) -> None:
        """Append the rows added since the last save, after bytes a cut-short save may have left."""
        assert self._folder is not None and self._file is not None
        path = self._folder / self._file
        with path.open("r+b") as handle:
            handle.truncate(len(self._saved) * self._dim * 4)
            handle.seek(0, os.SEEK_END)
            handle.write(self._extra[: self._n_extra].tobytes())
            handle.flush()
            os.fsync(handle.fileno())

    def _compact(self) -> None:
        """Write the live rows to a new file (the old one stays named by ``rows.npz`` until it is replaced)."""
        assert self._folder is not None
        live_rows = [row for row, cid in enumerate(self._ids) if cid]
        name = f"vectors-{uuid.uuid4().hex[:12]}.f32"
        n_saved = len(self._saved)
        with (self._folder / name).open("wb") as handle:
            for start in range(0, len(live_rows), 8192):
                index = np.asarray(live_rows[start : start + 8192], dtype=np.int64)
                part = np.empty((len(index), self._dim), dtype=np.float32)
                old = index < n_saved
                part[old] = self._saved[index[old]]
                part[~old] = self._extra[index[~old] - n_saved]
                handle.write(part.tobytes())
            handle.flush()
            os.fsync(handle.fileno())
        self._ids = [self._ids[row] for row in live_rows]
        self._articles = [self._articles[row] for row in live_rows]
        self._row = {cid: row for row, cid in enumerate(self._ids)}
        self._by_article = {}
        for row, article in enumerate(self._articles):
            self._by_article.setdefault(article, []).append(row)
        self._saved = np.zeros((0, self._dim), dtype=np.float32)
        self._file = name

    def _map(self) -> Matrix:
        assert self._folder is not None and self._file is not None
        if not self._ids:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.memmap(self._folder / self._file, dtype=np.float32, mode="r", shape=(len(self._ids), self._dim))

    def _remove_other_files(self) -> None:
        """Row files no save names any more (replaced by a compaction, or left by a save cut short)."""
        assert self._folder is not None
        for path in self._folder.glob("vectors-*.f32"):
            if path.name != self._file:
                path.unlink(missing_ok=True)
