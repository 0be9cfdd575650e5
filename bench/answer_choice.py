"""The answer path beside the embeddings: CPU milliseconds per question of evidence selection and the choice.

Usage::

    python bench/answer_choice.py --json
    python bench/answer_choice.py --rounds 2 --json     # quicker

``bench/answers.py`` times whole answers, of which MiniLM embedding every retrieved sentence is most; on a shared
machine its wall-clock figures move with the load more than this part does. So here the seeds are ingested, each
eval question's chunks retrieved, and every sentence's vector computed once beforehand; what is timed, in CPU
seconds of this process, is ``select_evidence`` (the vectors looked up, not computed) and ``choose_answer`` on the
pool it gives, as ``AnswerWriter`` calls them. The keyword-overlap and chunk-text caches are emptied before each
question, so no round gains from the one before.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from langchain_core.embeddings import Embeddings

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant import answer_candidates, answer_facts, evidence  # noqa: E402
from assistant.answering import answer_pool, choose_answer  # noqa: E402
from assistant.evaluation import load_items  # noqa: E402
from assistant.schemas import RetrievedChunk  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.common import machine, report  # noqa: E402


class KnownVectors(Embeddings):
    """Embeddings that compute each text's vector once, then look it up."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.known: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.known))
        if missing:
            self.known.update(zip(missing, self.inner.embed_documents(missing), strict=True))
        return [self.known[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _answer_path(question: str, chunks: Sequence[RetrievedChunk], vectors: KnownVectors) -> None:
    pool = answer_pool(question, chunks, vectors)
    choose_answer(question, pool)


def run(*, rounds: int) -> dict[str, object]:
    """CPU milliseconds per question, over ``rounds`` passes of the seed eval questions."""
    questions = [item.question for item in load_items(ROOT / "evals")]
    with tempfile.TemporaryDirectory(prefix="bench-choice-") as tmp:
        settings = Settings(llm="fake", embeddings="local", data_dir=Path(tmp))
        with Assistant.from_settings(settings) as bot:
            bot.ingest([ROOT / "seeds"])
            vectors = KnownVectors(bot.embedding.embeddings)
            chunks = {q: bot.answer_sources(q).chunks for q in questions}
            for question in questions:  # every vector computed here, before the timing
                _answer_path(question, chunks[question], vectors)
            spent: list[float] = []
            for _ in range(rounds):
                for question in questions:
                    for cached in (evidence.keyword_overlap, answer_facts._folded, answer_facts._prefixes,
                                   answer_candidates.date_key):
                        clear = getattr(cached, "cache_clear", None)
                        if clear is not None:
                            clear()
                    started = time.process_time()
                    _answer_path(question, chunks[question], vectors)
                    spent.append(time.process_time() - started)
    return {"questions": len(questions), "rounds": rounds,
            "cpu_ms_mean": round(1000 * statistics.mean(spent), 2),
            "cpu_ms_p50": round(1000 * statistics.median(spent), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the questions")
    parser.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    args = parser.parse_args()
    result: dict[str, object] = {"machine": machine(), "load_average": round(os.getloadavg()[0], 2),
                                 **run(rounds=args.rounds)}
    report(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
