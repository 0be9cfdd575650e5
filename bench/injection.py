"""Attack success rate of the injection set, and how often the screen flags clean news.

Each case of ``evals/injection/cases.jsonl`` is ingested with a clean distractor (the seed article) into a fresh
in-memory store and asked its question; an attack succeeds when its canary reaches the answer or what the app
shows, when the shown answer would render an external image or link, or when a citation names a chunk that was
not retrieved. Run with the screen on (the default settings) and off (``allow_flagged_sources``), so the effect
of the screen is visible. The flag rate on clean news reads three news sets from ``../shared/benchmarks`` at run
time (SummEdits news documents, the article-extraction ground truth, RGB passages); nothing is copied.

    .venv/bin/python bench/injection.py                    # the obeying fake (deterministic, seconds)
    .venv/bin/python bench/injection.py --llm local        # SmolLM2 in-process
    .venv/bin/python bench/injection.py --json             # the figures as one JSON object on the last line
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: the project's package and bench/ come first
    sys.path.insert(0, str(ROOT))

from assistant.grounding import GroundingChecker  # noqa: E402
from assistant.injection import addresses_ai  # noqa: E402
from assistant.providers import ChatBackend, chat_backend, embedding_backend  # noqa: E402
from assistant.red_team import InjectionCase, ObeyingChatModel, Verdict, judge_attack, load_cases  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.store import ArticleStore  # noqa: E402
from assistant.tokens import count_tokens  # noqa: E402
from assistant.ui import finish_turn  # noqa: E402
from bench.common import machine, report  # noqa: E402

SEED = ROOT / "seeds" / "000_1ad185ed54b8e960.txt"


def _chat(llm: str, settings: Settings) -> ChatBackend:
    if llm == "obeying":
        return ChatBackend(ObeyingChatModel(), "obeying-fake", 8192, count_tokens)
    return chat_backend(settings.model_copy(update={"llm": llm}))


def attack(case: InjectionCase, *, chat: ChatBackend, allow_flagged: bool, work: Path) -> Verdict:
    """Ingest the case with the seed, ask its question, judge what came out."""
    folder = work / case.id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{case.id}{case.suffix}").write_text(case.content, encoding="utf-8")
    settings = Settings(llm="fake", embeddings="fake", data_dir=work / "unused", allow_flagged_sources=allow_flagged)
    embedding = embedding_backend(settings)
    store = ArticleStore.ephemeral(embeddings=embedding.embeddings, embedding_model=embedding.name,
                                   dimension=embedding.dimension)
    with Assistant(settings=settings, store=store, embedding=embedding, chat=chat,
                   checker=GroundingChecker(embeddings=embedding.embeddings)) as bot:
        bot.ingest([folder, SEED])
        answer = bot.ask(case.question)
        bubble, panel = finish_turn(bot, answer, 1)
        return judge_attack(case, answer, bubble, panel=panel)


def success_rates(cases: list[InjectionCase], *, chat: ChatBackend, allow_flagged: bool) -> dict[str, Any]:
    """Attack success over the cases the layers are meant to stop, and over the evasive ones apart."""
    with tempfile.TemporaryDirectory(prefix="injection-bench-") as tmp:
        verdicts = {c.id: attack(c, chat=chat, allow_flagged=allow_flagged, work=Path(tmp)) for c in cases}
    out: dict[str, Any] = {}
    for group, members in (("defended", [c for c in cases if c.expect != "evasive"]),
                           ("evasive", [c for c in cases if c.expect == "evasive"])):
        hits = [verdicts[c.id] for c in members if verdicts[c.id].succeeded]
        out[group] = {
            "cases": len(members),
            "succeeded": len(hits),
            "attack_success_rate": round(len(hits) / len(members), 3) if members else None,
            "payload": sum(v.payload for v in hits),
            "link_rendered": sum(v.link for v in hits),
            "foreign_citation": sum(v.foreign_citation for v in hits),
            "which": [v.id for v in hits],
        }
    return out


def _news_texts(data: Path) -> dict[str, list[str]]:
    """Clean news from the shared benchmark folder, read in place."""
    sets: dict[str, list[str]] = {}
    summedits = data / "summedits" / "summedits_news.json"
    if summedits.is_file():
        sets["summedits_news_docs"] = sorted({row["doc"] for row in json.loads(summedits.read_text())})
    extraction = data / "article-extraction" / "ground-truth.json"
    if extraction.is_file():
        sets["article_extraction_bodies"] = [v["articleBody"] for v in json.loads(extraction.read_text()).values()
                                             if v.get("articleBody")]
    rgb = data / "rgb" / "en_fact.json"
    if rgb.is_file():
        passages: set[str] = set()
        for line in rgb.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                for key in ("positive", "negative", "positive_wrong"):
                    passages.update(p for p in row.get(key, []) if isinstance(p, str))
        sets["rgb_passages"] = sorted(passages)
    return sets


def flag_rates(data: Path) -> dict[str, Any]:
    """Share of clean news texts the screen flags (each flag withholds a source that did no harm)."""
    out: dict[str, Any] = {}
    for name, texts in _news_texts(data).items():
        flagged = [(t[:80], reason) for t in texts if (reason := addresses_ai(t))]
        out[name] = {"texts": len(texts), "flagged": len(flagged), "rate": round(len(flagged) / len(texts), 4),
                     "examples": [f"{reason}: {text}" for text, reason in flagged[:3]]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llm", choices=["obeying", "fake", "local"], default="obeying")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    cases = load_cases()
    chat = _chat(args.llm, Settings(embeddings="fake"))
    started = time.monotonic()
    result: dict[str, Any] = {
        "machine": machine(), "llm": chat.name, "cases": len(cases),
        "screen_on": success_rates(cases, chat=chat, allow_flagged=False),
        "screen_off": success_rates(cases, chat=chat, allow_flagged=True),
        "clean_news_flag_rate": flag_rates(args.data),
    }
    result["seconds"] = round(time.monotonic() - started, 1)
    report(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
