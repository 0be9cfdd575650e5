"""Batched ingestion: new articles wait in a small batch, and a batch is embedded and written while the next is read.

An article is a handful of chunks; embedding each article alone leaves MiniLM's batches mostly
empty and pays a store write and a keyword commit per article. ``IngestBatch`` collects new
articles across files up to ``max_chunks`` and hands the full batch to one writer thread
(``ArticleStore.add_articles``: embed, then write), while the caller goes on reading, checking
and chunking the next files. MiniLM spends its time in torch, outside the interpreter lock, so
that work costs the embedder little. One batch is in flight at a time: memory stays bounded and
a failed write stops the ingest at the next batch, as it did when writes were inline.
Deletions of replaced articles wait until every batch queued before them is written, so a
failure never leaves a file with neither version stored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from assistant.copies import CopyIndex
from assistant.schemas import Article, Chunk, IngestReport
from assistant.store import ArticleStore

BATCH_CHUNKS = 64
"""Two of MiniLM's batches of 32: small enough that reading and chunking overlap the embedding from the start."""


def batch_threads_for(requested: int | None) -> int:
    """Torch threads for an ingest: ``requested``, else the cores that other work leaves idle (at least one).

    On 2 cores MiniLM embeds ~1.3x faster with two threads when the machine is otherwise idle, but
    with another busy process two threads embed at about half the speed of one (bench/ingest.py:
    13.9 against 22.0 chunks/s at load 4), so the one-minute load average decides.
    """
    if requested is not None:
        return requested
    cores = os.cpu_count() or 1
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores, round(cores - busy)))


class StoredPaths:
    """The article ids stored from each file of an ingest, read a window of paths at a time.

    One Chroma read per ``window`` files instead of one per file: re-ingesting a folder of unchanged
    files then costs their reads and hashes. A window is read when its first path is asked for; each
    path is answered once (a file is ingested once a run), and only files later in the run than any
    write from this ingest are read, so the answers are the store's as each file comes up. Paths not
    named up front (URLs, uploads) are read one by one.
    """

    def __init__(self, store: ArticleStore, paths: Sequence[str], *, window: int = 256) -> None:
        self._store = store
        self._windows = {path: n // window for n, path in enumerate(dict.fromkeys(paths))}
        self._paths = list(dict.fromkeys(paths))
        self._window = window
        self._known: dict[str, set[str]] = {}

    def ids(self, path: str) -> set[str]:
        """Ids of the articles stored from ``path``, as ``ArticleStore.path_article_ids`` says."""
        if path in self._known:
            return self._known.pop(path)
        n = self._windows.pop(path, None)
        if n is None:
            return self._store.path_article_ids(path)
        group = [p for p in self._paths[n * self._window : (n + 1) * self._window] if p in self._windows]
        for other in group:
            del self._windows[other]
        found = self._store.articles_by_path([path, *group])
        self._known.update((other, found[other]) for other in group)
        return found[path]


class IngestBatch:
    """New articles and pending deletions; full batches are written in the background, the rest at ``flush``.

    Use it as a context manager (or call ``close``) so that the writer thread has finished before
    the store closes, whatever happened in between.
    """

    def __init__(
        self, store: ArticleStore, report: IngestReport, *, max_chunks: int = BATCH_CHUNKS,
        stored: StoredPaths | None = None,
    ) -> None:
        self._store = store
        self.stored = stored or StoredPaths(store, [])
        """What the store holds of each file's path, read in windows (``StoredPaths``)."""
        self._report = report
        self._max_chunks = max_chunks
        self._articles: dict[str, tuple[Article, Sequence[Chunk]]] = {}
        self._deletions: list[str] = []
        self._copies = CopyIndex()  # signatures of the waiting articles; the store's index has the written ones
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer")
        self._in_flight: Future[int] | None = None
        self._in_flight_ids: set[str] = set()
        self._in_flight_copies = CopyIndex()

    def __enter__(self) -> IngestBatch:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.close(raise_errors=exc_type is None)

    def pending(self, article_id: str) -> bool:
        """True when this article is waiting or being written (a second copy of it is unchanged)."""
        return article_id in self._articles or article_id in self._in_flight_ids

    def add(self, article: Article, chunks: Sequence[Chunk]) -> None:
        """Queue a new article; a full batch goes to the writer."""
        self._articles[article.id] = (article, chunks)
        self._copies.add(article.id, article.text)
        self._report.new += 1
        if sum(len(c) for _, c in self._articles.values()) >= self._max_chunks:
            self._submit()

    def find_copy(self, text: str, *, threshold: float) -> str | None:
        """The waiting or in-flight article that ``text`` copies, if any (see ``CopyIndex.find``)."""
        return self._copies.find(text, threshold=threshold) or self._in_flight_copies.find(text, threshold=threshold)

    def deleting(self, article_id: str) -> bool:
        """True when this article is to be deleted at the next flush (a copy of it must be stored in full)."""
        return article_id in self._deletions

    def delete(self, article_id: str) -> None:
        """Delete an article once the articles queued before it are written."""
        self._deletions.append(article_id)
        self._report.replaced += 1

    def flush(self) -> None:
        """Write everything queued and wait for it, then make the queued deletions."""
        self._submit()
        self._wait()
        for article_id in self._deletions:
            self._store.delete_article(article_id)
        self._deletions.clear()
        self._store.save_copies()

    def close(self, *, raise_errors: bool = True) -> None:
        """Wait for the writer; its error is raised unless ``raise_errors`` is off (another is on its way)."""
        try:
            self._wait()
        except Exception:
            if raise_errors:
                raise
        finally:
            self._writer.shutdown(wait=True)

    def _submit(self) -> None:
        """Hand the waiting articles to the writer, once the batch before them is written."""
        self._wait()
        if not self._articles:
            return
        batch = list(self._articles.values())
        self._in_flight_ids = set(self._articles)
        self._in_flight_copies, self._copies = self._copies, CopyIndex()
        self._articles = {}
        self._in_flight = self._writer.submit(self._store.add_articles, batch)

    def _wait(self) -> None:
        if self._in_flight is None:
            return
        future, self._in_flight = self._in_flight, None
        try:
            self._report.chunks_added += future.result()
        finally:
            self._in_flight_ids = set()
            self._in_flight_copies = CopyIndex()
