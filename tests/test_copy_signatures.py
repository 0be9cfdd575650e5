"""The store's copy signatures: computed once per new article, kept only while copy detection is on, saved once per
ingest or lone delete, and never left on disk out of step with the store, whatever stops a process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from datasketch import MinHash

import assistant.copies as copies_module
from assistant.copies import CopyIndex
from assistant.service import Assistant
from assistant.settings import Settings
from tests.chroma_server import chroma_server  # noqa: F401
from tests.conftest import spy_calls
from tests.test_copies import INDEPENDENT, PARAGRAPHS, SEED, edited, write_copy
from tests.test_store import REPO, TEXT_A, _article, _chunks, _open, _settings


def _bot_settings(tmp_path: Path, **overrides: object) -> Settings:
    base: dict[str, object] = {"llm": "fake", "embeddings": "fake", "data_dir": tmp_path / "data", "chroma_host": None}
    return Settings(**{**base, **overrides})  # type: ignore[arg-type]


def _bot(tmp_path: Path, **overrides: object) -> Assistant:
    return Assistant.from_settings(_bot_settings(tmp_path, **overrides))


def _story(n: int) -> str:
    """A short story of its own words (no copy of another), numbered ``n``; all are one chunk long."""
    return f"Story {n}: " + " ".join(f"w{n}x{i}" for i in range(40)) + "."


@pytest.fixture
def minhashes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts MinHash signatures computed (the costly part of a copy check)."""
    computed: list[int] = []

    class Counting(MinHash):
        def update_batch(self, *args: object, **kwargs: object) -> None:
            computed.append(1)
            super().update_batch(*args, **kwargs)

    monkeypatch.setattr(copies_module, "MinHash", Counting)
    return computed


@pytest.fixture
def saves(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records each write of a signature file."""
    return spy_calls(monkeypatch, CopyIndex, "save", lambda path, **kwargs: path)


def _signature_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "copies" / "articles.npz"


def test_each_new_article_is_signed_once_and_an_ingest_saves_once(
    tmp_path: Path, minhashes: list[int], saves: list[Path]
) -> None:
    folder = tmp_path / "in"
    for n in range(5):
        write_copy(folder, f"s{n}", _story(n), source="Ledger")
    with _bot(tmp_path) as bot:
        bot.store.copy_index()  # the empty store's file, written before the count starts
        minhashes.clear()
        saves.clear()
        first = bot.ingest([folder])
        assert (first.new, first.copies, len(minhashes), len(saves)) == (5, 0, 5, 1)
        for n in range(5):  # every file rewritten: five replacements in one ingest
            write_copy(folder, f"s{n}", _story(n + 10), source="Ledger")
        minhashes.clear()
        saves.clear()
        second = bot.ingest([folder])
        assert (second.new, second.replaced, len(minhashes), len(saves)) == (5, 5, 5, 1)
        index = bot.store.copy_index()
        assert len(index) == 5 and all(index.find(_story(n + 10)) for n in range(5))
        assert not any(index.find(_story(n)) for n in range(5))
    saved = CopyIndex.load(_signature_file(tmp_path), chunks=5)
    assert saved is not None and len(saved) == 5 and saved.find(_story(10)) is not None


def test_a_lone_delete_is_saved_once(tmp_path: Path, saves: list[Path]) -> None:
    with _bot(tmp_path) as bot:
        bot.ingest([write_copy(tmp_path / "in", "seed", SEED, source="Ledger"),
                    write_copy(tmp_path / "in", "own", INDEPENDENT, source="Beirut Daily")])
        seed_id = next(a.id for a in bot.store.list_articles() if a.source == "Ledger")
        saves.clear()
        bot.delete_article(seed_id)
        assert len(saves) == 1
        chunks = bot.store.count()
    saved = CopyIndex.load(_signature_file(tmp_path), chunks=chunks)  # saved at once, not only at close
    assert saved is not None and seed_id not in saved and len(saved) == 1


def test_with_copy_detection_off_no_signature_is_computed_or_saved(tmp_path: Path, minhashes: list[int]) -> None:
    folder = tmp_path / "in"
    write_copy(folder, "a", SEED, source="Ledger")
    write_copy(folder, "b", "BEIRUT - " + SEED, source="Levant Wire")
    with _bot(tmp_path, copy_threshold=1.01) as bot:
        report = bot.ingest([folder])
        [first] = [a for a in bot.store.list_articles() if a.source == "Ledger"]
        bot.delete_article(first.id)
    assert (report.new, report.copies) == (2, 0)
    assert minhashes == [] and not _signature_file(tmp_path).exists()
    copy = edited(PARAGRAPHS, 5, "Lebanese officials said the death toll could rise as rescuers searched the rubble.")
    with _bot(tmp_path) as bot:  # turned on again: the signatures are built from what is stored
        again = bot.ingest([write_copy(tmp_path / "more", "wire", copy, source="Cedar News")])
    assert (again.new, again.copies) == (0, 1)


def test_a_signature_file_from_before_copy_detection_was_turned_off_is_not_trusted(tmp_path: Path) -> None:
    path = write_copy(tmp_path / "in", "story", _story(1), source="Ledger")
    with _bot(tmp_path) as bot:
        assert bot.ingest([path]).new == 1
    assert _signature_file(tmp_path).exists()
    path.write_text(_story(2), encoding="utf-8")  # as many chunks: the file's count still fits
    with _bot(tmp_path, copy_threshold=1.01) as bot:
        assert bot.ingest([path]).replaced == 1
    assert not _signature_file(tmp_path).exists()
    with _bot(tmp_path) as bot:
        old = bot.ingest([write_copy(tmp_path / "more", "old", "WIRE - " + _story(1), source="Wire")])
        new = bot.ingest([write_copy(tmp_path / "more", "new", "WIRE - " + _story(2), source="Wire")])
    assert (old.new, old.copies) == (1, 0)  # the replaced version is gone: a copy of it is stored in full
    assert (new.new, new.copies) == (0, 1)


def _run_child(script: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, env=env,
                          timeout=180, cwd=REPO)


def test_a_process_killed_after_its_writes_and_before_the_save_leaves_no_stale_signatures(tmp_path: Path) -> None:
    path = write_copy(tmp_path / "in", "story", _story(1), source="Ledger")
    with _bot(tmp_path) as bot:
        assert bot.ingest([path]).new == 1
        [old] = bot.store.list_articles()
    path.write_text(_story(2), encoding="utf-8")  # a replacement that keeps the chunk count
    proc = _run_child(
        f"""
        import os
        from pathlib import Path
        from assistant.store import ArticleStore
        from tests.test_copy_signatures import _bot
        ArticleStore.save = lambda self: os._exit(9)  # killed once the ingest's writes are done, before its save
        bot = _bot(Path({str(tmp_path)!r}))
        bot.ingest([Path({str(path)!r})])
        """
    )
    assert proc.returncode == 9, proc.stderr
    with _bot(tmp_path) as bot:
        [new] = bot.store.list_articles()
        index = bot.store.copy_index()
        assert new.id != old.id and len(index) == 1 and new.id in index
        assert index.find(_story(2)) == new.id and index.find(_story(1)) is None


def _server_settings(tmp_path: Path, host: str, port: int, collection: str) -> Settings:
    return _settings(tmp_path, chroma_host=host, chroma_port=port, collection=collection)


@pytest.mark.slow
def test_a_client_killed_after_catching_up_with_another_clients_write_leaves_no_stale_signatures(
    tmp_path: Path, chroma_server: tuple[str, int]  # noqa: F811
) -> None:
    host, port = chroma_server
    collection = f"c-{uuid.uuid4().hex[:12]}"
    mine = _server_settings(tmp_path / "mine", host, port, collection)
    a = _article(TEXT_A)
    with _open(mine) as store:
        store.add_article(a, _chunks(a))
        assert a.id in store.copy_index()
    replaced = _article(TEXT_A.replace("libraries", "orchards"))  # as many chunks: the file's count still fits
    proc = _run_child(
        f"""
        import os
        from pathlib import Path
        from tests.test_store import TEXT_A, _article, _chunks, _open
        from tests.test_copy_signatures import _server_settings
        mine = _server_settings(Path({str(tmp_path / "mine")!r}), {host!r}, {port!r}, {collection!r})
        other = _server_settings(Path({str(tmp_path / "other")!r}), {host!r}, {port!r}, {collection!r})
        store = _open(mine)
        assert store.copy_index() is not None
        a, replaced = _article(TEXT_A), _article(TEXT_A.replace("libraries", "orchards"))
        with _open(other) as theirs:
            theirs.add_article(replaced, _chunks(replaced))
            theirs.delete_article(a.id)
        assert store.refresh(force=True)  # caught up, in memory and in the saved server state
        os._exit(9)  # killed before the signatures are saved again
        """
    )
    assert proc.returncode == 9, proc.stderr
    with _open(mine) as store:
        index = store.copy_index()
        assert replaced.id in index and a.id not in index
    with _open(mine) as store:  # and saved in step on the way
        index = store.copy_index()
        assert replaced.id in index and a.id not in index and len(index) == 1


def test_a_signature_handed_down_answers_as_its_text_and_must_match_the_shingle_size() -> None:
    index = CopyIndex()
    index.add("seed", copies_module.signature(SEED))
    copy = edited(PARAGRAPHS, 5, "Lebanese officials said the death toll could rise as rescuers searched the rubble.")
    assert index.find(copies_module.signature(copy)) == index.find(copy) == "seed"
    assert index.scores(copies_module.signature(INDEPENDENT)) == index.scores(INDEPENDENT)
    with pytest.raises(ValueError, match="3-word shingles"):
        index.find(copies_module.signature(copy, size=3))
