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
   and with one thread (the answering default) for scale. A round's ratio is end-to-end chunks/s over
   the embedder's, with the same threads. Steps 1 and 2 are repeated ``--rounds`` times (3), in
   alternating order (ingest first, then the embedder first, ...), each ingest into a fresh store, so a
   change of load on a shared machine falls on both sides; ``ratio`` is the median of the rounds'
   (``rounds`` lists each, with the load average at each pass). ``cpu_ratio`` is the embedder's CPU
   seconds alone over the whole ingest's (all threads): the work the pipeline adds, which the load moves
   far less than the wall clock.
3. ``reingest`` (first round): the same folder again (nothing changed, nothing embedded); ``reingest_speedup``
   is the first run's seconds over this one's.
4. ``peak_rss_mb``: the process's peak resident memory.
5. ``breakdown_s``: where the first ingest's seconds went, timed by wrapping the steps in this process:
   MiniLM itself, chunking (with its token counts), the store's writes after embedding (Chroma
   upsert, keyword index, copy signatures: ``write_embedded``, in its own thread), the syndicated-copy
   check, and the rest (reading files, the store reads); ``not_embedding`` is the wall clock minus the
   embedding, what the embedder waits for. ``embedding_share`` (embedding seconds over wall seconds in the
   same run) is the ratio without the second pass, so it does not move when other work loads the machine
   between the two. ``wordpiece_slots``: the word pieces MiniLM computes, padding included, in the ingest
   and alone (which sorts all texts by length at once, so pads less), beside the texts' own count.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.ingestion import batch_threads_for  # noqa: E402
from assistant.providers import MINILM_MAX_TOKENS, MiniLMEmbeddings, batch_threads, minilm_count_tokens  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.common import machine, report  # noqa: E402
from bench.pipeline import make_corpus  # noqa: E402


@dataclass
class Alone:
    """MiniLM alone on the stored chunk texts: wall-clock chunks/s and the CPU seconds it took."""

    chunks_per_s: float
    cpu_seconds: float


_MINILM = MiniLMEmbeddings()  # one model load for every pass alone, outside the timing


def embedder_alone(texts: list[str], *, threads: int) -> Alone:
    """MiniLM alone on ``texts`` with ``threads`` torch threads (model loaded first)."""
    minilm = _MINILM
    with batch_threads(minilm, threads):
        minilm.embed_documents(texts[:4])  # load the model outside the timing
        started, cpu = time.perf_counter(), time.process_time()
        minilm.embed_documents(texts)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return Alone(len(texts) / seconds, cpu_seconds)


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


@contextmanager
def recorded(embeddings: Any, calls: list[list[str]]) -> Iterator[None]:
    """Record the texts of every ``embed_documents`` call while inside the block."""
    original: Callable[[list[str]], Any] = embeddings.embed_documents

    def wrapper(texts: list[str]) -> Any:
        calls.append(list(texts))
        return original(texts)

    embeddings.embed_documents = wrapper
    try:
        yield
    finally:
        embeddings.embed_documents = original


def wordpiece_slots(calls: list[list[str]], *, batch: int = 32) -> int:
    """Word pieces MiniLM computes for these calls: each of its batches is padded to its longest text."""
    total = 0
    for texts in calls:
        counts = [min(MINILM_MAX_TOKENS, minilm_count_tokens(t)) for t in texts]
        total += sum(max(counts[i : i + batch]) * len(counts[i : i + batch]) for i in range(0, len(counts), batch))
    return total


def breakdown(totals: dict[str, float], seconds: float) -> dict[str, float]:
    """Seconds per step, and the wall-clock seconds not spent embedding.

    One thread embeds while another writes the batch before and the caller reads, checks and chunks the
    next files, so the steps overlap and need not add up to the wall clock: ``not_embedding`` is what the
    embedder waits for.
    """
    embed = totals.get("embedding", 0.0)
    steps = {"embedding": embed, "chunking": totals.get("chunking", 0.0),
             "store_writes_beyond_embedding": totals.get("store_writes", 0.0),
             "copy_check": totals.get("copy_check", 0.0), "not_embedding": seconds - embed}
    return {name: round(value, 2) for name, value in steps.items()}


@dataclass
class IngestPass:
    """One end-to-end ingest into a fresh store, and the re-ingest of the same folder after it."""

    seconds: float
    cpu_seconds: float
    chunks: int
    articles: int
    texts: list[str]
    totals: dict[str, float]
    again_seconds: float
    again_embedded: int
    again_unchanged: int
    load: float
    calls: list[list[str]]


def pipeline_pass(folder: Path, data_dir: Path, threads: int) -> IngestPass:
    """``Assistant.ingest`` of ``folder`` into a fresh store under ``data_dir``, then again (nothing changed)."""
    settings = Settings(llm="fake", embeddings="local", data_dir=data_dir, ingest_threads=threads, chroma_host=None)
    with Assistant.from_settings(settings) as bot:
        bot.embedding.embeddings.embed_query("load the model outside the timing")
        totals: dict[str, float] = {}
        calls: list[list[str]] = []
        load = os.getloadavg()[0]
        with ExitStack() as stack:
            import assistant.service as service
            from assistant.copies import CopyIndex
            from assistant.store import ArticleStore

            stack.enter_context(recorded(bot.embedding.embeddings, calls))
            stack.enter_context(timed(bot.embedding.embeddings, "embed_documents", totals, "embedding"))
            stack.enter_context(timed(service, "chunk_article", totals, "chunking"))
            stack.enter_context(timed(ArticleStore, "write_embedded", totals, "store_writes"))  # after embedding
            stack.enter_context(timed(CopyIndex, "find", totals, "copy_check"))
            started, cpu = time.perf_counter(), time.process_time()
            first = bot.ingest([folder])
            first_s, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        again = bot.ingest([folder])
        again_s = time.perf_counter() - started
        texts = sorted({c.text for c in bot.store.all_chunks()}, key=lambda t: (len(t), t))
    return IngestPass(first_s, first_cpu, first.chunks_added, first.new, texts, totals, again_s,
                      again.chunks_added, again.unchanged, load, calls)


def rounds_of(folder: Path, tmp: Path, threads: int, rounds: int) -> list[tuple[IngestPass, Alone, float]]:
    """Ingest and embedder-alone passes, alternated (ABBA...) so that a change of load hits both alike."""
    out: list[tuple[IngestPass, Alone, float]] = []
    for n in range(rounds):
        if n % 2:
            load = os.getloadavg()[0]
            alone = embedder_alone(out[0][0].texts, threads=threads)  # every round stores the same texts
            ingest = pipeline_pass(folder, tmp / f"data-{n}", threads)
        else:
            ingest = pipeline_pass(folder, tmp / f"data-{n}", threads)
            load = os.getloadavg()[0]
            alone = embedder_alone(ingest.texts, threads=threads)
        out.append((ingest, alone, load))
    return out


def run(articles: int, requested: int | None, rounds: int = 3) -> dict[str, object]:
    """The figures of one run: ``rounds`` alternated pairs of passes, their median ratio, the first round's details."""
    threads = batch_threads_for(requested)  # what Assistant.ingest picks, fixed here so both passes use it
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        make_corpus(folder, articles)
        passes = rounds_of(folder, Path(tmp), threads, rounds)
    first = passes[0][0]
    ratios = [ingest.chunks / ingest.seconds / alone.chunks_per_s for ingest, alone, _ in passes]
    cpu_ratios = [alone.cpu_seconds / ingest.cpu_seconds for ingest, alone, _ in passes]
    shares = [ingest.totals.get("embedding", 0.0) / ingest.seconds for ingest, _, _ in passes]
    alone_one = embedder_alone(first.texts, threads=1)
    e2e = first.chunks / first.seconds
    return {
        "articles": first.articles,
        "chunks": first.chunks,
        "distinct_chunk_texts": len(first.texts),
        "threads": threads,
        "threads_from": "--threads" if requested else "load average at the start (ASSISTANT_INGEST_THREADS unset)",
        "rounds": [{"end_to_end_s": round(i.seconds, 1), "end_to_end_cpu_s": round(i.cpu_seconds, 1),
                    "end_to_end_chunks_per_s": round(i.chunks / i.seconds, 1),
                    "embedder_alone_chunks_per_s": round(a.chunks_per_s, 1),
                    "embedder_alone_cpu_s": round(a.cpu_seconds, 1),
                    "ratio": round(i.chunks / i.seconds / a.chunks_per_s, 2),
                    "cpu_ratio": round(a.cpu_seconds / i.cpu_seconds, 2),
                    "embedding_share": round(i.totals.get("embedding", 0.0) / i.seconds, 2),
                    "load_average_at_ingest": round(i.load, 2), "load_average_at_embedder": round(load, 2)}
                   for i, a, load in passes],
        "ratio": round(statistics.median(ratios), 2),
        "ratio_min_max": [round(min(ratios), 2), round(max(ratios), 2)],
        "cpu_ratio": round(statistics.median(cpu_ratios), 2),
        "embedding_share": round(statistics.median(shares), 2),
        "end_to_end": {"seconds": round(first.seconds, 1), "chunks_per_s": round(e2e, 1)},
        "embedder_alone": {"chunks_per_s": round(passes[0][1].chunks_per_s, 1),
                           "one_thread_chunks_per_s": round(alone_one.chunks_per_s, 1)},
        "reingest": {"seconds": round(first.again_seconds, 2), "embedded": first.again_embedded,
                     "unchanged": first.again_unchanged},
        "reingest_speedup": round(first.seconds / first.again_seconds, 1),
        "breakdown_s": breakdown(first.totals, first.seconds),
        # MiniLM pads each batch of 32 to its longest text: the ingest embeds as files come (a batch sorted by
        # length at a time), the embedder alone all texts sorted at once, so it pads less.
        "wordpiece_slots": {"ingest": wordpiece_slots(first.calls), "embedder_alone": wordpiece_slots([first.texts]),
                            "tokens": sum(min(MINILM_MAX_TOKENS, minilm_count_tokens(t)) for t in first.texts)},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "targets": {"ratio": 0.85, "reingest_speedup": 50},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--threads", type=int, help="torch threads; default: as Assistant.ingest picks them")
    parser.add_argument("--rounds", type=int, default=3, help="alternated ingest / embedder-alone pairs (median ratio)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = run(args.articles, args.threads, args.rounds)
    figures["machine"] = machine()
    report(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
