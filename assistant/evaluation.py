"""The eval harness: questions with known answers run through the real answer path, scored, gated.

Every metric is a small function on plain inputs, read as its algorithm, with the empty case
an explicit "nothing to measure" (``Ratio.value is None``) rather than an exception or a
flattering 1.0. ``run_eval`` wires them to an ``Assistant`` that the caller built.

Example::

    >>> bot = Assistant.from_settings(eval_settings(Settings(llm="fake"), data_dir=Path("/tmp/e")))  # doctest: +SKIP
    >>> report = run_eval(bot, evals_dir=Path("evals"), out_dir=Path("evals/reports"), llm="fake")  # doctest: +SKIP
    >>> report.missed                                                                        # doctest: +SKIP
    []
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import InputError
from assistant.providers import chat_backend
from assistant.schemas import Answer, Claim, SourceText
from assistant.service import Assistant
from assistant.settings import Settings

Kind = Literal["answerable", "unanswerable", "off_topic"]
Judge = Callable[[str, str], bool]  # (claim, quote) -> the quote supports the claim
Progress = Callable[[int, int, str], None]
DATASETS: tuple[Kind, ...] = ("answerable", "unanswerable", "off_topic")
METRICS: tuple[str, ...] = (
    "fact_recall", "citation_precision", "citation_recall", "abstention_accuracy", "answer_rate",
    "grounded_claim_rate", "retrieval_hit_rate", "retrieval_mrr", "planted_error_catch_rate",
)
BRIEF_METRICS = ("brief_fact_coverage", "brief_grounded_fraction", "brief_lint_clean", "brief_parties_covered")
METRICS += BRIEF_METRICS
MIN_TOKEN_OVERLAP = 0.6
_TOKEN = re.compile(r"[a-z0-9]+")


# -- datasets and thresholds --------------------------------------------------------------------


class EvalItem(BaseModel):
    """One question of a dataset file; answerable ones carry the facts and the supporting sentence."""

    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    facts: list[str] = Field(default_factory=list, description="Strings an answer must contain (any case).")
    support: str | None = Field(default=None, description="The verbatim source sentence that answers it.")
    kind: Kind = "answerable"


def load_items(evals_dir: Path) -> list[EvalItem]:
    """Every question of ``answerable.jsonl``, ``unanswerable.jsonl`` and ``off_topic.jsonl``."""
    items: list[EvalItem] = []
    for kind in DATASETS:
        path = evals_dir / f"{kind}.jsonl"
        if not path.is_file():
            raise InputError(f"{path} not found; pass --evals-dir with the folder of the eval datasets")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = EvalItem.model_validate({**json.loads(line), "kind": kind})
            except (ValueError, ValidationError) as exc:
                raise InputError(f"{path}:{number}: not a valid eval item ({exc.__class__.__name__}); fix it") from exc
            if kind == "answerable" and (not item.facts or not item.support):
                raise InputError(f"{path}:{number}: an answerable item needs 'facts' and 'support'")
            items.append(item)
    return items


def load_thresholds(evals_dir: Path, llm: str) -> dict[str, float]:
    """The minimum per metric for ``llm`` from ``thresholds.json`` (keys starting with '_' are notes)."""
    path = evals_dir / "thresholds.json"
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} ({exc}); it holds the minimum of each metric per llm") from exc
    floors = table.get(llm, {})
    unknown = sorted(set(floors) - set(METRICS))
    if unknown:
        raise InputError(f"{path}: unknown metric(s) for '{llm}': {', '.join(unknown)}; known: {', '.join(METRICS)}")
    return {name: float(value) for name, value in floors.items()}


def eval_settings(settings: Settings, *, data_dir: Path) -> Settings:
    """The run's settings: a fresh store in ``data_dir`` (never the user's), fake embeddings for the fake llm.

    The fake llm keeps embeddings the user set explicitly (ASSISTANT_EMBEDDINGS or --embeddings).
    """
    update: dict[str, object] = {"data_dir": data_dir, "chroma_host": None, "chroma_port": None, "collection": "eval"}
    if settings.resolved_llm() == "fake" and "embeddings" not in settings.model_fields_set:
        update["embeddings"] = "fake"
    return settings.model_copy(update=update)


# -- metrics ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """``hits`` out of ``total``; ``value`` is None when there was nothing to measure."""

    hits: float
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def shown(self) -> str:
        hits = f"{self.hits:g}" if self.hits == int(self.hits) else f"{self.hits:.2f}"
        return f"{hits}/{self.total}"


def share(flags: Sequence[bool]) -> Ratio:
    """The share of true flags."""
    return Ratio(sum(flags), len(flags))


def facts_found(facts: Sequence[str], answer: str) -> list[bool]:
    """Per expected fact: does the answer text contain it (ignoring case and spacing)?"""
    text = _squash(answer)
    return [_squash(fact) in text for fact in facts]


def fact_recall(cases: Sequence[tuple[Sequence[str], str]]) -> Ratio:
    """Share of all expected facts present in their answers; ``cases`` are (facts, answer text)."""
    found = [hit for facts, answer in cases for hit in facts_found(facts, answer)]
    return share(found)


def citation_pairs(answer: Answer) -> list[tuple[str, str]]:
    """(claim, quote) for each citation a kept claim makes; the quote is its evidence when it cites two."""
    pairs: list[tuple[str, str]] = []
    for claim in answer.claims:
        if claim.removed:
            continue
        for n in claim.citations:
            cited = [c for c in answer.citations if c.n == n]
            evidence = claim.evidence.quote if claim.evidence else None
            chosen = next((c for c in cited if c.quote == evidence), cited[0] if cited else None)
            if chosen is not None:
                pairs.append((claim.text, chosen.quote))
    return pairs


def citation_precision(pairs: Sequence[tuple[str, str]], judge: Judge) -> Ratio:
    """Share of (claim, quote) citations where the quote alone supports the claim."""
    return share([judge(claim, quote) for claim, quote in pairs])


def quote_overlaps(support: str, quote: str) -> bool:
    """The cited quote is the support sentence: one contains the other, or it has >=60% of its words."""
    a, b = _squash(support), _squash(quote)
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    wanted = set(_TOKEN.findall(a))
    return bool(wanted) and len(wanted & set(_TOKEN.findall(b))) / len(wanted) >= MIN_TOKEN_OVERLAP


def support_cited(support: str, quotes: Sequence[str]) -> bool:
    """Does any cited quote overlap the support sentence?"""
    return any(quote_overlaps(support, quote) for quote in quotes)


def citation_recall(cases: Sequence[tuple[str, Sequence[str]]]) -> Ratio:
    """Share of answerable questions whose support sentence is cited; ``cases`` are (support, quotes)."""
    return share([support_cited(support, quotes) for support, quotes in cases])


def grounded_claim_rate(claims: Sequence[Claim]) -> Ratio:
    """Share of all claims, removed ones included, that the checker labelled supported."""
    return share([claim.label == "supported" for claim in claims])


def support_rank(support: str, chunk_texts: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved chunk containing the support sentence; None when none does."""
    wanted = _squash(support)
    return next((rank for rank, text in enumerate(chunk_texts, start=1) if wanted in _squash(text)), None)


def hit_rate(ranks: Sequence[int | None]) -> Ratio:
    """Share of questions whose support sentence was retrieved at all."""
    return share([rank is not None for rank in ranks])


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> Ratio:
    """Mean of 1/rank over questions, 0 for a question whose support was not retrieved."""
    return Ratio(sum(1.0 / rank for rank in ranks if rank), len(ranks))


def planted_claims(claims: Sequence[Claim], source_text: str) -> list[Claim]:
    """Claims that are not verbatim in the sources: the fake model's planted errors."""
    source = _squash(source_text)
    return [claim for claim in claims if _squash(claim.text).rstrip(".") not in source]


def planted_error_caught(answer: Answer, source_text: str) -> bool:
    """True when no planted claim passed as supported: the answer abstained, or each one was labelled."""
    if answer.abstained:
        return True
    return all(claim.label != "supported" for claim in planted_claims(answer.claims, source_text))


def _squash(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").lower().split())


# -- running ------------------------------------------------------------------------------------


class Row(BaseModel):
    """One question's outcome, as written to ``report.json``."""

    id: str
    kind: Kind
    question: str
    answer: str
    abstained: bool
    note: str = ""
    seconds: float
    citations: list[dict[str, object]] = Field(default_factory=list)
    claims: list[dict[str, object]] = Field(default_factory=list)
    facts_found: dict[str, bool] = Field(default_factory=dict)
    support_cited: bool | None = None
    support_rank: int | None = None
    passed: bool
    failures: list[str] = Field(default_factory=list)


class Missed(BaseModel):
    """A metric below its minimum (or with nothing to measure)."""

    metric: str
    value: float | None
    minimum: float

    def line(self) -> str:
        shown = "n/a (nothing to measure)" if self.value is None else f"{self.value:.2f}"
        return f"missed: {self.metric} {shown} < {self.minimum:.2f}"


class EvalReport(BaseModel):
    """All metrics, thresholds and per-question rows of one run."""

    llm: str
    model: str
    embeddings: str
    started: str
    seconds: float
    metrics: dict[str, float | None]
    counts: dict[str, str] = Field(description="hits/total behind each metric")
    thresholds: dict[str, float]
    missed: list[Missed]
    rows: list[Row]
    planted: list[Row] = Field(default_factory=list, description="The errors-mode pass of the fake model.")
    files: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class _Asked:
    item: EvalItem
    answer: Answer
    seconds: float
    chunk_texts: list[str]


def _ask_all(bot: Assistant, items: Sequence[EvalItem], progress: Progress | None) -> list[_Asked]:
    asked: list[_Asked] = []
    for done, item in enumerate(items, start=1):
        began = time.perf_counter()
        answer = bot.ask(item.question)
        seconds = time.perf_counter() - began
        chunks = bot.store.get_chunks(answer.retrieval.chunk_ids)
        asked.append(_Asked(item, answer, round(seconds, 3), [c.text for c in chunks]))
        if progress is not None:
            progress(done, len(items), item.id)
    return asked


def _judge(bot: Assistant) -> Judge:
    def supports(claim: str, quote: str) -> bool:
        return bot.checker.verdict(claim, [SourceText(id="q", text=quote)]).label == "supported"

    return supports


def _citations(answer: Answer) -> list[dict[str, object]]:
    return [{"n": c.n, "chunk_id": c.chunk_id, "quote": c.quote} for c in answer.citations]


def _claims(answer: Answer) -> list[dict[str, object]]:
    return [{"text": c.text, "label": c.label, "removed": c.removed, "reason": c.reason} for c in answer.claims]


def _row(asked: _Asked, judge: Judge) -> Row:
    item, answer = asked.item, asked.answer
    failures: list[str] = []
    found: dict[str, bool] = {}
    cited: bool | None = None
    rank: int | None = None
    if item.kind == "answerable":
        assert item.support is not None
        found = dict(zip(item.facts, facts_found(item.facts, answer.answer), strict=True))
        cited = support_cited(item.support, [c.quote for c in answer.citations])
        rank = support_rank(item.support, asked.chunk_texts)
        failures += ["abstained"] if answer.abstained else []
        failures += [f"missing fact: {fact}" for fact, hit in found.items() if not hit]
        failures += [] if cited else ["support sentence not cited"]
        failures += [] if rank else ["support sentence not retrieved"]
    elif not answer.abstained:
        failures.append("answered where it should abstain")
    failures += [f"citation does not support: {claim} <- {quote}"
                 for claim, quote in citation_pairs(answer) if not judge(claim, quote)]
    failures += [f"kept {c.label} claim: {c.text}" for c in answer.claims if not c.removed and c.label != "supported"]
    return Row(
        id=item.id, kind=item.kind, question=item.question, answer=answer.answer, abstained=answer.abstained,
        note=answer.note, seconds=asked.seconds, facts_found=found, support_cited=cited, support_rank=rank,
        citations=_citations(answer), claims=_claims(answer),
        passed=not failures, failures=failures,
    )


def _metrics(asked: Sequence[_Asked], judge: Judge) -> dict[str, Ratio]:
    answerable = [a for a in asked if a.item.kind == "answerable"]
    others = [a for a in asked if a.item.kind != "answerable"]
    supports = [a.item.support or "" for a in answerable]
    ranks = [support_rank(s, a.chunk_texts) for s, a in zip(supports, answerable, strict=True)]
    return {
        "fact_recall": fact_recall([(a.item.facts, a.answer.answer) for a in answerable]),
        "citation_precision": citation_precision([p for a in asked for p in citation_pairs(a.answer)], judge),
        "citation_recall": citation_recall(
            [(s, [c.quote for c in a.answer.citations]) for s, a in zip(supports, answerable, strict=True)]
        ),
        "abstention_accuracy": share([a.answer.abstained for a in others]),
        "answer_rate": share([not a.answer.abstained for a in answerable]),
        "grounded_claim_rate": grounded_claim_rate([c for a in asked for c in a.answer.claims]),
        "retrieval_hit_rate": hit_rate(ranks),
        "retrieval_mrr": mean_reciprocal_rank(ranks),
    }


def _planted_row(asked: _Asked, source_text: str) -> Row:
    answer = asked.answer
    passed = [c.text for c in planted_claims(answer.claims, source_text) if c.label == "supported"]
    caught = planted_error_caught(answer, source_text)
    return Row(
        id=asked.item.id, kind=asked.item.kind, question=asked.item.question, answer=answer.answer,
        abstained=answer.abstained, note=answer.note, seconds=asked.seconds,
        citations=_citations(answer), claims=_claims(answer),
        passed=caught, failures=[] if caught else [f"planted error passed as supported: {t}" for t in passed],
    )


def _planted_pass(bot: Assistant, items: Sequence[EvalItem], source_text: str) -> tuple[Ratio, list[Row]]:
    """Ask the answerable questions again with the fake model planting one wrong fact per sentence."""
    original = bot.chat
    bot.chat = chat_backend(bot.settings.model_copy(update={"llm": "fake", "fake_llm_mode": "errors"}))
    try:
        asked = _ask_all(bot, [i for i in items if i.kind == "answerable"], None)
    finally:
        bot.chat = original
    rows = [_planted_row(a, source_text) for a in asked]
    return share([r.passed for r in rows]), rows


def missed_thresholds(metrics: dict[str, float | None], thresholds: dict[str, float]) -> list[Missed]:
    """Each metric under its minimum; a gated metric with nothing to measure is missed too."""
    missed = []
    for name, minimum in thresholds.items():
        value = metrics.get(name)
        if value is None or value < minimum:
            missed.append(Missed(metric=name, value=value, minimum=minimum))
    return missed


def run_eval(
    bot: Assistant, *, evals_dir: Path, out_dir: Path, llm: str, progress: Progress | None = None
) -> EvalReport:
    """Ingest the seeds, ask every question, score, write the reports; ``report.missed`` lists missed floors."""
    items = load_items(evals_dir)
    thresholds = load_thresholds(evals_dir, llm)
    started, began = datetime.now(UTC).isoformat(timespec="seconds"), time.perf_counter()
    ingested = bot.ingest([bot.settings.seeds_dir])
    if ingested.errors or bot.is_empty():
        raise InputError(f"cannot ingest the seeds from {bot.settings.seeds_dir}: {'; '.join(ingested.errors)}")
    judge = _judge(bot)
    asked = _ask_all(bot, items, progress)
    ratios = _metrics(asked, judge)
    planted: list[Row] = []
    if llm == "fake":
        source_text = " ".join(c.text for c in bot.store.all_chunks())
        ratios["planted_error_catch_rate"], planted = _planted_pass(bot, items, source_text)
    ratios.update(brief_ratios(bot, evals_dir))
    metrics = {name: ratios[name].value for name in METRICS if name in ratios}
    report = EvalReport(
        llm=llm, model=bot.chat.name, embeddings=bot.embedding.name, started=started,
        seconds=round(time.perf_counter() - began, 1), metrics=metrics,
        counts={name: ratio.shown() for name, ratio in ratios.items()},
        thresholds=thresholds, missed=missed_thresholds(metrics, thresholds),
        rows=[_row(a, judge) for a in asked], planted=planted,
    )
    return report.model_copy(update={"files": [str(p) for p in write_reports(report, out_dir)]})


# -- briefs -------------------------------------------------------------------------------------


class BriefFacts(BaseModel):
    """``evals/brief_facts.json``: the seed article's key facts that its brief should state."""

    model_config = ConfigDict(extra="forbid")

    article: str = Field(description="File name of the seed article under the seeds folder.")
    facts: list[str] = Field(min_length=1)


def load_brief_facts(evals_dir: Path) -> BriefFacts:
    """The key facts file; a missing or malformed one says what to fix."""
    path = evals_dir / "brief_facts.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw.pop("_comment", None)
        return BriefFacts.model_validate(raw)
    except (OSError, ValueError, ValidationError) as exc:
        raise InputError(f"cannot read {path} ({exc.__class__.__name__}); it lists the seed brief's key facts") from exc


def brief_fact_coverage(facts: Sequence[str], statements: Sequence[str]) -> Ratio:
    """Share of the key facts stated (case-insensitive) by at least one shipped statement."""
    text = _squash(" ".join(statements))
    return share([_squash(f) in text for f in facts])


def parties_covered(in_sources: Sequence[str], in_positions: Sequence[str]) -> Ratio:
    """Share of the parties quoted in the sources that the brief gives a position."""
    given = {p.lower() for p in in_positions}
    return share([p.lower() in given for p in in_sources])


def brief_ratios(bot: Assistant, evals_dir: Path) -> dict[str, Ratio]:
    """Brief the seed article and score it: key facts, grounded fraction, loaded terms, parties.

    Without ``brief_facts.json`` there is nothing to measure: the brief metrics are left out (and a gated one
    is reported as missed).
    """
    if not (evals_dir / "brief_facts.json").is_file():
        return {}
    wanted = load_brief_facts(evals_dir)
    ids = sorted(bot.store.path_article_ids(str(bot.settings.seeds_dir / wanted.article)))
    if not ids:
        raise InputError(f"the seed {wanted.article} named in {evals_dir}/brief_facts.json is not in the seeds")
    brief = bot.brief(ids)
    statements = [s.text for s in brief.statements()]
    return {
        "brief_fact_coverage": brief_fact_coverage(wanted.facts, statements),
        "brief_grounded_fraction": Ratio(brief.grounded_fraction, 1),
        "brief_lint_clean": share([not any(h.text == t for h in brief.lint.hits) for t in statements]),
        "brief_parties_covered": parties_covered(brief.lint.parties_in_sources, brief.lint.parties_in_positions),
    }


# -- reports ------------------------------------------------------------------------------------


def render_table(report: EvalReport) -> str:
    """The metrics against their thresholds as a Markdown table."""
    missed = {m.metric for m in report.missed}
    lines = ["| metric | value | count | threshold | status |", "| --- | ---: | ---: | ---: | --- |"]
    for name, value in report.metrics.items():
        minimum = report.thresholds.get(name)
        status = "—" if minimum is None else ("MISSED" if name in missed else "ok")
        shown = "n/a" if value is None else f"{value:.2f}"
        floor = "—" if minimum is None else f"{minimum:.2f}"
        lines.append(f"| {name} | {shown} | {report.counts.get(name, '')} | {floor} | {status} |")
    return "\n".join(lines)


def render_markdown(report: EvalReport) -> str:
    """``report.md``: what ran, the metrics table, then every failed question and why."""
    passed = sum(r.passed for r in report.rows)
    lines = [
        f"# Eval report: llm `{report.llm}`",
        "",
        f"- model: {report.model}; embeddings: {report.embeddings}",
        f"- started {report.started}, took {report.seconds:.1f} s; {passed}/{len(report.rows)} questions passed",
        "",
        render_table(report),
        "",
    ]
    lines += [m.line() for m in report.missed] or ["All thresholds met."]
    failed = [(r.id, r) for r in report.rows if not r.passed]
    failed += [(f"{r.id} (planted errors)", r) for r in report.planted if not r.passed]
    lines += ["", "## Failures", ""] + (["None."] if not failed else [])
    for label, row in failed:
        lines += [f"### {label}: {row.question}", "", f"Answer: {row.answer}", ""]
        if row.note:
            lines += [f"Abstained because: {row.note}", ""]
        lines += [f"- {failure}" for failure in row.failures] + [""]
    return "\n".join(lines).rstrip() + "\n"


def render_chart(report: EvalReport, path: Path) -> None:
    """A horizontal bar per metric, its threshold marked, written as PNG with the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report.metrics)
    values = [report.metrics[n] or 0.0 for n in names]
    missed = {m.metric for m in report.missed}
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.2))
    ax.barh(names, values, color=["#c0392b" if n in missed else "#2e86c1" for n in names])
    for i, name in enumerate(names):
        if name in report.thresholds:
            ax.plot([report.thresholds[name]] * 2, [i - 0.4, i + 0.4], color="black", linewidth=2)
        ax.text(values[i] + 0.01, i, "n/a" if report.metrics[name] is None else f"{values[i]:.2f}",
                va="center", fontsize=8)
    ax.set_xlim(0, 1.1)
    ax.invert_yaxis()
    ax.set_title(f"eval, llm {report.llm}: {report.model}\n(black bar = threshold)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_reports(report: EvalReport, out_dir: Path) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``report.png`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "report.png"]
    paths[0].write_text(report.model_dump_json(indent=2), encoding="utf-8")
    paths[1].write_text(render_markdown(report), encoding="utf-8")
    render_chart(report, paths[2])
    return paths
