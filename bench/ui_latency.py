"""How soon the chat shows something: first stage, first draft text, and the checked answer.

Usage::

    python bench/ui_latency.py                  # SmolLM2 + MiniLM, the embedded defaults
    python bench/ui_latency.py --llm fake --embeddings fake --json

Runs the app's own chat handler (``assistant.ui.chat``) on the seed article, question by
question, and times each yield a browser would render. The in-process baseline is
``Assistant.ask`` on the same questions: the wait a reader had before streaming.
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

from bench.common import machine, report  # noqa: E402
from bench.pipeline import QUESTIONS  # noqa: E402


def _time_chat(bot: object, question: str) -> dict[str, float]:
    from assistant import ui

    start = time.perf_counter()
    marks: dict[str, float] = {}
    for history, _, _, _ in ui.chat(bot, question, [], []):  # type: ignore[arg-type]
        now = time.perf_counter() - start
        marks.setdefault("first_update_s", now)
        if 'class="draft"' in str(history[-1]["content"]):
            marks.setdefault("first_draft_s", now)
        marks["answer_s"] = now
    return marks


def run(args: argparse.Namespace) -> dict[str, object]:
    from assistant.service import Assistant
    from assistant.settings import Settings

    settings = Settings(llm=args.llm, embeddings=args.embeddings, data_dir=Path(tempfile.mkdtemp()) / "data")
    with Assistant.from_settings(settings) as bot:
        bot.ingest([ROOT / "seeds"])
        bot.ask(QUESTIONS[0])  # load the model and warm the caches for both paths alike
        baseline, first, draft, final = [], [], [], []
        for question in QUESTIONS:
            start = time.perf_counter()
            bot.ask(question)
            baseline.append(time.perf_counter() - start)
            marks = _time_chat(bot, question)
            first.append(marks["first_update_s"])
            final.append(marks["answer_s"])
            if "first_draft_s" in marks:
                draft.append(marks["first_draft_s"])
    return {
        "llm": args.llm, "embeddings": args.embeddings, "questions": len(QUESTIONS),
        "first_update_ms_p50": round(1000 * statistics.median(first), 1),
        "first_draft_s_p50": round(statistics.median(draft), 2) if draft else None,
        "answers_with_a_draft": f"{len(draft)}/{len(QUESTIONS)}",
        "chat_answer_s_p50": round(statistics.median(final), 2),
        "baseline_ask_s_p50": round(statistics.median(baseline), 2),
        "chat_over_ask_ratio": round(statistics.median(final) / statistics.median(baseline), 2),
        "machine": machine(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--llm", choices=["local", "fake", "openai"], default="local")
    parser.add_argument("--embeddings", choices=["local", "fake", "openai"], default="local")
    parser.add_argument("--json", action="store_true", help="end with the figures as one JSON object")
    args = parser.parse_args()
    figures = run(args)
    report(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
