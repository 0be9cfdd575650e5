"""Merged briefs over RGB story clusters: is a changed figure flagged as contested, never stated as fact?

Usage::

    python bench/briefs_rgb.py --split test                 # report (odd RGB ids), MiniLM, no chat model
    python bench/briefs_rgb.py --split evaluation           # tune here (even ids), never on test
    python bench/briefs_rgb.py --split test --llm local     # with SmolLM2 condensing the statements (slow)
    python bench/briefs_rgb.py --embeddings fake --limit 3 --json   # quick smoke run
    python bench/briefs_rgb.py --split evaluation --no-detector --facts 30   # the figure guard alone, stressed

RGB's ``en_fact.json`` (CC BY-NC-SA 4.0) is read from ``../shared/benchmarks/rgb/`` at run time and
never copied. For each question two story clusters are built, each passage one article from its
own source: a true-only cluster (the ``positive`` passages) and a mixed cluster (the same passages
plus one ``positive_wrong`` copy, in which the true answer is replaced by ``fakeanswer``). Each
cluster goes through the brief pipeline as ``assistant brief --merge`` runs it.

- ``mixed_flagged_rate``: mixed clusters where some ``contested`` side gives the changed value
  (its value or its sentence contains ``fakeanswer``). Target >= 0.8.
- ``mixed_stated_as_fact``: mixed clusters whose summary, key facts or timeline state ``fakeanswer``.
  Target 0.
- ``true_false_alarm_rate``: true-only clusters with any figure/date/name conflict listed.
- ``true_answer_stated_rate``: true-only clusters whose facts state the true answer (agreement).

Stress and ablation (evaluation split): ``--facts N`` states up to N key facts and N timeline events, so
that a changed sentence the detector misses has every chance to reach the facts; ``--no-detector`` turns the
contested detector off and ``--no-guard`` the figure guard, to see what each alone keeps out.

Splits: ``evaluation`` holds the even RGB ids, ``test`` the odd ones (50 questions each, so 50
true-only and 50 mixed clusters per split). Thresholds were set on ``evaluation`` only.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.brief_schema import Brief, Provenance  # noqa: E402
from assistant.briefs import BriefOptions, BriefTools, build_brief  # noqa: E402
from assistant.grounding import GroundingChecker  # noqa: E402
from assistant.providers import chat_backend, embedding_backend  # noqa: E402
from assistant.schemas import RetrievedChunk  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.common import machine, report  # noqa: E402
from bench.rgb import Record, contains_answer, load  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "rgb" / "en_fact.json"
PROVENANCE = Provenance(model="bench", provider="bench", prompts={}, retrieval={}, articles={}, package_version="",
                        created=datetime(2026, 1, 1, tzinfo=UTC), fingerprint="0" * 64)


def cluster(passages: Sequence[str]) -> list[RetrievedChunk]:
    """One chunk per passage, each its own article from its own source."""
    chunks = []
    for i, text in enumerate(passages):
        article = hashlib.sha256(text.encode()).hexdigest()[:16]
        chunks.append(RetrievedChunk(chunk_id=f"{article}:0", article_id=article, title=f"Passage {i + 1}",
                                     source=f"source {i + 1}", text=text, start=0, end=len(text)))
    return chunks


def mixed(record: Record) -> list[str]:
    """The true passages plus one changed copy (which one rotates with the id)."""
    return [*record.positive, record.counterfactual[record.id % len(record.counterfactual)]]


def _facts_text(brief: Brief) -> str:
    return " ".join(s.text for s in [*brief.summary, *brief.key_facts, *(e.statement for e in brief.timeline)])


def flagged(brief: Brief, fake: str) -> bool:
    """Some contested side gives the changed value."""
    low = fake.lower()
    return any(low in side.value.lower() or low in side.statement.text.lower()
               for c in brief.contested if c.kind != "single_party" for side in c.sides)


def outcome(record: Record, tools: BriefTools, options: BriefOptions | None = None) -> dict[str, bool]:
    """Both clusters of one question, briefed and scored."""
    true_brief = build_brief(cluster(record.positive), tools=tools, provenance=PROVENANCE, options=options)
    mixed_brief = build_brief(cluster(mixed(record)), tools=tools, provenance=PROVENANCE, options=options)
    return {
        "mixed_flagged": flagged(mixed_brief, record.fake),
        "mixed_stated": record.fake.lower() in _facts_text(mixed_brief).lower(),
        "true_false_alarm": any(c.kind != "single_party" for c in true_brief.contested),
        "true_answer_stated": contains_answer(_facts_text(true_brief), record.answer),
    }


def run(records: Sequence[Record], tools: BriefTools, options: BriefOptions | None = None) -> dict[str, object]:
    """Every question's two clusters, then the rates."""
    began = time.perf_counter()
    rows = [outcome(r, tools, options) for r in records]
    n = len(rows)

    def rate(key: str) -> float:
        return round(sum(r[key] for r in rows) / n, 3) if n else 0.0

    return {
        "clusters": {"true_only": n, "mixed": n},
        "mixed_flagged_rate": rate("mixed_flagged"),
        "mixed_stated_as_fact": sum(r["mixed_stated"] for r in rows),
        "true_false_alarm_rate": rate("true_false_alarm"),
        "true_answer_stated_rate": rate("true_answer_stated"),
        "seconds_per_cluster": round((time.perf_counter() - began) / max(2 * n, 1), 3),
    }


def write_example(args: argparse.Namespace, tools: BriefTools) -> int:
    """One mixed cluster's brief, for docs/examples (a short excerpt of RGB, for evaluation purposes)."""
    from assistant.brief_render import render_json, render_markdown

    record = next((r for r in load(args.data) if r.id == args.example), None)
    if record is None:
        print(f"error: no RGB question with id {args.example}", file=sys.stderr)
        return 2
    brief = build_brief(cluster(mixed(record)), tools=tools, provenance=PROVENANCE)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"rgb-{record.id}-mixed-cluster"
    stem.with_suffix(".md").write_text(render_markdown(brief), encoding="utf-8")
    stem.with_suffix(".json").write_text(render_json(brief), encoding="utf-8")
    print(f"{stem}.md, {stem}.json: flagged={flagged(brief, record.fake)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, load, run, print the table (and one JSON object with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="RGB en_fact.json (JSON Lines)")
    parser.add_argument("--split", choices=["evaluation", "test", "all"], default="test")
    parser.add_argument("--llm", choices=["none", "fake", "local", "openai"], default="none",
                        help="model that condenses statements; none: source sentences as written")
    parser.add_argument("--embeddings", choices=["local", "fake"], default="local")
    parser.add_argument("--limit", type=int, help="first N questions of the split")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--example", type=int, metavar="ID", help="write the mixed cluster of RGB question ID as "
                        "a brief (Markdown and JSON) to --out instead of benchmarking")
    parser.add_argument("--out", type=Path, default=Path("docs/examples"), help="folder for --example")
    parser.add_argument("--facts", type=int, metavar="N", help="stress: up to N key facts and timeline events")
    parser.add_argument("--no-detector", action="store_true", help="ablation: contested detector off")
    parser.add_argument("--no-guard", action="store_true", help="ablation: figure guard off")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"error: {args.data} not found; pass --data with RGB's en_fact.json", file=sys.stderr)
        return 2
    records = [r for r in load(args.data) if args.split == "all" or (r.id % 2 == (0 if args.split == "evaluation"
                                                                                        else 1))]
    records = [r for r in records if r.positive and r.counterfactual][: args.limit]
    settings = Settings(llm="fake" if args.llm == "none" else args.llm, embeddings=args.embeddings)
    embedding = embedding_backend(settings)
    tools = BriefTools(chat=None if args.llm == "none" else chat_backend(settings),
                       checker=GroundingChecker(embeddings=embedding.embeddings), embeddings=embedding.embeddings)
    if args.example is not None:
        return write_example(args, tools)
    base = BriefOptions()
    options = BriefOptions(facts_size=args.facts or base.facts_size, timeline_size=args.facts or base.timeline_size,
                           detect_conflicts=not args.no_detector, figure_guard=not args.no_guard)
    variant = {"facts": options.facts_size, "detector": options.detect_conflicts, "guard": options.figure_guard}
    result: dict[str, object] = {"split": args.split, "llm": args.llm, "embeddings": embedding.name, **variant,
                                 **run(records, tools, options), "machine": machine()}
    report(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
