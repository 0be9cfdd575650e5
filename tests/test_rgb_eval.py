"""`assistant eval --set rgb` on a small file in RGB's format (the real one is read from ../shared, never copied)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answer_scorer import load_scorer
from assistant.cli import main
from assistant.errors import InputError
from assistant.rgb_eval import load_rgb, missed_rgb, run_rgb
from assistant.settings import Settings


def _record(i: int, query: str, answer: str, positive: list[str], negative: str) -> dict[str, object]:
    """A record shaped like RGB's: most of its records (46 of the tune half's 50) have two or more positives."""
    return {"id": i, "query": query, "answer": answer, "fakeanswer": "nobody", "positive": positive,
            "positive_wrong": [p.replace(answer, "nobody") for p in positive], "negative": [negative]}


@pytest.fixture
def rgb_file(tmp_path: Path) -> Path:
    records = [
        _record(0, "Who won the 2019 river race in Oxford?", "Anna Berg",
                ["Anna Berg won the 2019 river race in Oxford on Saturday.",
                 "In Oxford, Anna Berg won the 2019 river race by two lengths."],
                "The river race in Oxford draws crowds every spring."),
        _record(1, "When did the harbour bridge in Tromso open?", "May 4, 2020",
                ["The harbour bridge in Tromso opened on May 4, 2020 after years of work.",
                 "Tromso's harbour bridge opened on May 4, 2020, ahead of the summer."],
                "The harbour bridge in Tromso opened to traffic after years of work and delays."),
    ]
    path = tmp_path / "en_fact.json"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_records_split_into_halves_by_id(rgb_file: Path) -> None:
    records = load_rgb(rgb_file)
    assert [(r.id, r.half) for r in records] == [(0, "tune"), (1, "report")]
    assert records[1].found_in("It opened on may 4, 2020.") and not records[1].found_in("It opened in 2020.")


def test_run_counts_right_answers_and_rejections_per_half(rgb_file: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Fake embeddings make the scorer's similarity features arbitrary: what is checked here is the eval's counting,
    # on a scorer that answers what two sources state plainly (its abstention is tested in test_answer_scorer).
    lenient = load_scorer().model_copy(update={"threshold": 0.25})
    monkeypatch.setattr("assistant.answering.load_scorer", lambda: lenient)
    settings = Settings(llm="fake", embeddings="fake", data_dir=tmp_path / "data")
    report = run_rgb(settings, path=rgb_file)
    assert set(report.halves) == {"tune", "report"}
    rows = {r.id: r for r in report.rows}
    assert rows[0].correct and rows[1].correct
    assert rows[0].negative_abstained  # a snippet without the winner does not answer "who"
    assert rows[1].negative_abstained  # nor one without the day "when"
    assert report.halves["report"].negative_rejection == 1.0
    assert report.halves["report"].wrong_with_citation_per_100 == 0.0
    thresholds = tmp_path / "floors.json"
    thresholds.write_text(json.dumps({"fake": {"accuracy": 1.0, "negative_rejection": 1.0,
                                               "max_wrong_with_citation_per_100": 0}}), encoding="utf-8")
    assert missed_rgb(report, thresholds) == []
    thresholds.write_text(json.dumps({"fake": {"accuracy": 1.0, "negative_rejection": 1.0,
                                               "max_wrong_with_citation_per_100": -1}}), encoding="utf-8")
    with pytest.raises(InputError):
        missed_rgb(report, thresholds)


def test_the_cli_writes_reports_and_names_a_missing_file(rgb_file: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports"
    code = main(["--embeddings", "fake", "eval", "--llm", "fake", "--set", "rgb", "--rgb-file", str(rgb_file),
                 "--half", "report", "--out", str(out)])
    assert code == 0
    assert (out / "rgb.json").is_file() and "| report | 1 |" in (out / "rgb.md").read_text(encoding="utf-8")
    assert "Tromso" not in (out / "rgb.json").read_text(encoding="utf-8")  # no RGB text is written anywhere
    code = main(["eval", "--llm", "fake", "--set", "rgb", "--rgb-file", str(tmp_path / "absent.json")])
    assert code == 2
    assert "RGB data not found" in capsys.readouterr().err


def test_the_second_figure_accepts_another_spelling_and_rgbs_own_does_not() -> None:
    from assistant.rgb_eval import RgbRecord

    date = RgbRecord(id=0, query="When?", answer=[["August 22 2021", "Aug 22, 2021"]], fakeanswer="", positive=[],
                     positive_wrong=[], negative=[])
    assert not date.found_in("It premieres on Sunday August 22nd.")
    assert date.found_loosely("It premieres on Sunday August 22nd.")
    assert not date.found_loosely("Announced in August 2021.")  # the month alone is not the day
    assert not date.found_loosely("It premieres on August 22, 2022.")
    name = RgbRecord(id=0, query="Who?", answer="Yifei Liu", fakeanswer="", positive=[], positive_wrong=[],
                     negative=[])
    assert not name.found_in("starring Liu Yifei") and name.found_loosely("starring Liu Yifei")
    assert not name.found_loosely("starring Gong Li")
