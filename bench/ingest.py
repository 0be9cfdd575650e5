"""Ingestion speed against the embedder's own: end-to-end chunks/s, the embedder alone on the same chunks, re-ingest.

Usage::

    python bench/ingest.py                      # 100 synthetic articles, MiniLM, the defaults
    python bench/ingest.py --articles 200 --json

The corpus is bench/pipeline.py's (the seed article's sentences reordered, numbers and places
varied: distinct, news-shaped text). In one process:

1. ``end_to_end``: ``Assistant.ingest`` of the folder into a fresh embedded store (reading,
   chunking, embedding, Chroma and keyword writes), with the ingest thread setting (by default the
   cores other work leaves idle: ``ingestion.batch_threads_for``).
2. ``embedder_alone``: MiniLM alone on exactly the chunk texts that were stored, batch 32, in the
   order the store embeds them (by length, so batches carry little padding), with the same threads;
   and with one thread (the answering default) for scale. ``ratio`` is end-to-end chunks/s over the
   embedder's, with the same threads.
3. ``reingest``: the same folder again (nothing changed, nothing embedded); ``reingest_speedup``
   is the first run's seconds over this one's.
4. ``peak_rss_mb``: the process's peak resident memory.
5. ``breakdown_s``: where the first ingest's seconds went, timed by wrapping the steps in this process:
   MiniLM itself, chunking (with its token counts), the store's writes beyond embedding (Chroma
   upsert, keyword index, copy signatures), the syndicated-copy check, and the rest (reading files,
   the per-file store reads); ``not_embedding`` is the wall clock minus the embedding, what the
   embedder waits for. ``embedding_share`` (embedding seconds over wall seconds in the same run) is the
   ratio without the second pass, so it does not move when other work loads the machine between the two.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.ingestion import batch_threads_for  # noqa: E402
from assistant.providers import MiniLMEmbeddings, batch_threads  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.common import machine, report  # noqa: E402
from bench.pipeline import make_corpus  # noqa: E402


def embedder_alone(texts: list[str], *, threads: int) -> float:
    """Chunks per second of MiniLM alone on ``texts`` with ``threads`` torch threads (model loaded first)."""
    minilm = MiniLMEmbeddings()
    with batch_threads(minilm, threads):
        minilm.embed_documents(texts[:4])  # load the model outside the timing
        started = time.perf_counter()
        minilm.embed_documents(texts)
        seconds = time.perf_counter() - started
    return len(texts) / seconds


@contextmanager
def timed(owner: Any, name: str, totals: dict[str, float], label: str) -> Iterator[None]:
    """Add the seconds spent in ``owner.name`` to ``totals[label]`` while inside the block."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[label] = totals.get(label, 0.0) + time.perf_counter() - started

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def breakdown(totals: dict[str, float], seconds: float) -> dict[str, float]:
    """Seconds per step, and the wall-clock seconds not spent embedding.

    The writer thread embeds and writes while the caller reads, checks and chunks, so the steps
    overlap and need not add up to the wall clock: ``not_embedding`` is what the embedder waits for.
    """
    embed = totals.get("embedding", 0.0)
    steps = {"embedding": embed, "chunking": totals.get("chunking", 0.0),
             "store_writes_beyond_embedding": totals.get("store_writes", 0.0) - embed,
             "copy_check": totals.get("copy_check", 0.0), "not_embedding": seconds - embed}
    return {name: round(value, 2) for name, value in steps.items()}


def run(articles: int, requested: int | None) -> dict[str, object]:
    """The figures of one run."""
    threads = batch_threads_for(requested)  # what Assistant.ingest picks, fixed here so both passes use it
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        make_corpus(folder, articles)
        settings = Settings(llm="fake", embeddings="local", data_dir=Path(tmp) / "data", ingest_threads=threads,
                            chroma_host=None)
        with Assistant.from_settings(settings) as bot:
            bot.embedding.embeddings.embed_query("load the model outside the timing")
            totals: dict[str, float] = {}
            with ExitStack() as stack:
                import assistant.service as service
                from assistant.copies import CopyIndex
                from assistant.store import ArticleStore

                stack.enter_context(timed(bot.embedding.embeddings, "embed_documents", totals, "embedding"))
                stack.enter_context(timed(service, "chunk_article", totals, "chunking"))
                stack.enter_context(timed(ArticleStore, "add_articles", totals, "store_writes"))
                stack.enter_context(timed(CopyIndex, "find", totals, "copy_check"))
                started = time.perf_counter()
                first = bot.ingest([folder])
                first_s = time.perf_counter() - started
            started = time.perf_counter()
            again = bot.ingest([folder])
            again_s = time.perf_counter() - started
            texts = sorted({c.text for c in bot.store.all_chunks()}, key=lambda t: (len(t), t))
    e2e = first.chunks_added / first_s
    alone = embedder_alone(texts, threads=threads)
    alone_one = embedder_alone(texts, threads=1)
    return {
        "articles": first.new,
        "chunks": first.chunks_added,
        "distinct_chunk_texts": len(texts),
        "threads": threads,
        "threads_from": "--threads" if requested else "load average at the start (ASSISTANT_INGEST_THREADS unset)",
        "end_to_end": {"seconds": round(first_s, 1), "chunks_per_s": round(e2e, 1)},
        "embedder_alone": {"chunks_per_s": round(alone, 1), "one_thread_chunks_per_s": round(alone_one, 1)},
        "ratio": round(e2e / alone, 2),
        "reingest": {"seconds": round(again_s, 2), "embedded": again.chunks_added, "unchanged": again.unchanged},
        "reingest_speedup": round(first_s / again_s, 1),
        "breakdown_s": breakdown(totals, first_s),
        "embedding_share": round(totals.get("embedding", 0.0) / first_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "targets": {"ratio": 0.85, "reingest_speedup": 50},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--threads", type=int, help="torch threads; default: as Assistant.ingest picks them")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = run(args.articles, args.threads)
    figures["machine"] = machine()
    report(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
