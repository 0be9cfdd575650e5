"""Batched ingestion: new articles wait in a small batch, and a batch is embedded and written while the next is read.

An article is a handful of chunks; embedding each article alone leaves MiniLM's batches mostly
empty and pays a store write and a keyword commit per article. ``IngestBatch`` collects new
articles across files up to ``max_chunks`` and hands the full batch to two threads in turn: the
writer thread embeds it (``ArticleStore.embed_articles``), the store thread writes it (Chroma
upsert, keyword index, signatures: ``write_embedded``), while the caller goes on reading, checking
and chunking the next files. So the embedder starts the next batch while the last one is written,
and never waits for the store. MiniLM spends its time in torch, outside the interpreter lock, so
the other threads' work costs it little. At most ``_IN_FLIGHT`` batches are on their way: memory
stays bounded; writes happen in batch order, and after a failed batch no later one is written, so
a failure stops the ingest at the next batch with the earlier batches stored, as when writes were
inline. Deletions of replaced articles wait until every batch queued before them is written, so a
failure never leaves a file with neither version stored.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from assistant.copies import CopyIndex, Signature
from assistant.errors import StoreError
from assistant.schemas import Article, Chunk, IngestReport
from assistant.store import ArticleStore, EmbeddedBatch

BATCH_CHUNKS = 64
"""The first batch: two of MiniLM's batches of 32, small enough that the embedder starts after a few files."""
_GROWTH = 4
"""Later batches double up to this many times the first: the store sorts a batch's texts by length before
embedding, so a larger batch pads MiniLM's batches less (on bench/ingest.py's 200 articles, batches of 64 cost
13% more word-piece slots than the texts themselves, batches of 256 about 6%)."""
_IN_FLIGHT = 2
"""Batches handed on and not yet written: one being embedded, one being written."""


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
        self._paths = list(dict.fromkeys(paths))
        self._windows = {path: n // window for n, path in enumerate(self._paths)}
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


@dataclass
class _Flight:
    """A batch handed to the threads: its article ids and signatures (pending until written) and its write."""

    ids: set[str]
    copies: CopyIndex
    written: Future[int] = field(default_factory=Future)


class IngestBatch:
    """New articles and pending deletions; full batches are embedded and written in the background, the rest
    at ``flush``.

    Use it as a context manager (or call ``close``) so that the threads have finished before the store
    closes, whatever happened in between.
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
        self._limit = max_chunks  # the next batch's size: it grows (``_GROWTH``)
        self._articles: dict[str, tuple[Article, Sequence[Chunk]]] = {}
        self._deletions: list[str] = []
        self._outlets: list[tuple[str, Article]] = []  # copies of stories not yet written, recorded at ``flush``
        self._copies = CopyIndex()  # signatures of the waiting articles; the store's index has the written ones
        self._signatures: dict[str, Signature] = {}  # the same, handed to the store with their batch
        self._embedder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-store")
        self._flights: deque[_Flight] = deque()
        self._failed = threading.Event()  # a batch failed: later ones are not written
        self._last: EmbeddedBatch | None = None  # the batch embedded last (the embedding thread's alone)

    def __enter__(self) -> IngestBatch:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.close(raise_errors=exc_type is None)

    def pending(self, article_id: str) -> bool:
        """True when this article is waiting or being written (a second copy of it is unchanged)."""
        return article_id in self._articles or any(article_id in f.ids for f in self._flights)

    def add(self, article: Article, chunks: Sequence[Chunk], *, signature: Signature | None = None) -> None:
        """Queue a new article; a full batch goes to the threads.

        ``signature``: the article's copy signature (``assistant.copies.signature``), computed once by the caller's
        check and reused by the later checks and the store's update; None when copy detection is off.
        """
        self._articles[article.id] = (article, chunks)
        if signature is not None:
            self._copies.add(article.id, signature)
            self._signatures[article.id] = signature
        self._report.new += 1
        if sum(len(c) for _, c in self._articles.values()) >= self._limit:
            self._submit()
            self._limit = min(2 * self._limit, _GROWTH * self._max_chunks)

    def find_copy(self, text: str | Signature, *, threshold: float) -> str | None:
        """The waiting or in-flight article that ``text`` (or its signature) copies, if any (``CopyIndex.find``)."""
        for index in (self._copies, *(f.copies for f in self._flights)):
            found = index.find(text, threshold=threshold)
            if found is not None:
                return found
        return None

    def add_outlet(self, original: str, article: Article) -> None:
        """Record ``article`` as one more outlet of the stored story ``original`` (``ArticleStore.add_outlet``).

        When that story is still on its way to the store, the outlet waits for the next ``flush`` (and so
        do later outlets of the same story, which keep their order) instead of draining the pipeline.
        """
        if self.pending(original) or any(waiting == original for waiting, _ in self._outlets):
            self._outlets.append((original, article))
        else:
            self._record_outlet(original, article)

    def _record_outlet(self, original: str, article: Article) -> None:
        if self._store.add_outlet(original, article):
            self._report.copies += 1
        else:
            self._report.unchanged += 1

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
        self._wait(0)
        for original, article in self._outlets:
            self._record_outlet(original, article)
        self._outlets.clear()
        for article_id in self._deletions:
            self._store.delete_article(article_id)
        self._deletions.clear()
        self._store.save()  # once for the whole ingest: its writes and replacements

    def close(self, *, raise_errors: bool = True) -> None:
        """Wait for the threads; the first error is raised unless ``raise_errors`` is off (another is on its way)."""
        try:
            self._wait(0)
        except Exception:
            if raise_errors:
                raise
        finally:
            self._failed.set()  # anything still queued is dropped, not written
            self._embedder.shutdown(wait=True)
            self._writer.shutdown(wait=True)

    def _submit(self) -> None:
        """Hand the waiting articles on, once fewer than ``_IN_FLIGHT`` batches are on their way."""
        self._wait(_IN_FLIGHT - 1)
        if not self._articles:
            return
        flight = _Flight(ids=set(self._articles), copies=self._copies)
        before = self._flights[-1].written if self._flights else None
        embedded = self._embedder.submit(self._embed, list(self._articles.values()), self._signatures)
        flight.written = self._writer.submit(self._write, embedded, before)
        self._flights.append(flight)
        self._copies, self._signatures, self._articles = CopyIndex(), {}, {}

    def _embed(
        self, batch: list[tuple[Article, Sequence[Chunk]]], signatures: dict[str, Signature]
    ) -> EmbeddedBatch | None:
        if self._failed.is_set():
            return None
        try:  # the batch embedded last may not be written yet: its texts are reused, not embedded again
            self._last = self._store.embed_articles(batch, reuse=self._last, signatures=signatures)
            return self._last
        except BaseException:
            self._failed.set()
            raise

    def _write(self, embedded: Future[EmbeddedBatch | None], before: Future[int] | None) -> int:
        """Write a batch once embedded, in batch order (one store thread); none after a failed one."""
        try:
            ready = embedded.result()
            if ready is None or (before is not None and before.exception() is not None):
                raise StoreError("an earlier batch failed to be stored; this one was not written: ingest again")
            return self._store.write_embedded(ready)
        except BaseException:
            self._failed.set()
            raise

    def _wait(self, keep: int) -> None:
        """Wait until at most ``keep`` batches are on their way; the first failure is raised."""
        while len(self._flights) > keep:
            flight = self._flights[0]
            try:
                self._report.chunks_added += flight.written.result()
            finally:
                self._flights.popleft()
