"""Sentence-level evidence for retrieval on RGB: sentence vectors two ways, and the rankings that use them.

Part of ``bench/retrieval.py`` (run that). Every chunk's sentences get MiniLM vectors two ways:

- ``pooled``: the mean of the sentence's token states from the chunk's own pass
  (``MiniLMEmbeddings.pooled_sentences``): no embedding beyond the chunk's;
- ``separate``: each sentence embedded alone (one more MiniLM input per sentence).

``agreement`` says how alike they rank (the same best sentence of a candidate for a query; the rank
correlation of the candidates' best-sentence cosines). ``cost`` times both against embedding the chunks
alone, on the same texts, one torch thread (two contend with other work on a shared machine), in wall-clock
and CPU seconds summed over two runs each in alternating order (the pooled pass is timed as a pass of its own
here; inside an ingest it would be the chunk's own pass, so its cost there is the pooling alone).
The rankings are the default retrieval itself (``HybridRetriever``: fusion, terms and MMR) with another
``rerank`` passed in (the last keeps the default rerank and passes an ``extra_ranking``):

- ``pooled_sentence_cosine``: + ``SENTENCE_WEIGHT`` x the best pooled-sentence cosine, without the
  answer-form term: the variant that did best on the tuning half (Hits@5 0.92; docs/benchmarks.md);
- ``answer_form_pooled_sentence`` / ``answer_form_separate_sentence``: the answer-form term read on the
  sentence most similar to the question by MiniLM instead of the one with most question words;
- ``sentence_list_pooled``: a third RRF list, every stored sentence ranked by cosine (its chunk's best).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from assistant.answer_types import unfit_reason
from assistant.dates import years as years_in
from assistant.providers import EmbeddingBackend, MiniLMEmbeddings, batch_threads
from assistant.retrieval import (
    ANSWER_FORM_WEIGHT,
    YEAR_WEIGHT,
    HybridRetriever,
    Ranking,
    Rerank,
    unit_rows,
    year_agreement,
)
from assistant.schemas import RetrievedChunk
from assistant.sentences import sentence_spans
from assistant.store import ArticleStore

Matrix = npt.NDArray[np.float64]
Ranker = Callable[[str], list[str]]
Extra = Callable[[str, Matrix, dict[str, float], Mapping[str, RetrievedChunk]], dict[str, float]]
SENTENCE_WEIGHT = 0.03
"""Tuned on the even ids (0.01-0.04 all gave tune Hits@5 0.92 without the answer-form term)."""


@dataclass
class Sentences:
    """Each chunk's sentence spans and unit vectors, both ways."""

    spans: dict[str, list[tuple[int, int]]]
    pooled: dict[str, Matrix]
    separate: dict[str, Matrix]
    cost: dict[str, float]


def sentence_vectors(chunks: Sequence[RetrievedChunk], minilm: MiniLMEmbeddings, *, threads: int) -> Sentences:
    """Pooled and separate sentence vectors of every chunk, timed against embedding the chunks alone.

    The three passes run twice, in the order chunks, pooled, separate and then back, and each figure is the
    sum of its two runs, so that a change of load on a shared machine falls on all three alike.
    """
    ordered = sorted(chunks, key=lambda c: len(c.text))  # as the store embeds: like lengths share a batch
    texts = [c.text for c in ordered]
    spans = {c.chunk_id: sentence_spans(c.text) or [(0, len(c.text))] for c in ordered}
    pieces = sorted((c.text[s:e] for c in ordered for s, e in spans[c.chunk_id]), key=len)
    passes: dict[str, Callable[[], object]] = {
        "chunks_alone": lambda: minilm.embed_documents(texts),
        "pooled_pass": lambda: minilm.pooled_sentences(texts, [spans[c.chunk_id] for c in ordered]),
        "separate_sentences": lambda: dict(zip(pieces, minilm.embed_documents(pieces), strict=True)),
    }
    wall = dict.fromkeys(passes, 0.0)
    cpu = dict.fromkeys(passes, 0.0)
    results: dict[str, object] = {}
    with batch_threads(minilm, threads):
        minilm.embed_documents(texts[:4])  # the model loads outside the timing
        load = os.getloadavg()[0]
        for name in [*passes, *reversed(passes)]:
            t0, c0 = time.perf_counter(), time.process_time()
            results[name] = passes[name]()
            wall[name] += time.perf_counter() - t0
            cpu[name] += time.process_time() - c0
    pooled = cast(list[list[list[float]]], results["pooled_pass"])
    flat = cast(dict[str, list[float]], results["separate_sentences"])
    separate = {c.chunk_id: unit_rows([flat[c.text[s:e]] for s, e in spans[c.chunk_id]]) for c in ordered}
    cost: dict[str, float] = {"chunks": len(texts), "sentences": len(pieces), "threads": threads,
                              "load_average_before": round(load, 2)}
    for name in passes:
        cost[f"{name}_s"], cost[f"{name}_cpu_s"] = round(wall[name], 2), round(cpu[name], 2)
    cost["pooled_over_chunks_cpu"] = round(cpu["pooled_pass"] / cpu["chunks_alone"], 2)
    cost["separate_over_chunks_cpu"] = round(cpu["separate_sentences"] / cpu["chunks_alone"], 2)
    return Sentences(spans, {c.chunk_id: unit_rows(v) for c, v in zip(ordered, pooled, strict=True)}, separate, cost)


def _spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1]) if len(a) > 2 and ra.std() and rb.std() else float("nan")


def agreement(sentences: Sentences, store: ArticleStore, embedding: EmbeddingBackend,
              queries: Sequence[str]) -> dict[str, float]:
    """How alike pooled and separate vectors rank, over each query's fused candidates."""
    retriever = HybridRetriever(store=store, embeddings=embedding.embeddings)
    same = total = 0
    correlations = []
    for query in queries:
        vector = unit_rows([embedding.embeddings.embed_query(query)])[0]
        fused = retriever.fuse(query, vector.tolist())
        best_pooled, best_separate = [], []
        for cid in fused:
            p, s = sentences.pooled[cid] @ vector, sentences.separate[cid] @ vector
            best_pooled.append(float(p.max()))
            best_separate.append(float(s.max()))
            if len(p) > 1:
                total += 1
                same += int(np.argmax(p) == np.argmax(s))
        correlations.append(_spearman(best_pooled, best_separate))
    return {"same_best_sentence": round(same / max(total, 1), 3), "candidates_with_several_sentences": total,
            "best_cosine_rank_correlation_median": round(float(np.nanmedian(correlations)), 3)}


def _ranker(store: ArticleStore, embedding: EmbeddingBackend, *, depth: int, extra: Extra | None = None,
            sentence_list: Callable[[Matrix], list[str]] | None = None) -> Ranker:
    """``HybridRetriever`` itself, with ``extra`` as its rerank and ``sentence_list`` as its extra fused ranking
    (each given the query vector scaled to length 1); the assistant's own where either is None."""
    retriever = HybridRetriever(store=store, embeddings=embedding.embeddings, k=depth)
    if extra is not None:
        retriever.rerank = _on_unit_vector(extra)
    if sentence_list is not None:
        retriever.extra_ranking = _ranking_on_unit_vector(sentence_list)

    def rank(query: str) -> list[str]:
        return [c.chunk_id.split(":", 1)[0] for c in retriever.retrieve(query).chunks]

    return rank


def _on_unit_vector(extra: Extra) -> Rerank:
    def rerank(query: str, query_vector: Sequence[float], fused: dict[str, float],
               found: Mapping[str, RetrievedChunk]) -> dict[str, float]:
        return extra(query, unit_rows([query_vector])[0], fused, found)

    return rerank


def _ranking_on_unit_vector(sentence_list: Callable[[Matrix], list[str]]) -> Ranking:
    def ranking(query: str, query_vector: Sequence[float]) -> list[str]:
        return sentence_list(unit_rows([query_vector])[0])

    return ranking


def _year(query: str, chunk: RetrievedChunk) -> float:
    years = years_in(query)
    return YEAR_WEIGHT * year_agreement(years, chunk) if years else 0.0


def sentence_rankers(store: ArticleStore, embedding: EmbeddingBackend, sentences: Sentences, *,
                     depth: int) -> dict[str, Ranker]:
    """The rankings of the module docstring."""

    def best(which: dict[str, Matrix], cid: str, vector: Matrix) -> tuple[int, float]:
        cosines = which[cid] @ vector
        return int(np.argmax(cosines)), float(cosines.max())

    def form_on(which: dict[str, Matrix]) -> Extra:
        def extra(query: str, vector: Matrix, fused: dict[str, float],
                  found: Mapping[str, RetrievedChunk]) -> dict[str, float]:
            out = {}
            for cid, score in fused.items():
                start, end = sentences.spans[cid][best(which, cid, vector)[0]]
                fit = 0 if unfit_reason(query, found[cid].text[start:end]) else 1
                out[cid] = score + ANSWER_FORM_WEIGHT * fit + _year(query, found[cid])
            return out
        return extra

    def cosine_term(query: str, vector: Matrix, fused: dict[str, float],
                    found: Mapping[str, RetrievedChunk]) -> dict[str, float]:
        return {cid: s + SENTENCE_WEIGHT * best(sentences.pooled, cid, vector)[1] + _year(query, found[cid])
                for cid, s in fused.items()}

    fetch = HybridRetriever.fetch_k
    owners = [cid for cid, rows in sentences.pooled.items() for _ in rows]
    stacked = np.vstack(list(sentences.pooled.values()))

    def sentence_list(vector: Matrix) -> list[str]:
        ranked = dict.fromkeys(owners[i] for i in np.argsort(-(stacked @ vector), kind="stable"))
        return list(ranked)[:fetch]

    return {
        "pooled_sentence_cosine": _ranker(store, embedding, depth=depth, extra=cosine_term),
        "answer_form_pooled_sentence": _ranker(store, embedding, depth=depth, extra=form_on(sentences.pooled)),
        "answer_form_separate_sentence": _ranker(store, embedding, depth=depth, extra=form_on(sentences.separate)),
        "sentence_list_pooled": _ranker(store, embedding, depth=depth, sentence_list=sentence_list),
    }
