"""Benchmark on RGB's counterfactual set (en_fact.json): negative rejection and counterfactual detection.

Usage::

    python bench/rgb.py                                  # SmolLM2 + MiniLM, what a user runs offline
    python bench/rgb.py --limit 100 --json               # negative rejection on every question (slow on CPU)
    python bench/rgb.py --llm fake --embeddings fake --limit 3 --json   # quick smoke run
    python bench/rgb.py --only counterfactual            # the checker part alone (fast)

The data file (CC BY-NC-SA 4.0) is read from ``../shared/benchmarks/rgb/`` at run time and never
copied; nothing of it is written anywhere unless ``--dump FILE`` is given (keep that file outside
the project).

1. Negative rejection (the answer path). For each question, a fresh in-memory store receives ONLY
   the question's ``negative`` passages (search snippets that do not contain the answer), each
   ingested as one article with ``Assistant.ingest``; the question goes through ``Assistant.ask``
   unchanged. ``negative_rejection_rate`` is the share of questions the assistant abstained on.
   With ``--llm local`` the default is the first 30 questions (SmolLM2 takes 10-20 s a question on
   CPU); ``--limit N`` changes that. Other models default to all questions.

2. Counterfactual detection (the grounding checker, no LLM). RGB's ``positive_wrong`` passages are
   its ``positive`` passages with the true answer replaced by ``fakeanswer``. The benchmark writes
   the answer sentence that states the known, true fact and runs ``GroundingChecker.check`` on it
   against the counterfactual passages: the checker should flag it (any claim not ``supported``).
   As a control the same sentence is checked against the ``positive`` passages, which state the
   true fact: it should be ``supported``. The answer sentence is the question turned into a
   statement with the true answer by a few rules on the question's form ("Who won X?" ->
   "<answer> won X.", "What was X?" -> "X was <answer>.", "When was X released?" -> "X was
   released on <answer>.", a keyword query "X" -> "X is <answer>."); questions no rule fits get
   the template 'The answer to the question "<question>" is <answer>.' (``--statement template``
   uses the template for every question). A date answer given in several spellings uses the first
   spelling found in the positive passages. ``answer_string_baseline`` is what plain string
   matching of the true answer against the passages scores on the same items, for scale.
   ``ms_per_item`` is one check (one sentence against one question's passages), including the
   first-time embedding of those passages' sentences; ``ms_per_item_sources_cached`` is a second
   pass over the same items with every passage already embedded.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.errors import AssistantError  # noqa: E402
from assistant.grounding import GroundingChecker  # noqa: E402
from assistant.judge import Grounder, LLMJudge  # noqa: E402
from assistant.providers import ChatBackend, EmbeddingBackend, chat_backend, embedding_backend  # noqa: E402
from assistant.schemas import Answer, GroundingReport, SourceText  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.store import ArticleStore  # noqa: E402
from bench.common import machine, table  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "rgb" / "en_fact.json"
LOCAL_NEGATIVE_LIMIT = 30
Progress = Callable[[str], None]


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Record:
    """One RGB query with its passages; ``answer`` holds the parts of the true answer, each with its spellings."""

    id: int
    query: str
    answer: tuple[tuple[str, ...], ...]
    fake: str
    positive: tuple[str, ...]
    counterfactual: tuple[str, ...]
    negative: tuple[str, ...]


def _answer_parts(value: object) -> tuple[tuple[str, ...], ...]:
    """RGB answers: a string, or a list of parts where each part is a string or a list of spellings."""
    if isinstance(value, str):
        return ((value,),)
    if isinstance(value, list) and value:
        parts = tuple((p,) if isinstance(p, str) else tuple(str(v) for v in p) for p in value)
        if all(parts):
            return parts
    raise ValueError(f"unexpected answer {value!r}")


def _texts(record: dict[str, object], key: str) -> tuple[str, ...]:
    value = record[key]
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list")
    return tuple(" ".join(str(v).split()) for v in value if str(v).strip())


def load(path: Path) -> list[Record]:
    """The records of an RGB ``*_fact.json`` file (JSON Lines despite the name)."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            records.append(
                Record(
                    id=int(raw["id"]),
                    query=" ".join(str(raw["query"]).split()),
                    answer=_answer_parts(raw["answer"]),
                    fake=str(raw["fakeanswer"]).strip(),
                    positive=_texts(raw, "positive"),
                    counterfactual=_texts(raw, "positive_wrong"),
                    negative=_texts(raw, "negative"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: line {number}: not an RGB fact record ({exc})") from exc
    return records


def contains_answer(text: str, answer: Sequence[Sequence[str]]) -> bool:
    """True when every part of the answer appears in ``text`` in one of its spellings (case-insensitive)."""
    low = text.lower()
    return all(any(v.lower() in low for v in part) for part in answer)


def spelled(record: Record) -> str:
    """The true answer as the positive passages write it (first spelling found there, else the first)."""
    joined = " ".join(record.positive).lower()
    picked = [next((v for v in part if v.lower() in joined), part[0]) for part in record.answer]
    return " and ".join(p.strip() for p in picked)


# --------------------------------------------------------------------------- answer sentences

_IRREGULAR_PAST = {
    "begin": "began", "buy": "bought", "come": "came", "get": "got", "give": "gave", "hold": "held",
    "lose": "lost", "make": "made", "pay": "paid", "sell": "sold", "take": "took", "win": "won",
}
_WH = frozenset("who what which when where why how whom whose".split())
_DAY = re.compile(r"\b\d{1,2}\b(?!\d)")


def _past(verb: str) -> str:
    low = verb.lower()
    if low in _IRREGULAR_PAST:
        return _IRREGULAR_PAST[low]
    if low.endswith("e"):
        return verb + "d"
    if len(low) > 2 and low.endswith("y") and low[-2] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + "ed"


def _third_person(verb: str) -> str:
    low = verb.lower()
    if low.endswith(("s", "sh", "ch", "x", "z")):
        return verb + "es"
    if len(low) > 2 and low.endswith("y") and low[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _on_or_in(answer: str) -> str:
    """'on July 21, 2017' but 'in June, 2020'."""
    return "on" if _DAY.search(re.sub(r"\b\d{4}\b", "", answer)) else "in"


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def template_statement(question: str, answer: str) -> str:
    """The fallback: the question quoted (without its question mark, so it stays one sentence)."""
    return _sentence(f'The answer to the question "{question.strip().rstrip("?").strip()}" is {answer}')


def statement(question: str, answer: str) -> tuple[str, str]:
    """The question turned into a statement of ``answer``: (rule name, sentence)."""
    asked = question.strip().endswith("?")
    q = " ".join(question.split()).rstrip("?").strip()
    if m := re.fullmatch(r"how (?:much|many) did (\S+) (\w+) (.+?) for", q, re.IGNORECASE):
        return "how_much_did", _sentence(f"{m[1]} {_past(m[2])} {m[3]} for {answer}")
    if m := re.fullmatch(r"when (is|was|are|were) (.+)", q, re.IGNORECASE):
        aux, rest = m[1].lower(), m[2]
        words = rest.split()
        participle = max((i for i, w in enumerate(words) if i > 0 and re.fullmatch(r"[a-z]{2,}ed", w)), default=None)
        if participle is None:
            return "when_is", _sentence(f"{rest} {aux} {_on_or_in(answer)} {answer}")
        subject, tail = " ".join(words[:participle]), " ".join(words[participle:])
        return "when_was_done", _sentence(f"{subject} {aux} {tail} {_on_or_in(answer)} {answer}")
    if m := re.fullmatch(r"when (does|do|did|will) (.+)", q, re.IGNORECASE):
        aux, words = m[1].lower(), m[2].split()
        cut = 2 if len(words) > 2 and [w.lower() for w in words[-2:]] == ["take", "place"] else 1
        if len(words) > cut:
            subject, verb, rest = " ".join(words[:-cut]), words[-cut], " ".join(words[-cut + 1 :] if cut > 1 else [])
            form = {"does": _third_person(verb), "do": verb, "did": _past(verb), "will": f"will {verb}"}[aux]
            return "when_does", _sentence(f"{subject} {form} {rest} {_on_or_in(answer)} {answer}")
    if m := re.fullmatch(r"who (.+)", q, re.IGNORECASE):
        return "who", _sentence(f"{answer} {m[1]}")
    if m := re.fullmatch(r"(?:what|which) (is|was|are|were) (.+)", q, re.IGNORECASE):
        return "what_is", _sentence(f"{m[2]} {m[1].lower()} {answer}")
    if m := re.fullmatch(r"(?:what|which) \w+ (.+)", q, re.IGNORECASE):
        return "which_noun", _sentence(f"{answer} {m[1]}")
    if not asked and q and q.split()[0].lower() not in _WH:
        return "keyword_query", _sentence(f"{q} is {answer}")
    return "template", template_statement(question, answer)


# --------------------------------------------------------------------------- part 1: negative rejection

_STAGES = (
    ("nothing stored is about", "retrieval_below_relevance_floor"),
    ("context window", "context_window"),
    ("no number of", "answer_type_number"),
    ("no date", "answer_type_date"),
    ("no name of", "answer_type_name"),
    ("no place", "answer_type_place"),
    ("speak of little", "answer_type_coverage"),
)


def abstention_stage(answer: Answer) -> str:
    """Where the answer path stopped, as a fixed key (the notes themselves can quote question words)."""
    note = answer.note or ""
    if "no claim of the reply is supported" in note:
        return "all_claims_unsupported" if answer.claims else "model_declined_or_no_statement"
    return next((key for needle, key in _STAGES if needle in note), "other")


def negative_rejection(
    records: Sequence[Record],
    *,
    settings: Settings,
    embedding: EmbeddingBackend,
    chat: ChatBackend,
    checker: Grounder,
    progress: Progress,
    dump: list[dict[str, object]] | None = None,
) -> dict[str, object]:
    """Ask each question with only its negative passages stored; count abstentions."""
    abstained = answered_true = errors = passages = 0
    stages: Counter[str] = Counter()
    seconds: list[float] = []
    for done, record in enumerate(records, start=1):
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="rgb-") as tmp:
            folder = Path(tmp)
            for j, text in enumerate(record.negative):
                (folder / f"negative_{j:02d}.txt").write_text(text + "\n", encoding="utf-8")
            store = ArticleStore.ephemeral(embeddings=embedding.embeddings, embedding_model=embedding.name,
                                           dimension=embedding.dimension, name="rgb")
            bot = Assistant(settings=settings, store=store, embedding=embedding, chat=chat, checker=checker)
            try:
                report = bot.ingest([folder])
                passages += report.new + report.unchanged
                answer = bot.ask(record.query)
            except AssistantError as exc:
                errors += 1
                progress(f"negative rejection: question {record.id}: error: {exc}")
                continue
            finally:
                bot.close()
        seconds.append(time.perf_counter() - started)
        abstained += answer.abstained
        stage = abstention_stage(answer) if answer.abstained else "answered"
        stages[stage] += 1
        has_true = not answer.abstained and contains_answer(answer.answer, record.answer)
        answered_true += has_true
        if dump is not None:
            dump.append({"part": "negative_rejection", "id": record.id, "query": record.query,
                         "abstained": answer.abstained, "stage": stage, "answer": answer.answer,
                         "contains_true_answer": has_true,
                         "claims": [c.model_dump(mode="json") for c in answer.claims]})
        progress(f"negative rejection {done}/{len(records)}: abstained {abstained}/{len(seconds)} "
                 f"({seconds[-1]:.1f} s)")
    asked = len(seconds)
    return {
        "questions": asked,
        "abstained": abstained,
        "answered": asked - abstained,
        "negative_rejection_rate": _rate(abstained, asked),
        "answered_containing_true_answer": answered_true,
        "errors": errors,
        "stopped_at": dict(sorted(stages.items())),
        "passages_ingested": passages,
        "negatives_with_answer_string": sum(contains_answer(p, r.answer) for r in records for p in r.negative),
        "seconds_per_question": round(sum(seconds) / asked, 2) if asked else None,
    }


# --------------------------------------------------------------------------- part 2: counterfactual detection


def _sources(kind: str, texts: Sequence[str]) -> list[SourceText]:
    return [SourceText(id=f"{kind}{i}", text=t) for i, t in enumerate(texts)]


def _supported(report: GroundingReport) -> bool:
    return bool(report.claims) and all(c.label == "supported" for c in report.claims)


def counterfactual_detection(
    records: Sequence[Record],
    *,
    checker: GroundingChecker,
    template_only: bool,
    progress: Progress,
    dump: list[dict[str, object]] | None = None,
) -> dict[str, object]:
    """Check the true-fact sentence against the counterfactual passages (flag it) and the positive ones (support it)."""
    flagged = contradicted = control_ok = claims = 0
    base_flagged = base_ok = 0
    forms: Counter[str] = Counter()
    wrong_ms: list[float] = []
    control_ms: list[float] = []
    for done, record in enumerate(records, start=1):
        true = spelled(record)
        form, text = ("template", template_statement(record.query, true)) if template_only else statement(
            record.query, true
        )
        forms[form] += 1
        started = time.perf_counter()
        wrong = checker.check(text, _sources("counterfactual", record.counterfactual))
        wrong_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        control = checker.check(text, _sources("positive", record.positive))
        control_ms.append(1000 * (time.perf_counter() - started))
        claims += len(wrong.claims)
        is_flagged = not _supported(wrong)
        flagged += is_flagged
        contradicted += any(c.label == "contradicted" for c in wrong.claims)
        control_ok += _supported(control)
        base_flagged += not contains_answer(" ".join(record.counterfactual), record.answer)
        base_ok += contains_answer(" ".join(record.positive), record.answer)
        if dump is not None:
            dump.append({"part": "counterfactual", "id": record.id, "statement": text, "form": form,
                         "counterfactual": [c.model_dump(mode="json") for c in wrong.claims],
                         "control": [c.model_dump(mode="json") for c in control.claims]})
        if done % 25 == 0 or done == len(records):
            progress(f"counterfactual detection {done}/{len(records)}: flagged {flagged}, control supported "
                     f"{control_ok}")
    n = len(records)
    started = time.perf_counter()
    for record in records:  # again, every source span's embedding cached: the cost of the checks themselves
        text = template_statement(record.query, spelled(record)) if template_only else statement(
            record.query, spelled(record))[1]
        checker.check(text, _sources("counterfactual", record.counterfactual))
        checker.check(text, _sources("positive", record.positive))
    cached_ms = 1000 * (time.perf_counter() - started)
    flag_rate, control_rate = _rate(flagged, n), _rate(control_ok, n)
    return {
        "items": n,
        "flagged": flagged,
        "contradicted": contradicted,
        "unsupported_only": flagged - contradicted,
        "counterfactual_flag_rate": flag_rate,
        "counterfactual_contradicted_rate": _rate(contradicted, n),
        "control_supported": control_ok,
        "control_supported_rate": control_rate,
        "balanced_accuracy": _rate(flagged + control_ok, 2 * n),  # mean of the two rates
        "answer_string_baseline": {
            "counterfactual_flag_rate": _rate(base_flagged, n),
            "control_supported_rate": _rate(base_ok, n),
        },
        "statement": "template" if template_only else "declarative",
        "statement_forms": dict(sorted(forms.items())),
        "claims_per_statement": round(claims / n, 2) if n else None,
        "ms_per_item": round((sum(wrong_ms) + sum(control_ms)) / (2 * n), 2) if n else None,
        "ms_per_counterfactual_check": round(sum(wrong_ms) / n, 2) if n else None,
        "ms_per_control_check": round(sum(control_ms) / n, 2) if n else None,
        "ms_per_item_sources_cached": round(cached_ms / (2 * n), 2) if n else None,
    }


# --------------------------------------------------------------------------- running


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def code_version() -> str | None:
    """The project's git commit, with "+changes" when the working tree differs from it."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+changes" if dirty else "")


def _progress(line: str) -> None:
    print(f"rgb: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, records: Sequence[Record], tmp: Path) -> dict[str, object]:
    """Both parts (or the one ``--only`` names) on ``records``; the figures as one dict."""
    code = code_version()  # before the run: the commit whose modules were loaded
    settings = Settings(llm=args.llm, embeddings=args.embeddings, data_dir=tmp / "unused")
    started = time.perf_counter()
    embedding = embedding_backend(settings)
    embedding.embeddings.embed_query("warm up")  # load the model outside the timed checks
    checker = GroundingChecker(embeddings=embedding.embeddings)
    load_seconds = time.perf_counter() - started
    dump: list[dict[str, object]] | None = [] if args.dump else None
    result: dict[str, object] = {
        "data": args.data.name,
        "records": len(records),
        "llm": args.llm,
        "embeddings": args.embeddings,
        "embedding_model": embedding.name,
        "embedding_load_s": round(load_seconds, 2),
    }
    if args.only in (None, "counterfactual"):
        limit = args.limit or len(records)
        part = counterfactual_detection(records[:limit], checker=checker, template_only=args.statement == "template",
                                        progress=_progress, dump=dump)
        result["counterfactual_detection"] = part
    if args.only in (None, "negative"):
        chat = chat_backend(settings)
        default = LOCAL_NEGATIVE_LIMIT if args.llm == "local" else len(records)
        limit = min(args.limit or default, len(records))
        note = (f"first {limit} of {len(records)} questions"
                + (f" (default for --llm local: {LOCAL_NEGATIVE_LIMIT}; pass --limit N)" if not args.limit
                   and args.llm == "local" and limit < len(records) else ""))
        _progress(f"negative rejection: {note}, model {chat.name}")
        # The answer path's grounder, chosen as Assistant.from_settings chooses it.
        grounder: Grounder = (
            LLMJudge(model=chat.model, offline=checker) if settings.grounding_judge == "llm" else checker
        )
        part = negative_rejection(records[:limit], settings=settings, embedding=embedding, chat=chat,
                                  checker=grounder, progress=_progress, dump=dump)
        result["negative_rejection"] = {
            **part, "limit_note": note, "chat_model": chat.name, "top_k": settings.top_k or chat.top_k,
            "grounding_policy": settings.grounding_policy, "grounding_judge": settings.grounding_judge,
        }
    result["seconds_total"] = round(time.perf_counter() - started, 1)
    result["code"] = code
    result["machine"] = machine()
    if args.dump and dump is not None:
        with args.dump.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in dump)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print one JSON object (``--json``) or a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="RGB fact file (JSON Lines).")
    parser.add_argument("--llm", choices=["local", "fake", "openai"], default="local")
    parser.add_argument("--embeddings", choices=["local", "fake", "openai"], default="local")
    parser.add_argument(
        "--limit", type=int, default=None,
        help=f"First N questions for both parts (default: all for the checker; negative rejection "
             f"{LOCAL_NEGATIVE_LIMIT} with --llm local, all otherwise).",
    )
    parser.add_argument("--only", choices=["negative", "counterfactual"], help="Run one part.")
    parser.add_argument("--statement", choices=["declarative", "template"], default="declarative",
                        help="How the true-fact sentence is written (see the module docstring).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--dump", type=Path, help="Write per-item outcomes as JSONL (contains RGB text: "
                                                  "keep it outside the project).")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if not args.data.is_file():
        print(f"error: benchmark file not found: {args.data} (pass --data FILE)", file=sys.stderr)
        return 2
    try:
        records = load(args.data)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not records:
        print(f"error: no records in {args.data}", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="rgb-bench-") as tmp:
            result = run(args, records, Path(tmp))
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else table(result, width=72))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
