"""HTML reader quality on the Article Extraction Benchmark (181 real pages, bodies marked by people).

Usage::

    python bench/extraction.py                 # all 181 pages: the project's reader and trafilatura alone
    python bench/extraction.py --limit 5 --json  # smoke run: the first 5 pages, one JSON line

Data: ``../shared/benchmarks/article-extraction/`` (scrapinghub/article-extraction-benchmark, MIT;
``--data`` points elsewhere). Nothing here is tuned on these pages: the reader runs with the
options it ships with, so every page is a test page.

The metric is upstream's (its ``evaluate.py``): each text is cut into word 4-gram shingles (``\\w+``
tokens); per page, true positives, false positives and false negatives are shingle counts
normalised by their sum, so long pages weigh no more than short ones; precision is averaged over
the pages where something was extracted, recall over the pages with a marked body, and F1 is the
harmonic mean of the two averages. A page the reader rejects counts as an empty extraction.

Both readers get the page's bytes. The project's reader is ``articles.read_document`` (the
``read_file`` path for an ``.html`` file: its decoding, hidden-text removal, trafilatura, the
visible-text fallback); "trafilatura alone" is ``trafilatura.extract`` on the same bytes with
comments left out, as the project asks of it. Times are per page in this process, on a machine
shared with other work: read them as a ratio, not as absolutes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from assistant.articles import read_document  # noqa: E402
from assistant.errors import ArticleError  # noqa: E402
from bench.common import machine, table  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "article-extraction"
_TOKEN = re.compile(r"\w+", re.UNICODE)
Scores = tuple[float, float, float]


# --------------------------------------------------------------------------- upstream's metric


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def shingle_match(true: str, pred: str) -> Scores:
    """Normalised (tp, fp, fn) of the two texts' 4-gram shingle multisets."""
    gold, got = _shingles(true), _shingles(pred)
    tp = float(sum((gold & got).values()))
    fp = float(sum((got - gold).values()))
    fn = float(sum((gold - got).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def metrics(per_page: list[Scores]) -> dict[str, float]:
    """Upstream's averages: precision over pages with output, recall over pages with a body, F1 of the two."""
    precisions = [_precision(*s) for s in per_page if s[0] + s[1] > 0]
    recalls = [_recall(*s) for s in per_page if s[0] + s[2] > 0]
    precision = statistics.mean(precisions) if precisions else 0.0
    recall = statistics.mean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": round(f1, 4), "precision": round(precision, 4), "recall": round(recall, 4)}


# --------------------------------------------------------------------------- readers


def project_reader(page_id: str, html: bytes) -> str:
    """The text the assistant would store for this page ("" when it rejects the page)."""
    try:
        return "\n\n".join(a.text for a in read_document(html, kind="html", where=page_id))
    except ArticleError:
        return ""


def trafilatura_alone(page_id: str, html: bytes) -> str:
    """trafilatura's own extraction of the same bytes, for comparison in the same run."""
    return trafilatura.extract(html, include_comments=False, include_tables=True) or ""


READERS: dict[str, Callable[[str, bytes], str]] = {"project": project_reader, "trafilatura": trafilatura_alone}


def load(data: Path, limit: int | None) -> list[tuple[str, bytes, str]]:
    """(page id, gzipped page's bytes, marked body) for the benchmark's pages, sorted by id."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth)[:limit]:
        html = gzip.decompress((data / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append((page_id, html, str(truth[page_id].get("articleBody") or "")))
    return pages


def score(pages: list[tuple[str, bytes, str]], reader: Callable[[str, bytes], str]) -> dict[str, object]:
    """One reader's figures on the pages."""
    per_page: list[Scores] = []
    empty = 0
    started = time.perf_counter()
    for page_id, html, body in pages:
        text = reader(page_id, html)
        empty += not text.strip()
        per_page.append(shingle_match(body, text))
    seconds = time.perf_counter() - started
    return {**metrics(per_page), "empty_pages": empty, "ms_per_page": round(1000 * seconds / max(1, len(pages)), 1)}


def run(data: Path, limit: int | None) -> dict[str, object]:
    """Both readers on the same pages in one process."""
    pages = load(data, limit)
    result: dict[str, object] = {"pages": len(pages), "split": "all pages (nothing tuned on them)"}
    for name, reader in READERS.items():
        result[name] = score(pages, reader)
    project, alone = result["project"], result["trafilatura"]
    assert isinstance(project, dict) and isinstance(alone, dict)
    result["f1_minus_trafilatura"] = round(float(project["f1"]) - float(alone["f1"]), 4)
    result["time_ratio_project_over_trafilatura"] = round(
        float(project["ms_per_page"]) / max(0.1, float(alone["ms_per_page"])), 2
    )
    result["trafilatura_version"] = trafilatura.__version__
    result["machine"] = machine()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark folder (ground-truth.json, html/)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    if not (args.data / "ground-truth.json").is_file():
        print(f"error: no ground-truth.json under {args.data}; pass --data with the benchmark's folder",
              file=sys.stderr)
        return 2
    result = run(args.data, args.limit)
    if not args.json:
        print(table(result))
    else:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
