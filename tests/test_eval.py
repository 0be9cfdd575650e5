"""The eval harness: `assistant eval` at its contract, the threshold gate, and each metric on hand-made inputs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.cli import _parser, _settings, main
from assistant.evaluation import (
    METRICS,
    Ratio,
    citation_pairs,
    citation_precision,
    citation_recall,
    eval_settings,
    fact_recall,
    facts_found,
    grounded_claim_rate,
    hit_rate,
    load_items,
    mean_reciprocal_rank,
    missed_thresholds,
    planted_error_caught,
    quote_overlaps,
    share,
    support_rank,
)
from assistant.grounding import GroundingChecker
from assistant.schemas import Answer, Citation, Claim, Evidence, Label, RetrievalInfo
from assistant.settings import Settings
from tests.conftest import ROOT, SEED_FILE, SEEDS

EVALS = ROOT / "evals"
SUPPORT = (
    "Among the locations targeted by the Israeli military were military compounds and terrorist infrastructure "
    "in southern Lebanon, including the areas of Khiam and Bint Jbeil (also known as Bint Jubayl)."
)


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    out: Path


def run_cli(args: list[str], out: Path, capsys: pytest.CaptureFixture[str] | None = None) -> Run:
    code = main(["eval", *args, "--out", str(out)])
    stdout = capsys.readouterr().out if capsys is not None else ""
    return Run(code, stdout, out)


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, str]]:
    """One `assistant eval --llm fake` run, shared: it is deterministic, so asking twice proves nothing."""
    import contextlib
    import io
    import os

    out = tmp_path_factory.mktemp("eval") / "reports"
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith(("ASSISTANT_", "OPENAI_", "CHROMA_"))]:
            patch.delenv(name)
        patch.setenv("ASSISTANT_SEEDS_DIR", str(SEEDS))
        patch.setenv("ASSISTANT_DATA_DIR", str(out.parent / "users-store"))
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(["eval", "--llm", "fake", "--out", str(out), "--evals-dir", str(EVALS)])
    yield Run(code, buffer.getvalue(), out), str(out.parent / "users-store")


# -- the command -----------------------------------------------------------------------------------


def test_fake_eval_writes_the_three_reports(fake_run: tuple[Run, str]) -> None:
    run, _ = fake_run
    for name in ("report.json", "report.md", "report.png"):
        assert (run.out / name).is_file() and (run.out / name).stat().st_size > 0, name
    assert (run.out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((run.out / "report.json").read_text())
    assert set(report["metrics"]) == set(METRICS)
    assert len(report["rows"]) == len(load_items(EVALS))
    assert len(report["planted"]) == sum(r["kind"] == "answerable" for r in report["rows"])
    row = report["rows"][0]
    assert {"question", "answer", "abstained", "citations", "claims", "passed", "failures"} <= set(row)
    assert "| metric | value |" in run.stdout and str(run.out / "report.md") in run.stdout
    assert "| fact_recall |" in (run.out / "report.md").read_text()


def test_fake_eval_leaves_the_users_store_alone(fake_run: tuple[Run, str]) -> None:
    _, users_store = fake_run
    assert not Path(users_store).exists()


def test_fake_eval_meets_its_thresholds(fake_run: tuple[Run, str]) -> None:
    run, _ = fake_run
    floors = json.loads((EVALS / "thresholds.json").read_text())["fake"]
    metrics = json.loads((run.out / "report.json").read_text())["metrics"]
    below = {name: (metrics[name], floor) for name, floor in floors.items() if (metrics[name] or 0.0) < floor}
    assert below == {}, run.stdout
    assert run.code == 0, run.stdout
    assert "planted_error_catch_rate" in floors and floors["planted_error_catch_rate"] >= 0.9


def _evals_copy(tmp_path: Path, thresholds: dict[str, object]) -> Path:
    folder = tmp_path / "evals"
    folder.mkdir()
    for name in ("answerable.jsonl", "unanswerable.jsonl", "off_topic.jsonl"):
        shutil.copy(EVALS / name, folder / name)
    (folder / "thresholds.json").write_text(json.dumps(thresholds))
    return folder


def test_an_impossible_threshold_exits_1_and_names_the_metric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_SEEDS_DIR", str(SEEDS))
    evals = _evals_copy(tmp_path, {"fake": {"citation_precision": 1.01, "answer_rate": 0.0}})
    run = run_cli(["--llm", "fake", "--evals-dir", str(evals)], tmp_path / "out", capsys)
    assert run.code == 1
    assert "missed: citation_precision " in run.stdout and " < 1.01" in run.stdout
    assert "missed: answer_rate" not in run.stdout
    assert "MISSED" in (tmp_path / "out" / "report.md").read_text()


def test_an_unknown_metric_in_the_thresholds_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_SEEDS_DIR", str(SEEDS))
    evals = _evals_copy(tmp_path, {"fake": {"citation_precison": 0.8}})
    code = main(["eval", "--llm", "fake", "--evals-dir", str(evals), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "citation_precison" in capsys.readouterr().err


def test_eval_llm_sets_the_same_setting_as_the_global_option() -> None:
    assert _settings(_parser().parse_args(["eval", "--llm", "fake"])).llm == "fake"
    assert _settings(_parser().parse_args(["--llm", "local", "eval"])).llm == "local"
    assert _settings(_parser().parse_args(["--llm", "local", "eval", "--llm", "fake"])).llm == "fake"


def test_eval_settings_use_a_fresh_store_and_fake_embeddings_for_the_fake_llm(tmp_path: Path) -> None:
    user = Settings(llm="fake", data_dir=tmp_path / "mine", chroma_host="example.org")
    run = eval_settings(user, data_dir=tmp_path / "tmp")
    assert (run.data_dir, run.chroma_host, run.embeddings) == (tmp_path / "tmp", None, "fake")
    assert eval_settings(Settings(llm="fake", embeddings="local"), data_dir=tmp_path).embeddings == "local"
    assert eval_settings(Settings(llm="local"), data_dir=tmp_path).embeddings == "local"


def test_the_datasets_quote_the_seed_article_verbatim() -> None:
    from assistant.articles import read_file

    text = read_file(SEED_FILE)[0].text
    items = load_items(EVALS)
    answerable = [i for i in items if i.kind == "answerable"]
    assert 12 <= len(answerable) <= 15
    assert sum(i.kind == "unanswerable" for i in items) >= 8 and sum(i.kind == "off_topic" for i in items) >= 6
    for item in answerable:
        assert item.support and item.support in text, item.id
        assert all(fact.lower() in item.support.lower() for fact in item.facts), item.id
    assert len({i.id for i in items}) == len(items)


# -- metrics on hand-made inputs ------------------------------------------------------------------


def _answer(claims: list[Claim], citations: list[Citation], *, abstained: bool = False, text: str = "") -> Answer:
    return Answer(question="q?", answer=text, abstained=abstained, claims=claims, citations=citations,
                  model="hand", retrieval=RetrievalInfo(query="q?"))


def _claim(text: str, label: Label = "supported", *, cites: tuple[int, ...] = (), removed: bool = False,
           quote: str | None = None) -> Claim:
    evidence = Evidence(source="1", quote=quote, start=0, end=len(quote)) if quote else None
    return Claim(text=text, label=label, citations=list(cites), removed=removed, evidence=evidence)


def _citation(n: int, quote: str) -> Citation:
    return Citation(n=n, article_id="a", title="t", chunk_id=f"a:{n}", quote=quote)


def test_ratio_is_explicit_about_nothing_to_measure() -> None:
    assert Ratio(0, 0).value is None
    assert share([]).value is None
    assert share([True, False, True, True]).value == 0.75
    assert Ratio(1.5, 2).shown() == "1.50/2" and Ratio(3, 4).shown() == "3/4"


def test_fact_recall_counts_each_expected_fact_case_insensitively() -> None:
    assert facts_found(["Khiam", "bint  jbeil", "Tyre"], "It hit KHIAM and Bint Jbeil [1].") == [True, True, False]
    cases = [(["Khiam", "Bint Jbeil"], "Khiam [1]."), (["over 100"], "Over 100 rockets.")]
    assert fact_recall(cases) == Ratio(2, 3)
    assert fact_recall([]).value is None


def test_citation_pairs_take_the_quote_the_claim_rests_on_and_skip_removed_claims() -> None:
    answer = _answer(
        [_claim("A.", cites=(1,), quote="qa"), _claim("B.", cites=(1,), quote="qb"),
         _claim("C.", "unsupported", cites=(2,), removed=True), _claim("D.", cites=(7,))],
        [_citation(1, "qa"), _citation(1, "qb"), _citation(2, "qc")],
    )
    assert citation_pairs(answer) == [("A.", "qa"), ("B.", "qb")]


def test_citation_precision_judges_each_quote_against_its_claim() -> None:
    def judge(claim: str, quote: str) -> bool:
        return claim.rstrip(".") in quote

    pairs = [("Khiam was hit.", "Khiam was hit by strikes."), ("Tyre was hit.", "Khiam was hit by strikes.")]
    assert citation_precision(pairs, judge) == Ratio(1, 2)
    assert citation_precision([], judge).value is None


def test_citation_precision_with_the_real_checker_rejects_a_wrong_number() -> None:
    from assistant.schemas import SourceText

    checker = GroundingChecker()

    def judge(claim: str, quote: str) -> bool:
        return checker.verdict(claim, [SourceText(id="q", text=quote)]).label == "supported"

    quote = "On the morning of the strikes, Hezbollah launched over 100 Katyusha rockets."
    pairs = [("Hezbollah launched over 100 Katyusha rockets.", quote),
             ("Hezbollah launched over 300 Katyusha rockets.", quote)]
    assert citation_precision(pairs, judge) == Ratio(1, 2)


def test_citation_recall_accepts_containment_either_way_or_most_of_the_words() -> None:
    assert quote_overlaps(SUPPORT, SUPPORT)
    assert quote_overlaps(SUPPORT, "Earlier sentence. " + SUPPORT)  # a two-sentence window contains it
    assert quote_overlaps(SUPPORT, "including the areas of Khiam and Bint Jbeil")  # the quote is part of it
    half = " ".join(SUPPORT.split()[:10])
    assert not quote_overlaps(SUPPORT, half + " and something else entirely different here today")
    claim = "Khiam and Bint Jbeil were targeted in the south."
    assert quote_overlaps(claim, "Khiam and Bint Jbeil were targeted, the army said.")  # 7 of its 9 words
    assert not quote_overlaps(claim, "Khiam was quiet in the south today.")  # 4 of its 9 words
    assert not quote_overlaps(SUPPORT, "")
    cases: list[tuple[str, list[str]]] = [(SUPPORT, ["unrelated", SUPPORT]), (SUPPORT, ["The Sajjad Project."]),
                                          (SUPPORT, [])]
    assert citation_recall(cases) == Ratio(1, 3)


def test_grounded_claim_rate_counts_removed_claims_too() -> None:
    claims = [_claim("a"), _claim("b", "unsupported", removed=True), _claim("c", "contradicted"), _claim("d")]
    assert grounded_claim_rate(claims) == Ratio(2, 4)
    assert grounded_claim_rate([]).value is None


def test_retrieval_rank_hit_rate_and_mrr() -> None:
    chunks = ["Other text entirely.", "Lead in.  " + SUPPORT.replace("Khiam and", "Khiam\nand") + " More.", SUPPORT]
    assert support_rank(SUPPORT, chunks) == 2  # spacing differences do not hide the sentence
    assert support_rank(SUPPORT, chunks[:1]) is None
    ranks: list[int | None] = [1, 2, None, 4]
    assert hit_rate(ranks) == Ratio(3, 4)
    assert mean_reciprocal_rank(ranks).value == pytest.approx((1 + 0.5 + 0 + 0.25) / 4)
    assert mean_reciprocal_rank([]).value is None


def test_a_planted_error_is_caught_only_when_it_is_not_passed_as_supported() -> None:
    source = SEED_FILE.read_text(encoding="utf-8")
    true = "Hezbollah launched over 100 Katyusha rockets towards several Israeli military positions."
    wrong = "Hezbollah launched over 307 Katyusha rockets towards several Israeli military positions."
    removed = _answer([_claim(true), _claim(wrong, "contradicted", removed=True)], [])
    flagged = _answer([_claim(wrong, "unsupported")], [])
    passed = _answer([_claim(true), _claim(wrong)], [])
    assert planted_error_caught(removed, source) and planted_error_caught(flagged, source)
    assert not planted_error_caught(passed, source)
    fifth = "Israeli jets have carried out airstrikes in Lebanon’s Bekaa Valley for a fifth consecutive day."
    half_caught = _answer([_claim(wrong, "contradicted", removed=True), _claim(fifth)], [])
    assert not planted_error_caught(half_caught, source)
    assert planted_error_caught(_answer([_claim(wrong)], [], abstained=True), source)


def test_missed_thresholds_name_the_metric_and_treat_nothing_measured_as_missed() -> None:
    missed = missed_thresholds({"fact_recall": 0.71, "answer_rate": 1.0, "retrieval_mrr": None},
                               {"fact_recall": 0.8, "answer_rate": 0.9, "retrieval_mrr": 0.5})
    assert [m.line() for m in missed] == ["missed: fact_recall 0.71 < 0.80",
                                          "missed: retrieval_mrr n/a (nothing to measure) < 0.50"]
