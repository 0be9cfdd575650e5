"""Syndicated-copy detection: MinHash containment (what ingestion uses) against MiniLM similarity.

Usage::

    python bench/copies.py                    # both detectors, thresholds chosen on dev, figures on test
    python bench/copies.py --no-minilm --json # MinHash alone (seconds)
    python bench/copies.py --limit 6 --json   # smoke run on a few items

Labelled pairs (text A, text B, is B a copy of A), built at run time and never written anywhere:

* RGB (``../shared/benchmarks/rgb/en_fact.json``, CC BY-NC-SA, read where it lives): the same search
  passage as carried with a changed fact (``positive[i]`` and ``positive_wrong[i]``, which the
  dataset pairs) is a copy; a passage and a ``negative`` passage of the same query (another source
  on the same subject) is not. Pairs of two ``positive`` passages of one query are left unlabelled,
  because some are the same passage from two sites and the dataset does not say which: the script
  prints how many of them each detector merges, with examples, for a reader to judge.
* Articles (the article-extraction benchmark's human-marked bodies, real news and blog articles):
  an article and an edited copy of it (a wire dateline added, one or two paragraphs replaced by
  paragraphs of another article, the last third cut, the sentence order of one paragraph changed)
  is a copy; two different articles are not.
* The seed article and the same edits of it, and an independent report of the seed's events
  written for the tests: test only.

Splits: RGB queries with an even id and articles at an even position (sorted by page id) are the
development split, on which each detector's threshold (and MinHash's shingle size and floor of shared
shingles) is chosen for
the best F0.5 (precision weighs double: a false merge loses an article, a missed copy leaves a
duplicate); the odd ones are the test split, on which the figures are reported. Nothing of the
test split is looked at to choose anything.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.copies import Signature, copy_score, signature  # noqa: E402
from bench.common import machine, table  # noqa: E402

SHARED = ROOT.parent / "shared" / "benchmarks"
SEED = ROOT / "seeds" / "000_1ad185ed54b8e960.txt"
SHINGLES = (2, 3, 4, 5)
MIN_SHARED = (0, 5, 10, 15)
MINHASH_GRID = [round(0.05 * i, 2) for i in range(4, 20)]
MINILM_GRID = [round(0.6 + 0.01 * i, 2) for i in range(40)]
INDEPENDENT_SEED_REPORT = (
    "Two Hezbollah members were killed on the second straight day of Israeli air raids on the Bekaa Valley, according "
    "to people familiar with the group, after the movement fired a barrage of rockets at army posts in northern "
    "Israel.\n\nIsrael's army said its aircraft struck command centres near Baalbek that held weapons, as well as "
    "sites around Khiam and Bint Jbeil in the south of Lebanon. A warehouse said to store discounted food was "
    "destroyed.\n\nDiplomats from the United States and elsewhere are pressing for a truce in Gaza, which they see "
    "as the key to calm on the border between Lebanon and Israel, where exchanges of fire have been almost daily "
    "since October."
)


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    copy: bool
    group: str  # rgb | articles | seed
    split: str  # dev | test


# --------------------------------------------------------------------------- pairs


def rgb_pairs(path: Path, limit: int | None) -> tuple[list[Pair], list[tuple[str, str]]]:
    """Labelled RGB pairs, and the unlabelled pairs of two positive passages of one query."""
    labelled: list[Pair] = []
    unlabelled: list[tuple[str, str]] = []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in lines[:limit]:
        record = json.loads(line)
        split = "dev" if int(record["id"]) % 2 == 0 else "test"
        positives, wrong, negatives = record["positive"], record["positive_wrong"], record["negative"]
        for i, passage in enumerate(positives):
            if i < len(wrong) and wrong[i] != passage:
                labelled.append(Pair(passage, wrong[i], True, "rgb", split))
            labelled += [Pair(passage, other, False, "rgb", split) for other in negatives[:3]]
            unlabelled += [(passage, other) for other in positives[i + 1 :]]
    return labelled, unlabelled


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n") if p.strip()]


def edits(text: str, donor: str, rng: random.Random) -> list[str]:
    """Edited copies of ``text``, as outlets reprint a wire story; ``donor`` supplies replacement paragraphs."""
    paras, spare = _paragraphs(text), _paragraphs(donor) or ["An editor's note was added here."]
    n = len(paras)
    out = ["LONDON (Wire) - " + "\n\n".join(paras)]
    one = list(paras)
    one[rng.randrange(n)] = rng.choice(spare)
    out.append("\n\n".join(one))
    if n >= 4:
        two = list(paras)
        for i in rng.sample(range(n), 2):
            two[i] = rng.choice(spare)
        out.append("\n\n".join(two))
        out.append("\n\n".join(paras[: max(1, (2 * n) // 3)]))
    longest = max(range(n), key=lambda i: len(paras[i]))
    sentences = paras[longest].split(". ")
    if len(sentences) > 2:
        reordered = list(paras)
        reordered[longest] = ". ".join(sentences[1:] + sentences[:1])
        out.append("\n\n".join(reordered))
    return out


def article_pairs(path: Path, limit: int | None) -> list[Pair]:
    """Articles with their edited copies (copies) and with other articles (not copies)."""
    truth = json.loads((path / "ground-truth.json").read_text(encoding="utf-8"))
    bodies = [str(truth[k].get("articleBody") or "") for k in sorted(truth)][:limit]
    rng = random.Random(7)
    pairs: list[Pair] = []
    for i, body in enumerate(bodies):
        if len(_paragraphs(body)) < 2:
            continue
        split = "dev" if i % 2 == 0 else "test"
        same_split = [j for j in range(i % 2, len(bodies), 2) if j != i]
        donor = bodies[rng.choice(same_split)] if same_split else ""
        pairs += [Pair(body, copy, True, "articles", split) for copy in edits(body, donor, rng)]
        for j in rng.sample(same_split, min(5, len(same_split))):
            pairs.append(Pair(body, bodies[j], False, "articles", split))
    return pairs


def seed_pairs(donors: Sequence[str]) -> list[Pair]:
    seed = SEED.read_text(encoding="utf-8")
    rng = random.Random(11)
    pairs = [Pair(seed, copy, True, "seed", "test") for copy in edits(seed, rng.choice(list(donors) or [""]), rng)]
    pairs.append(Pair(seed, INDEPENDENT_SEED_REPORT, False, "seed", "test"))
    pairs += [Pair(seed, donor, False, "seed", "test") for donor in list(donors)[:10]]
    return pairs


# --------------------------------------------------------------------------- scoring


def prf(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = scores >= threshold
    tp = int(np.sum(predicted & labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    f05 = 1.25 * precision * recall / (0.25 * precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "f0_5": round(f05, 4), "tp": tp, "fp": fp, "fn": fn}


def best_threshold(scores: np.ndarray, labels: np.ndarray, grid: Sequence[float]) -> tuple[float, float]:
    """The grid threshold with the best F0.5 on these pairs (ties: the higher threshold, which merges less).

    F0.5 weighs precision twice: a false merge drops an article's own text from the store, a missed copy
    only leaves a duplicate in it.
    """
    best = max(grid, key=lambda t: (prf(scores, labels, t)["f0_5"], t))
    return best, prf(scores, labels, best)["f0_5"]


def evaluate(
    name: str, score_pairs: Callable[[list[Pair]], np.ndarray], pairs: list[Pair], grid: Sequence[float]
) -> tuple[dict[str, object], float]:
    dev = [p for p in pairs if p.split == "dev"]
    test = [p for p in pairs if p.split == "test"]
    started = time.perf_counter()
    dev_scores, test_scores = score_pairs(dev), score_pairs(test)
    ms = 1000 * (time.perf_counter() - started) / max(1, len(pairs))
    threshold, dev_f1 = best_threshold(dev_scores, np.array([p.copy for p in dev]), grid)
    result: dict[str, object] = {"threshold": threshold, "dev_f0_5": dev_f1, "ms_per_pair": round(ms, 3)}
    for group in ("rgb", "articles", "seed", "all"):
        mask = np.array([group in ("all", p.group) for p in test])
        if mask.any():
            labels = np.array([p.copy for p in test])[mask]
            result[f"test_{group}"] = prf(test_scores[mask], labels, threshold)
    print(f"{name}: threshold {threshold} (dev F0.5 {dev_f1})", file=sys.stderr)
    return result, threshold


def minhash_scorer(size: int, min_shared: int) -> Callable[[list[Pair]], np.ndarray]:
    cache: dict[str, Signature] = {}

    def sig(text: str) -> Signature:
        if text not in cache:
            cache[text] = signature(text, size=size)
        return cache[text]

    return lambda pairs: np.array([copy_score(sig(p.a), sig(p.b), min_shared=min_shared) for p in pairs])


def minilm_scorer() -> Callable[[list[Pair]], np.ndarray]:
    from assistant.providers import embedding_backend
    from assistant.settings import Settings

    model = embedding_backend(Settings(embeddings="local")).embeddings
    cache: dict[str, np.ndarray] = {}

    def score(pairs: list[Pair]) -> np.ndarray:
        missing = sorted({t for p in pairs for t in (p.a, p.b)} - set(cache))
        for start in range(0, len(missing), 64):
            batch = missing[start : start + 64]
            for text, vector in zip(batch, model.embed_documents(batch), strict=True):
                v = np.asarray(vector, dtype=np.float64)
                cache[text] = v / (np.linalg.norm(v) or 1.0)
        return np.array([float(cache[p.a] @ cache[p.b]) for p in pairs])

    return score


def run(*, rgb: Path, articles: Path, limit: int | None, minilm: bool) -> dict[str, object]:
    labelled, unlabelled = rgb_pairs(rgb, limit)
    pairs = labelled + article_pairs(articles, limit)
    donors = [p.b for p in pairs if p.group == "articles" and not p.copy]
    pairs += seed_pairs(donors)
    result: dict[str, object] = {
        "pairs": {split: {"copies": sum(p.copy for p in pairs if p.split == split),
                          "not_copies": sum(not p.copy for p in pairs if p.split == split)}
                  for split in ("dev", "test")},
    }
    dev = [p for p in pairs if p.split == "dev"]
    dev_labels = np.array([p.copy for p in dev])
    choices: dict[tuple[int, int], float] = {}
    for size in SHINGLES:
        for floor in MIN_SHARED:
            choices[(size, floor)] = best_threshold(minhash_scorer(size, floor)(dev), dev_labels, MINHASH_GRID)[1]
    # Ties go to the larger floor (merges less), then the smaller shingle.
    size, floor = max(choices, key=lambda c: (choices[c], c[1], -c[0]))
    minhash, threshold = evaluate(f"minhash k={size} min_shared={floor}", minhash_scorer(size, floor), pairs,
                                  MINHASH_GRID)
    result["minhash"] = {"shingle": size, "min_shared": floor,
                         "dev_f0_5_by_choice": {f"k{k}_min{m}": v for (k, m), v in choices.items()}, **minhash}
    scorers = {"minhash": (minhash_scorer(size, floor), threshold)}
    if minilm:
        result["minilm"], minilm_threshold = evaluate("minilm", minilm_scorer(), pairs, MINILM_GRID)
        scorers["minilm"] = (minilm_scorer(), minilm_threshold)
    result["rgb_unlabelled_positive_pairs"] = unlabelled_report(unlabelled, scorers)
    result["machine"] = machine()
    return result


def unlabelled_report(
    unlabelled: list[tuple[str, str]], scorers: dict[str, tuple[Callable[[list[Pair]], np.ndarray], float]]
) -> dict[str, object]:
    """How many same-query positive passages each detector merges (unlabelled: printed for inspection)."""
    pairs = [Pair(a, b, False, "rgb", "unlabelled") for a, b in unlabelled]
    report: dict[str, object] = {"pairs": len(pairs)}
    for name, (scorer, threshold) in scorers.items():
        scores = scorer(pairs) if pairs else np.array([])
        merged = [i for i in np.argsort(-scores) if scores[i] >= threshold]
        report[f"{name}_merged"] = len(merged)
        for i in merged[:3]:
            print(f"  {name} merges ({scores[i]:.2f}): {pairs[i].a[:70]!r} ~ {pairs[i].b[:70]!r}", file=sys.stderr)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=SHARED, help="folder holding rgb/ and article-extraction/")
    parser.add_argument("--limit", type=int, default=None, help="only the first N RGB queries and articles")
    parser.add_argument("--no-minilm", action="store_true", help="skip the MiniLM comparison")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    rgb, articles = args.data / "rgb" / "en_fact.json", args.data / "article-extraction"
    if not rgb.is_file() or not (articles / "ground-truth.json").is_file():
        print(f"error: need {rgb} and {articles}/ground-truth.json; pass --data with the benchmarks folder",
              file=sys.stderr)
        return 2
    result = run(rgb=rgb, articles=articles, limit=args.limit, minilm=not args.no_minilm)
    print(json.dumps(result) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
