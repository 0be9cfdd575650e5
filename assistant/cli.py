"""The ``assistant`` command: thin wrappers over the Assistant facade.

Errors become one line on stderr and a non-zero exit; nothing here decides what an
answer is.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from assistant.errors import AssistantError, InputError
from assistant.schemas import Answer, GroundingReport, SourceText
from assistant.service import Assistant
from assistant.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="News brief and Q&A assistant with citations.")
    parser.add_argument("--llm", choices=["local", "openai", "fake"], help="chat model (default: ASSISTANT_LLM)")
    parser.add_argument("--embeddings", choices=["local", "openai", "fake"], help="embeddings (ASSISTANT_EMBEDDINGS)")
    parser.add_argument("--data-dir", type=Path, help="store folder (ASSISTANT_DATA_DIR)")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="store articles (.txt .md .html .jsonl, folders recurse)")
    ingest.add_argument("paths", nargs="+", type=Path)

    ask = commands.add_parser("ask", help="answer a question from the stored articles, with citations")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--source", action="append", dest="sources", help="only articles from this source (repeatable)")
    ask.add_argument("--since", type=date.fromisoformat, help="only articles published on or after YYYY-MM-DD")
    ask.add_argument("--until", type=date.fromisoformat, help="only articles published on or before YYYY-MM-DD")

    check = commands.add_parser("check", help="score a text's claims against source files")
    check.add_argument("--source", action="append", dest="sources", type=Path, required=True)
    check.add_argument("--text", type=Path, required=True)
    check.add_argument("--json", action="store_true")

    _brief_parser(commands)

    run = commands.add_parser("eval", help="run the eval suite on a fresh store; exit 1 when a threshold is missed")
    run.add_argument("--llm", dest="eval_llm", choices=["local", "openai", "fake"], help="chat model for this run")
    run.add_argument("--out", type=Path, default=Path("evals/reports"), help="report folder (default evals/reports)")
    run.add_argument("--evals-dir", type=Path, default=Path("evals"), help="datasets and thresholds.json")
    run.add_argument("--set", dest="eval_set", choices=["seed", "rgb"], default="seed",
                     help="seed: the questions in --evals-dir (default); rgb: RGB's news questions (--rgb-file)")
    run.add_argument("--rgb-file", type=Path, default=Path("../shared/benchmarks/rgb/en_fact.json"),
                     help="RGB en_fact.json, read in place (default ../shared/benchmarks/rgb/en_fact.json)")
    run.add_argument("--half", choices=["tune", "report"], help="rgb: only this half (even ids tune, odd report)")
    run.add_argument("--limit", type=int, help="rgb: at most this many questions")
    return parser


def _formats(value: str) -> list[str]:
    formats = [f.strip() for f in value.split(",") if f.strip()]
    if not formats or set(formats) - {"md", "json"}:
        raise argparse.ArgumentTypeError(f"'{value}' is not a list of md and json (e.g. md,json)")
    return list(dict.fromkeys(formats))


def _brief_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    brief = commands.add_parser("brief", help="write neutral, cited briefs of articles, a story or a topic")
    brief.add_argument("targets", nargs="*", metavar="PATH_OR_ARTICLE_ID", help="files, folders or stored article ids")
    mode = brief.add_mutually_exclusive_group()
    mode.add_argument("--merge", action="store_true", help="one brief over all the articles given (a story)")
    mode.add_argument("--topic", help="one brief over the stored articles about TEXT")
    brief.add_argument("--out", type=Path, required=True, help="folder for the briefs and index.md/index.json")
    brief.add_argument("--format", type=_formats, default=["md", "json"], dest="formats", help="md,json (default)")
    brief.add_argument("--force", action="store_true", help="rewrite briefs that are already up to date")
    brief.add_argument("--concurrency", type=int, default=1, help="briefs at once for remote models (default 1)")
    brief.add_argument("--source", action="append", dest="sources", help="with --topic: only this source (repeatable)")
    brief.add_argument("--since", type=date.fromisoformat, help="with --topic: published on or after YYYY-MM-DD")
    brief.add_argument("--until", type=date.fromisoformat, help="with --topic: published on or before YYYY-MM-DD")


def cmd_brief(bot: Assistant, args: argparse.Namespace) -> int:
    """Batch briefs; one line per failure on stderr, a summary on stdout, exit 1 when any failed."""
    from assistant.brief_batch import BatchRequest, run_batch

    if args.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    request = BatchRequest(targets=args.targets, out=args.out, merge=args.merge, topic=args.topic,
                           sources=args.sources, since=args.since, until=args.until, formats=args.formats,
                           force=args.force, concurrency=args.concurrency)
    bar, update = _progress_bar("briefing")
    try:
        result = run_batch(bot, request, progress=update)  # type: ignore[arg-type]
    finally:
        bar.close()  # type: ignore[attr-defined]
    for failure in result.failed:
        print(f"error: {failure}", file=sys.stderr)
    print(f"{result.summary()} -> {args.out}")
    return 1 if result.failed else 0


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if args.llm:
        overrides["llm"] = args.llm
    if getattr(args, "eval_llm", None):
        overrides["llm"] = args.eval_llm
    if args.embeddings:
        overrides["embeddings"] = args.embeddings
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)  # type: ignore[arg-type]


def _progress_bar(total_hint: str) -> tuple[object, object]:
    from tqdm import tqdm

    bar = tqdm(total=0, unit="file", desc=total_hint, file=sys.stderr, disable=None, leave=False)

    def update(done: int, total: int, path: str) -> None:
        bar.total = total
        bar.set_postfix_str(Path(path).name[-40:], refresh=False)
        bar.update(done - bar.n)

    return bar, update


def cmd_ingest(bot: Assistant, args: argparse.Namespace) -> int:
    bar, update = _progress_bar("ingesting")
    try:
        report = bot.ingest(args.paths, progress=update)  # type: ignore[arg-type]
    finally:
        bar.close()  # type: ignore[attr-defined]
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    print(report.summary())
    return 1 if report.errors else 0


def render_answer(answer: Answer) -> str:
    """The answer, then its numbered sources with the quoted sentences."""
    lines = [answer.answer]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            lines.append(f"[{c.n}] {c.title} ({c.origin()}) {c.chunk_id}")
            lines.append(f'    "{c.quote}"')
    removed = [c for c in answer.claims if c.removed]
    if removed:
        lines += ["", "Removed as not supported by the sources:"]
        lines += [f"  - {c.text} ({c.label}{': ' + c.reason if c.reason else ''})" for c in removed]
    return "\n".join(lines)


def cmd_ask(bot: Assistant, args: argparse.Namespace) -> int:
    if bot.is_empty():
        raise InputError("the store is empty; run `assistant ingest seeds/` (or your articles) first")
    answer = bot.ask(args.question, sources=args.sources, since=args.since, until=args.until)
    print(answer.model_dump_json(indent=2) if args.json else render_answer(answer))
    return 0


def _read_sources(paths: Sequence[Path]) -> list[SourceText]:
    from assistant.articles import read_file

    sources = []
    for path in paths:
        for i, article in enumerate(read_file(path)):
            sources.append(SourceText(id=path.name if i == 0 else f"{path.name}#{i + 1}", text=article.text))
    return sources


def render_report(report: GroundingReport) -> str:
    """One line a claim with its label, then the score."""
    lines = []
    for claim in report.claims:
        where = f' <- {claim.evidence.source}: "{claim.evidence.quote}"' if claim.evidence else ""
        why = f" ({claim.reason})" if claim.reason and claim.label != "supported" else ""
        lines.append(f"[{claim.label}] {claim.text}{why}{where}")
    lines.append(f"score: {report.score:.2f} ({sum(c.label == 'supported' for c in report.claims)}"
                 f"/{len(report.claims)} claims supported)")
    return "\n".join(lines)


def cmd_check(bot: Assistant, args: argparse.Namespace) -> int:
    from assistant.articles import read_file

    texts = read_file(args.text)
    report = bot.check("\n\n".join(a.text for a in texts), _read_sources(args.sources))
    print(report.model_dump_json(indent=2) if args.json else render_report(report))
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    """Run the eval suite on a temporary store, print the metrics and report paths, name each missed threshold."""
    import tempfile

    from assistant.evaluation import eval_settings, render_table, run_eval

    if args.eval_set == "rgb":
        return cmd_eval_rgb(settings, args)
    bar, update = _progress_bar("evaluating")
    with tempfile.TemporaryDirectory(prefix="assistant-eval-") as tmp:
        settings = eval_settings(settings, data_dir=Path(tmp))
        try:
            with Assistant.from_settings(settings) as bot:
                report = run_eval(bot, evals_dir=args.evals_dir, out_dir=args.out, llm=settings.resolved_llm(),
                                  progress=update)  # type: ignore[arg-type]
        finally:
            bar.close()  # type: ignore[attr-defined]
    print(render_table(report))
    print("\n".join(["", "reports:", *(f"  {path}" for path in report.files)]))
    for missed in report.missed:
        print(missed.line())
    return 1 if report.missed else 0


def cmd_eval_rgb(settings: Settings, args: argparse.Namespace) -> int:
    """The RGB set: print the figures per half, write rgb.json/rgb.md, exit 1 when the report half misses a floor."""
    from assistant.rgb_eval import missed_rgb, render_rgb, run_rgb, write_rgb

    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be at least 1")
    bar, update = _progress_bar("rgb")
    try:
        report = run_rgb(settings, path=args.rgb_file, half=args.half, limit=args.limit,
                         progress=update)  # type: ignore[arg-type]
    finally:
        bar.close()  # type: ignore[attr-defined]
    files = write_rgb(report, args.out)
    print(render_rgb(report))
    print("\n".join(["", "reports:", *(f"  {path}" for path in files)]))
    missed = missed_rgb(report, args.evals_dir / "rgb_thresholds.json")
    for line in missed:
        print(line)
    return 1 if missed else 0


COMMANDS = {"ingest": cmd_ingest, "ask": cmd_ask, "check": cmd_check, "brief": cmd_brief}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``assistant`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "eval":  # builds its own assistant on a temporary store, never the user's
            return cmd_eval(_settings(args), args)
        with Assistant.from_settings(_settings(args)) as bot:
            return COMMANDS[args.command](bot, args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
