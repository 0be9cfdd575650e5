"""Benchmark the offline grounding checker on SummEdits (news): does it tell consistent summaries from edited ones?

Usage::

    python bench/grounding.py --split test --json
    python bench/grounding.py --split evaluation          # the split the thresholds were tuned on
    python bench/grounding.py --data OTHER.json --lexical # any file in the same format; no embeddings

A summary counts as consistent when every one of its claims is labelled supported.
``ms_per_pair`` and ``ms_per_claim`` include embedding each document's sentences the first time it is
seen; ``ms_per_claim_sources_cached`` is a second pass over the same pairs (sources already embedded).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.grounding import GroundingChecker, Thresholds  # noqa: E402
from assistant.providers import MiniLMEmbeddings  # noqa: E402
from assistant.schemas import SourceText  # noqa: E402
from bench.common import machine, table  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "summedits" / "summedits_news.json"


@dataclass(frozen=True)
class Pair:
    """One (document, summary) record of the benchmark."""

    id: str
    doc: str
    summary: str
    consistent: bool
    edit_types: tuple[str, ...]


def load(path: Path, split: str) -> list[Pair]:
    """Records of ``split`` ("all" for every record)."""
    records = json.loads(path.read_text(encoding="utf-8"))
    return [
        Pair(r["id"], r["doc"], r["summary"], r["label"] == 1, tuple(r.get("edit_types") or ()))
        for r in records
        if split == "all" or r.get("split") == split
    ]


def run(checker: GroundingChecker, pairs: Sequence[Pair]) -> tuple[list[bool], list[str], float, int]:
    """Predicted consistency per pair, the reasons, total seconds and claim count."""
    predictions: list[bool] = []
    reasons: list[str] = []
    claims = 0
    started = time.perf_counter()
    for pair in pairs:
        report = checker.check(pair.summary, [SourceText(id=pair.id, text=pair.doc)])
        claims += len(report.claims)
        predictions.append(all(c.label == "supported" for c in report.claims))
        reasons.append(" | ".join(f"{c.label}: {c.reason}" for c in report.claims if c.label != "supported"))
    return predictions, reasons, time.perf_counter() - started, claims


def metrics(pairs: Sequence[Pair], predictions: Sequence[bool]) -> dict[str, float | int | dict[str, float]]:
    """Balanced accuracy, recall of each class and recall of each edit type."""
    pos = [p for p, _ in zip(pairs, predictions, strict=True) if p.consistent]
    neg = [p for p, _ in zip(pairs, predictions, strict=True) if not p.consistent]
    hit_pos = sum(pred for p, pred in zip(pairs, predictions, strict=True) if p.consistent)
    hit_neg = sum(not pred for p, pred in zip(pairs, predictions, strict=True) if not p.consistent)
    recall_pos = hit_pos / len(pos) if pos else 0.0
    recall_neg = hit_neg / len(neg) if neg else 0.0
    totals: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    for pair, pred in zip(pairs, predictions, strict=True):
        if pair.consistent:
            continue
        for kind in pair.edit_types or ("untyped",):
            totals[kind] += 1
            caught[kind] += not pred
    per_type = {k: round(caught[k] / totals[k], 4) for k in sorted(totals)}
    return {
        "balanced_accuracy": round((recall_pos + recall_neg) / 2, 4),
        "recall_consistent": round(recall_pos, 4),
        "recall_inconsistent": round(recall_neg, 4),
        "recall_by_edit_type": per_type,
        "count_by_edit_type": dict(sorted(totals.items())),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print one JSON object (``--json``) or a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SummEdits-format JSON file.")
    parser.add_argument("--split", default="test", help='"test", "evaluation" or "all".')
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--lexical", action="store_true", help="No embeddings: lexical alignment only.")
    parser.add_argument(
        "--threads", type=int, default=1, help="Torch threads (1: lowest latency for one claim at a time)."
    )
    parser.add_argument(
        "--relations", choices=["cited", "always", "off"], default="cited",
        help="When the relation checks run (default as shipped: 'cited', i.e. only against one-sentence sources).",
    )
    parser.add_argument("--one-sentence", action="store_true", help="Facts against one sentence, not a window.")
    parser.add_argument("--dump", type=Path, help="Write per-pair predictions and reasons as JSONL.")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"error: benchmark file not found: {args.data} (pass --data FILE)", file=sys.stderr)
        return 2
    pairs = load(args.data, args.split)
    if not pairs:
        print(f"error: no records with split == {args.split!r} in {args.data}", file=sys.stderr)
        return 2
    loaded = time.perf_counter()
    embeddings = None if args.lexical else MiniLMEmbeddings(threads=args.threads or 1)
    checker = GroundingChecker(
        embeddings=embeddings, thresholds=Thresholds(relations=args.relations, one_sentence=args.one_sentence)
    )
    load_seconds = time.perf_counter() - loaded
    predictions, reasons, seconds, claims = run(checker, pairs)
    _, _, warm_seconds, _ = run(checker, pairs)  # again, with every source span's embedding cached
    result: dict[str, object] = {
        **metrics(pairs, predictions),
        "ms_per_pair": round(1000 * seconds / len(pairs), 2),
        "ms_per_claim": round(1000 * seconds / max(claims, 1), 2),
        "ms_per_claim_sources_cached": round(1000 * warm_seconds / max(claims, 1), 2),
        "model_load_s": round(load_seconds, 2),
        "pairs": len(pairs),
        "claims": claims,
        "split": args.split,
        "mode": "lexical" if args.lexical else "minilm",
        "relations": args.relations,
        "one_sentence": args.one_sentence,
        "data": args.data.name,
        "machine": {**machine(), "torch_threads": embeddings.threads if embeddings else None},
    }
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for pair, pred, why in zip(pairs, predictions, reasons, strict=True):
                row = {"id": pair.id, "consistent": pair.consistent, "predicted": pred, "edit_types": pair.edit_types}
                out.write(json.dumps({**row, "summary": pair.summary, "reasons": why}) + "\n")
    print(json.dumps(result) if args.json else table(result, width=40))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
