"""Batched ingestion: new articles wait in a small batch so the embedder always gets full batches.

An article is a handful of chunks; embedding each article alone leaves MiniLM's batches mostly
empty and pays a store write and a keyword commit per article. ``IngestBatch`` collects new
articles across files up to ``max_chunks`` and writes them together (``ArticleStore.add_articles``).
Deletions of replaced articles wait until the batch holding their replacement is written, so a
failure never leaves a file with neither version stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.copies import CopyIndex
from assistant.schemas import Article, Chunk, IngestReport
from assistant.store import ArticleStore


class IngestBatch:
    """New articles and pending deletions, written when ``max_chunks`` chunks are waiting and at ``flush``."""

    def __init__(self, store: ArticleStore, report: IngestReport, *, max_chunks: int = 256) -> None:
        self._store = store
        self._report = report
        self._max_chunks = max_chunks
        self._articles: dict[str, tuple[Article, Sequence[Chunk]]] = {}
        self._deletions: list[str] = []
        self._copies = CopyIndex()  # signatures of the waiting articles; the store's index has the written ones

    def pending(self, article_id: str) -> bool:
        """True when this article is already waiting in the batch (a second copy is unchanged)."""
        return article_id in self._articles

    def add(self, article: Article, chunks: Sequence[Chunk]) -> None:
        """Queue a new article; writes the batch when it is full."""
        self._articles[article.id] = (article, chunks)
        self._copies.add(article.id, article.text)
        self._report.new += 1
        if sum(len(c) for _, c in self._articles.values()) >= self._max_chunks:
            self.flush()

    def find_copy(self, text: str, *, threshold: float) -> str | None:
        """The waiting article that ``text`` copies, if any (see ``CopyIndex.find``)."""
        return self._copies.find(text, threshold=threshold)

    def deleting(self, article_id: str) -> bool:
        """True when this article is to be deleted at the next flush (a copy of it must be stored in full)."""
        return article_id in self._deletions

    def delete(self, article_id: str) -> None:
        """Delete an article once the articles queued before it are written."""
        self._deletions.append(article_id)
        self._report.replaced += 1

    def flush(self) -> None:
        """Write the queued articles, then the queued deletions."""
        if self._articles:
            self._report.chunks_added += self._store.add_articles(list(self._articles.values()))
            self._articles.clear()
            self._copies = CopyIndex()
        for article_id in self._deletions:
            self._store.delete_article(article_id)
        self._deletions.clear()
