"""The RGB eval set: the answer path on news questions that no one here wrote.

RGB's ``en_fact.json`` (Chen et al., AAAI 2024; CC BY-NC-SA 4.0, evaluation use only) is read at run time from
``../shared/benchmarks/rgb/`` (or ``--rgb-file``) and never copied. Each of its 100 questions is asked twice, each
time on a fresh in-memory store holding one article per passage:

- ``mixed``: its positive passages (which state the answer) and its negative ones (search snippets that do not);
  the answer is right when it contains RGB's answer (every part, in one of its spellings).
- ``negative``: its negative passages only; the assistant should abstain. An answer there that carries a
  citation and lacks RGB's answer is a wrong answer passed off as sourced.

The questions are split in two fixed halves by id: even ids are the ``tune`` half (look at failures and adjust
here), odd ids the ``report`` half (only measured). Both are reported, each on its own.

Example::

    >>> report = run_rgb(settings, path=Path("../shared/benchmarks/rgb/en_fact.json"), half="report")  # doctest: +SKIP
    >>> report.halves["report"].accuracy                                                             # doctest: +SKIP
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.answer_candidates import date_key, dates_in
from assistant.answer_facts import states
from assistant.errors import InputError
from assistant.grounding import GroundingChecker
from assistant.judge import Grounder, LLMJudge
from assistant.providers import ChatBackend, EmbeddingBackend, chat_backend, embedding_backend
from assistant.schemas import Answer
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import ArticleStore

Half = Literal["tune", "report"]
HALVES: tuple[Half, ...] = ("tune", "report")
DEFAULT_RGB_FILE = Path("../shared/benchmarks/rgb/en_fact.json")
Progress = Callable[[int, int, str], None]


class RgbRecord(BaseModel):
    """One line of ``en_fact.json``."""

    model_config = ConfigDict(extra="forbid")

    id: int
    query: str
    answer: str | list[str | list[str]] = Field(description="The answer, or its parts, each with its spellings.")
    fakeanswer: str
    positive: list[str]
    positive_wrong: list[str]
    negative: list[str]

    @property
    def half(self) -> Half:
        """Even ids tune, odd ids report."""
        return "tune" if self.id % 2 == 0 else "report"

    def parts(self) -> list[list[str]]:
        """The answer's parts, each as its accepted spellings."""
        if isinstance(self.answer, str):
            return [[self.answer]]
        return [[p] if isinstance(p, str) else list(p) for p in self.answer]

    def found_in(self, text: str) -> bool:
        """True when every part of the answer appears in ``text`` (case-insensitive): RGB's own scoring."""
        low = text.lower()
        return all(any(s.lower() in low for s in part) for part in self.parts())

    def found_loosely(self, text: str) -> bool:
        """``found_in``, or every part stated in another spelling: a date naming the same day ("Sunday August
        22nd" for "August 22, 2021"), a name by half its words in any order ("Liu Yifei" for "Yifei Liu"). A
        second figure beside RGB's, never in its place."""
        return self.found_in(text) or all(any(_stated(s, text) for s in part) for part in self.parts())


def _stated(spelling: str, text: str) -> bool:
    """``text`` gives the answer ``spelling`` in another form; a date only with its day (and no other year)."""
    key = date_key(spelling)
    if key is None:
        return states(spelling, text)
    return any(k[1] == key[1] and k[2] is not None and k[2] == key[2] and k[0] in (None, key[0])
               for k in dates_in(text))


class RgbRow(BaseModel):
    """One question's two runs."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(description="RGB's id; the questions and passages themselves are not written anywhere.")
    half: Half
    mixed_abstained: bool
    correct: bool
    mixed_words: int
    negative_abstained: bool
    wrong_with_citation: bool
    seconds: float
    correct_any_spelling: bool = Field(
        default=False, description="As ``correct``, the answer in another spelling counting too (second figure).")
    wrong_any_spelling: bool = Field(
        default=False, description="As ``wrong_with_citation``, an answer in another spelling not counting as wrong.")


class RgbHalf(BaseModel):
    """The figures of one half."""

    model_config = ConfigDict(extra="forbid")

    questions: int
    accuracy: float | None = Field(description="Share of mixed runs whose answer contains RGB's answer.")
    mixed_answer_rate: float | None
    negative_rejection: float | None = Field(description="Share of negative-only runs that abstained.")
    wrong_with_citation_per_100: float | None = Field(description="Negative-only answers with a citation, per 100.")
    median_words: float | None = Field(description="Median words of the mixed runs' answers (abstentions left out).")
    seconds_per_question: float | None
    accuracy_any_spelling: float | None = Field(
        default=None, description="Second figure, not RGB's: accuracy with answers in another spelling counted.")
    wrong_any_spelling_per_100: float | None = Field(
        default=None, description="Second figure, not RGB's: wrong+cited with answers in another spelling not wrong.")


class RgbReport(BaseModel):
    """What ``assistant eval --set rgb`` writes."""

    model_config = ConfigDict(extra="forbid")

    llm: str
    model: str
    answer_style: str
    file: str
    halves: dict[str, RgbHalf]
    rows: list[RgbRow]


def load_rgb(path: Path) -> list[RgbRecord]:
    """The records of RGB's ``en_fact.json`` (JSON Lines despite the name)."""
    if not path.is_file():
        raise InputError(f"RGB data not found at {path}; pass --rgb-file PATH (it lives in ../shared/benchmarks/rgb/)")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                records.append(RgbRecord.model_validate(json.loads(line)))
            except (ValueError, ValidationError) as exc:
                raise InputError(
                    f"{path}:{number}: not an RGB fact record ({type(exc).__name__}); is it en_fact.json?"
                ) from exc
    return records


def run_rgb(
    settings: Settings,
    *,
    path: Path,
    half: Half | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> RgbReport:
    """Ask every selected question on its mixed and its negative passages; the report per half."""
    records = [r for r in load_rgb(path) if half is None or r.half == half][:limit]
    embedding = embedding_backend(settings)
    chat = chat_backend(settings)
    offline = GroundingChecker(embeddings=embedding.embeddings)
    checker: Grounder = LLMJudge(model=chat.model, offline=offline) if settings.grounding_judge == "llm" else offline
    rows = []
    for done, record in enumerate(records, start=1):
        rows.append(_row(record, settings=settings, embedding=embedding, chat=chat, checker=checker))
        if progress is not None:
            progress(done, len(records), f"question {record.id}")
    halves = {h: half_figures([r for r in rows if r.half == h]) for h in HALVES if any(r.half == h for r in rows)}
    return RgbReport(llm=settings.resolved_llm(), model=chat.name, answer_style=settings.resolved_answer_style(),
                     file=str(path), halves=halves, rows=rows)


def _row(
    record: RgbRecord, *, settings: Settings, embedding: EmbeddingBackend, chat: ChatBackend, checker: Grounder
) -> RgbRow:
    started = time.perf_counter()
    mixed = _ask(record.query, [*record.positive, *record.negative], settings=settings, embedding=embedding,
                 chat=chat, checker=checker)
    seconds = time.perf_counter() - started
    negative = _ask(record.query, record.negative, settings=settings, embedding=embedding, chat=chat,
                    checker=checker)
    return RgbRow(
        id=record.id, half=record.half, mixed_abstained=mixed.abstained,
        correct=not mixed.abstained and record.found_in(mixed.answer), mixed_words=len(mixed.answer.split()),
        negative_abstained=negative.abstained,
        wrong_with_citation=(not negative.abstained and bool(negative.citations)
                             and not record.found_in(negative.answer)),
        seconds=round(seconds, 3),
        correct_any_spelling=not mixed.abstained and record.found_loosely(mixed.answer),
        wrong_any_spelling=(not negative.abstained and bool(negative.citations)
                            and not record.found_loosely(negative.answer)),
    )


def _ask(
    query: str, passages: Sequence[str], *, settings: Settings, embedding: EmbeddingBackend, chat: ChatBackend,
    checker: Grounder,
) -> Answer:
    """``query`` asked of a fresh store holding one article per passage."""
    with passage_store(passages, settings=settings, embedding=embedding, chat=chat, checker=checker) as bot:
        return bot.ask(query)


@contextmanager
def passage_store(
    passages: Sequence[str], *, settings: Settings, embedding: EmbeddingBackend, chat: ChatBackend,
    checker: Grounder,
) -> Iterator[Assistant]:
    """An assistant over a fresh in-memory store holding one article per passage (the tuning harness shares it)."""
    with tempfile.TemporaryDirectory(prefix="assistant-rgb-") as tmp:
        folder = Path(tmp)
        for i, text in enumerate(passages):
            if text.strip():
                (folder / f"passage_{i:02d}.txt").write_text(" ".join(text.split()) + "\n", encoding="utf-8")
        store = ArticleStore.ephemeral(embeddings=embedding.embeddings, embedding_model=embedding.name,
                                       dimension=embedding.dimension, name="rgb")
        with Assistant(settings=settings, store=store, embedding=embedding, chat=chat, checker=checker) as bot:
            bot.ingest([folder])
            yield bot


def half_figures(rows: Sequence[RgbRow]) -> RgbHalf:
    """The figures of these rows (a half, or any part of one: the benchmarks count their subsets with it too)."""
    n = len(rows)
    answered = [r for r in rows if not r.mixed_abstained]
    return RgbHalf(
        questions=n,
        accuracy=_share(sum(r.correct for r in rows), n),
        mixed_answer_rate=_share(len(answered), n),
        negative_rejection=_share(sum(r.negative_abstained for r in rows), n),
        wrong_with_citation_per_100=round(100 * sum(r.wrong_with_citation for r in rows) / n, 1) if n else None,
        median_words=statistics.median(r.mixed_words for r in answered) if answered else None,
        seconds_per_question=round(sum(r.seconds for r in rows) / n, 2) if n else None,
        accuracy_any_spelling=_share(sum(r.correct_any_spelling for r in rows), n),
        wrong_any_spelling_per_100=round(100 * sum(r.wrong_any_spelling for r in rows) / n, 1) if n else None,
    )


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def render_rgb(report: RgbReport) -> str:
    """The figures per half as a markdown table."""
    lines = [
        f"RGB en_fact ({report.llm}: {report.model}, answer style {report.answer_style})",
        "",
        "| half | questions | accuracy (mixed) | answered (mixed) | negative rejection | wrong+cited /100 "
        "| median words | s/question (mixed) | accuracy, any spelling* | wrong+cited, any spelling* /100 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, h in report.halves.items():
        lines.append(f"| {name} | {h.questions} | {_fmt(h.accuracy)} | {_fmt(h.mixed_answer_rate)} | "
                     f"{_fmt(h.negative_rejection)} | {_fmt(h.wrong_with_citation_per_100)} | "
                     f"{_fmt(h.median_words)} | {_fmt(h.seconds_per_question)} | {_fmt(h.accuracy_any_spelling)} | "
                     f"{_fmt(h.wrong_any_spelling_per_100)} |")
    lines += ["", "*A second figure, not RGB's scoring: an answer giving RGB's answer in another spelling (a date "
                  "naming the same day, a name by half its words) counts as right."]
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


class RgbFloors(BaseModel):
    """Gate of one llm on the report half (``evals/rgb_thresholds.json``)."""

    model_config = ConfigDict(extra="forbid")

    accuracy: float = Field(ge=0, le=1)
    negative_rejection: float = Field(ge=0, le=1)
    max_wrong_with_citation_per_100: float = Field(ge=0, le=100)


def missed_rgb(report: RgbReport, thresholds: Path) -> list[str]:
    """One line per figure of the report half below its floor; none when no floor is set for this llm."""
    try:
        table = json.loads(thresholds.read_text(encoding="utf-8"))
        floors = RgbFloors.model_validate(table[report.llm]) if report.llm in table else None
    except (OSError, ValueError, ValidationError) as exc:
        raise InputError(f"cannot read {thresholds} ({type(exc).__name__}); it holds the RGB floors per llm") from exc
    result = report.halves.get("report")
    if floors is None or result is None:
        return []
    missed = []
    if (result.accuracy or 0.0) < floors.accuracy:
        missed.append(f"missed: accuracy {result.accuracy} < {floors.accuracy}")
    if (result.negative_rejection or 0.0) < floors.negative_rejection:
        missed.append(f"missed: negative_rejection {result.negative_rejection} < {floors.negative_rejection}")
    wrong = result.wrong_with_citation_per_100 or 0.0
    if wrong > floors.max_wrong_with_citation_per_100:
        missed.append(f"missed: wrong_with_citation_per_100 {wrong} > {floors.max_wrong_with_citation_per_100}")
    return missed


def write_rgb(report: RgbReport, out_dir: Path) -> list[Path]:
    """``rgb.json`` and ``rgb.md`` in ``out_dir``, each written whole (a temporary file renamed into place)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("rgb.json", report.model_dump_json(indent=2)), ("rgb.md", render_rgb(report) + "\n")):
        target = out_dir / name
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
        written.append(target)
    return written
