"""Bad input through the command a user runs: each file read safely or named in one line, no traceback, nothing
half-stored; bad questions refused in one line."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.service import Assistant
from assistant.settings import Settings
from tests.cli_helpers import run_cli
from tests.conftest import SEEDS

BODY = "The harbour authority reopened the northern pier on Monday after repairs that lasted six weeks."


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr and "Error:" not in stderr.replace("error:", "")


def _stored_texts(data_dir: Path) -> list[str]:
    with Assistant.from_settings(Settings(llm="fake", embeddings="fake", data_dir=data_dir)) as bot:
        return [c.text for c in bot.store.all_chunks()]


def test_a_folder_of_bad_files_names_each_and_stores_only_the_good(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text(" \n\t\n")
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (folder / "nul.txt").write_bytes(b"text\x00with\x00nuls\x00" * 50)
    (folder / "bad-utf8.txt").write_bytes(BODY.encode() + b" \xff\xfe\xfa invalid \xc3\x28 bytes.")
    cafe = "Caf\u00e9 owners \u2018welcomed\u2019 the pier \u2013 report."
    (folder / "cp1252.txt").write_bytes(cafe.encode("cp1252"))
    (folder / "utf16.txt").write_bytes("\ufeffThe pier opened at dawn on Monday.".encode("utf-16-le"))
    (folder / "hostile.html").write_text(
        "<html><body>" + "<div>" * 5000 + f"<p>{BODY}</p><script>alert('x')</script>"
        "<p style='display:none'>hidden words</p>" + "</div>" * 5000 + "</body></html>"
    )
    (folder / "braces.txt").write_text("The mayor said {context} and {question} are not template fields {0} {}.")
    result = run_cli(["ingest", str(folder)], tmp_path / "store")
    _no_traceback(result.stderr)
    errors = _errors(result.stderr)
    named = {Path(line.split(": ", 2)[1].rsplit(":", 1)[0]).name for line in errors}
    assert named == {"empty.txt", "blank.md", "image.txt", "nul.txt"}, errors
    assert result.returncode == 1
    texts = " ".join(_stored_texts(tmp_path / "store"))
    assert "alert" not in texts and "hidden words" not in texts and BODY in texts
    assert "{context} and {question}" in texts and "Café" in texts and "pier opened at dawn" in texts


def test_malformed_jsonl_lines_are_each_named_and_the_rest_goes_in(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    good = [json.dumps({"text": f"{BODY} Item {i}.", "title": f"Pier {i}"}) for i in range(3)]
    path.write_text("\n".join([good[0], '{"text": "unterminated', good[1], '["list"]', '{"text": 5}', good[2]]))
    result = run_cli(["ingest", str(path)], tmp_path / "store")
    _no_traceback(result.stderr)
    assert [line.split(": ")[1] for line in _errors(result.stderr)] == [f"{path}:2", f"{path}:4", f"{path}:5"]
    assert "3 new" in result.stdout and result.returncode == 1
    assert len(_stored_texts(tmp_path / "store")) == 3
    again = run_cli(["ingest", str(path)], tmp_path / "store")
    assert "0 new, 3 unchanged" in again.stdout and len(_stored_texts(tmp_path / "store")) == 3


def test_a_huge_file_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as out:
        out.write(BODY.encode() * 10)
        out.truncate(200 * 1024 * 1024)  # 200 MB, sparse
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = run_cli(["ingest", str(huge), str(SEEDS)], tmp_path / "store")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    _no_traceback(result.stderr)
    assert _errors(result.stderr) == [f"error: {huge}: file too large (200.0 MB; limit 20 MB)"]
    assert "1 new" in result.stdout
    assert peak_kb < 200 * 1024 or peak_kb == before  # never read whole: far below the file's 200 MB


def test_hostile_file_names_are_named_not_fatal(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    names = ["../escape.txt", "a" * 300 + ".txt", "-rf.txt", "x/../../../etc/passwd.txt"]
    result = run_cli(["ingest", *(str(work / n) for n in names), str(SEEDS)], tmp_path / "store")
    _no_traceback(result.stderr)
    assert len(_errors(result.stderr)) == len(names) and "1 new" in result.stdout
    assert result.returncode == 1


def test_a_nul_byte_in_a_name_is_named_not_fatal(fake_bot: Assistant, tmp_path: Path) -> None:
    report = fake_bot.ingest([tmp_path / "nul\x00byte.txt", SEEDS])  # argv cannot carry NUL; uploads and APIs can
    assert report.new == 1 and len(report.errors) == 1 and "NUL byte" in report.errors[0]


def test_a_long_folder_entry_is_skipped_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / ("b" * 250 + ".txt")).write_text(BODY)
    result = run_cli(["ingest", str(folder)], tmp_path / "store")
    _no_traceback(result.stderr)
    assert result.returncode == 0 and "1 new" in result.stdout


@pytest.mark.parametrize(("question", "words"), [
    ("", "the question is empty"),
    ("   \n\t ", "the question is empty"),
    ("why " * 1000, "keep it under 2000"),
])
def test_bad_questions_are_one_line_refusals(seeded_bot: Assistant, question: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        seeded_bot.ask(question)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_bad_question_on_the_command_line_exits_2_with_one_line(tmp_path: Path) -> None:
    assert run_cli(["ingest", str(SEEDS)], tmp_path / "store").returncode == 0
    result = run_cli(["ask", "  "], tmp_path / "store")
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "error: the question is empty; type a question about the articles"]


@pytest.mark.parametrize("question", ["What about {context}?", "{sources} {question} {0} {{x}} Khiam targeted?",
                                      "Which areas were targeted? %s %(x)s ${x} {{ x }} {% if %}"])
def test_template_syntax_in_questions_is_inert(seeded_bot: Assistant, question: str) -> None:
    answer = seeded_bot.ask(question)
    assert answer.question == " ".join(question.split())
