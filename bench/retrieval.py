"""Retrieval quality on RGB (en_fact.json): hits@1, hits@5 and MRR@10 of each stage, the default and the usual recipe.

Usage::

    python bench/retrieval.py                                 # MiniLM, ../shared/benchmarks/rgb/en_fact.json
    python bench/retrieval.py --data path/to/en_fact.json --json
    python bench/retrieval.py --sentences                     # + the sentence-level rankings (about 3 min more)

The data file (CC BY-NC-SA 4.0) is read at run time and never copied. The corpus is every
``positive`` and ``negative`` passage of the 100 records, deduplicated by text (969 passages),
each ingested as one article through the real chunker into an in-memory store with the real
MiniLM embeddings. Each record's ``query`` is asked unchanged; its ``positive`` passages are the
relevant ones. A ranking is scored at the passage level (a passage's best-ranked chunk counts).

Splits: records with an even ``id`` are the tuning half (``tune``); odd ids are the held-out half
(``test``). Every weight in the default retrieval was chosen on ``tune`` alone; both halves and
all 100 are reported.

Rankings reported:

- ``baseline``: the recipe every tutorial teaches, RecursiveCharacterTextSplitter(1000, 200),
  a Chroma collection and dense top-k with the same MiniLM, built in this process.
- ``dense``, ``keyword`` (BM25 on the persistent index), ``fusion`` (their reciprocal rank fusion).
- ``fusion_year``: fusion, then +/- ``YEAR_WEIGHT`` for a passage that names the question's year / only
  other years (``retrieval.year_agreement``).
- ``fusion_year_answer_form``: fusion_year, then + ``ANSWER_FORM_WEIGHT`` for a passage whose sentence
  sharing most of the question's words offers the kind of answer asked (``retrieval.answer_form``).
- ``mmr``: fusion then MMR as the retriever used to do (no year term).
- ``default``: ``HybridRetriever.retrieve`` exactly as ``assistant ask`` runs it (fusion, year and
  answer-form terms, relevance = the fused score, MMR).

- with ``--sentences``, sentence-level rankings (``bench/retrieval_sentences.py``): sentence vectors pooled from
  each chunk's own MiniLM pass or embedded one by one, how alike they rank and what they cost, and the default
  with a sentence term (best-sentence cosine, the answer-form term on the MiniLM-picked sentence, a
  sentence-level RRF list). Tried on ``tune``; none is the default (docs/benchmarks.md says why).

Also tried on ``tune`` and left out (figures in docs/benchmarks.md): a convex mix of cosine and
normalised BM25; RRF's k at 10 and 30. RGB passages have no titles or dates, so contextual chunk
headers change nothing here.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.chunking import chunk_article  # noqa: E402
from assistant.dates import years as years_in  # noqa: E402
from assistant.providers import EmbeddingBackend, MiniLMEmbeddings, batch_threads, embedding_backend  # noqa: E402
from assistant.retrieval import (  # noqa: E402
    YEAR_WEIGHT,
    HybridRetriever,
    mmr,
    rerank_terms,
    year_agreement,
)
from assistant.schemas import Article  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.store import ArticleStore  # noqa: E402
from bench.common import machine, report  # noqa: E402
from bench.retrieval_sentences import agreement, sentence_rankers, sentence_vectors  # noqa: E402
from bench.rgb import DEFAULT_DATA, Record, load  # noqa: E402

DEPTH = 10
Ranker = Callable[[str], list[str]]  # query -> passage ids, best first


def corpus(records: Sequence[Record]) -> dict[str, str]:
    """Passage id -> text, over every positive and negative passage, first occurrence wins."""
    passages: dict[str, str] = {}
    seen: dict[str, str] = {}
    for record in records:
        for text in (*record.positive, *record.negative):
            if text not in seen:
                seen[text] = f"p{len(seen):04d}"
                passages[seen[text]] = text
    return passages


def relevant(records: Sequence[Record], passages: dict[str, str]) -> dict[int, set[str]]:
    """Record id -> ids of its positive passages."""
    by_text = {text: pid for pid, text in passages.items()}
    return {r.id: {by_text[t] for t in r.positive} for r in records}


def scores(ranked: Sequence[str], wanted: set[str]) -> tuple[float, float, float]:
    """hits@1, hits@5, reciprocal rank within the first 10, for one query."""
    first = next((i for i, pid in enumerate(ranked[:DEPTH], start=1) if pid in wanted), None)
    return (float(first == 1), float(first is not None and first <= 5), 1.0 / first if first else 0.0)


def evaluate(ranker: Ranker, records: Sequence[Record], wanted: dict[int, set[str]]) -> dict[str, dict[str, float]]:
    """The three metrics on the tuning half, the held-out half and all records."""
    per = {r.id: scores(_dedupe(ranker(r.query)), wanted[r.id]) for r in records}
    out = {}
    for name, ids in (("tune", [i for i in per if i % 2 == 0]), ("test", [i for i in per if i % 2]),
                      ("all", list(per))):
        n = len(ids) or 1
        out[name] = {"hits_at_1": round(sum(per[i][0] for i in ids) / n, 3),
                     "hits_at_5": round(sum(per[i][1] for i in ids) / n, 3),
                     "mrr_at_10": round(sum(per[i][2] for i in ids) / n, 3)}
    return out


def _dedupe(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _passage(chunk_id: str) -> str:
    return chunk_id.split(":", 1)[0]


def build_store(passages: dict[str, str], embedding: EmbeddingBackend) -> ArticleStore:
    """Every passage as one article (id = passage id) through the real chunker, in a fresh in-memory store."""
    store = ArticleStore.ephemeral(embeddings=embedding.embeddings, embedding_model=embedding.name,
                                   dimension=embedding.dimension)
    settings = Settings(embeddings="local")
    batch = []
    for pid, text in passages.items():
        article = Article(id=pid, title="", source="RGB", text=text)
        batch.append((article, chunk_article(article, count_tokens=embedding.count_tokens,
                                             target_tokens=min(settings.chunk_tokens, embedding.max_tokens),
                                             overlap_tokens=settings.chunk_overlap_tokens,
                                             max_tokens=embedding.max_tokens)))
    with batch_threads(embedding.embeddings, settings.ingest_threads or 2):
        store.add_articles(batch)
    return store


def baseline_ranker(passages: dict[str, str], embedding: EmbeddingBackend) -> Ranker:
    """RecursiveCharacterTextSplitter(1000, 200) + Chroma + dense top-k, the same MiniLM."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from assistant.schemas import Chunk

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    store = ArticleStore.ephemeral(embeddings=embedding.embeddings, embedding_model=embedding.name,
                                   dimension=embedding.dimension, name="baseline")
    batch = []
    for pid, text in passages.items():
        pieces = splitter.split_text(text)
        chunks = [Chunk(id=f"{pid}:{n}", article_id=pid, n=n, text=piece, start=0, end=len(piece), tokens=1)
                  for n, piece in enumerate(pieces)]
        batch.append((Article(id=pid, title="", source="RGB", text=text), chunks))
    with batch_threads(embedding.embeddings, 2):
        store.add_articles(batch)

    def rank(query: str) -> list[str]:
        hits = store.dense_search(embedding.embeddings.embed_query(query), k=DEPTH * 2)
        return [_passage(c.chunk_id) for c, _ in hits]

    return rank


def stage_rankers(store: ArticleStore, embedding: EmbeddingBackend) -> dict[str, Ranker]:
    """Each stage of the hybrid retrieval alone, on the assistant's store."""
    fetch = 30

    def dense(query: str) -> list[str]:
        return [_passage(c.chunk_id) for c, _ in store.dense_search(embedding.embeddings.embed_query(query), k=fetch)]

    def keyword(query: str) -> list[str]:
        return [_passage(cid) for cid, _ in store.keyword_search(query, k=fetch)]

    fuser = HybridRetriever(store=store, embeddings=embedding.embeddings, fetch_k=fetch)

    def fused_ids(query: str) -> dict[str, float]:
        return fuser.fuse(query, embedding.embeddings.embed_query(query))

    def fusion(query: str) -> list[str]:
        fused = fused_ids(query)
        return [_passage(cid) for cid in sorted(fused, key=lambda c: (-fused[c], c))]

    def fusion_year(query: str) -> list[str]:
        fused = fused_ids(query)
        years = years_in(query)
        if years:
            found = {c.chunk_id: c for c in store.get_chunks(list(fused))}
            fused = {cid: s + YEAR_WEIGHT * year_agreement(years, found[cid]) for cid, s in fused.items()}
        return [_passage(cid) for cid in sorted(fused, key=lambda c: (-fused[c], c))]

    def fusion_terms(query: str) -> list[str]:
        fused = fused_ids(query)
        found = {c.chunk_id: c for c in store.get_chunks(list(fused))}
        fused = rerank_terms(query, fused, found)
        return [_passage(cid) for cid in sorted(fused, key=lambda c: (-fused[c], c))]

    def plain_mmr(query: str) -> list[str]:
        fused = fused_ids(query)
        order = sorted(fused, key=lambda c: (-fused[c], c))
        vectors = store.get_embeddings(order)
        return [_passage(c) for c in mmr(order, relevance=fused, vectors=vectors, k=DEPTH)]

    return {"dense": dense, "keyword": keyword, "fusion": fusion, "fusion_year": fusion_year,
            "fusion_year_answer_form": fusion_terms, "mmr": plain_mmr}


def default_ranker(store: ArticleStore, embedding: EmbeddingBackend) -> Ranker:
    """``HybridRetriever`` as the assistant runs it, asked for 10 chunks."""
    retriever = HybridRetriever(store=store, embeddings=embedding.embeddings, k=DEPTH)

    def rank(query: str) -> list[str]:
        return [_passage(c.chunk_id) for c in retriever.retrieve(query).chunks]

    return rank


def run(data: Path, *, sentences: bool = False) -> dict[str, object]:
    """Every ranking's metrics, with the default's gain over the baseline; ``sentences`` adds the sentence-level
    ones (``bench/retrieval_sentences.py``)."""
    records = load(data)
    passages = corpus(records)
    wanted = relevant(records, passages)
    embedding = embedding_backend(Settings(embeddings="local"))
    started = time.perf_counter()
    store = build_store(passages, embedding)
    rankers = {"baseline": baseline_ranker(passages, embedding), **stage_rankers(store, embedding),
               "default": default_ranker(store, embedding)}
    build_s = time.perf_counter() - started
    results: dict[str, object] = {"passages": len(passages), "queries": len(records),
                                  "split": "tune = even ids, test = odd ids", "build_seconds": round(build_s, 1)}
    if sentences and isinstance(embedding.embeddings, MiniLMEmbeddings):
        vectors = sentence_vectors(store.all_chunks(), embedding.embeddings, threads=1)
        results["sentence_vectors"] = {"cost": vectors.cost,
                                       "agreement": agreement(vectors, store, embedding, [r.query for r in records])}
        rankers.update(sentence_rankers(store, embedding, vectors, depth=DEPTH))
    for name, ranker in rankers.items():
        t0 = time.perf_counter()
        results[name] = evaluate(ranker, records, wanted)
        results[f"{name}_ms_per_query"] = round((time.perf_counter() - t0) * 1000 / len(records), 1)
    base, best = results["baseline"], results["default"]
    assert isinstance(base, dict) and isinstance(best, dict)
    results["ratio_default_to_baseline_mrr_test"] = round(best["test"]["mrr_at_10"] / base["test"]["mrr_at_10"], 2)
    store.close()
    results["machine"] = machine()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="RGB en_fact.json (read, never copied)")
    parser.add_argument("--sentences", action="store_true",
                        help="also the sentence-level rankings and the sentence vectors' cost (about 3 min more)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"error: {args.data} not found; pass --data path/to/en_fact.json", file=sys.stderr)
        return 2
    figures = run(args.data, sentences=args.sentences)
    report(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
