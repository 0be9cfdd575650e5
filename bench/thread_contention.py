"""MiniLM with one or two torch threads, alone and beside a busy Python thread or a busy process.

Usage::

    python bench/thread_contention.py            # 96 texts, 3 repeats of each pass (about a minute)
    python bench/thread_contention.py --texts 96 --repeats 3 --json

Why: an ingest embeds in one thread while others read, chunk and write in Python beside it. On two cores, two
torch threads need both; a Python thread that holds a core makes them wait on each other, while one torch thread
leaves the other core free. This times ``MiniLMEmbeddings.embed_documents`` on the same texts (bench/pipeline.py's
corpus, each article's first 400 characters, sorted by length as the store sorts a batch) with 1 and 2 threads:
alone, with a thread of this process spinning in Python beside it, and with another process spinning beside it.
Each figure is the median of ``--repeats`` passes, wall clock and CPU seconds of this process, with the load average
before the passes; the passes of one thread count alternate between the three conditions.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.providers import MiniLMEmbeddings, batch_threads  # noqa: E402
from bench.common import machine, report  # noqa: E402
from bench.pipeline import make_corpus  # noqa: E402


def texts_of(count: int) -> list[str]:
    """``count`` news-shaped texts of about a chunk each, sorted by length."""
    with tempfile.TemporaryDirectory(prefix="contention-") as tmp:
        paths = make_corpus(Path(tmp), count)
        return sorted((p.read_text(encoding="utf-8")[:400] for p in paths), key=len)


def _spin(stop: Callable[[], bool]) -> None:
    """Pure-Python work (holds the interpreter lock between its switches) until ``stop`` says so."""
    total = 0
    while not stop():
        for i in range(10_000):
            total += i * i


def _spin_process(event: object) -> None:
    assert hasattr(event, "is_set")
    _spin(event.is_set)


@contextmanager
def busy(kind: str) -> Iterator[None]:
    """Nothing beside (``alone``), a spinning thread of this process, or a spinning other process."""
    if kind == "alone":
        yield
        return
    if kind == "thread":
        flag = threading.Event()
        worker = threading.Thread(target=_spin, args=(flag.is_set,), daemon=True)
        worker.start()
        try:
            yield
        finally:
            flag.set()
            worker.join()
        return
    event = multiprocessing.get_context("spawn").Event()
    process = multiprocessing.get_context("spawn").Process(target=_spin_process, args=(event,), daemon=True)
    process.start()
    time.sleep(0.5)  # the other process is spinning before the timing starts
    try:
        yield
    finally:
        event.set()
        process.join(timeout=10)


def measure(texts: list[str], *, repeats: int) -> dict[str, object]:
    """Median wall and CPU seconds of one embedding pass per thread count and condition."""
    minilm = MiniLMEmbeddings()
    figures: dict[str, object] = {"texts": len(texts), "repeats": repeats,
                                  "load_average_before": round(os.getloadavg()[0], 2)}
    for threads in (2, 1):
        wall: dict[str, list[float]] = {"alone": [], "thread": [], "process": []}
        cpu: dict[str, list[float]] = {kind: [] for kind in wall}
        with batch_threads(minilm, threads):
            minilm.embed_documents(texts[:4])  # the model loads outside the timing
            for _ in range(repeats):
                for kind in wall:
                    with busy(kind):
                        t0, c0 = time.perf_counter(), time.process_time()
                        minilm.embed_documents(texts)
                        wall[kind].append(time.perf_counter() - t0)
                        cpu[kind].append(time.process_time() - c0)
        figures[f"threads_{threads}"] = {
            f"{kind}_s": round(statistics.median(wall[kind]), 2) for kind in wall
        } | {f"{kind}_cpu_s": round(statistics.median(cpu[kind]), 2) for kind in wall} | {
            "slowdown_beside_thread": round(statistics.median(wall["thread"]) / statistics.median(wall["alone"]), 1),
            "slowdown_beside_process": round(statistics.median(wall["process"]) / statistics.median(wall["alone"]), 1),
        }
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=96, help="texts embedded per pass (default 96)")
    parser.add_argument("--repeats", type=int, default=3, help="passes per condition; the median is reported")
    parser.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    args = parser.parse_args()
    if args.texts < 1 or args.repeats < 1:
        parser.error("--texts and --repeats take a positive number")
    figures = measure(texts_of(args.texts), repeats=args.repeats)
    figures["machine"] = machine()
    report(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
