"""Hybrid search: dense and BM25 fused by reciprocal rank, diversified by MMR, filtered by source and date.

Dense search finds paraphrases; BM25 finds the exact names and numbers that news
questions hinge on. Fusing ranks (not scores) needs no calibration between the two.
MMR then keeps near-duplicate chunks (syndicated copies, overlaps) from crowding out
other evidence.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from langchain_core.embeddings import Embeddings

from assistant.schemas import RetrievedChunk
from assistant.sentences import content_words
from assistant.store import ArticleStore, build_filter


class BM25:
    """Okapi BM25 over content words (k1=1.5, b=0.75)."""

    def __init__(self, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.docs = [Counter(content_words(t)) for t in texts]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg_length = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        frequency: Counter[str] = Counter()
        for doc in self.docs:
            frequency.update(doc.keys())
        n = len(self.docs)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in frequency.items()}

    def scores(self, query: str) -> list[float]:
        """BM25 score of every document for ``query``."""
        terms = [t for t in set(content_words(query)) if t in self.idf]
        out = []
        for doc, length in zip(self.docs, self.lengths, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / (self.avg_length or 1.0))
            out.append(sum(self.idf[t] * doc[t] * (self.k1 + 1) / (doc[t] + norm) for t in terms if t in doc))
        return out


@dataclass
class RetrievalResult:
    """Chunks chosen for a question, best first, with what retrieval saw."""

    chunks: list[RetrievedChunk]
    candidates: int
    best_similarity: float
    best_coverage: float = 0.0


def coverage(query: str, text: str) -> float:
    """Share of the query's content words that ``text`` contains."""
    wanted = set(content_words(query))
    return len(wanted & set(content_words(text))) / len(wanted) if wanted else 0.0


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def rrf(rankings: Sequence[Sequence[str]], *, k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the rankings an id appears in."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def mmr(
    order: Sequence[str],
    *,
    relevance: dict[str, float],
    vectors: Mapping[str, Sequence[float]],
    k: int,
    lambda_: float = 0.85,
    duplicate: float = 0.95,
) -> list[str]:
    """Maximal marginal relevance over ``order``; near-duplicates (cosine >= ``duplicate``) are skipped."""
    chosen: list[str] = []
    pool = list(order)
    while pool and len(chosen) < k:
        best_id, best_value = None, -math.inf
        for item in pool:
            redundancy = max((_cosine(vectors[item], vectors[c]) for c in chosen), default=0.0)
            if redundancy >= duplicate:
                continue
            value = lambda_ * relevance[item] - (1 - lambda_) * redundancy
            if value > best_value:
                best_id, best_value = item, value
        if best_id is None:
            break
        chosen.append(best_id)
        pool.remove(best_id)
    return chosen


@dataclass
class HybridRetriever:
    """Dense + BM25 retrieval over an ``ArticleStore``."""

    store: ArticleStore
    embeddings: Embeddings
    k: int = 5
    fetch_k: int = 20
    _bm25_cache: dict[tuple[int, str], tuple[BM25, list[RetrievedChunk]]] = field(default_factory=dict)

    def _bm25(self, where: dict[str, object] | None) -> tuple[BM25, list[RetrievedChunk]]:
        key = (self.store.version, repr(where))
        if key not in self._bm25_cache:
            chunks = self.store.all_chunks(where=where)
            self._bm25_cache.clear()
            self._bm25_cache[key] = (BM25([c.text for c in chunks]), chunks)
        return self._bm25_cache[key]

    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> RetrievalResult:
        """The best ``k`` chunks for ``query``, diversified, within the given filters."""
        k = k or self.k
        where = build_filter(sources=sources, since=since, until=until)
        query_vector = self.embeddings.embed_query(query)
        dense = self.store.dense_search(query_vector, k=self.fetch_k, where=where)
        index, corpus = self._bm25(where)
        lexical = sorted(
            ((s, c.chunk_id) for s, c in zip(index.scores(query), corpus, strict=True) if s > 0), reverse=True
        )[: self.fetch_k]
        fused = rrf([[c.chunk_id for c, _ in dense], [cid for _, cid in lexical]])
        if not fused:
            return RetrievalResult(chunks=[], candidates=0, best_similarity=0.0)
        vectors = self.store.get_embeddings(list(fused))
        similarity = {cid: _cosine(query_vector, vectors[cid]) for cid in fused}
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))
        low, high = min(fused.values()), max(fused.values())
        # Rank agreement and closeness to the question, half each: RRF alone barely separates single-list hits.
        relevance = {
            cid: 0.5 * ((fused[cid] - low) / (high - low) if high > low else 1.0) + 0.5 * max(similarity[cid], 0.0)
            for cid in order
        }
        chosen = mmr(order, relevance=relevance, vectors=vectors, k=k)
        by_id = {c.chunk_id: c for c in self.store.get_chunks(chosen)}
        chunks = [by_id[cid].model_copy(update={"similarity": similarity[cid], "score": fused[cid]}) for cid in chosen]
        return RetrievalResult(
            chunks=chunks,
            candidates=len(fused),
            best_similarity=max(similarity.values()),
            best_coverage=max((coverage(query, c.text) for c in chunks), default=0.0),
        )
