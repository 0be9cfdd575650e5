"""Batch briefs: files, index, resume, failure isolation, atomic writes, concurrency, the CLI contract."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Literal

import pytest

from assistant import brief_batch
from assistant.brief_batch import BatchRequest, atomic_write, run_batch
from assistant.brief_schema import TOP_LEVEL_KEYS
from assistant.cli import main
from assistant.service import Assistant
from assistant.settings import Settings
from tests.conftest import SEED_FILE, SEEDS
from tests.openai_stub import StubState, openai_stub  # noqa: F401


def _second_article(folder: Path) -> Path:
    path = folder / "second.txt"
    path.write_text(
        "Heavy rain flooded the town of Marlow on Tuesday, and the mayor said 12 people were killed. "
        "Rescue teams evacuated about 400 residents from the lower districts overnight. "
        "The regional government said it would send army engineers to repair the broken levee.\n",
        encoding="utf-8",
    )
    return path


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_batch_writes_one_brief_per_article_and_an_index(fake_bot: Assistant, tmp_path: Path) -> None:
    articles = tmp_path / "in"
    articles.mkdir()
    shutil.copy(SEED_FILE, articles / "seed.txt")
    _second_article(articles)
    out = tmp_path / "briefs"
    result = run_batch(fake_bot, BatchRequest(targets=[str(articles)], out=out))
    assert (len(result.written), result.failed) == (2, [])
    names = sorted(p.name for p in out.iterdir())
    assert names.count("index.json") == 1 and names.count("index.md") == 1
    assert len([n for n in names if n.endswith(".md")]) == 3 and len([n for n in names if n.endswith(".json")]) == 3
    index = json.loads((out / "index.json").read_text())
    assert {e["model"] for e in index} == {"fake"} and all(0 <= e["grounded_fraction"] <= 1 for e in index)
    for entry in index:
        data = json.loads((out / f"{entry['name']}.json").read_text())
        assert tuple(data) == TOP_LEVEL_KEYS
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("formats", [("md",), ("json",), ("md", "json")])
def test_both_index_files_list_every_brief_whatever_the_format(
    fake_bot: Assistant, tmp_path: Path, formats: tuple[Literal["md", "json"], ...]
) -> None:
    articles = tmp_path / "in"
    articles.mkdir()
    shutil.copy(SEED_FILE, articles / "seed.txt")
    out = tmp_path / "briefs"
    run_batch(fake_bot, BatchRequest(targets=[str(articles)], out=out, formats=formats))
    run_batch(fake_bot, BatchRequest(targets=[str(_second_article(tmp_path))], out=out, formats=formats))
    index = json.loads((out / "index.json").read_text())
    assert len(index) == 2  # the folder's briefs, not only the last run's
    for entry in index:
        assert entry["files"] == [f"{entry['name']}.{f}" for f in sorted(formats, reverse=True)]
        assert entry["model"] == "fake" and entry["title"] and len(entry["articles"]) == 1
    table = (out / "index.md").read_text()
    assert all(f"]({e['files'][0]})" in table and e["title"] in table for e in index)
    skipped = run_batch(fake_bot, BatchRequest(targets=[str(articles)], out=out, formats=formats))
    assert skipped.written == [] and len(skipped.entries) == 2


def test_an_empty_folder_still_gets_both_index_files(fake_bot: Assistant, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "briefs"
    result = run_batch(fake_bot, BatchRequest(targets=[str(empty)], out=out, formats=("md",)))
    assert json.loads((out / "index.json").read_text()) == [] and result.entries == []
    assert "No brief" in (out / "index.md").read_text()


def test_a_second_run_rewrites_nothing_and_force_rewrites(fake_bot: Assistant, tmp_path: Path) -> None:
    out = tmp_path / "briefs"
    run_batch(fake_bot, BatchRequest(targets=[str(SEEDS)], out=out))
    before = _mtimes(out)
    again = run_batch(fake_bot, BatchRequest(targets=[str(SEEDS)], out=out))
    assert (again.written, len(again.skipped)) == ([], 1)
    assert _mtimes(out) == before
    forced = run_batch(fake_bot, BatchRequest(targets=[str(SEEDS)], out=out, force=True))
    assert len(forced.written) == 1
    brief = next(n for n in before if n.endswith(".json") and n != "index.json")
    assert (out / brief).stat().st_mtime_ns != before[brief]


def test_a_changed_setting_or_prompt_invalidates_the_brief(fake_bot: Assistant, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "briefs"
    run_batch(fake_bot, BatchRequest(targets=[str(SEEDS)], out=out))
    monkeypatch.setattr(brief_batch.Assistant, "brief_settings",
                        lambda self, *, mode: {"mode": mode, "changed": True})
    again = run_batch(fake_bot, BatchRequest(targets=[str(SEEDS)], out=out))
    assert len(again.written) == 1


def test_one_unreadable_file_is_named_and_the_good_brief_is_still_written(fake_bot: Assistant, tmp_path: Path) -> None:
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    out = tmp_path / "briefs"
    result = run_batch(fake_bot, BatchRequest(targets=[str(SEEDS), str(bad), "0123456789abcdef"], out=out))
    assert len(result.written) == 1
    assert len(result.failed) == 2 and any("broken.txt" in f for f in result.failed)
    assert any("0123456789abcdef" in f for f in result.failed)


def test_a_failing_brief_is_isolated(fake_bot: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    articles = tmp_path / "in"
    articles.mkdir()
    shutil.copy(SEED_FILE, articles / "seed.txt")
    _second_article(articles)
    real = Assistant.brief

    def flaky(self: Assistant, *args: Any, **kwargs: Any) -> Any:
        if any("Marlow" in c.text for c in kwargs["chunks"]):
            from assistant.errors import ModelError

            raise ModelError("the chat model 'fake' failed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Assistant, "brief", flaky)
    result = run_batch(fake_bot, BatchRequest(targets=[str(articles)], out=tmp_path / "o"))
    assert len(result.written) == 1 and len(result.failed) == 1
    assert "Heavy rain flooded" in result.failed[0] and "failed" in result.failed[0]


def test_atomic_write_leaves_the_old_file_whole_when_interrupted(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "brief.json"
    atomic_write(path, "old\n")

    def killed(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, "new and longer\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["brief.json"]


def test_merge_writes_one_story_brief(fake_bot: Assistant, tmp_path: Path) -> None:
    articles = tmp_path / "in"
    articles.mkdir()
    shutil.copy(SEED_FILE, articles / "seed.txt")
    _second_article(articles)
    out = tmp_path / "briefs"
    result = run_batch(fake_bot, BatchRequest(targets=[str(articles)], out=out, merge=True, formats=["json"]))
    assert len(result.written) == 1 and result.written[0].startswith("story-")
    data = json.loads((out / f"{result.written[0]}.json").read_text())
    assert len(data["sources"]) == 2 and data["provenance"]["retrieval"]["mode"] == "merge"
    assert not (out / f"{result.written[0]}.md").exists()


def test_concurrency_runs_remote_briefs_at_once(openai_stub: tuple[str, StubState], tmp_path: Path) -> None:  # noqa: F811
    base_url, state = openai_stub
    in_flight = {"now": 0, "most": 0}
    lock = threading.Lock()

    def reply(body: dict[str, Any]) -> str:
        with lock:
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])
        time.sleep(0.05)
        with lock:
            in_flight["now"] -= 1
        return str(body["messages"][-1]["content"]).splitlines()[-1]

    state.chat_reply = reply
    articles = tmp_path / "in"
    articles.mkdir()
    shutil.copy(SEED_FILE, articles / "seed.txt")
    _second_article(articles)
    settings = Settings(llm="openai", embeddings="fake", openai_base_url=base_url, data_dir=tmp_path / "data")
    with Assistant.from_settings(settings) as bot:
        result = run_batch(bot, BatchRequest(targets=[str(articles)], out=tmp_path / "o", concurrency=2))
    assert len(result.written) == 2 and not result.failed
    assert in_flight["most"] == 2
    bounds = [r.get("max_completion_tokens") or r.get("max_tokens") for r in state.requests]
    assert bounds and all(b is not None and 0 < b <= 240 for b in bounds)  # every rewrite has a token bound


def test_cli_brief_exits_non_zero_on_a_bad_file_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "missing.txt"
    out = tmp_path / "briefs"
    args = ["--llm", "fake", "--embeddings", "fake", "--data-dir", str(tmp_path / "data"), "brief", str(SEEDS),
            str(bad), "--out", str(out)]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "missing.txt" in captured.err and "1 written" in captured.out
    assert main([*args[:-3], "--out", str(out)]) == 0
    assert "0 written, 1 unchanged" in capsys.readouterr().out


def test_cli_brief_rejects_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--llm", "fake", "--embeddings", "fake", "--data-dir", str(tmp_path / "data"), "brief"]
    with pytest.raises(SystemExit):
        main([*base, str(SEEDS), "--out", str(tmp_path), "--format", "pdf"])
    with pytest.raises(SystemExit):
        main([*base, str(SEEDS), "--merge", "--topic", "x", "--out", str(tmp_path)])
    assert main([*base, "--out", str(tmp_path / "o")]) == 2
    assert "nothing to brief" in capsys.readouterr().err
