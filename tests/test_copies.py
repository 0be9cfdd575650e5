"""Syndicated copies: recognised at ingestion, stored once, every outlet recorded; independent reports kept apart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.copies import CopyIndex, copy_score, signature, stored_texts
from assistant.service import Assistant

from .conftest import SEED_FILE

SEED = SEED_FILE.read_text(encoding="utf-8")
PARAGRAPHS = SEED.strip().split("\n\n")

# The same events reported in other words, as a second outlet writing its own story would.
INDEPENDENT = """Two Hezbollah members were killed on the second straight day of Israeli air raids on the Bekaa Valley,
according to people familiar with the group, after the movement fired a barrage of rockets at army posts in
northern Israel.

Israel's army said its aircraft struck command centres near Baalbek that held weapons, as well as sites around
Khiam and Bint Jbeil in the south of Lebanon. A warehouse said to store discounted food was destroyed.

Diplomats from the United States and elsewhere are pressing for a truce in Gaza, which they see as the key to calm
on the border between Lebanon and Israel, where exchanges of fire have been almost daily since October."""


def edited(paragraphs: list[str], n: int, replacement: str) -> str:
    return "\n\n".join(replacement if i == n else p for i, p in enumerate(paragraphs))


def test_a_copy_with_a_rewritten_paragraph_is_found() -> None:
    index = CopyIndex()
    index.add("seed", SEED)
    copy = edited(PARAGRAPHS, 3, "Officials in Beirut gave no figure for the damage, and the army did not comment.")
    assert index.find(copy) == "seed"


def test_a_trimmed_copy_with_a_wire_dateline_is_found() -> None:
    index = CopyIndex()
    index.add("seed", SEED)
    copy = "BEIRUT (Levant Wire) - " + "\n\n".join(PARAGRAPHS[:6])
    assert index.find(copy) == "seed"


def test_an_independent_report_of_the_same_events_is_not_a_copy() -> None:
    index = CopyIndex()
    index.add("seed", SEED)
    assert index.find(INDEPENDENT) is None
    assert copy_score(signature(SEED), signature(INDEPENDENT)) < 0.2


def test_a_roundup_that_quotes_the_whole_story_is_not_a_copy_of_it() -> None:
    index = CopyIndex()
    index.add("seed", SEED)
    other_story = " ".join(reversed(SEED.split()))  # as long as the seed, sharing none of its word sequences
    roundup = "\n\n".join([INDEPENDENT, SEED, other_story])
    assert index.find(roundup) is None


@pytest.mark.parametrize(("threshold", "found"), [(0.5, True), (0.99, False)])
def test_the_threshold_decides_how_much_editing_a_copy_may_have(threshold: float, found: bool) -> None:
    index = CopyIndex(threshold=threshold)
    index.add("seed", SEED)
    copy = edited(edited(PARAGRAPHS, 3, "A short new paragraph.").split("\n\n"), 5, "Another new one.")
    assert (index.find(copy) == "seed") is found


def test_a_copy_that_changes_a_figure_is_another_account_not_a_copy() -> None:
    index = CopyIndex()
    index.add("seed", SEED)
    changed = SEED.replace("over 100 Katyusha rockets", "over 300 Katyusha rockets")
    assert copy_score(signature(changed), signature(SEED)) > 0.9  # near-identical text ...
    assert index.find(changed) is None  # ... but it disagrees on a figure: stored in full, never merged away
    assert index.find(SEED.replace("Bint Jbeil", "Bint Jbeil,")) == "seed"  # a copy that adds no figure is one


def test_removed_articles_are_forgotten() -> None:
    index = CopyIndex()
    index.add("seed", SEED)
    index.remove("seed")
    assert (len(index), index.find(SEED)) == (0, None)


def test_stored_texts_rebuild_each_article_from_its_chunks(seeded_bot: Assistant) -> None:
    [(_, text)] = stored_texts(seeded_bot.store.all_chunks()).items()
    assert copy_score(signature(text), signature(SEED)) > 0.95


def write_copy(folder: Path, name: str, text: str, **meta: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    path.with_suffix(".meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def test_a_syndicated_copy_of_the_seed_is_stored_once_with_both_outlets(seeded_bot: Assistant, tmp_path: Path) -> None:
    before = seeded_bot.store.count()
    copy = edited(PARAGRAPHS, 5, "Lebanese officials said the death toll could rise as rescuers searched the rubble.")
    path = write_copy(tmp_path, "wire", copy, title="Israel strikes Bekaa again", source="Levant Wire",
                      url="https://levant.example/bekaa", published="2024-03-12")
    report = seeded_bot.ingest([path])
    assert (report.new, report.copies, report.chunks_added, report.errors) == (0, 1, 0, [])
    assert report.summary() == "0 new, 0 unchanged, 1 copy of stored stories, 0 chunks embedded"
    chunks = seeded_bot.store.all_chunks()
    assert len(chunks) == before
    for chunk in chunks:
        assert [o.source for o in chunk.outlets] == ["unknown", "Levant Wire"]
        assert chunk.outlets[1].url == "https://levant.example/bekaa"
        assert str(chunk.outlets[1].published) == "2024-03-12"
    found = seeded_bot.retriever.retrieve("Which areas in southern Lebanon were targeted?")
    assert found.chunks and all(len(c.outlets) == 2 for c in found.chunks)  # briefs can count both outlets
    again = seeded_bot.ingest([path])
    assert (again.new, again.copies, again.unchanged) == (0, 0, 1)


def test_an_independent_report_is_stored_as_its_own_article(seeded_bot: Assistant, tmp_path: Path) -> None:
    report = seeded_bot.ingest([write_copy(tmp_path, "own", INDEPENDENT, source="Beirut Daily")])
    assert (report.new, report.copies) == (1, 0)


def test_an_edited_file_replaces_its_own_old_version_rather_than_counting_as_its_copy(
    fake_bot: Assistant, tmp_path: Path
) -> None:
    path = write_copy(tmp_path, "story", SEED, source="Ledger")
    assert fake_bot.ingest([path]).new == 1
    path.write_text(edited(PARAGRAPHS, 2, "A corrected paragraph."), encoding="utf-8")
    report = fake_bot.ingest([path])
    assert (report.new, report.replaced, report.copies) == (1, 1, 0)


def test_copy_detection_can_be_turned_off(fake_bot: Assistant, tmp_path: Path) -> None:
    fake_bot.settings.copy_threshold = 1.01
    shutil.copy(SEED_FILE, tmp_path / "a.txt")
    (tmp_path / "b.txt").write_text("BEIRUT - " + SEED, encoding="utf-8")
    assert fake_bot.ingest([tmp_path]).new == 2


def test_two_short_items_sharing_a_stock_phrase_are_not_merged() -> None:
    index = CopyIndex()
    index.add("a", "Floods hit the northern valley on Monday, officials said.")
    assert index.find("Floods hit the northern valley again on Friday, local radio said.") is None
    assert CopyIndex(min_shared=0).scores("Floods hit the northern valley again on Friday, local radio said.") == []
    loose = CopyIndex(min_shared=0)
    loose.add("a", "Floods hit the northern valley on Monday, officials said.")
    assert loose.find("Floods hit the northern valley again on Friday, local radio said.") == "a"  # the floor decides


def test_saved_signatures_load_back_and_refuse_another_store(tmp_path: Path) -> None:
    index = CopyIndex()
    index.add("seed", SEED)
    index.add("own", INDEPENDENT)
    path = tmp_path / "copies.npz"
    index.save(path, chunks=7)
    loaded = CopyIndex.load(path, chunks=7)
    assert loaded is not None and len(loaded) == 2
    assert loaded.find(edited(PARAGRAPHS, 5, "Rescuers searched the rubble.")) == "seed"
    assert loaded.scores(INDEPENDENT)[0] == ("own", 1.0)
    assert CopyIndex.load(path, chunks=8) is None  # the store changed behind the file's back
    path.write_bytes(b"not a zip")
    assert CopyIndex.load(path, chunks=7) is None
    assert CopyIndex.load(tmp_path / "missing.npz", chunks=7) is None


def _persistent_bot(tmp_path: Path) -> Assistant:
    from assistant.settings import Settings

    return Assistant.from_settings(Settings(llm="fake", embeddings="fake", data_dir=tmp_path / "data",
                                            chroma_host=None))


def test_a_new_process_finds_copies_without_reading_the_stored_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.store import ArticleStore

    with _persistent_bot(tmp_path) as bot:
        assert bot.ingest([write_copy(tmp_path / "in", "seed", SEED, source="Ledger")]).new == 1
    assert (tmp_path / "data" / "copies").is_dir()

    def no_full_read(self: ArticleStore, **_: object) -> None:
        raise AssertionError("the copy check read every stored chunk")

    monkeypatch.setattr(ArticleStore, "all_chunks", no_full_read)
    copy = edited(PARAGRAPHS, 5, "Lebanese officials said the death toll could rise as rescuers searched the rubble.")
    with _persistent_bot(tmp_path) as bot:
        report = bot.ingest([write_copy(tmp_path / "in", "wire", copy, source="Levant Wire")])
        own = bot.ingest([write_copy(tmp_path / "in", "own", INDEPENDENT, source="Beirut Daily")])
    assert (report.copies, report.new, own.new, own.copies) == (1, 0, 1, 0)


def test_a_lost_or_damaged_signature_file_is_rebuilt_from_the_store(tmp_path: Path) -> None:
    with _persistent_bot(tmp_path) as bot:
        bot.ingest([write_copy(tmp_path / "in", "seed", SEED, source="Ledger")])
    [saved] = (tmp_path / "data" / "copies").glob("*.npz")
    saved.write_bytes(b"\x00" * 10)
    copy = edited(PARAGRAPHS, 5, "Lebanese officials said the death toll could rise as rescuers searched the rubble.")
    with _persistent_bot(tmp_path) as bot:
        assert bot.ingest([write_copy(tmp_path / "in", "wire", copy, source="Levant Wire")]).copies == 1
        chunks = bot.store.count()
    rebuilt = CopyIndex.load(saved, chunks=chunks)
    assert rebuilt is not None and len(rebuilt) == 1


def test_a_copy_of_a_deleted_story_is_stored_in_full(seeded_bot: Assistant, tmp_path: Path) -> None:
    [article] = seeded_bot.store.list_articles()
    seeded_bot.delete_article(article.id)
    report = seeded_bot.ingest([write_copy(tmp_path, "wire", "BEIRUT - " + SEED, source="Levant Wire")])
    assert (report.new, report.copies) == (1, 0) and seeded_bot.store.count() > 0


def test_copies_of_a_story_in_the_same_ingest_wait_for_it_without_draining_the_batch(
    fake_bot: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.ingestion import IngestBatch

    drained: list[int] = []
    original_flush = IngestBatch.flush
    monkeypatch.setattr(IngestBatch, "flush", lambda self: (drained.append(1), original_flush(self))[1])
    folder = tmp_path / "news"
    write_copy(folder, "a-original", SEED, title="Strikes", source="First Wire")
    write_copy(folder, "b-copy", edited(PARAGRAPHS, 5, "Officials said the toll could rise."), title="Again",
               source="Levant Wire", url="https://levant.example/bekaa")
    write_copy(folder, "c-copy", edited(PARAGRAPHS, 2, "Rescuers searched the rubble overnight."), title="Once more",
               source="Cedar News")
    report = fake_bot.ingest([folder])
    assert (report.new, report.copies, report.unchanged, report.errors) == (1, 2, 0, [])
    assert drained == [1]  # the final flush only: the copies did not wait for the story's write
    chunks = fake_bot.store.all_chunks()
    assert chunks and all([o.source for o in c.outlets] == ["First Wire", "Levant Wire", "Cedar News"]
                          for c in chunks)
    again = fake_bot.ingest([folder])
    assert (again.new, again.copies, again.unchanged) == (0, 0, 3)
