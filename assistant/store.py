"""The vector store: the one module that imports chromadb.

Chunks live in one Chroma collection, keyed by chunk id so that every write is an idempotent upsert.
The embedded store (``PersistentClient`` under the data dir) is guarded by a file lock, because two
processes on one directory hang or corrupt it; ``CHROMA_HOST`` switches to a Chroma server instead.
We always embed with our own LangChain ``Embeddings`` and hand Chroma the vectors, so Chroma never
falls back to its default embedding function (which downloads a model). Every chromadb exception
leaves this module as a ``StoreError`` that says what to do.

Example::

    >>> from langchain_core.embeddings import DeterministicFakeEmbedding
    >>> store = ArticleStore.ephemeral(
    ...     embeddings=DeterministicFakeEmbedding(size=8), embedding_model="fake", dimension=8)
    >>> store.count()
    0
    >>> store.close()
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

import chromadb
import httpx
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, EmbeddingFunction, Space
from chromadb.api.types import Embeddings as ChromaVectors
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError
from chromadb.utils.embedding_functions import register_embedding_function
from filelock import FileLock, Timeout
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict

from assistant.copies import CopyIndex, Signature, stored_texts
from assistant.errors import EmbeddingMismatchError, StoreError, StoreLockedError, StoreVersionError
from assistant.injection import screen
from assistant.keyword import KeywordIndex, KeywordRow, write_atomic
from assistant.retry import with_retries
from assistant.schemas import Article, ArticleSummary, Chunk, Outlet, RetrievedChunk
from assistant.settings import Settings
from assistant.vectors import VectorCache, VectorRows

_T = TypeVar("_T")
_log = logging.getLogger(__name__)
Where = dict[str, object]
"""A Chroma metadata filter, e.g. ``{"source": "Reuters"}`` or the result of ``build_filter``."""

_EMBED_BATCH = 64
CHUNK_FORMAT = 2
"""Version of the chunk metadata layout; 2 added the injection screen. Older collections are refused."""
_PAGE = 1000
_PATHS_PER_READ = 200
"""Paths a ``$in`` filter names at once: a folder's worth, still a small request to a server."""
_SERVER_READ_TIMEOUT = 120.0
# Errors that chromadb (and its HTTP and Rust layers) raise; converted to StoreError at this module's edge.
_CHROMA_ERRORS = (ChromaError, ValueError, RuntimeError, OSError, httpx.HTTPError)
# Failures of the connection to a Chroma server that a retry a moment later can cure (a restart, a dropped socket).
_TRANSIENT = (httpx.TransportError, ConnectionError)


@register_embedding_function
class _LangChainEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma's view of our LangChain embeddings; registered so Chroma can rebuild it from the collection config."""

    def __init__(self, embeddings: Embeddings | None = None, *, model: str = "", dimension: int = 0) -> None:
        self._embeddings = embeddings
        self._model = model
        self._dimension = dimension

    def __call__(self, input: Documents) -> ChromaVectors:  # chroma checks that the parameter is named `input`
        return cast(ChromaVectors, self._require().embed_documents(list(input)))

    def embed_query(self, input: Documents) -> ChromaVectors:
        return cast(ChromaVectors, [self._require().embed_query(text) for text in input])

    def _require(self) -> Embeddings:
        if self._embeddings is None:
            raise StoreError(
                f"this collection is embedded with {self._model}; open it through ArticleStore, "
                "which brings the assistant's embeddings"
            )
        return self._embeddings

    @staticmethod
    def name() -> str:
        return "assistant-langchain"

    def get_config(self) -> dict[str, Any]:
        return {"model": self._model, "dimension": self._dimension}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> _LangChainEmbeddingFunction:
        # Without the live LangChain object this can only describe the model; calling it raises StoreError.
        return _LangChainEmbeddingFunction(
            model=str(config.get("model", "")), dimension=int(config.get("dimension", 0))
        )

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]


def build_filter(
    *, sources: Sequence[str] | None = None, since: date | None = None, until: date | None = None
) -> Where | None:
    """A Chroma ``where`` for source and date limits; undated articles never match a date range."""
    clauses: list[Where] = []
    if sources:
        clauses.append({"source": {"$in": list(sources)}})
    if since is not None:
        clauses.append({"published_ord": {"$gte": since.toordinal()}})
    elif until is not None:
        clauses.append({"published_ord": {"$gt": 0}})
    if until is not None:
        clauses.append({"published_ord": {"$lte": until.toordinal()}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


FilterPath = Literal["auto", "direct", "overfetch", "chroma"]
"""How a filtered dense search runs: picked by the count the filter leaves, or forced (tests, benchmarks)."""

_OVERFETCH = 2.0
"""An unfiltered search asks for this many times the results the filter's share of the store suggests."""
_QUERY_MS_PER_RESULT = 0.010
_GET_MS_PER_ID = 0.022
_SERVER_GET_MS_PER_ID = 0.038
"""One more result (id and distance) of an unfiltered HNSW search, and reading one stored vector by id, embedded and
from a loopback Chroma server (where vectors travel as JSON): measured at 100,000 chunks (bench/latency.py's store;
docs/benchmarks.md). Only the ratio matters: it picks the cheaper filtered path; at 10,000 chunks both are cheap."""


def overfetch_size(left: int, total: int, k: int) -> int:
    """Results an unfiltered search asks for so that about ``2k`` of them pass a filter that leaves ``left`` of
    ``total`` chunks (never more than the store holds)."""
    return min(total, math.ceil(_OVERFETCH * k * total / left))


def pick_filter_path(left: int, total: int, k: int, *, server: bool = False) -> FilterPath:
    """``direct`` (score the ``left`` matching vectors) when reading them costs less than over-fetching."""
    if left <= 0 or total <= 0:
        return "direct"
    fetch = overfetch_size(left, total, k)
    per_id = _SERVER_GET_MS_PER_ID if server else _GET_MS_PER_ID
    return "direct" if left * per_id <= fetch * _QUERY_MS_PER_RESULT else "overfetch"


def matches_filter(
    meta: Mapping[str, object],
    *,
    sources: Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
) -> bool:
    """True when a chunk's metadata passes the limits that ``build_filter`` gives Chroma."""
    if sources and _str(meta, "source") not in set(sources):
        return False
    day = _int(meta, "published_ord")
    if since is not None and day < since.toordinal():
        return False
    return until is None or 0 < day <= until.toordinal()


@dataclasses.dataclass(frozen=True)
class EmbeddedBatch:
    """Articles with their chunks' vectors, in chunk order: embedded, not yet written (``embed_articles``)."""

    batch: list[tuple[Article, Sequence[Chunk]]]
    vectors: list[list[float]]
    signatures: Mapping[str, Signature] = dataclasses.field(default_factory=dict)
    """Copy signatures by article id where the caller computed them (``IngestBatch``): the store's update after
    the write reuses them instead of hashing the texts again."""

    def by_hash(self) -> dict[str, list[float]]:
        """The vectors by chunk-text hash (the key ``_vectors`` reuses stored vectors by)."""
        texts = [chunk.text for _, chunks in self.batch for chunk in chunks]
        return {_text_hash(text): vector for text, vector in zip(texts, self.vectors, strict=True)}


class ArticleStore:
    """Chunks of articles in a Chroma collection: upsert, delete, dense search and paging for BM25."""

    location: str = "in memory"
    """Where the chunks live, for the app's status panel: a folder, a server URL, or memory."""

    def __init__(
        self, *, client: ClientAPI, embeddings: Embeddings, embedding_model: str, dimension: int, hint: str
    ) -> None:
        self._client = client
        self._embeddings = embeddings
        self._model = embedding_model
        self._dimension = dimension
        self._hint = hint
        self._lock: FileLock | None = None
        self._collection: Collection | None = None
        self._version = 0
        self._keyword: KeywordIndex | None = None
        self._copies: CopyIndex | None = None
        self._copies_path: Path | None = None
        self._copies_lock = threading.Lock()  # ingestion checks copies while its writer thread adds articles
        self._copies_dirty = False
        self._name = ""
        self._kw_lock: FileLock | None = None
        self._on_server = False
        self._retry_seconds = 0.0
        self._server_state: Path | None = None  # with a server: the file saying which write the keyword index saw
        self._marker: str | None = None  # the server's write marker the keyword index is in step with
        # With a server: writes and refills of the keyword index take turns; a search checks at most this often.
        self._refresh_lock = threading.RLock()
        self._check_lock = threading.Lock()  # one check or refill at a time
        self._refresher: threading.Thread | None = None
        self._refresh_seconds = 0.0
        self._next_check = 0.0
        # With a server and a folder: the chunk vectors beside the keyword index, in step with it (``vectors.py``).
        self._cache: VectorCache | None = None
        self._moved = False  # a check or a write saw the server move past the marker this process is in step with
        self._local_marker: str | None = None  # the server marker at which ``check_local_answers`` found the index
        self._local_checked = 0.0  # when that marker was last read again (``local_answers_in_step``)
        self.copy_detection = True
        """Keep the copy signatures up to date with every write (``Settings.detects_copies``); off, writes leave them
        alone and drop their file, and a later check rebuilds them from the chunks."""
        self._log_articles = _LOG_ARTICLES  # with a server: settings.chroma_change_log_articles (``open``)

    # -- opening and closing -------------------------------------------------------------------------

    @classmethod
    def open(cls, *, settings: Settings, embeddings: Embeddings, embedding_model: str, dimension: int) -> ArticleStore:
        """Open the configured store: a Chroma server when CHROMA_HOST is set, else the locked embedded one."""
        if settings.uses_chroma_server():
            client, hint = _server_client(settings), f"check the Chroma server at {_server_url(settings)}"
            # A server has no folder beside it that all its clients share: each client keeps its own keyword index
            # under DATA_DIR, refilled from the server when it is out of step (see ``_ServerKeywordState``).
            folder, kw_lock = _server_keyword_folder(settings, client)
            store = cls._attach(client, None, settings.collection, embeddings, embedding_model, dimension, hint,
                                keyword_path=folder, keyword_lock=kw_lock, on_server=True,
                                copies_path=folder / "copies.npz" if folder is not None else None)
            retrying = _RetryingCollection(store._coll(), seconds=settings.chroma_retry_seconds)
            store._collection = cast(Collection, retrying)  # a server can restart under us
            store._retry_seconds = settings.chroma_retry_seconds
            store._refresh_seconds = settings.chroma_refresh_seconds
            store._log_articles = settings.chroma_change_log_articles
            store._next_check = time.monotonic() + settings.chroma_refresh_seconds  # just filled in step
            store.location = f"Chroma server at {_server_url(settings)}"
            store.copy_detection = settings.detects_copies()
            return store
        lock = _acquire_lock(settings.data_dir)
        try:
            client = _guarded_persistent_client(settings.data_dir / "chroma")
        except BaseException:
            lock.release()
            raise
        hint = f"check the folder {settings.data_dir} (space, permissions), or move it away and ingest again"
        store = cls._attach(client, lock, settings.collection, embeddings, embedding_model, dimension, hint,
                            keyword_path=settings.data_dir / "keyword" / settings.collection,
                            copies_path=settings.data_dir / "copies" / f"{settings.collection}.npz")
        store.location = f"folder {settings.data_dir.resolve()}"
        store.copy_detection = settings.detects_copies()
        return store

    @classmethod
    def ephemeral(
        cls, *, embeddings: Embeddings, embedding_model: str, dimension: int, name: str = "articles"
    ) -> ArticleStore:
        """An in-memory store with a fresh, uniquely named collection, so tests never see each other's chunks."""
        with _guard("start the in-memory Chroma", "reinstall chromadb"):
            client = chromadb.EphemeralClient(settings=_chroma_settings())
        unique = f"{name}-{uuid.uuid4().hex[:12]}"
        return cls._attach(client, None, unique, embeddings, embedding_model, dimension, "this is an in-memory store")

    @classmethod
    def _attach(
        cls,
        client: ClientAPI,
        lock: FileLock | None,
        name: str,
        embeddings: Embeddings,
        model: str,
        dimension: int,
        hint: str,
        *,
        keyword_path: Path | None = None,
        copies_path: Path | None = None,
        keyword_lock: FileLock | None = None,
        on_server: bool = False,
    ) -> ArticleStore:
        store = cls(client=client, embeddings=embeddings, embedding_model=model, dimension=dimension, hint=hint)
        store._lock = lock
        store._copies_path = copies_path
        store._name = name
        store._on_server = on_server
        if keyword_lock is not None and keyword_path is not None:
            store._kw_lock = keyword_lock
            store._server_state = keyword_path / _SERVER_STATE
            store._cache = VectorCache.load(keyword_path / "vectors", dim=dimension)
        try:
            store._collection = store._open_collection(name)
            store._keyword = KeywordIndex.open(keyword_path)
            store._sync_keyword()
        except BaseException:
            store.close()
            raise
        return store

    def _open_collection(self, name: str) -> Collection:
        with self._guarded(f"open the collection '{name}'"):
            try:
                existing = self._client.get_collection(name, embedding_function=None)
            except NotFoundError:
                existing = None
        if existing is not None:
            self._check_built_with(name, existing.metadata or {})
            self._check_format(name, existing.metadata or {})
        ef = _LangChainEmbeddingFunction(self._embeddings, model=self._model, dimension=self._dimension)
        with self._guarded(f"open the collection '{name}'"):
            return self._client.get_or_create_collection(
                name,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": self._model, "embedding_dim": self._dimension,
                          "chunk_format": CHUNK_FORMAT},
                embedding_function=cast(Any, ef),
            )

    def _check_built_with(self, name: str, metadata: Mapping[str, object]) -> None:
        model, dim = metadata.get("embedding_model", "an unknown model"), metadata.get("embedding_dim", "?")
        if (model, dim) != (self._model, self._dimension):
            raise EmbeddingMismatchError(
                f"collection '{name}' was built with {model} ({dim} dims), not {self._model} ({self._dimension}); "
                "set ASSISTANT_EMBEDDINGS back, or use another ASSISTANT_DATA_DIR / collection"
            )

    def _check_format(self, name: str, metadata: Mapping[str, object]) -> None:
        """Refuse a collection whose chunks another version wrote: their metadata would be read wrong."""
        found = metadata.get("chunk_format", 1)
        if found == CHUNK_FORMAT:
            return
        if isinstance(found, int) and found > CHUNK_FORMAT:
            raise StoreVersionError(
                f"collection '{name}' was written by a newer version of the assistant (chunk format {found}, "
                f"this one reads {CHUNK_FORMAT}); upgrade the assistant, or use another ASSISTANT_DATA_DIR / collection"
            )
        raise StoreVersionError(
            f"collection '{name}' was written by an older version of the assistant (chunk format {found}, "
            f"now {CHUNK_FORMAT}: chunks carry an injection screen); ingest your articles again into a new store: "
            "set ASSISTANT_DATA_DIR (or ASSISTANT_COLLECTION on a Chroma server) to a new name and run "
            "`assistant ingest PATH...`"
        )

    def close(self) -> None:
        """Release the Chroma client and the data-dir lock, so another process can open the store."""
        self.wait_for_refresh()  # a refill in the background finishes before its index closes
        with contextlib.suppress(StoreError):  # an unsaved signature file is rebuilt on the next open
            self._save_signatures()
        with contextlib.suppress(StoreError):  # unsaved vectors are refilled from the server on the next open
            self._save_vectors()
        self._collection = None
        if self._keyword is not None:
            self._keyword.close()
            self._keyword = None
        if self._kw_lock is not None:
            self._kw_lock.release()
            self._kw_lock = None
        close = getattr(self._client, "close", None)  # Client.close() exists, but not on the ClientAPI interface
        with contextlib.suppress(*_CHROMA_ERRORS):
            if callable(close):
                close()
            for session in _http_sessions(self._client):
                session.close()  # Client.close() leaves the HTTP connections open
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> ArticleStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Counts writes made through this object, so callers can cache a BM25 index until it changes."""
        return self._version

    def count(self) -> int:
        """Number of chunks stored."""
        with self._guarded("count the chunks"):
            return self._coll().count()

    def article_ids(self) -> set[str]:
        """Ids of all stored articles."""
        return {_str(meta, "article_id") for _, _, meta in self._pages(None, include_documents=False)}

    def has_article(self, article_id: str) -> bool:
        """True when any chunk of this article is stored (ingest skips it then).

        The keyword index answers "no" in microseconds where Chroma takes a query: new articles, most of a
        first ingest, cost no read. Only a "no" is taken from it, and only while it is known to be in step
        (``local_answers_in_step``); a "yes" is always confirmed by Chroma, so an index out of step can
        make an ingest redo an article, never skip a changed one.
        """
        if self.local_answers_in_step() and not self._kw().has_article(article_id):
            return False
        return bool(self._ids_where({"article_id": article_id}, limit=1))

    def path_article_ids(self, path: str) -> set[str]:
        """Ids of the articles stored from this file, so a changed file can replace its old version."""
        return self.articles_by_path([path])[path]

    def articles_by_path(self, paths: Sequence[str]) -> dict[str, set[str]]:
        """``path_article_ids`` for many files in one read per ``_PATHS_PER_READ`` paths (re-ingest reads one
        query for a folder, not one a file). Every path asked is in the result, unknown ones with no ids."""
        found: dict[str, set[str]] = {path: set() for path in paths}
        unique = list(found)
        for start in range(0, len(unique), _PATHS_PER_READ):
            where: Where = {"path": {"$in": unique[start : start + _PATHS_PER_READ]}}
            for _, _, meta in self._pages(where, include_documents=False):
                found.setdefault(_str(meta, "path"), set()).add(_str(meta, "article_id"))
        return found

    def check_local_answers(self) -> bool:
        """Confirm that the keyword index may answer ``has_article``'s "no" (an ingest calls it first).

        Embedded: always (one writer, the lock; the index is repaired in step at open). With a server: the
        index first catches up with other clients' writes, then counts as in step while this process's own
        writes are the only ones it sees (the write-marker rule of ``_mark_written``); a check that fails
        leaves every answer to Chroma.
        """
        if not self._on_server:
            return True
        self.wait_for_refresh()
        self.refresh(force=True)
        try:
            marker, count, _ = self._server_view()
        except StoreError:
            marker, count = None, -1
        in_step = marker is not None and marker == self._marker and count == self._kw().count() and not self._moved
        self._local_marker = marker if in_step else None
        self._local_checked = time.monotonic()
        return in_step

    def local_answers_in_step(self) -> bool:
        """True when the keyword index's "this article is not stored" can be trusted (``check_local_answers``).

        With a server, the collection's write marker is read again at most every ``chroma_refresh_seconds``:
        once another client has written, Chroma answers until the next ingest catches the index up. Another
        client's write within that interval can make an ingest redo an article it stored, never skip one.
        """
        if not self._on_server:
            return True
        if self._local_marker is None or self._local_marker != self._marker or self._moved:
            return False
        now = time.monotonic()
        if now >= self._local_checked + self._refresh_seconds:
            try:
                marker = self._server_view()[0]
            except StoreError:
                marker = None
            if marker != self._marker:
                self._local_marker = None
                return False
            self._local_checked = now
        return True

    def all_chunks(self, *, where: Where | None = None) -> list[RetrievedChunk]:
        """Every chunk (optionally filtered), paged from Chroma, for building the BM25 index."""
        return [_retrieved(cid, doc, meta) for cid, doc, meta in self._pages(where, include_documents=True)]

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[RetrievedChunk]:
        """The chunks with these ids, in the order asked; unknown ids are left out."""
        if not chunk_ids:
            return []
        with self._guarded("read chunks"):
            got = self._coll().get(ids=list(chunk_ids), include=["documents", "metadatas"])
        docs, metas = got["documents"] or [], got["metadatas"] or []
        found = {cid: _retrieved(cid, doc, meta) for cid, doc, meta in zip(got["ids"], docs, metas, strict=True)}
        return [found[cid] for cid in chunk_ids if cid in found]

    def get_embeddings(self, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored vectors by chunk id, for MMR diversification without re-embedding."""
        if not chunk_ids:
            return {}
        with self._guarded("read embeddings"):
            got = self._coll().get(ids=list(chunk_ids), include=["embeddings"])
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        return {cid: [float(x) for x in vec] for cid, vec in zip(got["ids"], vectors, strict=True)}

    def get_chunks_and_embeddings(
        self, chunk_ids: Sequence[str]
    ) -> tuple[dict[str, RetrievedChunk], dict[str, list[float]]]:
        """Chunks and their stored vectors by id in one read (retrieval needs both for its candidates)."""
        if not chunk_ids:
            return {}, {}
        with self._guarded("read chunks"):
            got = self._coll().get(ids=list(chunk_ids), include=["documents", "metadatas", "embeddings"])
        docs, metas = got["documents"] or [], got["metadatas"] or []
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        rows = list(zip(got["ids"], docs, metas, vectors, strict=True))
        return ({cid: _retrieved(cid, doc, meta) for cid, doc, meta, _ in rows},
                {cid: vec.tolist() if hasattr(vec, "tolist") else list(vec) for cid, _, _, vec in rows})

    def dense_search(
        self, query_embedding: list[float], *, k: int, where: Where | None = None
    ) -> list[tuple[RetrievedChunk, float]]:
        """The k nearest chunks with their cosine similarity (1 - cosine distance), best first."""
        self._check_dimension(len(query_embedding))
        if k <= 0:
            return []
        with self._guarded("search the store"):
            queries: list[Sequence[float] | Sequence[int]] = [query_embedding]
            res = self._coll().query(
                query_embeddings=queries,
                n_results=k,
                where=cast(Any, where),
                include=["documents", "metadatas", "distances"],
            )
        ids = res["ids"][0] if res["ids"] else []
        docs = (res["documents"] or [[]])[0]
        metas = (res["metadatas"] or [[]])[0]
        dists = (res["distances"] or [[]])[0]
        hits = []
        for cid, doc, meta, dist in zip(ids, docs, metas, dists, strict=True):
            similarity = 1.0 - float(dist)
            hits.append((_retrieved(cid, doc, meta, similarity=similarity), similarity))
        return hits

    def filtered_dense_search(
        self,
        query_embedding: list[float],
        *,
        k: int,
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
        path: FilterPath = "auto",
        local_vectors: bool = True,
    ) -> list[tuple[RetrievedChunk, float]]:
        """The k nearest chunks within the source and date limits, without Chroma's slow metadata pre-filter.

        Chroma's filtered search costs about 0.5 s at 100,000 chunks whatever the filter leaves. The keyword
        index answers the same limits in a millisecond, so its count picks the path: when few chunks match,
        their vectors are read by id and scored exactly (cosine in numpy); when many match, an unfiltered
        search for proportionally more results is filtered here, and widened (at worst, Chroma's own filtered
        search) when it leaves fewer than ``k``. Every hit is checked against its metadata, so nothing outside
        the limits is returned even if the keyword index were out of step. ``local_vectors=False`` reads the
        ``direct`` path's vectors from a server even when they are kept here in step (to compare the two).
        """
        where = build_filter(sources=sources, since=since, until=until)
        if where is None or k <= 0:
            return self.dense_search(query_embedding, k=k)
        self._check_dimension(len(query_embedding))
        if path == "chroma":
            return self.dense_search(query_embedding, k=k, where=where)
        index = self._kw()
        left = self.keyword_count_matching(sources=sources, since=since, until=until)
        if left == 0:
            return []
        total = max(index.count(), left)
        if path == "auto":
            # Vectors kept here cost no more to read than an embedded store's: its figure then sets the switch.
            local = local_vectors and self.local_vectors_in_step()
            path = pick_filter_path(left, total, k, server=self._on_server and not local)
        limits = {"sources": sources, "since": since, "until": until}
        if path == "direct":
            ids = index.matching_ids(sources=sources, since=since, until=until)
            return self._score_directly(query_embedding, ids, k=k, limits=limits, local_vectors=local_vectors)
        fetch = overfetch_size(left, total, k)
        for _ in range(2):
            hits = self._overfetch(query_embedding, fetch=fetch, k=k, limits=limits)
            if hits is None:  # the keyword index disagrees with a chunk's metadata: let Chroma's filter decide
                break
            if len(hits) >= k or fetch >= total:
                return hits
            fetch = min(total, fetch * 4)
        return self.dense_search(query_embedding, k=k, where=where)

    def _overfetch(
        self, query_embedding: list[float], *, fetch: int, k: int, limits: Mapping[str, Any]
    ) -> list[tuple[RetrievedChunk, float]] | None:
        """The best ``k`` within the limits among the ``fetch`` nearest chunks; None when the two indexes disagree.

        The search asks Chroma for ids and distances only (their metadata would cost four times as much at
        this depth); the keyword index says which ids the limits keep, and only the chosen chunks are read.
        """
        with self._guarded("search the store"):
            queries: list[Sequence[float] | Sequence[int]] = [query_embedding]
            res = self._coll().query(query_embeddings=queries, n_results=fetch, include=["distances"])
        ids = res["ids"][0] if res["ids"] else []
        dists = (res["distances"] or [[]])[0]
        inside = self._kw().matching_among(ids, **limits)
        chosen = [(cid, 1.0 - float(dist)) for cid, dist in zip(ids, dists, strict=True) if cid in inside][:k]
        found = {c.chunk_id: c for c in self.get_chunks([cid for cid, _ in chosen])}
        hits = [(found[cid].model_copy(update={"similarity": sim}), sim) for cid, sim in chosen if cid in found]
        if not all(_hit_matches(chunk, limits) for chunk, _ in hits):
            return None
        return hits

    def _score_directly(
        self, query_embedding: list[float], chunk_ids: Sequence[str], *, k: int, limits: Mapping[str, Any],
        local_vectors: bool = True,
    ) -> list[tuple[RetrievedChunk, float]]:
        """Exact cosine ranking of these chunks' stored vectors: kept beside the keyword index when in step with a
        server (``local_vectors_lookup``), else read by id from Chroma, a page at a time."""
        local = self.local_vectors_lookup(chunk_ids) if local_vectors else None
        ids, matrix = (local[0], local[1].astype(np.float64)) if local is not None else self.read_vectors(chunk_ids)
        if not ids:
            return []
        query = np.asarray(query_embedding, dtype=np.float64)
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
        cosines = np.divide(matrix @ query, norms, out=np.zeros(len(ids)), where=norms > 0)
        # Ties are broken by id below float32's precision (cosines equal to 1e-6), so that a vector read from the
        # server's JSON or kept here (the two differ in the last bit) can never reorder equal scores.
        rounded = np.round(cosines, 6)
        order = sorted(range(len(ids)), key=lambda i: (-rounded[i], ids[i]))
        found = {c.chunk_id: c for c in self.get_chunks([ids[i] for i in order[: k * 2]])}
        hits = []
        for i in order[: k * 2]:
            chunk = found.get(ids[i])
            if chunk is not None and _hit_matches(chunk, limits):
                similarity = float(cosines[i])
                hits.append((chunk.model_copy(update={"similarity": similarity}), similarity))
        return hits[:k]

    def read_vectors(self, chunk_ids: Sequence[str]) -> tuple[list[str], Any]:
        """These chunks' vectors read from Chroma (ids it does not know are left out), as a float64 matrix (None
        when none is found): what the ``direct`` path reads when no local vectors are in step."""
        ids: list[str] = []
        rows: list[Any] = []
        for start in range(0, len(chunk_ids), _PAGE):
            with self._guarded("read embeddings"):
                got = self._coll().get(ids=list(chunk_ids[start : start + _PAGE]), include=["embeddings"])
            if got["embeddings"] is not None and len(got["ids"]):
                ids.extend(got["ids"])
                rows.append(np.asarray(got["embeddings"], dtype=np.float32).astype(np.float64))  # as Chroma holds
        return ids, (np.vstack(rows) if rows else None)

    def local_vectors_lookup(self, chunk_ids: Sequence[str]) -> tuple[list[str], Any] | None:
        """The vectors kept beside the keyword index, only while in step with it and the server; else None.

        Not in step: no folder (the vectors live only beside an on-disk index of a server's client), a check or
        a write saw another client's write that this process has not caught up with, a catch-up failed, or the
        counts differ. The caller then reads the vectors from the server, as before.
        """
        if self._cache is None or not self.local_vectors_in_step():
            return None
        return self._cache.lookup(chunk_ids)

    def list_articles(self) -> list[ArticleSummary]:
        """One summary per stored article (title, outlet, date, chunk count), newest first, for the library."""
        found: dict[str, ArticleSummary] = {}
        for _, _, meta in self._pages(None, include_documents=False):
            article_id = _str(meta, "article_id")
            if article_id in found:
                found[article_id].chunks += 1
                continue
            chunk = _retrieved("", "", meta)
            found[article_id] = ArticleSummary(
                id=article_id, title=chunk.title, source=chunk.source, published=chunk.published,
                url=chunk.url, path=_str(meta, "path") or None, chunks=1,
            )
        return sorted(found.values(), key=lambda a: (-(a.published or date.min).toordinal(), a.title.lower()))

    # -- writing -------------------------------------------------------------------------------------

    def add_article(self, article: Article, chunks: Sequence[Chunk]) -> int:
        """Embed all chunks first, then upsert them by id, so a failed embedding writes nothing."""
        return self.add_articles([(article, chunks)])

    def add_articles(self, batch: Sequence[tuple[Article, Sequence[Chunk]]]) -> int:
        """Store several articles with one embedding pass, one upsert and one keyword commit.

        Batching across articles keeps the embedder's batches full (news articles are a few chunks
        each), and a chunk text already stored (a syndicated copy, a re-chunked article) reuses its
        stored vector instead of being embedded again. Returns the number of chunks written.
        """
        return self.write_embedded(self.embed_articles(batch))

    def embed_articles(
        self, batch: Sequence[tuple[Article, Sequence[Chunk]]], *, reuse: EmbeddedBatch | None = None,
        signatures: Mapping[str, Signature] | None = None,
    ) -> EmbeddedBatch:
        """The first half of ``add_articles``: check the chunks and compute their vectors, writing nothing.

        Ingestion runs it in one thread and ``write_embedded`` in another, so the embedder starts the
        next batch while this one is written; ``reuse`` is the batch embedded just before, perhaps not
        yet written, whose chunk texts are not embedded again. ``signatures``: the articles' copy signatures
        the caller computed, carried to the write (``EmbeddedBatch.signatures``).
        """
        batch = [(article, chunks) for article, chunks in batch if chunks]
        for article, chunks in batch:
            _check_chunks(article, chunks)
        texts = [chunk.text for _, chunks in batch for chunk in chunks]
        return EmbeddedBatch(batch=batch, vectors=self._vectors(texts, reuse=reuse) if texts else [],
                             signatures=dict(signatures or {}))

    def write_embedded(self, embedded: EmbeddedBatch) -> int:
        """The second half of ``add_articles``: upsert the embedded chunks, update both indexes; chunks written.

        Saving the copy signatures and vectors is left to the caller (``save``).
        """
        batch, vectors = embedded.batch, embedded.vectors
        if not batch:
            return 0
        pairs = [(article, chunk) for article, chunks in batch for chunk in chunks]
        ids = [chunk.id for _, chunk in pairs]
        metadatas = [_chunk_metadata(article, chunk) for article, chunk in pairs]
        article_ids = [article.id for article, _ in batch]
        action = f"store {len(batch)} article(s) from {article_ids[0]}"
        with self._changing_copies(), self._refresh_lock, self._kw().journal(article_ids), self._guarded(action):
            self._coll().upsert(
                ids=ids, embeddings=cast(Any, vectors), documents=[c.text for _, c in pairs],
                metadatas=cast(Any, metadatas),
            )
            stale = set(self._ids_where({"article_id": {"$in": article_ids}})) - set(ids)
            if stale:  # left over from an earlier chunking of the same text
                self._coll().delete(ids=sorted(stale))
            rows = [_keyword_row(c.id, c.text, meta) for (_, c), meta in zip(pairs, metadatas, strict=True)]
            self._kw().replace_articles(article_ids, rows)
            if self._cache is not None:
                self._cache.replace_articles(article_ids, VectorRows.of(ids, [a.id for a, _ in pairs], vectors))
            self._mark_written(article_ids)
        self._version += 1
        known = embedded.signatures
        self._update_copies(added=[(article.id, known.get(article.id) or article.text) for article, _ in batch])
        return len(pairs)

    def _vectors(self, texts: list[str], *, reuse: EmbeddedBatch | None = None) -> list[list[float]]:
        """A vector per text: stored ones reused by text hash, each distinct new text embedded once."""
        hashes = [_text_hash(text) for text in texts]
        known = reuse.by_hash() if reuse is not None else {}
        known = {h: known[h] for h in hashes if h in known}
        known.update(self._stored_vectors(sorted(set(hashes) - set(known))))
        todo = {h: t for h, t in zip(hashes, texts, strict=True) if h not in known}
        order = sorted(todo, key=lambda h: len(todo[h]))  # like lengths share a batch: less padding
        if order:
            known.update(zip(order, self._embed([todo[h] for h in order]), strict=True))
        return [known[h] for h in hashes]

    def _stored_vectors(self, hashes: list[str]) -> dict[str, list[float]]:
        if not hashes:
            return {}
        with self._guarded("read stored vectors"):
            got = self._coll().get(where=cast(Any, {"text_sha": {"$in": hashes}}), include=["embeddings", "metadatas"])
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        metas = got["metadatas"] or []
        return {_str(meta, "text_sha"): [float(x) for x in vec] for meta, vec in zip(metas, vectors, strict=True)}

    def add_outlet(self, article_id: str, article: Article) -> bool:
        """Record ``article`` as one more outlet carrying the stored story; False when already recorded."""
        new = _outlet(article)
        rows = list(self._pages({"article_id": article_id}, include_documents=False))
        if not rows:
            return False
        known = _outlets(rows[0][2] or {})
        if any((o.source, o.url, o.path) == (new.source, new.url, new.path) for o in known):
            return False
        value = _outlets_json([*known, new])
        with self._guarded(f"record an outlet of article {article_id}"):
            self._coll().update(
                ids=[cid for cid, _, _ in rows],
                metadatas=cast(Any, [{**(meta or {}), "outlets": value} for _, _, meta in rows]),
            )
        self._version += 1
        return True

    def delete_article(self, article_id: str) -> int:
        """Remove all chunks of an article; returns how many were removed.

        Saving the signatures and vectors is left to the caller (``save``): once per ingest, however many
        articles it replaced, or once after a lone delete.
        """
        ids = self._ids_where({"article_id": article_id})
        if ids:
            action = f"delete article {article_id}"
            with self._changing_copies(), self._refresh_lock, self._kw().journal([article_id]), self._guarded(action):
                self._coll().delete(ids=ids)
                self._kw().replace_articles([article_id], [])
                if self._cache is not None:
                    self._cache.replace_articles([article_id], VectorRows())
                self._mark_written([article_id])
            self._version += 1
            self._update_copies(removed=[article_id])
        return len(ids)

    # -- syndicated copies ---------------------------------------------------------------------------

    def copy_index(self) -> CopyIndex:
        """MinHash signatures of every stored article, for finding syndicated copies (``assistant.copies``).

        Kept in a file beside the keyword index and updated with every write while in use (``copy_detection``,
        or loaded by a check), so a new process reads one small file instead of every chunk. A write removes the
        file before it changes the store, and ``save`` (once per ingest, at the latest when the store closes)
        writes it again: so a file on disk is always in step with the store, and a missing or out-of-step one
        (a process died before saving, another version wrote the store: the file records the chunk count) is
        rebuilt from the chunks once. With a Chroma server the file sits beside the client's keyword index and
        is dropped whenever that index catches up with another client's write; a process without that folder
        builds the signatures from the server.
        """
        self.refresh(wait=False)
        with self._copies_lock:
            return self._loaded_copies()

    def find_copy(self, text: str | Signature, *, threshold: float) -> str | None:
        """The stored article ``text`` (or its signature) is a syndicated copy of, if any (``CopyIndex.find``)."""
        self.refresh(wait=False)
        with self._copies_lock:
            return self._loaded_copies().find(text, threshold=threshold)

    def save(self) -> None:
        """Write what writes changed since the last save: the signature file and the vectors kept beside a server's
        keyword index. Writes leave it to their caller: once per ingest however many articles it wrote or
        replaced, once after a lone delete (and ``close`` saves too)."""
        self._save_signatures()
        self._save_vectors()

    def _save_signatures(self) -> None:
        """Write the signature file if writes changed the signatures since it was last saved."""
        with self._copies_lock:
            if self._copies is not None and self._copies_dirty and self._collection is not None:
                self._save_copies(self._copies, self.count())
                self._copies_dirty = False

    def _save_vectors(self) -> None:
        """Write the vectors beside a server's keyword index, recorded at the marker they are in step with.

        Not while this process knows the server moved past that marker (they would be recorded in step when
        they are not): the next open then finds them out of step and refills them.
        """
        if self._cache is None or self._marker is None or self._collection is None or self._moved:
            return
        self._cache.save(marker=self._marker, collection_id=str(self._coll().id))

    def _loaded_copies(self) -> CopyIndex:
        if self._copies is None:
            chunks = self.count()
            loaded = CopyIndex.load(self._copies_path, chunks=chunks) if self._copies_path is not None else None
            if loaded is None:
                loaded = CopyIndex()
                for article_id, text in stored_texts(self.all_chunks()).items():
                    loaded.add(article_id, text)
                self._save_copies(loaded, chunks)
            self._copies = loaded
        return self._copies

    @contextlib.contextmanager
    def _changing_copies(self) -> Iterator[None]:
        """Around a write of articles: the signature file leaves the disk before the store changes, so that whatever
        stops the process before the next ``save`` leaves no file out of step with the store (it is rebuilt from the
        chunks when next needed); a write that fails drops the signatures held in memory too (they may miss part
        of it)."""
        with self._copies_lock:
            if self._copies is None and self.copy_detection:
                self._loaded_copies()  # read while the file is still in step; the write updates it in memory
            self._drop_copies_file()
        try:
            yield
        except BaseException:
            self._drop_copies()
            raise

    def _update_copies(
        self, *, added: Sequence[tuple[str, str | Signature]] = (), removed: Sequence[str] = ()
    ) -> None:
        """Bring the signatures in step with a write that has just succeeded (saved later: ``save``), while they are
        in use: copy detection is on, or a check loaded them. Otherwise they stay unloaded and their file stays
        dropped (``_changing_copies``): no signature is computed for a store that does not look for copies."""
        with self._copies_lock:
            if self._copies is None and not self.copy_detection:
                return
            index = self._loaded_copies()
            for article_id in removed:
                index.remove(article_id)
            for article_id, text_or_signature in added:
                index.add(article_id, text_or_signature)
            self._copies_dirty = True

    def _save_copies(self, index: CopyIndex, chunks: int) -> None:
        if self._copies_path is None:
            return
        try:
            index.save(self._copies_path, chunks=chunks)
        except OSError as exc:
            raise StoreError(f"could not write {self._copies_path}: {exc}; {self._hint}") from exc

    # -- the keyword index ---------------------------------------------------------------------------

    def keyword_search(
        self,
        query: str,
        *,
        k: int,
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best chunk ids by BM25, with scores, under the same limits as ``build_filter``."""
        return self._kw().search(query, k=k, sources=sources, since=since, until=until)

    def keyword_count_matching(
        self, *, sources: Sequence[str] | None = None, since: date | None = None, until: date | None = None
    ) -> int:
        """How many chunks the source and date limits leave, from the keyword index's fields (milliseconds)."""
        return self._kw().count_matching(sources=sources, since=since, until=until)

    def keyword_matching_ids(
        self, *, sources: Sequence[str] | None = None, since: date | None = None, until: date | None = None
    ) -> list[str]:
        """Ids of the chunks the limits leave, from the keyword index (for a small set: the ``direct`` path's)."""
        return self._kw().matching_ids(sources=sources, since=since, until=until)

    def keyword_chunk_ids(self) -> set[str]:
        """Every chunk id in the keyword index (reads it whole; for checks, not for queries)."""
        return self._kw().chunk_ids()

    def local_vector_ids(self) -> set[str] | None:
        """Chunk ids whose vectors are kept beside the keyword index (None: none kept, as without a server)."""
        return self._cache.chunk_ids() if self._cache is not None else None

    def local_vectors_in_step(self) -> bool:
        """True when a filtered search would score from the vectors kept here rather than read them from Chroma."""
        cache = self._cache
        return (cache is not None and not self._moved
                and cache.count() == self._kw().count())

    def chunk_ids(self) -> set[str]:
        """Every chunk id in the vector store (reads it whole; for checks, not for queries)."""
        return {cid for cid, _, _ in self._pages(None, include_documents=False)}

    def _kw(self) -> KeywordIndex:
        if self._keyword is None:
            raise StoreError("the store is closed; open it again with ArticleStore.open()")
        return self._keyword

    def _sync_keyword(self) -> None:
        """Bring the keyword index in step with Chroma, the source of truth, when it opens.

        A journal left by a killed write names the articles to redo; a count that differs (a new or moved
        index, a store from before the keyword index, a rebuild cut short) rebuilds the whole index.
        """
        index = self._kw()
        pending = index.pending()
        if pending:  # a write was cut short: rebuild the signatures too
            self._drop_copies_file()
        if pending and "*" not in pending:
            where: Where = {"article_id": {"$in": sorted(pending)}}
            index.replace_articles(pending, [_keyword_row(*row) for row in self._pages(where, include_documents=True)])
        metadata = self._server_metadata("read the collection's metadata")[1] if self._on_server else None
        marker = _str(metadata, _MARKER) if metadata is not None else None
        saved = _ServerKeywordState.read(self._server_state) if self._server_state is not None else None
        vectors_ok = not pending and self._vectors_saved_with(saved)
        if self._cache is not None and not vectors_ok:
            self._cache = VectorCache.empty(dim=self._dimension, folder=self._cache.folder)
        in_step = self._state_matches(saved, marker) or self._caught_up_at_open(saved, marker, metadata or {})
        if not in_step:  # another client wrote: its articles' signatures too
            self._drop_copies_file()
        if "*" in pending or index.count() != self.count() or not in_step:
            self._refill()
        elif self._cache is not None and (not vectors_ok or self._cache.count() != index.count()):
            self._fill_vectors()
        index.clear_pending()
        self._save_state(marker)
        self._save_vectors()

    def _vectors_saved_with(self, state: _ServerKeywordState | None) -> bool:
        """True when the saved vectors saw the same server write as the saved keyword index (``state``, so a
        catch-up from the change log brings both up to date); False sends them to be refilled."""
        if self._cache is None or self._cache.state is None or state is None:
            return False
        saved = self._cache.state
        return (saved.marker == state.marker and saved.collection_id == state.collection_id
                and saved.count == self._cache.count())

    def _refill(self) -> None:
        """Refill the keyword index, and the vectors beside it, from every chunk on the server in one pass."""
        if self._cache is None:
            self._kw().rebuild(_keyword_row(*row) for row in self._pages(None, include_documents=True))
            return
        vectors = VectorRows()
        pages = _gathering(self._vector_pages(None, documents=True), vectors)
        self._kw().rebuild(row for page in pages for row in page.keyword_rows())
        self._cache.rebuild(vectors)

    def _fill_vectors(self) -> None:
        """Fill the vectors alone from the server (saved ones out of step with an index that is in step)."""
        assert self._cache is not None
        vectors = VectorRows()
        for _ in _gathering(self._vector_pages(None, documents=False), vectors):
            pass
        self._cache.rebuild(vectors)

    # -- the keyword index beside a Chroma server ----------------------------------------------------

    def _server_metadata(self, action: str, *, retry: bool = True) -> tuple[Collection, Mapping[str, object]]:
        """The server's collection as it is now, and its metadata: the write marker (``_MARKER``, "" when no
        assistant wrote one; any client's write changes it) and the change log (``_LOG``).

        ``retry``: connection failures are retried like the collection's own calls (opening, marking a write); a
        check (``_server_view``) asks once and leaves the next try to its next interval.
        """

        def get() -> Collection:
            return self._client.get_collection(self._name, embedding_function=None)

        with self._guarded(action):
            fresh = self._server_call(get) if retry else get()
        return fresh, fresh.metadata or {}

    def _server_call(self, call: Callable[[], _T]) -> _T:
        """``call`` retried on connection failures like the collection's own calls (a server can restart)."""
        return with_retries(call, transient=_TRANSIENT, attempts=20, max_seconds=self._retry_seconds)

    def _caught_up_at_open(
        self, state: _ServerKeywordState | None, marker: str | None, metadata: Mapping[str, object]
    ) -> bool:
        """Bring an index saved out of step (at ``state``) up to date from the change log in the server's
        ``metadata`` (``refresh``), when it can say what was written since; False when a whole refill is needed."""
        if state is None or marker is None or state.collection_id != str(self._coll().id):
            return False
        changed = _ChangeLog.read(metadata).changed_between(state.marker, marker)
        return changed is not None and self._apply_changes(changed, self.count())

    def _state_matches(self, state: _ServerKeywordState | None, marker: str | None) -> bool:
        """True when the keyword index on disk (saved at ``state``) saw the server's last write (always true
        without a server, or without a folder to keep the index in)."""
        if self._server_state is None:
            return True
        return state is not None and state.marker == marker and state.collection_id == str(self._coll().id)

    def _save_state(self, marker: str | None) -> None:
        if marker is None:
            return
        self._marker = marker
        if self._server_state is None:
            return
        state = _ServerKeywordState(marker=marker, collection_id=str(self._coll().id))
        try:
            write_atomic(self._server_state, state.model_dump_json())
        except OSError as exc:
            raise StoreError(
                f"could not write {self._server_state}: {exc}; set ASSISTANT_DATA_DIR to a writable folder"
            ) from exc

    def _mark_written(self, article_ids: Sequence[str]) -> None:
        """After a write to a server: give its collection a new marker, log the articles it changed, and record
        the marker when nothing else wrote between.

        The log (``keyword_log``, the last few hundred articles written, each write chained to the marker before
        it) lets a running client catch up by re-reading just those articles (``refresh``). If another client
        wrote since this index was last in step, the state file is removed instead, so the next process refills
        the index from the server, and this process's next check walks the log from where it was. Reading and
        setting the marker are two requests: two writes landing within the same few milliseconds can still be
        missed (docs/deployment.md).
        """
        if not self._on_server:
            return
        new = uuid.uuid4().hex
        fresh, metadata = self._server_metadata("mark the collection as written")
        current = _str(metadata, _MARKER)
        change = _Change(prev=current, new=new, articles=sorted(set(article_ids)))
        log = _ChangeLog.read(metadata).then(change, keep=self._log_articles)
        update = {**metadata, _MARKER: new, _LOG: log.model_dump_json()}
        with self._guarded("mark the collection as written"):
            self._server_call(lambda: fresh.modify(metadata=update))
        if current == self._marker:
            if self._local_marker == current:  # nothing else wrote between: the index stays trusted
                self._local_marker = new
            self._save_state(new)
            return
        self._moved = True  # another client wrote first: the vectors beside the index wait for the catch-up
        if self._server_state is not None:  # the marker stays where this index was: the next check catches up
            self._server_state.unlink(missing_ok=True)

    # -- following other clients' writes to a server -----------------------------------------------------

    def refresh(self, *, force: bool = False, wait: bool = True) -> bool:
        """Catch up with other clients' writes to a Chroma server; True when the keyword index was brought up to date.

        A long-running process (the app) would otherwise search a keyword index, and filter dense search and
        find copies through it, as it was when it opened. At most once per ``chroma_refresh_seconds`` (or
        when ``force``d) it reads the collection's write marker, change log and chunk count; when they moved
        and this process did not move them, the articles the log names are re-read into the index and the copy
        signatures; when the log cannot say, the index is refilled from the server and the signatures dropped
        (rebuilt on their next use). Searches meanwhile see the old index: each commits once, whole. A
        server that cannot be reached leaves the last good index and logs a warning: the check is retried at
        the next interval. Without a server it does nothing (the embedded store has a single writer: its lock).

        ``wait=False`` (what searches use) runs the check and any catch-up in a background thread, so no
        question waits for one (a whole refill takes seconds at 100,000 chunks): the searches that follow see
        the old index until the new one is committed. It then returns False at once (``wait_for_refresh`` waits for it).
        """
        if not self._on_server or self._collection is None:
            return False
        now = time.monotonic()
        if not force and now < self._next_check:
            return False
        with self._check_lock:
            if self._refresher is not None and self._refresher.is_alive():
                return False  # one is under way
            self._next_check = now + self._refresh_seconds
            if not wait:
                self._refresher = threading.Thread(target=self._refresh_locked, name="keyword-refresh", daemon=True)
                self._refresher.start()
                return False
        return self._refresh_locked()

    def wait_for_refresh(self) -> None:
        """Wait for a check or refill started by ``refresh(wait=False)``, if one is under way."""
        refresher = self._refresher
        if refresher is not None and refresher is not threading.current_thread():
            refresher.join()

    def _refresh_locked(self) -> bool:
        with self._refresh_lock:  # waits for a write of this process to finish: it moves the marker itself
            if self._collection is None:
                return False
            return self._refresh_now()

    def _refresh_now(self) -> bool:
        try:
            marker, count, log = self._server_view()
            index = self._kw()
            if marker == self._marker and count == index.count():
                return False
            self._moved = True  # the vectors beside the index are not used until the catch-up commits
            changed = log.changed_between(self._marker, marker)
            if changed is None or not self._apply_changes(changed, count):
                self._refill()
                self._drop_copies()
            self._save_state(marker)
            self._moved = False
        except StoreError as exc:
            _log.warning("keeping the keyword index as it was: %s", exc)
            return False
        return True

    def _apply_changes(self, changed: set[str], count: int) -> bool:
        """Re-read just the articles other clients wrote; False when the index then disagrees with the count."""
        where: Where = {"article_id": {"$in": sorted(changed)}}
        vectors = VectorRows()
        read = self._vector_pages(where, documents=True, vectors=self._cache is not None) if changed else iter(())
        rows = [row for page in _gathering(read, vectors) for row in page.rows()]
        self._kw().replace_articles(sorted(changed), [_keyword_row(*row) for row in rows])
        if self._cache is not None:
            self._cache.replace_articles(sorted(changed), vectors)
        if self._kw().count() != count:  # a write the log missed (or made without the assistant)
            return False
        with self._copies_lock:
            self._drop_copies_file()  # out of step with the store from now until the next save
            if self._copies is None:  # not loaded: rebuilt from the chunks when next needed
                return True
            texts = stored_texts([_retrieved(*row) for row in rows])
            for article_id in changed:
                self._copies.remove(article_id)
            for article_id, text in texts.items():
                self._copies.add(article_id, text)
            self._copies_dirty = True
        return True

    def _drop_copies(self) -> None:
        with self._copies_lock:
            self._copies, self._copies_dirty = None, False
            self._drop_copies_file()

    def _drop_copies_file(self) -> None:
        if self._copies_path is not None:
            self._copies_path.unlink(missing_ok=True)

    def _server_view(self) -> tuple[str, int, _ChangeLog]:
        """The collection's write marker, change log and chunk count, asked once each with no retries (a check)."""
        action = "check the collection for other clients' writes"
        fresh, metadata = self._server_metadata(action, retry=False)
        with self._guarded(action):
            count = fresh.count()
        return _str(metadata, _MARKER), count, _ChangeLog.read(metadata)

    # -- helpers -------------------------------------------------------------------------------------

    def _coll(self) -> Collection:
        if self._collection is None:
            raise StoreError("the store is closed; open it again with ArticleStore.open()")
        return self._collection

    def _guarded(self, action: str) -> contextlib.AbstractContextManager[None]:
        return _guard(action, self._hint)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for i in range(0, len(texts), _EMBED_BATCH):
            vectors.extend(self._embeddings.embed_documents(texts[i : i + _EMBED_BATCH]))
        for vector in vectors:
            self._check_dimension(len(vector))
        return vectors

    def _check_dimension(self, got: int) -> None:
        if got != self._dimension:
            raise EmbeddingMismatchError(
                f"got a {got}-dim vector, but the store holds {self._model} ({self._dimension} dims); "
                "open the store with the embeddings it was built with (ASSISTANT_EMBEDDINGS)"
            )

    def _ids_where(self, where: Where, *, limit: int | None = None) -> list[str]:
        with self._guarded("read chunk ids"):
            return list(self._coll().get(where=cast(Any, where), limit=limit, include=[])["ids"])

    def _vector_pages(self, where: Where | None, *, documents: bool, vectors: bool = True) -> Iterator[_Page]:
        """Chunks a page at a time with their metadata, and their text and vectors as asked."""
        include = ["metadatas", *(["documents"] if documents else []), *(["embeddings"] if vectors else [])]
        offset = 0
        while True:
            with self._guarded("read chunks"):
                got = self._coll().get(where=cast(Any, where), limit=_PAGE, offset=offset, include=cast(Any, include))
            page = _Page(cast(Mapping[str, Any], got), dim=self._dimension)
            yield page
            if len(page.ids) < _PAGE:
                return
            offset += _PAGE

    def _pages(
        self, where: Where | None, *, include_documents: bool
    ) -> Iterator[tuple[str, str, Mapping[str, object]]]:
        for page in self._vector_pages(where, documents=include_documents, vectors=False):
            yield from page.rows()


def _gathering(pages: Iterable[_Page], vectors: VectorRows) -> Iterator[_Page]:
    """The pages, passed on as they come, each one's vectors added to ``vectors`` on the way (so one read of the
    server fills the keyword index and the vectors beside it)."""
    for page in pages:
        if len(page.vectors):  # pages read without their vectors add none
            vectors.add(page.ids, page.article_ids(), page.vectors)
        yield page


class _Page:
    """One page of chunks read from Chroma, with their vectors when asked for."""

    def __init__(self, got: Mapping[str, Any], *, dim: int) -> None:
        self.ids: list[str] = list(got["ids"])
        self.docs: list[str] = list(got.get("documents") or [""] * len(self.ids))
        self.metas: list[Mapping[str, object]] = [meta or {} for meta in got.get("metadatas") or [{}] * len(self.ids)]
        raw = got.get("embeddings")
        self.vectors = np.asarray(raw, dtype=np.float32) if raw is not None and len(self.ids) else (
            np.zeros((0, dim), dtype=np.float32))

    def rows(self) -> list[tuple[str, str, Mapping[str, object]]]:
        return list(zip(self.ids, self.docs, self.metas, strict=True))

    def keyword_rows(self) -> Iterator[KeywordRow]:
        return (_keyword_row(*row) for row in self.rows())

    def article_ids(self) -> list[str]:
        return [_str(meta, "article_id") for meta in self.metas]


_MARKER = "keyword_marker"
_LOG = "keyword_log"
_LOG_ARTICLES = int(Settings.model_fields["chroma_change_log_articles"].default)
"""Articles the change log remembers by default (about 8 kB of metadata, read by every check): a client that falls
further behind refills its index whole."""
_SERVER_STATE = "server-state.json"


class _Change(BaseModel):
    """One write to a server's collection: the marker before it, the one it set, and the articles it changed."""

    model_config = ConfigDict(extra="forbid")

    prev: str
    new: str
    articles: list[str]


class _ChangeLog(BaseModel):
    """The last writes to a server's collection, oldest first, kept in its metadata (``keyword_log``)."""

    model_config = ConfigDict(extra="forbid")

    changes: list[_Change] = []

    @classmethod
    def read(cls, metadata: Mapping[str, object]) -> _ChangeLog:
        """The log in a collection's metadata; empty when missing or unreadable (readers then refill whole)."""
        try:
            return cls.model_validate_json(_str(metadata, _LOG) or "{}")
        except ValueError:
            return cls()

    def then(self, change: _Change, *, keep: int = _LOG_ARTICLES) -> _ChangeLog:
        """This log with ``change`` appended, trimmed to the newest writes within ``keep`` articles."""
        kept: list[_Change] = []
        total = 0
        for item in reversed([*self.changes, change]):
            total += len(item.articles)
            if total > keep:
                break
            kept.append(item)
        return _ChangeLog(changes=kept[::-1])

    def changed_between(self, since: str | None, marker: str) -> set[str] | None:
        """Articles written from marker ``since`` to ``marker``, following the chain of writes; None when the
        log cannot say (a marker unknown or fallen out of the log, or two writes that both followed one marker)."""
        if since is None:
            return None
        following: dict[str, list[_Change]] = {}
        for change in self.changes:
            following.setdefault(change.prev, []).append(change)
        changed: set[str] = set()
        at = since
        for _ in range(len(self.changes) + 1):
            if at == marker:
                return changed
            nexts = following.get(at, [])
            if len(nexts) != 1:
                return None
            changed.update(nexts[0].articles)
            at = nexts[0].new
        return None


class _ServerKeywordState(BaseModel):
    """Which state of a server's collection the keyword index beside it holds: the collection and its last write."""

    model_config = ConfigDict(extra="forbid")

    marker: str
    collection_id: str

    @classmethod
    def read(cls, path: Path) -> _ServerKeywordState | None:
        """The saved state, or None when it is missing or unreadable (the index is then refilled)."""
        try:
            return cls.model_validate_json(path.read_text())
        except (OSError, ValueError):
            return None


def _server_keyword_folder(settings: Settings, client: ClientAPI) -> tuple[Path | None, FileLock | None]:
    """The folder under DATA_DIR for this server's collection, locked for this process; (None, None) to keep the
    index in memory instead (the folder is in use by another process on this machine, or cannot be written)."""
    tenant, database = getattr(client, "tenant", "default_tenant"), getattr(client, "database", "default_database")
    key = f"{_server_url(settings)}|{tenant}|{database}|{settings.collection}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = settings.data_dir / "keyword-server" / f"{settings.collection}-{digest}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "server.txt").write_text(key + "\n")
        lock = FileLock(folder / "index.lock", timeout=0, thread_local=False, on_acquired=_write_pid)
        lock.acquire()
    except (OSError, Timeout):
        return None, None
    return folder, lock


class _RetryingCollection:
    """A server collection whose calls are retried on connection failures (all are idempotent: reads, upserts
    and deletes by id), bounded in attempts and seconds by ``assistant.retry``."""

    _RETRIED = frozenset({"count", "get", "query", "upsert", "delete"})

    def __init__(self, inner: Collection, *, seconds: float) -> None:
        self._inner = inner
        self._seconds = seconds

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self._RETRIED:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return with_retries(lambda: attr(*args, **kwargs), transient=_TRANSIENT, attempts=20,
                                max_seconds=self._seconds)

        return call


# -- module helpers ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _guard(action: str, hint: str) -> Iterator[None]:
    """Turn chromadb's exceptions into a StoreError that names the action and what to do."""
    try:
        yield
    except _CHROMA_ERRORS as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise StoreError(f"could not {action}: {reason}; {hint}") from exc


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _acquire_lock(data_dir: Path) -> FileLock:
    """Take the exclusive lock on the data dir without waiting; a held lock means another assistant runs."""
    with _guard(f"create the data folder {data_dir}", "set ASSISTANT_DATA_DIR to a writable folder"):
        data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "store.lock"
    lock = FileLock(path, timeout=0, thread_local=False, on_acquired=_write_pid)
    try:
        lock.acquire()
    except Timeout:
        pid = _read_pid(path)
        raise StoreLockedError(
            f"the store at {data_dir} is in use by another assistant process"
            f"{f' (pid {pid})' if pid else ''}; stop it, or set ASSISTANT_DATA_DIR to another folder, "
            "or use a Chroma server (CHROMA_HOST)"
        ) from None
    return lock


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _read_pid(path: Path) -> str:
    with contextlib.suppress(OSError):
        text = path.read_text().strip()
        return text if text.isdigit() else ""
    return ""


def _guarded_persistent_client(path: Path) -> ClientAPI:
    with _guard(f"open the embedded Chroma store at {path}", "check the folder, or move it away and ingest again"):
        return chromadb.PersistentClient(path=path, settings=_chroma_settings())


def _server_url(settings: Settings) -> str:
    host = settings.chroma_host or "localhost"
    if host.startswith(("http://", "https://")):
        return host.rstrip("/")
    bracketed = f"[{host}]" if ":" in host else host
    return f"http://{bracketed}:{settings.chroma_port or 8000}"


def _server_client(settings: Settings) -> ClientAPI:
    """An HttpClient, after a heartbeat with a deadline: chromadb's own HTTP calls have no timeout at all."""
    _probe_server(settings)
    hint = f"check the Chroma server at {_server_url(settings)}"
    with _guard("connect to the Chroma server", hint):
        client = chromadb.HttpClient(
            host=settings.chroma_host or "localhost", port=settings.chroma_port or 8000, settings=_chroma_settings()
        )
    _set_http_timeout(client, settings.chroma_timeout)
    return client


def _probe_server(settings: Settings) -> None:
    url = _server_url(settings)
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=settings.chroma_timeout) as response:
            response.read()
    except (OSError, ValueError) as exc:
        host, port = settings.chroma_host, settings.chroma_port or 8000
        reason = getattr(exc, "reason", None) or exc
        if isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code} {exc.reason} from /api/v2/heartbeat: not a Chroma 1.x server?"
        raise StoreError(
            f"cannot reach the Chroma server at {url} ({reason}); start it with "
            f"`chroma run --host {host} --port {port}` or unset CHROMA_HOST to use the embedded store"
        ) from exc


def _http_sessions(client: ClientAPI) -> list[httpx.Client]:
    """The httpx sessions of an HttpClient and of its internal admin client (each has its own); [] when embedded.

    They are private attributes, hence looked up defensively.
    """
    servers = [getattr(client, "_server", None), getattr(getattr(client, "_admin_client", None), "_server", None)]
    sessions = [getattr(server, "_session", None) for server in servers]
    return [session for session in sessions if isinstance(session, httpx.Client)]


def _set_http_timeout(client: ClientAPI, connect_timeout: float) -> None:
    """Give chromadb's httpx sessions a deadline (created with timeout=None), so a dead server cannot hang us."""
    for session in _http_sessions(client):
        session.timeout = httpx.Timeout(_SERVER_READ_TIMEOUT, connect=connect_timeout)


def _check_chunks(article: Article, chunks: Sequence[Chunk]) -> None:
    for chunk in chunks:
        if not chunk.text.strip():
            raise ValueError(f"chunk {chunk.id} of article {article.id} has empty text; fix the chunker")
        if chunk.article_id != article.id:
            raise ValueError(f"chunk {chunk.id} belongs to article {chunk.article_id}, not {article.id}")


def _chunk_metadata(article: Article, chunk: Chunk) -> dict[str, str | int]:
    return {
        "article_id": article.id,
        "title": article.title,
        "source": article.source,
        "published": article.published.isoformat() if article.published else "",
        "published_ord": article.published.toordinal() if article.published else 0,
        "url": article.url or "",
        "path": article.path or "",
        "author": article.author or "",
        "outlets": _outlets_json([_outlet(article)]),
        "n": chunk.n,
        "start": chunk.start,
        "end": chunk.end,
        "tokens": chunk.tokens,
        "text_sha": _text_hash(chunk.text),
        "injection": screen(chunk.text, article.title, article.source, article.url),
    }


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _hit_matches(chunk: RetrievedChunk, limits: Mapping[str, Any]) -> bool:
    """``matches_filter`` on a chunk already read (its source and publication date)."""
    day = chunk.published.toordinal() if chunk.published is not None else 0
    return matches_filter({"source": chunk.source, "published_ord": day}, **limits)


def _keyword_row(chunk_id: str, text: str, meta: Mapping[str, object]) -> KeywordRow:
    return KeywordRow(
        chunk_id=chunk_id,
        article_id=_str(meta, "article_id"),
        source=_str(meta, "source") or "unknown",
        published_ord=_int(meta, "published_ord"),
        text=text,
    )


def _retrieved(
    chunk_id: str, text: str | None, meta: Mapping[str, object] | None, similarity: float = 0.0
) -> RetrievedChunk:
    meta = meta or {}
    published = _str(meta, "published")
    return RetrievedChunk(
        chunk_id=chunk_id,
        article_id=_str(meta, "article_id"),
        title=_str(meta, "title"),
        source=_str(meta, "source") or "unknown",
        published=date.fromisoformat(published) if published else None,
        url=_str(meta, "url") or None,
        author=_str(meta, "author") or None,
        outlets=_outlets(meta),
        text=text or "",
        start=_int(meta, "start"),
        end=_int(meta, "end"),
        similarity=similarity,
        injection=_str(meta, "injection"),
    )


def _outlet(article: Article) -> Outlet:
    return Outlet(source=article.source, url=article.url, path=article.path, published=article.published)


def _outlets_json(outlets: Sequence[Outlet]) -> str:
    return json.dumps([o.model_dump(mode="json", exclude_none=True) for o in outlets], separators=(",", ":"))


def _outlets(meta: Mapping[str, object]) -> list[Outlet]:
    """The outlets recorded on a chunk (Chroma metadata holds scalars, so they are stored as JSON)."""
    raw = _str(meta, "outlets")
    try:
        items = json.loads(raw) if raw else []
        return [Outlet.model_validate(item) for item in items] if isinstance(items, list) else []
    except ValueError:  # pydantic's ValidationError is a ValueError
        return []


def _str(meta: Mapping[str, object], key: str) -> str:
    value = meta.get(key)
    return value if isinstance(value, str) else ""


def _int(meta: Mapping[str, object], key: str) -> int:
    value = meta.get(key)
    return value if isinstance(value, int) else 0
