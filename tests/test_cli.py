"""The `assistant` command at its contract, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEED_FILE, SEEDS


def run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_", "CHROMA_"))}
    environment.update({"ASSISTANT_LLM": "fake", "ASSISTANT_EMBEDDINGS": "fake",
                        "ASSISTANT_DATA_DIR": str(data_dir), **env})
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=300, check=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


def test_ingest_twice_stores_no_duplicate(data_dir: Path) -> None:
    first = run(["ingest", str(SEEDS)], data_dir)
    second = run(["ingest", str(SEEDS)], data_dir)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("1 new, 0 unchanged")
    assert second.returncode == 0 and second.stdout.startswith("0 new, 1 unchanged, 0 chunks embedded")


def test_ask_json_contract(data_dir: Path) -> None:
    run(["ingest", str(SEEDS)], data_dir)
    result = run(["ask", "Which areas in southern Lebanon were targeted?", "--json"], data_dir)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["abstained"] is False
    quotes = " ".join(c["quote"] for c in payload["citations"])
    assert "Khiam" in quotes and "Bint Jbeil" in quotes
    for citation in payload["citations"]:
        assert set(citation) >= {"n", "article_id", "title", "chunk_id", "quote"}
    assert payload["model"] == "fake" and payload["retrieval"]["used"] >= 1
    assert all({"text", "label", "citations"} <= set(c) for c in payload["claims"])


def test_ask_text_output_lists_sources(data_dir: Path) -> None:
    run(["ingest", str(SEEDS)], data_dir)
    result = run(["ask", "Which areas in southern Lebanon were targeted?"], data_dir)
    assert result.returncode == 0
    assert "\nSources:\n[" in result.stdout and "Khiam" in result.stdout


def test_off_topic_question_is_abstained(data_dir: Path) -> None:
    run(["ingest", str(SEEDS)], data_dir)
    payload = json.loads(run(["ask", "Who won the 1998 football world cup?", "--json"], data_dir).stdout)
    assert payload["abstained"] is True and payload["citations"] == []


def test_asking_an_empty_store_says_what_to_do(data_dir: Path) -> None:
    result = run(["ask", "anything?"], data_dir)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: the store is empty; run `assistant ingest seeds/` (or your articles) first"
    ]


def test_bad_files_get_one_line_each_and_a_failing_exit(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blob.html").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(200))
    result = run(["ingest", str(tmp_path / "empty.txt"), str(tmp_path / "blob.html"), str(SEED_FILE)], data_dir)
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("error: ") for e in errors)
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("1 new")


def test_cp1252_and_utf16_files_are_decoded(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes("Café owners said the “strike” closed the market.".encode("cp1252"))
    (tmp_path / "b.txt").write_bytes("Officials in Zürich confirmed the vote.".encode("utf-16"))
    result = run(["ingest", str(tmp_path)], data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2 new")


def test_check_command_scores_claims(tmp_path: Path, data_dir: Path) -> None:
    text = tmp_path / "summary.txt"
    text.write_text("Hezbollah launched over 100 Katyusha rockets. Hezbollah launched 300 rockets at Haifa.")
    result = run(["check", "--source", str(SEED_FILE), "--text", str(text), "--json"], data_dir)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    labels = [c["label"] for c in report["claims"]]
    assert labels[0] == "supported" and labels[1] != "supported"
    assert report["score"] == 0.5
    assert report["claims"][0]["evidence"]["source"] == SEED_FILE.name


def test_a_second_process_on_the_same_store_fails_at_once(data_dir: Path) -> None:
    run(["ingest", str(SEEDS)], data_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update({"ASSISTANT_LLM": "fake", "ASSISTANT_EMBEDDINGS": "fake", "ASSISTANT_DATA_DIR": str(data_dir)})
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys,time; from assistant.service import Assistant; b=Assistant.from_settings(); b.store.count();"
         " print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = run(["ask", "Which areas were targeted?"], data_dir)
        assert result.returncode != 0
        assert "in use by another assistant process" in result.stderr
    finally:
        holder.kill()
        holder.wait()
