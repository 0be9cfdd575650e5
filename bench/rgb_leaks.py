"""How much of the RGB negative-rejection miss RGB's own data explains.

Usage::

    assistant eval --set rgb --half report --llm local --out DIR
    python bench/rgb_leaks.py DIR/rgb.json [--json]

Why: RGB's negative passages were kept because they lack the answer's exact strings, but some state it in another
spelling ("Tampa Bay, Florida", "Sunday August 22nd", "Liu Yifei"). An assistant that answers from such a passage
is right about its sources, yet RGB's scoring counts it as a wrong answer with a citation. This splits an eval
report's questions by whether any of their negative passages states the answer in any spelling
(``RgbRecord.found_loosely``, which leans towards finding it: a name by half its words, a date by its day), and
gives negative rejection and wrong answers with a citation on each part. Rejection on the part whose negatives do
not state the answer is the figure that label noise cannot move. Reads only RGB's data and the report's per-question
outcomes; it changes nothing and tunes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.rgb_eval import DEFAULT_RGB_FILE, RgbReport, RgbRow, half_figures, load_rgb  # noqa: E402
from bench.common import machine, report  # noqa: E402


def split_figures(rgb_report: RgbReport, rgb_file: Path) -> dict[str, object]:
    """Rejection and wrong+cited per 100 on the questions whose negatives state the answer, and on the rest."""
    records = {r.id: r for r in load_rgb(rgb_file)}
    parts: dict[str, list[RgbRow]] = {"negatives_state_it": [], "negatives_clean": []}
    for row in rgb_report.rows:
        record = records[row.id]
        leaky = any(record.found_loosely(passage) for passage in record.negative)
        parts["negatives_state_it" if leaky else "negatives_clean"].append(row)
    figures: dict[str, object] = {}
    for name, rows in parts.items():
        counted = half_figures(rows)  # the eval's own counting, on this part of its rows
        figures[name] = {"questions": counted.questions, "negative_rejection": counted.negative_rejection,
                         "wrong_with_citation_per_100": counted.wrong_with_citation_per_100}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="rgb.json written by `assistant eval --set rgb`")
    parser.add_argument("--data", type=Path, default=DEFAULT_RGB_FILE, help="RGB's en_fact.json")
    parser.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"error: no report at {args.report}: run `assistant eval --set rgb --out DIR` first", file=sys.stderr)
        return 2
    rgb_report = RgbReport.model_validate_json(args.report.read_text(encoding="utf-8"))
    halves = sorted({row.half for row in rgb_report.rows})
    figures = {"halves": halves, "llm": rgb_report.llm, **split_figures(rgb_report, args.data), "machine": machine()}
    report(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
