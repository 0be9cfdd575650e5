"""The hybrid retrieval as it was before the persistent keyword index: the benchmarks' in-process baseline.

BM25 here is hand-written, rebuilt in each process from every chunk read back out of Chroma, and
scores every document for every query; MMR computes cosines in pure Python. Kept only so that
``bench/latency.py`` can report the ratio against it on the same machine in the same run.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from assistant.retrieval import rrf
from assistant.sentences import content_words
from assistant.store import ArticleStore


class OldBM25:
    """Okapi BM25 over content words (k1=1.5, b=0.75), document by document."""

    def __init__(self, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
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


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def _old_mmr(order: list[str], relevance: dict[str, float], vectors: dict[str, list[float]], k: int) -> list[str]:
    chosen: list[str] = []
    pool = list(order)
    while pool and len(chosen) < k:
        best_id, best_value = None, -math.inf
        for item in pool:
            redundancy = max((_cosine(vectors[item], vectors[c]) for c in chosen), default=0.0)
            if redundancy >= 0.95:
                continue
            value = 0.85 * relevance[item] - 0.15 * redundancy
            if value > best_value:
                best_id, best_value = item, value
        if best_id is None:
            break
        chosen.append(best_id)
        pool.remove(best_id)
    return chosen


@dataclass
class OldHybridRetriever:
    """Dense + rebuilt BM25 + pure-Python MMR, as retrieval.py did it; returns chunk ids only."""

    store: ArticleStore
    embeddings: Embeddings
    k: int = 5
    fetch_k: int = 20

    def __post_init__(self) -> None:
        self._corpus = self.store.all_chunks()
        self._bm25 = OldBM25([c.text for c in self._corpus])

    def retrieve(self, query: str) -> list[str]:
        """The best ``k`` chunk ids for ``query``."""
        query_vector = self.embeddings.embed_query(query)
        dense = self.store.dense_search(query_vector, k=self.fetch_k)
        scored = zip(self._bm25.scores(query), self._corpus, strict=True)
        lexical = sorted(((s, c.chunk_id) for s, c in scored if s > 0), reverse=True)[: self.fetch_k]
        fused = rrf([[c.chunk_id for c, _ in dense], [cid for _, cid in lexical]])
        if not fused:
            return []
        vectors = self.store.get_embeddings(list(fused))
        similarity = {cid: _cosine(query_vector, vectors[cid]) for cid in fused}
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))
        low, high = min(fused.values()), max(fused.values())
        relevance = {
            cid: 0.5 * ((fused[cid] - low) / (high - low) if high > low else 1.0) + 0.5 * max(similarity[cid], 0.0)
            for cid in order
        }
        chosen = _old_mmr(order, relevance, vectors, self.k)
        self.store.get_chunks(chosen)
        return chosen
