"""bench/rgb.py at its contract, run as a user runs it (a subprocess) on fake models.

The RGB file is read where it lives (CC BY-NC-SA: never copied here); this file holds none of its text.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "rgb.py"
DATA = Path(__file__).resolve().parents[1].parent / "shared/benchmarks/rgb/en_fact.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_", "CHROMA_"))}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env=environment, timeout=600, check=False)


def assert_fraction(rate: object, hits: object, total: object) -> None:
    assert isinstance(rate, float) and isinstance(hits, int) and isinstance(total, int)
    assert total > 0 and 0 <= hits <= total
    assert 0.0 <= rate <= 1.0 and rate == round(hits / total, 4)


@pytest.mark.skipif(not DATA.is_file(), reason=f"RGB data not found at {DATA}")
def test_smoke_run_reports_both_parts_as_fractions_with_counts() -> None:
    result = run("--data", str(DATA), "--llm", "fake", "--embeddings", "fake", "--limit", "3", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert {"data", "records", "llm", "embeddings", "counterfactual_detection", "negative_rejection",
            "machine"} <= figures.keys()
    assert figures["llm"] == "fake" and figures["records"] >= 3
    assert {"cpu_count", "platform", "python"} <= figures["machine"].keys()

    cf = figures["counterfactual_detection"]
    assert cf["items"] == 3
    assert_fraction(cf["counterfactual_flag_rate"], cf["flagged"], cf["items"])
    assert_fraction(cf["counterfactual_contradicted_rate"], cf["contradicted"], cf["items"])
    assert_fraction(cf["control_supported_rate"], cf["control_supported"], cf["items"])
    assert cf["contradicted"] + cf["unsupported_only"] == cf["flagged"]
    assert sum(cf["statement_forms"].values()) == 3
    assert cf["ms_per_item"] > 0

    nr = figures["negative_rejection"]
    assert nr["questions"] + nr["errors"] == 3
    assert_fraction(nr["negative_rejection_rate"], nr["abstained"], nr["questions"])
    assert nr["abstained"] + nr["answered"] == nr["questions"]
    assert sum(nr["stopped_at"].values()) == nr["questions"]
    assert nr["passages_ingested"] > 0
    assert "negative rejection 3/3" in result.stderr  # the progress line


def test_missing_data_file_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    result = run("--data", str(missing), "--llm", "fake", "--embeddings", "fake", "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error:") and str(missing) in result.stderr


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_rgb", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        ("Who painted the harbour mural?", "Ana Ruiz", "Ana Ruiz painted the harbour mural."),
        ("What was the port's cargo volume in 2019?", "12 million tonnes",
         "The port's cargo volume in 2019 was 12 million tonnes."),
        ("When was the ferry line opened?", "May 4, 2016", "The ferry line was opened on May 4, 2016."),
        ("When did the launch take place?", "June 2001", "The launch took place in June 2001."),
        ("Which town hosted the regatta in 2011?", "Porto", "Porto hosted the regatta in 2011."),
        ("Harbour festival 2020 location", "Split", "Harbour festival 2020 location is Split."),
        ("Why did it rain?", "clouds", 'The answer to the question "Why did it rain" is clouds.'),
    ],
)
def test_answer_sentence_rules(bench: ModuleType, question: str, answer: str, expected: str) -> None:
    assert bench.statement(question, answer)[1] == expected
