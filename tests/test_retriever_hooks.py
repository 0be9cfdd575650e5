"""HybridRetriever's rerank and extra ranking: a variant passed in runs through the retrieval itself."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pytest

from assistant.fakes import HashingEmbeddings
from assistant.retrieval import HybridRetriever, rerank_terms
from assistant.schemas import Article, Chunk, RetrievedChunk
from assistant.store import ArticleStore

TEXTS = {
    "a": "The council approved the budget for the new bridge on Monday.",
    "b": "Flood waters closed the port and the coast road for a week.",
    "c": "The election court heard the appeal about the ballots.",
    "d": "Engineers said the bridge repairs would take a year.",
}


@pytest.fixture(scope="module")
def store() -> Iterator[ArticleStore]:
    embeddings = HashingEmbeddings(size=128)
    with ArticleStore.ephemeral(embeddings=embeddings, embedding_model="hash", dimension=128) as s:
        s.add_articles([(Article(id=aid, title="", source="AP", text=text),
                         [Chunk(id=f"{aid}:0", article_id=aid, n=0, text=text, start=0, end=len(text),
                                tokens=len(text.split()))]) for aid, text in TEXTS.items()])
        yield s


def _ids(retriever: HybridRetriever, query: str) -> list[str]:
    return [c.article_id for c in retriever.retrieve(query).chunks]


def test_a_rerank_passed_in_orders_the_candidates_and_sees_the_query_vector(store: ArticleStore) -> None:
    seen: list[tuple[str, int, dict[str, float]]] = []

    def last_first(query: str, query_vector: Sequence[float], fused: dict[str, float],
                   found: Mapping[str, RetrievedChunk]) -> dict[str, float]:
        seen.append((query, len(query_vector), rerank_terms(query, fused, found)))
        return {cid: 1.0 if cid.startswith("d") else 0.0 for cid in fused}

    default = HybridRetriever(store=store, embeddings=HashingEmbeddings(size=128), k=2)
    assert _ids(default, "council budget bridge")[0] == "a"
    varied = HybridRetriever(store=store, embeddings=HashingEmbeddings(size=128), k=2, rerank=last_first)
    assert _ids(varied, "council budget bridge")[0] == "d"
    assert seen and seen[0][:2] == ("council budget bridge", 128)
    # The default rerank is ``rerank_terms`` on the same fused candidates: the same scores come back.
    result = default.retrieve("council budget bridge")
    assert {c.chunk_id: c.score for c in result.chunks} == {cid: seen[0][2][cid] for cid in
                                                           (c.chunk_id for c in result.chunks)}


def test_an_extra_ranking_is_fused_and_can_bring_in_a_candidate_neither_search_found(store: ArticleStore) -> None:
    narrow = HybridRetriever(store=store, embeddings=HashingEmbeddings(size=128), k=4, fetch_k=1)
    query = "council budget"
    assert "c" not in _ids(narrow, query)
    wider = HybridRetriever(store=store, embeddings=HashingEmbeddings(size=128), k=4, fetch_k=1,
                            extra_ranking=lambda q, v: ["c:0"])
    assert "c" in _ids(wider, query)
    assert set(wider.fuse(query, HashingEmbeddings(size=128).embed_query(query))) >= {"c:0"}
