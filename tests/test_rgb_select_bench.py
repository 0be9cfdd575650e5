"""bench/rgb_select.py: its scoring of cached retrievals, and its command line, on made-up items (no RGB text)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from assistant.answer_scorer import load_scorer
from assistant.fakes import HashingEmbeddings
from assistant.providers import chat_backend
from assistant.schemas import RetrievalInfo, RetrievedChunk
from assistant.settings import Settings
from bench.rgb_select import CachedEmbeddings, score

ROOT = Path(__file__).resolve().parents[1]


def _item(run: str, *passages: str) -> dict[str, object]:
    chunks = [RetrievedChunk(chunk_id=f"p{i}:0", article_id=f"p{i}", title=f"Passage {i}", text=t)
              for i, t in enumerate(passages)]
    return {"id": 2, "run": run, "query": "Who won the 2019 city marathon?", "answer": ["Ana Lima"], "gated": False,
            "info": RetrievalInfo(query="q").model_dump(mode="json"),
            "chunks": [c.model_dump(mode="json") for c in chunks]}


def test_score_counts_right_answers_and_wrong_cited_ones(tmp_path: Path) -> None:
    items = [
        _item("mixed", "Ana Lima won the 2019 city marathon in record time.", "Ana Lima won the 2019 city marathon."),
        _item("negative", "Bea Cruz won the 2018 city marathon.", "Bea Cruz won the city marathon again in 2018."),
    ]
    embeddings = CachedEmbeddings(HashingEmbeddings(), tmp_path / "vectors.npz")
    chat = chat_backend(Settings(llm="fake", embeddings="fake"))
    eager = score(items, embeddings, chat, scorer=load_scorer().model_copy(update={"threshold": 0.0}))
    assert eager["accuracy"] == 1.0 and eager["mixed_answer_rate"] == 1.0
    assert eager["negative_rejection"] == 0.0 and eager["wrong_with_citation_per_100"] == 100.0
    shy = score(items, embeddings, chat, scorer=load_scorer().model_copy(update={"threshold": 1.0}))
    assert shy["accuracy"] == 0.0 and shy["negative_rejection"] == 1.0 and shy["wrong_with_citation_per_100"] == 0
    embeddings.save()
    assert CachedEmbeddings(HashingEmbeddings(), tmp_path / "vectors.npz").vectors == embeddings.vectors


def test_the_command_refuses_to_show_report_half_failures_and_needs_a_cache(tmp_path: Path) -> None:
    script = str(ROOT / "bench" / "rgb_select.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    refused = subprocess.run([sys.executable, script, "--half", "report", "--show-failures"], capture_output=True,
                             text=True, env=env, timeout=120, check=False)
    assert refused.returncode == 2 and "tune half only" in refused.stderr
    for flags in (["--fit"], ["--fold", "A"]):
        fitting = subprocess.run([sys.executable, script, "--half", "report", *flags], capture_output=True, text=True,
                                 env=env, timeout=120, check=False)
        assert fitting.returncode == 2 and "tune half only" in fitting.stderr
    unwritten = subprocess.run([sys.executable, script, "--write"], capture_output=True, text=True, env=env,
                               timeout=120, check=False)
    assert unwritten.returncode == 2 and "--write needs --fit" in unwritten.stderr
    missing = subprocess.run([sys.executable, script, "--cache", str(tmp_path), "--json"], capture_output=True,
                             text=True, env=env, timeout=120, check=False)
    assert missing.returncode == 2 and "--build" in missing.stderr
    assert missing.stdout == ""  # no figures: the error alone, on stderr


def test_retrieve_takes_the_answer_paths_steps_on_a_fresh_store() -> None:
    from assistant.grounding import GroundingChecker
    from assistant.providers import embedding_backend
    from bench.rgb_select import _retrieve

    settings = Settings(llm="fake", embeddings="fake")
    embedding = embedding_backend(settings)
    passages = ["Ana Lima won the 2019 city marathon in record time.", "Tickets for the 2020 race are on sale."]
    item = _retrieve("Who won the 2019 city marathon?", passages, settings, embedding, chat_backend(settings),
                     GroundingChecker(embeddings=embedding.embeddings))
    assert item["gated"] is False
    texts = [c["text"] for c in item["chunks"]]  # type: ignore[attr-defined,index]
    assert texts and "Ana Lima" in texts[0]
    assert RetrievalInfo.model_validate(item["info"]).used == len(texts)


def test_fit_checks_each_fold_on_the_other_and_picks_a_threshold(tmp_path: Path) -> None:
    from bench.rgb_folds import THRESHOLDS, cross_check, fold_of, pool_items

    def item(i: int, run: str, *passages: str) -> dict[str, object]:
        return {**_item(run, *passages), "id": i}

    right = ("Ana Lima won the 2019 city marathon in record time.", "Ana Lima won the 2019 city marathon.",
             "Tickets for the 2020 city marathon are on sale.")
    wrong = ("Bea Cruz won the 2018 city marathon.", "The 2020 marathon route was changed.")
    items = [item(i, run, *(right if run == "mixed" else wrong)) for i in (0, 2, 4, 6) for run in ("mixed", "negative")]
    pools = pool_items(items, CachedEmbeddings(HashingEmbeddings(), tmp_path / "vectors.npz"))
    assert {fold_of(p.id) for p in pools} == {"A", "B"}
    assert all(p.labels.any() == (p.run == "mixed") for p in pools)  # labels: the sentence holds RGB's answer
    checked = cross_check(pools, features=["overlap", "candidate", "support"], l2=1.0)
    assert checked["threshold"] in THRESHOLDS
    assert set(checked["held_out"]) == {"fit B -> A", "fit A -> B"}  # type: ignore[arg-type]
