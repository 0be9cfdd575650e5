"""Retrieval latency at scale: warm p50/p95 of one retrieval, and the cold cost of a whole `assistant ask`.

Usage::

    python bench/latency.py --chunks 10000
    python bench/latency.py --chunks 100000 --data-dir /tmp/lat-100k --json   # keeps the store for a rerun

A synthetic corpus of N chunks (articles of 20 chunks, news-shaped sentences from a fixed
vocabulary with rare names and numbers, seeded) goes into the embedded store with the fake
hashing embeddings, which isolates retrieval from the embedding model. Then, in this process:

- ``warm``: ``HybridRetriever.retrieve`` (query embedding, dense search, keyword search, fusion,
  MMR, reading the chosen chunks) on 200 questions after 5 warm-up ones, no LLM; again with a broad
  and a narrow source and date filter, each beside the same retrieval with Chroma's own metadata
  pre-filter on the dense side (``dense_filter="chroma"``, the way before) on ``--baseline-queries``.
- ``baseline``: the retrieval as it was before the persistent keyword index (bench/baseline_retrieval.py:
  BM25 rebuilt from every chunk in each process, pure-Python MMR) on the same store and questions,
  and the ratio of the two.
- ``cold``: ``assistant --llm fake --embeddings fake ask Q`` as a whole process (median of 3), and a
  process that only imports the CLI and the facade; ``beyond_imports_s`` is the difference.
- ``store_open_s``: opening the store in a process. With ``--chroma-server`` the keyword index lives
  under ``--data-dir`` (``keyword-server/``) and is reopened while in step with the server; a data dir
  without one starts the cold runs from none, so the first ``ask`` fills it from every chunk on the
  server (``first_ask_filling_index_s``: what every process paid before) and the later ones reopen it
  (``ask_s``, the median of the 3 after the first).
- With ``--chroma-server HOST:PORT`` everything above runs against that server (the cold ``ask`` gets
  ``CHROMA_HOST``/``CHROMA_PORT``); serving an existing embedded store's folder measures the same chunks:
  ``chroma run --host 127.0.0.1 --port 8765 --path DATA_DIR/chroma``.
- ``refresh`` (with ``--chroma-server`` only): what following other clients' writes costs a long-running
  process. ``check``: one check that finds nothing moved (the collection's marker and count: two small
  requests), p50/p95, waited for; ``warm_every_retrieval`` against ``warm_no_check``: the same retrievals
  with ``chroma_refresh_seconds=0`` (a check started beside each, as the app does) and with the check never
  due, alternating between two openings of the store, and the differences; ``catch_up_one_article_s``:
  the catch-up after another client (its own DATA_DIR) added one article (read from the change log), and
  ``refill_s``: the same when the log cannot say (the client fell behind it), which refills the keyword
  index from every chunk on the server; ``both_off``: the two openings alternating with the check never due in
  either, what they differ by without it. ``--part refresh`` runs only this (and the build).
- ``local_vectors``: the ``direct`` path's vectors. With ``--chroma-server``, the narrow filter's warm retrieval
  with the vectors kept beside the keyword index (the default) against the same with them read from the server
  by id (``HybridRetriever(local_vectors=False)``, as before), alternating question by question; whether the two
  return the same chunks in the same order on every question (``same_order``) and the largest difference in
  similarity; the size of the vector files; and ``loaded_alone``: ``VectorCache.load`` of those files in a new
  process, its seconds and the resident memory it adds, then the first lookup of the narrow filter's rows.
  Either mode: reading the narrow filter's vectors from Chroma against gathering them from a float32 matrix
  (``read_ms`` / ``gather_ms``, p50 of 20), to see whether the embedded store would gain.
- ``--part stages`` (alone, after the build): each step of a retrieval timed on its own over the questions (p50 /
  p95): the query embedding, keyword search with and without the broad filter, dense search with and without
  Chroma's own filter, counting a filter's chunks, each filter's dense side as the store runs it, reading the narrow
  filter's vectors and the candidates' vectors; and the two costs that pick the filtered path
  (``store.pick_filter_path``): milliseconds per vector read by id (the slope of reads of 20 to 2,000 ids) and per
  result of an over-fetched search (the slope of the ``overfetch`` path over date windows that make it ask for 20
  to about 2,000 results while reading the same ``k`` chunks).
- ``copy_check``: what the first new article of an ingest pays for the syndicated-copy check on a
  store just opened: reading the saved signatures (``ArticleStore.copy_index``) against rebuilding them
  from every stored chunk as each process used to, plus one ``find``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from assistant.retrieval import HybridRetriever  # noqa: E402
from assistant.schemas import Article, Chunk  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.store import ArticleStore, overfetch_size, pick_filter_path  # noqa: E402
from bench.baseline_retrieval import OldHybridRetriever  # noqa: E402
from bench.common import machine, report  # noqa: E402

CHUNKS_PER_ARTICLE = 20
SOURCES = ["Reuters", "AP", "AFP", "BBC", "Al Jazeera"]
COMMON = (
    "officials said the government council minister army police court election vote market prices rose fell "
    "talks ceasefire strike attack city region border forces report statement agency week month year people "
    "workers company budget plan law protest hospital school bridge road port flood storm fire rescue"
).split()


def _name(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4))).title()


def _chunk_text(rng: random.Random, names: list[str]) -> str:
    sentences = []
    for _ in range(4):
        words = [*rng.sample(COMMON, 9), rng.choice(names), rng.choice(names), str(rng.randint(2, 9000))]
        rng.shuffle(words)
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def _article(rng: random.Random, i: int, names: list[str]) -> tuple[Article, list[Chunk]]:
    texts = [_chunk_text(rng, names) for _ in range(CHUNKS_PER_ARTICLE)]
    text = " ".join(texts)
    article_id = f"{i:016x}"
    article = Article(id=article_id, title=f"Report {i}", source=SOURCES[i % len(SOURCES)],
                      published=date(2024, 1, 1) + timedelta(days=i % 365), path=f"synthetic/{i}.txt", text=text)
    chunks, start = [], 0
    for n, chunk_text in enumerate(texts):
        chunks.append(Chunk(id=f"{article_id}:{n}", article_id=article_id, n=n, text=chunk_text, start=start,
                            end=start + len(chunk_text), tokens=len(chunk_text.split())))
        start += len(chunk_text) + 1
    return article, chunks


@dataclass(frozen=True)
class Where:
    """Where the figures are measured: the store under ``data_dir``, embedded or the client of a Chroma server."""

    data_dir: Path
    server: tuple[str, int] | None = None
    """A Chroma server (host, port) to measure against instead of the embedded store (``--chroma-server``)."""

    def settings(self, data_dir: Path | None = None, **overrides: Any) -> Settings:
        """The fake models' settings for this store (or another client's ``data_dir`` of the same server)."""
        host, port = self.server if self.server is not None else (None, None)
        return Settings(llm="fake", embeddings="fake", data_dir=data_dir or self.data_dir, chroma_host=host,
                        chroma_port=port, **overrides)


def build(where: Where, n_chunks: int, *, seed: int = 11) -> dict[str, float]:
    """Fill the store up to ``n_chunks`` (a store already that full is reused); returns the build figures."""
    rng = random.Random(seed)
    names = [_name(rng) for _ in range(20000)]
    with Assistant.from_settings(where.settings()) as bot:
        have = bot.store.count()
        articles = n_chunks // CHUNKS_PER_ARTICLE
        started = time.perf_counter()
        batch = []
        for i in tqdm(range(articles), desc="building the corpus", unit="article", file=sys.stderr, disable=None):
            batch.append(_article(rng, i, names))
            if len(batch) == 25 or i == articles - 1:
                if have < n_chunks:
                    bot.store.add_articles(batch)
                batch = []
        seconds = time.perf_counter() - started
        return {"chunks": bot.store.count(), "build_seconds": round(seconds, 1) if have < n_chunks else 0.0}


def questions(n: int, *, seed: int = 5) -> list[str]:
    """Questions with common words and one rare name or number, as news questions tend to be."""
    rng = random.Random(seed)
    names = [_name(rng) for _ in range(20000)]
    return [f"What did {rng.choice(names)} say about the {rng.choice(COMMON)} {rng.choice(COMMON)} "
            f"in {rng.randint(2, 9000)}?" for _ in range(n)]


def _percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)], 1),
            "n": len(ordered)}


def warm(where: Where, qs: list[str], *, baseline_queries: int) -> dict[str, object]:
    """Warm latencies of the default retrieval and of the baseline, in this process."""
    with Assistant.from_settings(where.settings()) as bot:
        t0 = time.perf_counter()
        bot.store.count()  # opening the store (with a server: filling the keyword index from it)
        open_s = time.perf_counter() - t0
        retriever = bot.retriever
        for q in qs[:5]:
            retriever.retrieve(q)
        plain = []
        for q in qs:
            t0 = time.perf_counter()
            retriever.retrieve(q)
            plain.append((time.perf_counter() - t0) * 1000)
        filters = _filtered(bot.store, retriever, qs, baseline_queries=baseline_queries,
                            server=where.server is not None)
        t0 = time.perf_counter()
        old = OldHybridRetriever(store=bot.store, embeddings=bot.embedding.embeddings, k=retriever.k)
        old_build = time.perf_counter() - t0
        old_ms = []
        for q in qs[:baseline_queries]:
            t0 = time.perf_counter()
            old.retrieve(q)
            old_ms.append((time.perf_counter() - t0) * 1000)
    now, before = _percentiles(plain), _percentiles(old_ms)
    return {
        "store_open_s": round(open_s, 2),
        "warm": now,
        **filters,
        "baseline": {**before, "bm25_rebuild_s": round(old_build, 2)},
        "speedup_p50": round(before["p50_ms"] / now["p50_ms"], 1),
        "speedup_p95": round(before["p95_ms"] / now["p95_ms"], 1),
    }


FILTERS: dict[str, dict[str, Any]] = {
    "broad": {"sources": ["AP", "BBC"], "since": date(2024, 3, 1), "until": date(2024, 9, 30)},
    "narrow": {"sources": ["AP"], "since": date(2024, 3, 1), "until": date(2024, 3, 14)},
}
"""A broad filter (two sources of five, seven months of twelve: about a quarter of the chunks) and a narrow one."""


def _filtered(store: ArticleStore, retriever: HybridRetriever, qs: list[str], *,
              baseline_queries: int, server: bool) -> dict[str, object]:
    """Warm filtered retrieval, and the same with Chroma's own metadata pre-filter (the way before) as baseline."""
    old = replace(retriever, dense_filter="chroma")
    out: dict[str, object] = {}
    for name, limits in FILTERS.items():
        now, before = [], []
        for q in qs:
            t0 = time.perf_counter()
            retriever.retrieve(q, **limits)
            now.append((time.perf_counter() - t0) * 1000)
        for q in qs[:baseline_queries]:
            t0 = time.perf_counter()
            old.retrieve(q, **limits)
            before.append((time.perf_counter() - t0) * 1000)
        a, b = _percentiles(now), _percentiles(before)
        out[f"warm_filtered_{name}"] = {
            **a,
            "chunks_left": store.keyword_count_matching(**limits),
            "path": pick_filter_path(store.keyword_count_matching(**limits), store.count(), retriever.fetch_k,
                                     server=server and not store.local_vectors_in_step()),
            "baseline_chroma_filter": b,
            "speedup_p50": round(b["p50_ms"] / a["p50_ms"], 1),
            "speedup_p95": round(b["p95_ms"] / a["p95_ms"], 1),
        }
    return out


def local_vectors(where: Where, qs: list[str]) -> dict[str, object]:
    """The narrow filter with vectors kept beside the keyword index and read from the server; the cost of a read."""
    from assistant.vectors import VectorCache, VectorRows

    limits = FILTERS["narrow"]
    out: dict[str, object] = {}
    with Assistant.from_settings(where.settings()) as bot:
        store, retriever = bot.store, bot.retriever
        ids = store.keyword_matching_ids(**limits)
        got, matrix = store.read_vectors(ids)
        if matrix is None:  # a corpus under 1,240 chunks has no article of the narrow filter's source and days
            return {"chunks": 0, "note": "the narrow filter matches no chunk: use --chunks 2000 or more"}
        cache = VectorCache.empty(dim=matrix.shape[1])
        cache.replace_articles([], VectorRows.of(got, got, matrix))
        read, gather = [], []
        for _ in range(20):
            t0 = time.perf_counter()
            store.read_vectors(ids)
            read.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            cache.lookup(got)
            gather.append((time.perf_counter() - t0) * 1000)
        out.update({"chunks": len(ids), "read_ms": _percentiles(read)["p50_ms"],
                    "gather_ms": _percentiles(gather)["p50_ms"]})
        if where.server is None:
            return out
        out.update(_local_against_server(store, retriever, qs, limits))
        folder = next((where.data_dir / "keyword-server").glob(f"{bot.settings.collection}-*/vectors"), None)
        out["files_mb"] = round(sum(f.stat().st_size for f in folder.iterdir()) / 1e6, 1) if folder else 0.0
        if folder is not None:
            out["loaded_alone"] = _cache_memory(folder, dim=matrix.shape[1], some=got)
    return out


_CACHE_MEMORY = """
import json, sys, time
from pathlib import Path
from assistant.vectors import VectorCache

def rss_mb():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024

folder, dim, ids = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.stdin.read())
before = rss_mb()
t0 = time.perf_counter()
cache = VectorCache.load(folder, dim=dim)
load_s = time.perf_counter() - t0
loaded = rss_mb()
t0 = time.perf_counter()
found = cache.lookup(ids)
lookup_ms = (time.perf_counter() - t0) * 1000
print(json.dumps({"rows": cache.count(), "load_s": round(load_s, 3),
                  "resident_mb_after_load": round(loaded - before, 1),
                  "lookup_rows": len(ids) if found is not None else 0, "first_lookup_ms": round(lookup_ms, 1),
                  "resident_mb_after_lookup": round(rss_mb() - before, 1)}))
"""


def _cache_memory(folder: Path, *, dim: int, some: list[str]) -> dict[str, object]:
    """``VectorCache.load`` of the client's vector folder alone in a new process: seconds, and the resident memory
    it adds (``/proc/self/status`` before and after), then one lookup of ``some`` rows (the narrow filter's)."""
    import json

    proc = subprocess.run([sys.executable, "-c", _CACHE_MEMORY, str(folder), str(dim)], input=json.dumps(some),
                          capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"loading the vector cache alone failed: {proc.stderr.strip()[-500:]}")
    figures: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def _local_against_server(store: ArticleStore, retriever: HybridRetriever, qs: list[str],
                          limits: dict[str, Any]) -> dict[str, object]:
    """Alternating retrievals with the local vectors and with them read from the server; their rankings compared."""
    if not store.local_vectors_in_step():
        raise SystemExit("the vectors beside the keyword index are not in step with the server: nothing to compare")
    over_http = replace(retriever, local_vectors=False)
    local: list[float] = []
    remote: list[float] = []
    same, diff = 0, 0.0
    for q in qs:
        vector = retriever.embeddings.embed_query(q)
        ranked = []
        for use in (True, False):
            t0 = time.perf_counter()
            (retriever if use else over_http).retrieve(q, **limits)
            (local if use else remote).append((time.perf_counter() - t0) * 1000)
            ranked.append(store.filtered_dense_search(vector, k=retriever.fetch_k, path="direct", local_vectors=use,
                                                      **limits))
        a, b = ranked
        same += [c.chunk_id for c, _ in a] == [c.chunk_id for c, _ in b]
        diff = max([diff, *(abs(x - y) for (_, x), (_, y) in zip(a, b, strict=False))])
    near, far = _percentiles(local), _percentiles(remote)
    return {"warm_narrow_local": near, "warm_narrow_over_http": far,
            "speedup_p50": round(far["p50_ms"] / near["p50_ms"], 2),
            "speedup_p95": round(far["p95_ms"] / near["p95_ms"], 2),
            "same_order": f"{same}/{len(qs)}", "max_similarity_diff": float(f"{diff:.2e}")}


def _run_seconds(argv: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])}... failed: {proc.stderr.strip()[-500:]}")
    return seconds


def cold(where: Where, question: str, *, repeats: int = 3, first_fills: bool = False) -> dict[str, object]:
    """Seconds of a whole `assistant ask` process, and of one that only imports what it imports.

    ``first_fills``: with a server, the first ask found no keyword index under DATA_DIR and filled it.
    """
    ask = [sys.executable, "-m", "assistant.cli", "--llm", "fake", "--embeddings", "fake",
           "--data-dir", str(where.data_dir), "ask", question, "--json"]
    imports = [sys.executable, "-c", "import assistant.cli, assistant.service, assistant.keyword, chromadb"]
    env = None
    if where.server is not None:
        env = {**os.environ, "CHROMA_HOST": where.server[0], "CHROMA_PORT": str(where.server[1])}
    runs = [_run_seconds(ask, env) for _ in range(repeats)]
    ask_s = statistics.median(runs)
    import_s = statistics.median(_run_seconds(imports) for _ in range(repeats))
    figures: dict[str, object] = {"ask_s": round(ask_s, 2), "imports_s": round(import_s, 2),
                                  "beyond_imports_s": round(ask_s - import_s, 2),
                                  "ask_runs_s": [round(r, 2) for r in runs]}
    if where.server is not None and first_fills:
        # The first ask fills this DATA_DIR's keyword index from the server, as every process did before it was
        # kept on disk: it is the baseline; the later ones reopen it.
        later = statistics.median(runs[1:])
        figures.update({"ask_s": round(later, 2), "beyond_imports_s": round(later - import_s, 2),
                        "first_ask_filling_index_s": round(runs[0], 2)})
    return figures


def _timed(retriever: HybridRetriever, q: str) -> float:
    t0 = time.perf_counter()
    retriever.retrieve(q)
    return (time.perf_counter() - t0) * 1000


def _interleaved(where: Where, qs: list[str], *, second_checks: bool = True) -> tuple[list[float], list[float]]:
    """The same retrievals with the check never due and with it before every one, alternating (fair under load).

    Two openings of one store: the second keeps its keyword index in memory (the first holds the folder).
    ``second_checks=False``: the check never due in either (what the two openings differ by without it).
    """
    every = 0.0 if second_checks else 3600.0
    with Assistant.from_settings(where.settings(chroma_refresh_seconds=3600.0)) as off, \
            Assistant.from_settings(where.settings(chroma_refresh_seconds=every)) as on:
        for q in qs[:5]:
            off.retriever.retrieve(q)
            on.retriever.retrieve(q)
        without, with_check = [], []
        for q in qs:
            without.append(_timed(off.retriever, q))
            with_check.append(_timed(on.retriever, q))
        on.store.wait_for_refresh()
    return without, with_check


def refresh_costs(where: Where, qs: list[str]) -> dict[str, object]:
    """With a server: the cost of checking for other clients' writes, per retrieval, and of catching up."""
    without, with_check = _interleaved(where, qs)
    off, on = _percentiles(without), _percentiles(with_check)
    first, second = _interleaved(where, qs, second_checks=False)  # the two openings alone: their own difference
    with Assistant.from_settings(where.settings(chroma_refresh_seconds=3600.0)) as bot:
        checks = []
        for _ in range(len(qs)):
            t0 = time.perf_counter()
            if bot.store.refresh(force=True):
                raise SystemExit("the check found a write that nobody made: is another client writing?")
            checks.append((time.perf_counter() - t0) * 1000)
        catch_up_s = _after_another_write(bot.store, where, article=10_000_000)
        # The other client's next write leaves nothing in the log (a log of no articles): refill whole.
        refill_s = _after_another_write(bot.store, where, article=10_000_001, log_articles=0)
        chunks = bot.store.count()
    return {"check": _percentiles(checks), "warm_no_check": off, "warm_every_retrieval": on,
            "both_off": {"first_opening": _percentiles(first), "second_opening": _percentiles(second)},
            "added_p50_ms": round(on["p50_ms"] - off["p50_ms"], 1),
            "added_p95_ms": round(on["p95_ms"] - off["p95_ms"], 1),
            "catch_up_one_article_s": round(catch_up_s, 3), "refill_s": round(refill_s, 2), "refill_chunks": chunks}


def _after_another_write(store: ArticleStore, where: Where, *, article: int, log_articles: int | None = None) -> float:
    """Seconds ``store`` takes to catch up after another client (its own DATA_DIR, its writes logged within
    ``log_articles`` articles: the default unless given) wrote one article."""
    log = {} if log_articles is None else {"chroma_change_log_articles": log_articles}
    with tempfile.TemporaryDirectory(prefix="latency-other-") as other_dir, \
            Assistant.from_settings(where.settings(Path(other_dir), **log)) as other:
        rng = random.Random(article)
        other.store.add_articles([_article(rng, article, [_name(rng) for _ in range(50)])])
    t0 = time.perf_counter()
    if not store.refresh(force=True):
        raise SystemExit("another client's write was not noticed")
    return time.perf_counter() - t0


def _p(samples: list[float]) -> dict[str, float]:
    out = _percentiles(samples)
    return {"p50_ms": out["p50_ms"], "p95_ms": out["p95_ms"]}


def _time_each(qs: list[str], step: Callable[[str], object]) -> dict[str, float]:
    ms = []
    for q in qs:
        t0 = time.perf_counter()
        step(q)
        ms.append((time.perf_counter() - t0) * 1000)
    return _p(ms)


def _slope(points: list[tuple[int, float]]) -> float:
    """Least-squares milliseconds per unit of ``points`` (count, median ms)."""
    xs, ys = [float(x) for x, _ in points], [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def stages(where: Where, qs: list[str]) -> dict[str, object]:
    """Each step of a retrieval on its own, and the per-vector and per-result costs that pick the filtered path."""
    broad, narrow = FILTERS["broad"], FILTERS["narrow"]
    with Assistant.from_settings(where.settings()) as bot:
        store, retriever = bot.store, bot.retriever
        embed = retriever.embeddings.embed_query
        vectors = {q: embed(q) for q in qs}
        k = retriever.fetch_k
        store.dense_search(vectors[qs[0]], k=k)  # opened and warm before the timing
        narrow_ids = store.keyword_matching_ids(**narrow)
        candidates = {q: [c.chunk_id for c, _ in store.dense_search(vectors[q], k=k)] for q in qs}
        figures: dict[str, object] = {
            "query_embedding": _time_each(qs, embed),
            "keyword_search": _time_each(qs, lambda q: store.keyword_search(q, k=k)),
            "keyword_search_broad_filter": _time_each(qs, lambda q: store.keyword_search(q, k=k, **broad)),
            "dense_search": _time_each(qs, lambda q: store.dense_search(vectors[q], k=k)),
            "dense_search_chroma_broad_filter": _time_each(
                qs, lambda q: store.filtered_dense_search(vectors[q], k=k, path="chroma", **broad)),
            "count_filter_chunks": _time_each(qs, lambda q: store.keyword_count_matching(**broad)),
            "dense_side_broad_filter": _time_each(qs, lambda q: store.filtered_dense_search(vectors[q], k=k, **broad)),
            "dense_side_narrow_filter": _time_each(
                qs, lambda q: store.filtered_dense_search(vectors[q], k=k, **narrow)),
            "read_narrow_vectors": {**_time_each(qs, lambda q: store.read_vectors(narrow_ids)),
                                    "vectors": len(narrow_ids)},
            "read_candidate_vectors": _time_each(qs, lambda q: store.get_embeddings(candidates[q])),
        }
        figures["cost_constants"] = _path_costs(store, qs, vectors, k=k)
    return figures


def _path_costs(store: ArticleStore, qs: list[str], vectors: dict[str, list[float]], *, k: int) -> dict[str, object]:
    """Milliseconds per vector read by id, and per result of an over-fetched search (``store.py``'s constants)."""
    every = sorted(store.keyword_chunk_ids())
    reads = []
    for n in (20, 200, 1000, 2000):
        ids = every[:: max(1, len(every) // n)][:n]
        reads.append((len(ids), _time_each(qs[:10], _reading(store, ids))["p50_ms"]))
    total = store.count()
    fetches = []
    for days in (365, 60, 14, 7, 4):  # a shorter window leaves fewer chunks, so the over-fetch asks for more results
        limits: dict[str, Any] = {"since": date(2024, 1, 1), "until": date(2024, 1, 1) + timedelta(days=days - 1)}
        left = store.keyword_count_matching(**limits)
        if left:
            fetch = overfetch_size(left, total, k)
            fetches.append((fetch, _time_each(qs[:10], _overfetching(store, vectors, k, limits))["p50_ms"]))
    return {"read_ms_per_vector": round(_slope(reads), 4), "reads": [list(r) for r in reads],
            "search_ms_per_result": round(_slope(fetches), 4) if len(fetches) > 1 else None,
            "searches": [list(f) for f in fetches]}


def _reading(store: ArticleStore, ids: list[str]) -> Callable[[str], object]:
    return lambda q: store.read_vectors(ids)


def _overfetching(store: ArticleStore, vectors: dict[str, list[float]], k: int,
                  limits: dict[str, Any]) -> Callable[[str], object]:
    return lambda q: store.filtered_dense_search(vectors[q], k=k, path="overfetch", **limits)


def copy_check(where: Where) -> dict[str, float]:
    """Seconds to have the copy signatures in a freshly opened store: from the file, and rebuilt from the chunks."""
    from assistant.copies import CopyIndex, stored_texts

    with Assistant.from_settings(where.settings()) as bot:
        bot.store.copy_index()  # writes the file if an older version built this store
    with Assistant.from_settings(where.settings()) as bot:
        t0 = time.perf_counter()
        index = bot.store.copy_index()
        loaded_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        index.find(" ".join(questions(40, seed=9)))
        find_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rebuilt = CopyIndex()
        for article_id, text in stored_texts(bot.store.all_chunks()).items():
            rebuilt.add(article_id, text)
        rebuild_s = time.perf_counter() - t0
    return {"articles": len(index), "load_saved_s": round(loaded_s, 3), "find_s": round(find_s, 4),
            "rebuild_from_chunks_s": round(rebuild_s, 2), "speedup": round(rebuild_s / loaded_s, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-queries", type=int, default=20, help="the baseline is slow; fewer queries")
    parser.add_argument("--data-dir", type=Path, help="keep the synthetic store here (reused when already full)")
    parser.add_argument("--chroma-server", metavar="HOST:PORT",
                        help="measure against a running `chroma run` (loopback) instead of the embedded store")
    parser.add_argument("--part", choices=["all", "refresh", "stages"], default="all",
                        help="refresh: only the cost of following other clients' writes (needs --chroma-server); "
                             "stages: only each step of a retrieval timed on its own, and the filtered path's costs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    server = None
    if args.chroma_server:
        host, _, port = args.chroma_server.rpartition(":")
        if not host or not port.isdigit():
            parser.error("--chroma-server takes HOST:PORT, e.g. 127.0.0.1:8000")
        server = (host, int(port))
    if args.part == "refresh" and server is None:
        parser.error("--part refresh needs --chroma-server HOST:PORT")
    with tempfile.TemporaryDirectory(prefix="latency-") as tmp:
        where = Where(data_dir=args.data_dir or Path(tmp) / "data", server=server)
        figures = measure(where, chunks=args.chunks, queries=args.queries, baseline_queries=args.baseline_queries,
                          part=args.part)
    figures["machine"] = machine()
    report(figures, as_json=args.json)
    return 0


def measure(where: Where, *, chunks: int, queries: int, baseline_queries: int, part: str) -> dict[str, object]:
    """Build the store (or reuse it), then every figure of the module docstring (``part="refresh"``: that one)."""
    fresh = not (where.data_dir / "keyword-server").exists()
    built = build(where, chunks)
    if where.server is not None and fresh:  # build() opened the store, which filled the index: start from none
        shutil.rmtree(where.data_dir / "keyword-server", ignore_errors=True)
    qs = questions(queries)
    figures: dict[str, object] = {"chunks": built["chunks"], "build_seconds": built["build_seconds"]}
    server = f"{where.server[0]}:{where.server[1]}" if where.server is not None else ""
    if part == "refresh":
        figures["refresh"] = refresh_costs(where, qs)
        figures["chroma_server"] = server
        return figures
    if part == "stages":
        figures["stages"] = stages(where, qs)
        figures["chroma_server"] = server
        return figures
    figures["cold"] = cold(where, qs[0], repeats=4 if server else 3, first_fills=bool(server) and fresh)
    figures.update(warm(where, qs, baseline_queries=baseline_queries))
    figures["local_vectors"] = local_vectors(where, qs)
    figures["copy_check"] = copy_check(where)  # with a server: the file beside the client's keyword index
    if server:
        figures["refresh"] = refresh_costs(where, qs)
        figures["chroma_server"] = server
    figures["targets"] = {"p95_ms": 40 if chunks <= 10000 else 100, "cold_beyond_imports_s": 3.0}
    return figures


if __name__ == "__main__":
    sys.exit(main())
