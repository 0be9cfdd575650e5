"""The keyword (BM25) index: a tantivy index kept beside the vector store, updated article by article.

Why tantivy: it keeps an inverted index on disk that takes adds and deletes in place, scores with
BM25 and filters on fields, so a process opens it in milliseconds instead of rebuilding BM25 from
every chunk, and a query touches only the postings of its words. Text is indexed as our own content
words (``assistant.sentences.content_words``) joined by spaces, so the index and the rest of the
assistant agree on what a word is.

The vector store is the source of truth. Each write names its articles in a small journal file
before the vector store changes and clears it after the keyword index has committed; a journal left
behind (a process killed between the two writes) names exactly what to repair on the next open.

Example::

    >>> index = KeywordIndex.open(None)
    >>> index.replace_articles({"a"}, [KeywordRow(chunk_id="a:0", article_id="a", text="Strikes hit Khiam")])
    >>> index.search("Khiam", k=5)
    [('a:0', ...)]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path

import tantivy
from pydantic import BaseModel, ConfigDict, Field

from assistant.errors import StoreError
from assistant.sentences import content_words

_HEAP = 32_000_000  # tantivy's writer arena; 15 MB is its floor per thread
_JOURNAL = "pending.json"


class KeywordRow(BaseModel):
    """What the keyword index holds of one chunk: its ids, the fields it can be filtered on, its text."""

    model_config = ConfigDict(extra="forbid")

    chunk_id: str
    article_id: str
    source: str = Field(default="unknown", description="Publisher, as in the chunk's metadata.")
    published_ord: int = Field(default=0, description="date.toordinal() of publication; 0 when unknown.")
    text: str


class _Journal(BaseModel):
    """Articles whose chunks are being written; present on disk only between the two indexes' writes."""

    model_config = ConfigDict(extra="forbid")

    article_ids: list[str]


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("article_id", tokenizer_name="raw")
    builder.add_text_field("source", tokenizer_name="raw")
    builder.add_integer_field("published_ord", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name="whitespace", index_option="freq")
    return builder.build()


class KeywordIndex:
    """BM25 search over chunks, with adds and deletes by article; on disk under ``path`` or in memory."""

    def __init__(self, index: tantivy.Index, schema: tantivy.Schema, path: Path | None) -> None:
        self._index = index
        self._schema = schema
        self._path = path
        self._writer: tantivy.IndexWriter | None = None

    @classmethod
    def open(cls, path: Path | None) -> KeywordIndex:
        """Open (or create) the index in ``path``; ``None`` keeps it in memory for this process only."""
        schema = _schema()
        try:
            if path is None:
                return cls(tantivy.Index(schema), schema, None)
            path.mkdir(parents=True, exist_ok=True)
            return cls(tantivy.Index(schema, path=str(path), reuse=True), schema, path)
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"could not open the keyword index at {path}: {exc}; move that folder away, "
                "it is rebuilt from the vector store on the next open"
            ) from exc

    # -- reading -------------------------------------------------------------------------------------

    def count(self) -> int:
        """Number of chunks indexed."""
        return int(self._index.searcher().num_docs)

    def has_article(self, article_id: str) -> bool:
        """True when any chunk of this article is indexed (a term lookup: microseconds)."""
        query = tantivy.Query.term_query(self._schema, "article_id", article_id)
        return bool(self._index.searcher().search(query, limit=1).hits)

    def chunk_ids(self) -> set[str]:
        """Every indexed chunk id (for consistency checks; reads the whole index)."""
        searcher = self._index.searcher()
        n = searcher.num_docs
        if not n:
            return set()
        hits = searcher.search(tantivy.Query.all_query(), limit=n).hits
        return {str(searcher.doc(address)["chunk_id"][0]) for _, address in hits}

    def search(
        self,
        query: str,
        *,
        k: int,
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best chunk ids by BM25 with their scores, within the source and date limits."""
        words = sorted(set(content_words(query)))
        if not words or k <= 0:
            return []
        text = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "text", w)) for w in words]
        )
        filters = self._filters(sources=sources, since=since, until=until)
        # Filters must match but add nothing to the BM25 score.
        limits = [(tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters]
        query_obj = tantivy.Query.boolean_query([(tantivy.Occur.Must, text), *limits]) if limits else text
        searcher = self._index.searcher()
        hits = searcher.search(query_obj, limit=k).hits
        return [(str(searcher.doc(address)["chunk_id"][0]), float(score)) for score, address in hits]

    def count_matching(
        self, *, sources: Sequence[str] | None = None, since: date | None = None, until: date | None = None
    ) -> int:
        """How many chunks the source and date limits leave (all chunks when there are none)."""
        query = self._filter_query(sources=sources, since=since, until=until)
        if query is None:
            return self.count()
        result = self._index.searcher().search(query, limit=1, count=True)
        return int(result.count)  # type: ignore[attr-defined]  # tantivy's stub leaves out ``count``

    def matching_ids(
        self, *, sources: Sequence[str] | None = None, since: date | None = None, until: date | None = None
    ) -> list[str]:
        """Ids of every chunk the limits leave, so a caller can score just those; meant for small sets."""
        query = self._filter_query(sources=sources, since=since, until=until)
        searcher = self._index.searcher()
        n = searcher.num_docs
        if query is None or not n:
            return [] if not n else sorted(self.chunk_ids())
        hits = searcher.search(query, limit=n, count=False).hits
        return [str(searcher.doc(address)["chunk_id"][0]) for _, address in hits]

    def matching_among(
        self,
        chunk_ids: Sequence[str],
        *,
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> set[str]:
        """Which of these chunks the limits keep: a check of a few hundred ids in a millisecond or two."""
        if not chunk_ids:
            return set()
        among = tantivy.Query.term_set_query(self._schema, "chunk_id", list(chunk_ids))
        limits = self._filter_query(sources=sources, since=since, until=until)
        query = among if limits is None else tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, among), (tantivy.Occur.Must, limits)]
        )
        searcher = self._index.searcher()
        hits = searcher.search(query, limit=len(chunk_ids), count=False).hits
        return {str(searcher.doc(address)["chunk_id"][0]) for _, address in hits}

    def _filter_query(
        self, *, sources: Sequence[str] | None, since: date | None, until: date | None
    ) -> tantivy.Query | None:
        filters = self._filters(sources=sources, since=since, until=until)
        if not filters:
            return None
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, f) for f in filters])

    def _filters(
        self, *, sources: Sequence[str] | None, since: date | None, until: date | None
    ) -> list[tantivy.Query]:
        """The same limits as ``store.build_filter``: undated articles never match a date range."""
        filters = []
        if sources:
            filters.append(tantivy.Query.term_set_query(self._schema, "source", list(sources)))
        if since is not None or until is not None:
            low = since.toordinal() if since is not None else 1
            high = until.toordinal() if until is not None else date.max.toordinal()
            filters.append(
                tantivy.Query.range_query(self._schema, "published_ord", tantivy.FieldType.Integer, low, high)
            )
        return filters

    # -- writing -------------------------------------------------------------------------------------

    def replace_articles(self, article_ids: Iterable[str], rows: Sequence[KeywordRow]) -> None:
        """Make the index hold exactly ``rows`` for these articles (no rows: delete them), in one commit."""
        writer = self._writer_()
        for article_id in article_ids:
            writer.delete_documents_by_term("article_id", article_id)
        for row in rows:
            writer.add_document(_document(row))
        self._commit()

    def rebuild(self, rows: Iterable[KeywordRow]) -> int:
        """Replace the whole index with ``rows``; returns how many were indexed.

        One commit at the end, so searches running meanwhile see the old index until the new one is whole
        (the writer spills to segment files when its arena fills, so memory stays bounded); if reading
        ``rows`` fails, the change is rolled back and the old index stays.
        """
        writer = self._writer_()
        n = 0
        try:
            writer.delete_all_documents()
            for row in rows:
                writer.add_document(_document(row))
                n += 1
        except BaseException:
            writer.rollback()
            raise
        self._commit()
        return n

    def _writer_(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=_HEAP, num_threads=1)
            except ValueError as exc:
                raise StoreError(
                    f"could not write the keyword index at {self._path}: {exc}; "
                    "is another assistant process using this data folder?"
                ) from exc
        return self._writer

    def _commit(self) -> None:
        assert self._writer is not None
        self._writer.commit()
        self._index.reload()

    def close(self) -> None:
        """Let merges finish and release tantivy's writer lock."""
        if self._writer is not None:
            with contextlib.suppress(ValueError):
                self._writer.wait_merging_threads()
            self._writer = None

    # -- the journal -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def journal(self, article_ids: Iterable[str]) -> Iterator[None]:
        """Record ``article_ids`` as in flight while the body writes both indexes; cleared only on success."""
        if self._path is None:
            yield
            return
        ids = sorted(set(article_ids) | self.pending())
        write_atomic(self._path / _JOURNAL, _Journal(article_ids=ids).model_dump_json())
        yield
        (self._path / _JOURNAL).unlink(missing_ok=True)

    def pending(self) -> set[str]:
        """Articles named by a journal that a killed process left behind (empty when all is in step)."""
        if self._path is None:
            return set()
        file = self._path / _JOURNAL
        try:
            return set(_Journal.model_validate_json(file.read_text()).article_ids)
        except FileNotFoundError:
            return set()
        except (OSError, ValueError):
            return {"*"}  # unreadable: the caller rebuilds everything

    def clear_pending(self) -> None:
        """Forget the journal once the caller has repaired what it named."""
        if self._path is not None:
            (self._path / _JOURNAL).unlink(missing_ok=True)


def _document(row: KeywordRow) -> tantivy.Document:
    return tantivy.Document(
        chunk_id=row.chunk_id,
        article_id=row.article_id,
        source=row.source,
        published_ord=row.published_ord,
        text=" ".join(content_words(row.text)),
    )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename, so no reader sees half of it."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)

