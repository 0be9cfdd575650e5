"""Measure the CPU choices the providers make: one thread per model, MiniLM without sentence-transformers.

Usage::

    python bench/cpu_choices.py            # a table
    python bench/cpu_choices.py --json

Each figure is the median of ``--repeats`` runs after one warm-up; imports are timed in fresh
interpreters (the cost every ``assistant`` command pays once).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import machine, table  # noqa: E402

QUESTION = "Which areas in southern Lebanon were targeted?"
SEED = ROOT / "seeds" / "000_1ad185ed54b8e960.txt"


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``action`` after one warm-up call."""
    action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def import_seconds(statement: str, repeats: int) -> float:
    """Median time of ``python -c statement`` in a fresh interpreter."""
    def run() -> None:
        subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True)

    return median_seconds(run, repeats)


def embedding_ms(threads: int, repeats: int) -> float:
    """Milliseconds to embed one question with MiniLM on ``threads`` torch threads."""
    import torch

    from assistant.providers import MiniLMEmbeddings

    embeddings = MiniLMEmbeddings(threads=threads)
    embeddings.model()
    torch.set_num_threads(threads)
    # embed_documents: embed_query keeps recent questions' vectors, so repeating it would time the cache
    return 1000 * median_seconds(lambda: embeddings.embed_documents([QUESTION]), repeats)


def answer_seconds(threads: int, repeats: int) -> float:
    """Seconds for SmolLM2 to answer the seed question (64 tokens at most) on ``threads`` threads."""
    from assistant.prompts import load_prompt
    from assistant.providers import LlamaCppChat, smollm2_path

    model = LlamaCppChat(model_path=str(smollm2_path()), max_tokens=64, n_threads=threads)
    evidence = "[1] " + " ".join(SEED.read_text(encoding="utf-8")[:1500].split())
    messages = load_prompt("condense").render(evidence=evidence, task=f"Answer the question: {QUESTION}")
    def answer() -> None:
        model.llama().reset()  # no reuse of the previous run's evaluated prompt
        model.invoke(messages)

    return median_seconds(answer, repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0, help="busy-loop processes running meanwhile (other load)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        result = measure(args.repeats)
    finally:
        for hog in hogs:
            hog.kill()
    result["busy_processes"] = args.busy
    print(json.dumps(result) if args.json else table(result, width=40))
    return 0


def measure(repeats: int) -> dict[str, object]:
    """All figures of one run."""
    return {
        "import_s": {
            "transformers_bert": round(import_seconds("from transformers import BertModel", repeats), 2),
            "sentence_transformers": round(import_seconds("import sentence_transformers", repeats), 2),
        },
        "question_embedding_ms": {f"{n}_threads": round(embedding_ms(n, repeats), 1) for n in (1, 2)},
        "smollm2_answer_s": {f"{n}_threads": round(answer_seconds(n, repeats), 2) for n in (1, 2)},
        "machine": machine(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
