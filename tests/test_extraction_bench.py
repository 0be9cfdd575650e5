"""bench/extraction.py and bench/copies.py at their contract: smoke runs on a few items, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "benchmarks" / "article-extraction"


@pytest.mark.skipif(not (DATA / "ground-truth.json").is_file(), reason=f"benchmark not found at {DATA}")
def test_smoke_run_scores_both_readers_on_the_same_pages() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "extraction.py"), "--data", str(DATA),
                             "--limit", "4", "--json"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["pages"] == 4
    for reader in ("project", "trafilatura"):
        scores = figures[reader]
        assert 0.5 < scores["f1"] <= 1.0  # real article text, not nothing and not everything
        assert 0.0 <= scores["precision"] <= 1.0 and 0.0 <= scores["recall"] <= 1.0
        assert scores["empty_pages"] == 0
    assert figures["f1_minus_trafilatura"] == round(figures["project"]["f1"] - figures["trafilatura"]["f1"], 4)


def test_the_metric_is_upstreams_shingle_f1() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.extraction import metrics, shingle_match

    body = "one two three four five six"
    assert shingle_match(body, body) == (1.0, 0.0, 0.0)
    tp, fp, fn = shingle_match(body, body + " seven")  # 3 shared 4-grams, 1 extra
    assert (tp, fp, fn) == (0.75, 0.25, 0.0)
    assert metrics([(tp, fp, fn), (0.0, 0.0, 1.0)]) == {"f1": 0.6, "precision": 0.75, "recall": 0.5}


def test_missing_data_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "extraction.py"), "--data", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2
    assert "no ground-truth.json under" in result.stderr


@pytest.mark.skipif(not (DATA.parent / "rgb" / "en_fact.json").is_file(), reason="RGB data not found")
def test_copy_detection_bench_smoke_run_chooses_on_dev_and_reports_on_test() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "copies.py"), "--data", str(DATA.parent),
                             "--limit", "6", "--no-minilm", "--json"], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["pairs"]["dev"]["copies"] > 0 and figures["pairs"]["test"]["not_copies"] > 0
    minhash = figures["minhash"]
    assert minhash["shingle"] in (2, 3, 4, 5) and 0.2 <= minhash["threshold"] <= 0.95
    test = minhash["test_all"]
    assert test["tp"] + test["fn"] == figures["pairs"]["test"]["copies"]
    assert test["precision"] > 0.9 and test["recall"] > 0.9  # copies found, distinct texts kept apart
