"""The persistent keyword index stays in step with the vector store: adds, replaces, deletes, kills, servers."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import textwrap
import uuid
from datetime import date
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from assistant.keyword import KeywordIndex
from assistant.schemas import Article
from assistant.store import ArticleStore
from tests.chroma_server import chroma_server  # noqa: F401
from tests.test_store import DIM, MODEL, REPO, TEXT_A, TEXT_B, TEXT_C, _article, _chunks, _open, _settings

WORDS = "council budget flood bridge mayor library highway repair storm election court ruling port strike".split()


def _embeddings() -> DeterministicFakeEmbedding:
    return DeterministicFakeEmbedding(size=DIM)


def _in_step(store: ArticleStore) -> set[str]:
    ids = store.chunk_ids()
    assert store.keyword_chunk_ids() == ids
    return ids


def _random_article(rng: random.Random, n: int) -> Article:
    sentences = [" ".join(rng.choice(WORDS) for _ in range(6)).capitalize() + f" item{n}x{i}." for i in range(3)]
    return _article(" ".join(sentences), source=rng.choice(["AP", "Reuters"]), published=date(2024, 1, 1 + n % 28))


def test_filters_match_the_dense_filters() -> None:
    with ArticleStore.ephemeral(embeddings=_embeddings(), embedding_model=MODEL, dimension=DIM) as store:
        a = _article(TEXT_A, source="Reuters", published=date(2024, 5, 1))
        b = _article(TEXT_B, source="AP", published=date(2024, 6, 10))
        c = _article(TEXT_C + " Floods too.", source="AP")  # undated
        for article in (a, b, c):
            store.add_article(article, _chunks(article))

        def found(query: str, **limits: object) -> set[str]:
            hits = store.keyword_search(query, k=10, **limits)  # type: ignore[arg-type]
            return {cid.split(":")[0] for cid, _ in hits}

        assert found("budget floods") == {a.id, b.id, c.id}
        assert found("budget floods", sources=["AP"]) == {b.id, c.id}
        assert found("budget floods", since=date(2024, 6, 1)) == {b.id}
        assert found("budget floods", until=date(2024, 5, 31)) == {a.id}
        assert found("budget floods", sources=["AP"], until=date(2024, 5, 31)) == set()
        assert found("the of and") == set()  # stopwords only: no keyword query at all


def test_indexes_agree_through_adds_replaces_deletes_and_reopens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(7)
    live: dict[str, Article] = {}
    with _open(_settings(tmp_path)) as store:
        for n in range(40):
            action = rng.random()
            if action < 0.5 or not live:
                article = _random_article(rng, n)
                store.add_article(article, _chunks(article))
                live[article.id] = article
            elif action < 0.75:  # the same article chunked differently: one chunk fewer
                article = live[rng.choice(sorted(live))]
                store.add_article(article, _chunks(article)[:-1])
            else:
                store.delete_article(live.pop(rng.choice(sorted(live))).id)
            ids = _in_step(store)
            assert {cid.split(":")[0] for cid in ids} == set(live)
    rebuilt: list[int] = []
    monkeypatch.setattr(KeywordIndex, "rebuild", lambda self, rows: rebuilt.append(1) or 0)
    with _open(_settings(tmp_path)) as store:  # persisted: opened as it was, not rebuilt
        _in_step(store)
        some = next(iter(live.values()))
        assert any(cid.startswith(some.id) for cid, _ in store.keyword_search(some.text, k=50))
    assert not rebuilt


def _killed_between_writes(tmp_path: Path, action: str) -> subprocess.CompletedProcess[str]:
    """Run ``action`` on the store in a child that dies (os._exit, no clean-up) right after Chroma's write."""
    script = textwrap.dedent(
        f"""
        import os
        from tests.test_store import _article, _chunks, _open, _settings, TEXT_A, TEXT_B
        from pathlib import Path
        from assistant.keyword import KeywordIndex
        store = _open(_settings(Path({str(tmp_path)!r})))
        KeywordIndex.replace_articles = lambda self, ids, rows: os._exit(9)
        a, b = _article(TEXT_A), _article(TEXT_B)
        {action}
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                          cwd=REPO)


def test_a_process_killed_between_the_two_writes_is_repaired_on_open(tmp_path: Path) -> None:
    a, b = _article(TEXT_A), _article(TEXT_B)
    with _open(_settings(tmp_path)) as store:
        store.add_article(a, _chunks(a))
    proc = _killed_between_writes(tmp_path, "store.add_article(b, _chunks(b))")
    assert proc.returncode == 9, proc.stderr
    with _open(_settings(tmp_path)) as store:
        assert {cid.split(":")[0] for cid in _in_step(store)} == {a.id, b.id}
        assert store.keyword_search("Floods highway", k=5)[0][0].startswith(b.id)
        assert a.id in store.copy_index() and b.id in store.copy_index()  # the copy signatures too
    proc = _killed_between_writes(tmp_path, "store.delete_article(a.id)")
    assert proc.returncode == 9, proc.stderr
    with _open(_settings(tmp_path)) as store:
        assert {cid.split(":")[0] for cid in _in_step(store)} == {b.id}
        assert store.keyword_search("council budget", k=5) == []
        assert a.id not in store.copy_index() and b.id in store.copy_index()


def test_a_lost_or_damaged_keyword_index_is_rebuilt_from_the_store(tmp_path: Path) -> None:
    a, b = _article(TEXT_A), _article(TEXT_B)
    with _open(_settings(tmp_path)) as store:
        store.add_article(a, _chunks(a))
        store.add_article(b, _chunks(b))
    shutil.rmtree(tmp_path / "data" / "keyword")
    with _open(_settings(tmp_path)) as store:
        assert len(_in_step(store)) == 5
    (tmp_path / "data" / "keyword" / "articles" / "pending.json").write_text("{not json")
    with _open(_settings(tmp_path)) as store:
        assert len(_in_step(store)) == 5
        assert not (tmp_path / "data" / "keyword" / "articles" / "pending.json").exists()


@pytest.mark.slow
def test_server_mode_fills_each_process_keyword_index_from_the_server(
    tmp_path: Path, chroma_server: tuple[str, int]  # noqa: F811
) -> None:
    host, port = chroma_server
    settings = _settings(tmp_path, chroma_host=host, chroma_port=port, collection=f"k-{uuid.uuid4().hex[:12]}")
    a, b = _article(TEXT_A), _article(TEXT_B)
    with _open(settings) as writer:
        writer.add_article(a, _chunks(a))
        writer.add_article(b, _chunks(b))
        writer.delete_article(a.id)
        _in_step(writer)
    with _open(settings) as reader:  # another process's view: built from the server
        assert {cid.split(":")[0] for cid in _in_step(reader)} == {b.id}
        assert reader.keyword_search("engineers repairs", k=3)[0][0].startswith(b.id)
    assert not (tmp_path / "data" / "chroma").exists()  # only the keyword index is kept here (test_server_keyword.py)
