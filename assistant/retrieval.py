"""Hybrid search: dense and BM25 fused by reciprocal rank, diversified by MMR, filtered by source and date.

Dense search finds paraphrases; BM25 finds the exact names and numbers that news
questions hinge on. Fusing ranks (not scores) needs no calibration between the two.
MMR then keeps near-duplicate chunks (syndicated copies, overlaps) from crowding out
other evidence. BM25 runs on the store's persistent keyword index (``assistant.keyword``),
so a query costs the postings of its words, not a pass over every chunk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
from langchain_core.embeddings import Embeddings

from assistant import dates
from assistant.answer_types import unfit_reason
from assistant.schemas import RetrievedChunk
from assistant.sentences import content_words, split_sentences
from assistant.store import ArticleStore, FilterPath


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


def unit_rows(vectors: Sequence[Sequence[float]]) -> npt.NDArray[np.float64]:
    """Rows scaled to length 1 (zero rows stay zero), so dot products are cosines."""
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: npt.NDArray[np.float64] = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return unit


YEAR_WEIGHT = 0.008
"""Half a first place in one RRF list (1/61): tuned on RGB's even ids (bench/retrieval.py, docs/benchmarks.md)."""


def year_agreement(years: set[str], chunk: RetrievedChunk) -> int:
    """+1 when the chunk names one of the question's years, -1 when it names only others, 0 otherwise.

    News questions that name a year ("the 2021 Super Bowl") are mostly missed by way of chunks about
    the same subject in another year, which dense and keyword scores both rank high. The chunk's
    own text, its title and its publication year count as naming a year.
    """
    named = dates.years(f"{chunk.title} {chunk.text}")
    if chunk.published is not None:
        named.add(str(chunk.published.year))
    if named & years:
        return 1
    return -1 if named else 0


ANSWER_FORM_WEIGHT = 0.003
"""About a fifth of a first place in one RRF list: tuned on RGB's even ids (bench/retrieval.py, docs/benchmarks.md)."""


def answer_form(query: str, text: str) -> int:
    """1 when the sentence of ``text`` sharing most of the query's words offers the kind of answer asked for.

    RGB-style misses are passages on the question's subject that never state its answer: the
    release of another edition, a preview before the date, a ranking without the name. The sentence
    that overlaps the question most is where an answer would sit; ``answer_types.unfit_reason``
    checks cheaply (no model) that it holds a date for "when", a count for "how many", the
    question's numbers, and so on. Lexical overlap picks the sentence, so nothing is embedded per query.
    """
    wanted = set(content_words(query))
    sentences = split_sentences(text) or [text]
    best = max(sentences, key=lambda sentence: len(wanted & set(content_words(sentence))))
    return 0 if unfit_reason(query, best) else 1


def rerank_terms(query: str, fused: dict[str, float], found: Mapping[str, RetrievedChunk]) -> dict[str, float]:
    """The fused scores plus the year term (when the query names a year) and the answer-form term."""
    years = dates.years(query)
    out = {}
    for cid, score in fused.items():
        chunk = found[cid]
        score += ANSWER_FORM_WEIGHT * answer_form(query, chunk.text)
        if years:
            score += YEAR_WEIGHT * year_agreement(years, chunk)
        out[cid] = score
    return out


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
    """Maximal marginal relevance over ``order``; near-duplicates (cosine >= ``duplicate``) are skipped.

    The pairwise cosines are one matrix product; the greedy loop then only reads it.
    """
    if not order or k <= 0:
        return []
    unit = unit_rows([vectors[item] for item in order])
    cosines = unit @ unit.T
    rel = np.array([relevance[item] for item in order])
    redundancy = np.zeros(len(order))  # the most similar chosen item's cosine; 0 before any is chosen
    available = np.ones(len(order), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < k:
        value = np.where(available & (redundancy < duplicate), lambda_ * rel - (1 - lambda_) * redundancy, -math.inf)
        best = int(np.argmax(value))  # the first of equal values, as in ``order``
        if value[best] == -math.inf:
            break
        redundancy = cosines[best].copy() if not chosen else np.maximum(redundancy, cosines[best])
        chosen.append(best)
        available[best] = False
    return [order[i] for i in chosen]


Rerank = Callable[[str, Sequence[float], dict[str, float], Mapping[str, RetrievedChunk]], dict[str, float]]
"""(query, query vector, fused scores, their chunks) -> the scores that order the candidates before MMR."""
Ranking = Callable[[str, Sequence[float]], Sequence[str]]
"""(query, query vector) -> chunk ids, best first: one more list for reciprocal rank fusion."""


def default_rerank(
    query: str, query_vector: Sequence[float], fused: dict[str, float], found: Mapping[str, RetrievedChunk]
) -> dict[str, float]:
    """The assistant's rerank: ``rerank_terms`` (the year and answer-form terms; no use for the query vector)."""
    del query_vector
    return rerank_terms(query, fused, found)


@dataclass
class HybridRetriever:
    """Dense + BM25 retrieval over an ``ArticleStore``.

    The rerank and an extra fused list are fields so that a benchmark can try a variant through this very
    retrieval (``bench/retrieval_sentences.py``) instead of a copy of it; the defaults are what the assistant runs.
    """

    store: ArticleStore
    embeddings: Embeddings
    k: int = 5
    fetch_k: int = 20
    dense_filter: FilterPath = "auto"
    """How the dense side applies source and date limits (``ArticleStore.filtered_dense_search``); "chroma" is
    Chroma's own metadata pre-filter, kept to compare against."""
    local_vectors: bool = True
    """With a Chroma server, score the filtered ``direct`` path from the vectors kept beside the keyword index when
    they are in step (False reads them from the server, kept to compare against)."""
    rerank: Rerank = default_rerank
    """Scores the fused candidates before MMR: the year and answer-form terms by default."""
    extra_ranking: Ranking | None = None
    """One more ranked list fused with the dense and keyword ones; none by default."""

    def fuse(
        self,
        query: str,
        query_vector: Sequence[float],
        *,
        sources: Sequence[str] | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> dict[str, float]:
        """Reciprocal rank fusion of the dense and keyword candidates (and the extra ranking's) within the filters."""
        dense = self.store.filtered_dense_search(
            list(query_vector), k=self.fetch_k, sources=sources, since=since, until=until, path=self.dense_filter,
            local_vectors=self.local_vectors,
        )
        lexical = self.store.keyword_search(query, k=self.fetch_k, sources=sources, since=since, until=until)
        rankings = [[c.chunk_id for c, _ in dense], [cid for cid, _ in lexical]]
        if self.extra_ranking is not None:
            rankings.append(list(self.extra_ranking(query, query_vector)))
        return rrf(rankings)

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
        self.store.refresh(wait=False)  # a Chroma server's other clients' writes (ArticleStore.refresh)
        query_vector = self.embeddings.embed_query(query)
        fused = self.fuse(query, query_vector, sources=sources, since=since, until=until)
        found, vectors = self.store.get_chunks_and_embeddings(list(fused))
        fused = {cid: score for cid, score in fused.items() if cid in vectors}  # in step unless a write just failed
        if not fused:
            return RetrievalResult(chunks=[], candidates=0, best_similarity=0.0)
        fused = self.rerank(query, query_vector, fused, found)
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))
        cosines = unit_rows([vectors[cid] for cid in order]) @ unit_rows([query_vector])[0]
        similarity = {cid: float(cos) for cid, cos in zip(order, cosines, strict=True)}
        low, high = min(fused.values()), max(fused.values())
        # The fused rank alone: mixing in the cosine again (half each) lost 0.03 MRR@10 on RGB's tuning half
        # (0.623 against 0.647), since dense closeness is already one of the fused lists.
        relevance = {cid: (fused[cid] - low) / (high - low) if high > low else 1.0 for cid in order}
        chosen = mmr(order, relevance=relevance, vectors=vectors, k=k)
        chunks = [found[cid].model_copy(update={"similarity": similarity[cid], "score": fused[cid]}) for cid in chosen]
        return RetrievalResult(
            chunks=chunks,
            candidates=len(fused),
            best_similarity=max(similarity.values()),
            best_coverage=max((coverage(query, c.text) for c in chunks), default=0.0),
        )
