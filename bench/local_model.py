"""The local model's speed: time to first token and tokens per second, with and without a reused prompt prefix.

Usage::

    python bench/local_model.py                   # SmolLM2-135M-Instruct as the app loads it
    python bench/local_model.py --questions 5 --json

The chat model is built exactly as the app builds it (``providers.chat_backend`` with ``llm=local``) and
streamed through LangChain. The prompt is the seed article and a question, as an answer's prompt
is: sources first, question last. The first question evaluates the whole prompt; each later one
reuses the evaluated prefix (llama-cpp-python keeps it in its context) and evaluates only the new
question. ``prefix_reuse_speedup`` is the first question's time to first token over the median of
the later ones, both measured in this run. Tokens are counted in the model's own vocabulary.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from langchain_core.messages import HumanMessage, SystemMessage  # noqa: E402

from assistant.providers import chat_backend  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.common import machine, report  # noqa: E402

SEED = next((ROOT / "seeds").glob("*.txt"))
QUESTIONS = [
    "What happened, in one sentence?",
    "Who was killed?",
    "Which places were struck?",
    "What did the army say?",
    "What are diplomats pressing for?",
]


def one_answer(chat: object, article: str, question: str, max_tokens: int) -> dict[str, float]:
    """Seconds to the first token, tokens generated and their rate after the first, for one question."""
    from langchain_core.language_models import BaseChatModel

    assert isinstance(chat, BaseChatModel)
    messages = [SystemMessage("Answer from the article only, briefly."),
                HumanMessage(f"Article:\n{article}\n\nQuestion: {question}")]
    started = time.perf_counter()
    first = None
    text = ""
    for chunk in chat.stream(messages, max_tokens=max_tokens):
        if chunk.content and first is None:
            first = time.perf_counter() - started
        text += str(chunk.content)
    total = time.perf_counter() - started
    first = first if first is not None else total
    tokens = chat.count_tokens(text) if hasattr(chat, "count_tokens") else len(text.split())
    rate = (tokens - 1) / (total - first) if tokens > 1 and total > first else 0.0
    return {"ttft_s": round(first, 3), "tokens": tokens, "tokens_per_s": round(rate, 1), "total_s": round(total, 2)}


def run(questions: int, max_tokens: int, threads: int | None) -> dict[str, object]:
    """Load the model (timed), then answer ``questions`` questions on the same article."""
    settings = Settings(llm="local", embeddings="fake", local_threads=threads)
    started = time.perf_counter()
    backend = chat_backend(settings)
    llama = getattr(backend.model, "llama", None)
    if callable(llama):
        llama()
    load_s = time.perf_counter() - started
    article = SEED.read_text(encoding="utf-8")
    answers = [one_answer(backend.model, article, q, max_tokens) for q in QUESTIONS[:questions]]
    rest = answers[1:] or answers
    later = [a["ttft_s"] for a in rest]
    import llama_cpp

    return {
        "model": backend.name,
        "runtime": f"llama-cpp-python {llama_cpp.__version__}",
        "system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "threads": threads or "llama.cpp default",
        "prompt_tokens": backend.count_tokens(article),
        "load_s": round(load_s, 2),
        "first_question": answers[0],
        "later_questions": {"ttft_s_median": round(statistics.median(later), 3),
                            "tokens_per_s_median": statistics.median(a["tokens_per_s"] for a in rest)},
        "tokens_per_s_median_all": statistics.median(a["tokens_per_s"] for a in answers),
        "prefix_reuse_speedup": round(answers[0]["ttft_s"] / max(statistics.median(later), 1e-3), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=3, choices=range(1, len(QUESTIONS) + 1))
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, help="llama.cpp threads; default: the app's setting")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = run(args.questions, args.max_tokens, args.threads)
    figures["machine"] = machine()
    report(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
