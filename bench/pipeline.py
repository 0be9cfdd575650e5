"""Benchmark the answer pipeline: ingestion throughput, retrieval latency, answer latency, peak memory.

Usage::

    python bench/pipeline.py                      # MiniLM + SmolLM2, the embedded defaults
    python bench/pipeline.py --articles 200 --json
    python bench/pipeline.py --llm fake --embeddings fake

The corpus is synthetic but news-shaped: each article is the seed article's sentences in a
different order with its numbers and places varied, so every article is distinct text and
chunking, embedding and retrieval do real work. Nothing here is tuned: it measures.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.sentences import split_sentences  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402

SEED = ROOT / "seeds" / "000_1ad185ed54b8e960.txt"
PLACES = ["Khiam", "Bint Jbeil", "Baalbek", "Tyre", "Sidon", "Nabatieh", "Hermel", "Zahle"]
QUESTIONS = [
    "Which areas in southern Lebanon were targeted?",
    "How many rockets did Hezbollah launch?",
    "Who met Hassan Nasrallah?",
    "What was destroyed in the Bekaa Valley?",
    "What is the capital of France?",
]


def make_corpus(folder: Path, count: int, *, seed: int = 7) -> list[Path]:
    """``count`` distinct articles written as .txt files into ``folder``."""
    rng = random.Random(seed)
    sentences = split_sentences(SEED.read_text(encoding="utf-8"))
    paths = []
    for i in range(count):
        picked = rng.sample(sentences, k=min(len(sentences), rng.randint(8, 14)))
        text = " ".join(picked).replace("100", str(rng.randint(20, 400))).replace("Khiam", rng.choice(PLACES))
        path = folder / f"article_{i:04d}.txt"
        path.write_text(f"Report {i} from {rng.choice(PLACES)}\n\n{text} (Ref {i}.)\n", encoding="utf-8")
        paths.append(path)
    return paths


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def run(args: argparse.Namespace) -> dict[str, object]:
    """Ingest, query and answer; return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        make_corpus(corpus, args.articles)
        settings = Settings(llm=args.llm, embeddings=args.embeddings, data_dir=Path(tmp) / "data")
        with Assistant.from_settings(settings) as bot:
            started = time.perf_counter()
            report = bot.ingest([corpus])
            ingest_s = time.perf_counter() - started
            started = time.perf_counter()
            again = bot.ingest([corpus])
            reingest_s = time.perf_counter() - started
            retrieval_ms = []
            for _ in range(args.rounds):
                for question in QUESTIONS:
                    t0 = time.perf_counter()
                    bot.retriever.retrieve(question)
                    retrieval_ms.append((time.perf_counter() - t0) * 1000)
            answer_s = []
            abstained = 0
            for question in QUESTIONS:
                t0 = time.perf_counter()
                abstained += bot.ask(question).abstained
                answer_s.append(time.perf_counter() - t0)
            chunks = bot.store.count()
    return {
        "llm": args.llm,
        "embeddings": args.embeddings,
        "articles": report.new,
        "chunks": chunks,
        "ingest_seconds": round(ingest_s, 2),
        "articles_per_second": round(report.new / ingest_s, 2),
        "chunks_per_second": round(chunks / ingest_s, 2),
        "reingest_seconds": round(reingest_s, 2),
        "reingest_embedded": again.chunks_added,
        "retrieval_ms_p50": round(statistics.median(retrieval_ms), 1),
        "retrieval_ms_p95": round(percentile(retrieval_ms, 95), 1),
        "answer_seconds_p50": round(statistics.median(answer_s), 2),
        "answer_seconds_max": round(max(answer_s), 2),
        "questions_abstained": f"{abstained}/{len(QUESTIONS)}",
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10, help="retrieval rounds over the questions")
    parser.add_argument("--llm", choices=["local", "fake", "openai"], default="local")
    parser.add_argument("--embeddings", choices=["local", "fake", "openai"], default="local")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = run(args)
    if args.json:
        print(json.dumps(figures))
    else:
        print("| figure | value |\n| --- | --- |")
        for key, value in figures.items():
            print(f"| {key} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
