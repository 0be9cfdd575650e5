"""bench/rgb_leaks.py: rejection split by whether a question's negatives state the answer in another spelling."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.rgb_eval import RgbHalf, RgbReport, RgbRow
from bench.rgb_leaks import main, split_figures


def _rgb_file(tmp_path: Path) -> Path:
    records = [
        {"id": 1, "query": "Who won the 2019 river race in Oxford?", "answer": "Anna Berg", "fakeanswer": "x",
         "positive": ["Anna Berg won the 2019 river race."], "positive_wrong": ["x"],
         "negative": ["The race was won by Berg, Anna, for the second time."]},  # states it in another order
        {"id": 3, "query": "When did the bridge in Tromso open?", "answer": "May 4, 2020", "fakeanswer": "x",
         "positive": ["The bridge opened on May 4, 2020."], "positive_wrong": ["x"],
         "negative": ["The bridge in Tromso drew crowds."]},
        {"id": 5, "query": "Who leads the port authority?", "answer": "Ola Lund", "fakeanswer": "x",
         "positive": ["Ola Lund leads the port authority."], "positive_wrong": ["x"],
         "negative": ["The port authority met on Monday."]},
    ]
    path = tmp_path / "en_fact.json"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def _row(i: int, abstained: bool) -> RgbRow:
    return RgbRow(id=i, half="report", mixed_abstained=False, correct=True, mixed_words=9,
                  negative_abstained=abstained, wrong_with_citation=not abstained, seconds=0.1)


def _report(rows: list[RgbRow]) -> RgbReport:
    half = RgbHalf(questions=len(rows), accuracy=1.0, mixed_answer_rate=1.0, negative_rejection=None,
                   wrong_with_citation_per_100=None, median_words=9, seconds_per_question=0.1)
    return RgbReport(llm="fake", model="fake", answer_style="extractive", file="x", halves={"report": half}, rows=rows)


def test_questions_split_by_whether_their_negatives_state_the_answer(tmp_path: Path) -> None:
    figures = split_figures(_report([_row(1, False), _row(3, True), _row(5, False)]), _rgb_file(tmp_path))
    assert figures["negatives_state_it"] == {"questions": 1, "negative_rejection": 0.0,
                                             "wrong_with_citation_per_100": 100.0}
    assert figures["negatives_clean"] == {"questions": 2, "negative_rejection": 0.5,
                                          "wrong_with_citation_per_100": 50.0}


def test_a_missing_report_is_a_one_line_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([str(tmp_path / "nope.json")]) == 2
    assert "run `assistant eval --set rgb" in capsys.readouterr().err
