"""Answer latency: p50/p90 seconds of ``Assistant.ask`` on the seed eval questions, per answer style.

Usage::

    python bench/answers.py                          # local SmolLM2 + MiniLM, both styles
    python bench/answers.py --styles extractive --json
    python bench/answers.py --llm fake --embeddings fake --limit 5 --json   # quick smoke run

Each style gets a fresh temporary store with the seeds ingested, one warm-up question (model and embeddings
loaded), then every question of ``evals/*.jsonl`` asked once. On a shared machine absolute times move with the
load, so the same questions are also timed through retrieval alone (``retrieval_p50_s``, the in-process
baseline) and the ratio of the two is printed: it moves much less than either.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.evaluation import load_items  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.common import machine, report  # noqa: E402


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_style(style: str, *, llm: str, embeddings: str, questions: list[str]) -> dict[str, object]:
    """Latencies of one style on a fresh store."""
    with tempfile.TemporaryDirectory(prefix="bench-answers-") as tmp:
        settings = Settings(llm=llm, embeddings=embeddings, data_dir=Path(tmp), answer_style=style)  # type: ignore[arg-type]
        with Assistant.from_settings(settings) as bot:
            bot.ingest([ROOT / "seeds"])
            bot.ask(questions[0])  # warm-up: loads the model and the embeddings
            asked, retrieved, words = [], [], []
            forget = getattr(bot.embedding.embeddings, "forget_questions", lambda: None)
            for question in questions:
                forget()  # each timing embeds the question itself, as a first ask does
                started = time.perf_counter()
                bot.retriever.retrieve(question)
                retrieved.append(time.perf_counter() - started)
                forget()
                started = time.perf_counter()
                answer = bot.ask(question)
                asked.append(time.perf_counter() - started)
                if not answer.abstained:
                    words.append(len(answer.answer.split()))
    p50, base = statistics.median(asked), statistics.median(retrieved)
    return {
        "questions": len(questions),
        "answer_p50_s": round(p50, 3),
        "answer_p90_s": round(_quantile(asked, 0.9), 3),
        "retrieval_p50_s": round(base, 3),
        "answer_to_retrieval_ratio": round(p50 / base, 1) if base else None,
        "median_words_answered": statistics.median(words) if words else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", default="local", choices=["local", "fake", "openai"])
    parser.add_argument("--embeddings", default="local", choices=["local", "fake", "openai"])
    parser.add_argument("--styles", default="extractive,abstractive", help="comma-separated answer styles")
    parser.add_argument("--limit", type=int, help="at most this many questions")
    parser.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    args = parser.parse_args()
    questions = [item.question for item in load_items(ROOT / "evals")][: args.limit]
    result: dict[str, object] = {"llm": args.llm, "embeddings": args.embeddings, "machine": machine()}
    for style in args.styles.split(","):
        result[style] = run_style(style.strip(), llm=args.llm, embeddings=args.embeddings, questions=questions)
    report(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
