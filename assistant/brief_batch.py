"""Batch briefs: ingest the paths, brief each article (or one story, or one topic), write files that resume.

Each brief is written atomically (a temporary file in the same folder, fsync, ``os.replace``),
so a killed run leaves whole files or none. A brief whose fingerprint (article hashes, settings,
prompt hashes, model) matches the one already on disk is skipped and its files left untouched.
One article that fails is reported by name and the rest go on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from assistant.articles import discover
from assistant.brief_render import render_json, render_markdown
from assistant.brief_schema import Brief
from assistant.errors import AssistantError, InputError
from assistant.schemas import RetrievedChunk
from assistant.service import Assistant

Format = Literal["md", "json"]
Progress = Callable[[int, int, str], None]
_ID = re.compile(r"^[0-9a-f]{16}$")
_FINGERPRINT = re.compile(r"<!-- fingerprint: ([0-9a-f]{64}) -->")
_INDEX_ENTRY = re.compile(r"<!-- index: (\{.*\}) -->")
_INDEX_FILES = frozenset({"index.md", "index.json"})


class IndexEntry(BaseModel):
    """One brief in ``index.json``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    files: list[str]
    grounded_fraction: float
    lint_hits: int
    model: str
    created: str
    articles: list[str]


@dataclass(frozen=True)
class Job:
    """One brief to make: its file stem and its chunks, read from the store before any worker starts."""

    name: str
    chunks: list[RetrievedChunk]
    fingerprint: str
    topic: str | None = None


@dataclass
class BatchResult:
    """What a batch did; ``failed`` names each failure and its reason."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    entries: list[IndexEntry] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the terminal."""
        return f"{len(self.written)} written, {len(self.skipped)} unchanged, {len(self.failed)} failed"


@dataclass(frozen=True)
class BatchRequest:
    """The ``assistant brief`` command's arguments."""

    targets: Sequence[str]
    out: Path
    merge: bool = False
    topic: str | None = None
    sources: Sequence[str] | None = None
    since: date | None = None
    until: date | None = None
    formats: Sequence[Format] = ("md", "json")
    force: bool = False
    concurrency: int = 1


def slug(text: str, limit: int = 48) -> str:
    """A file-name-safe form of ``text``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-") or "brief"


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: temp file in the same folder, fsync, rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a brief is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(folder: Path) -> None:
    """Delete what a killed run left of ``atomic_write``'s temporary files (never a finished brief)."""
    for stale in [*folder.glob(".*.json.*.tmp"), *folder.glob(".*.md.*.tmp")]:
        with contextlib.suppress(OSError):
            stale.unlink()


def resolve_targets(bot: Assistant, targets: Sequence[str], result: BatchResult) -> list[str]:
    """Article ids for the targets: files and folders ingested first (idempotently), ids looked up."""
    ids: list[str] = []
    paths: list[Path] = []
    for target in targets:
        if Path(target).exists() or not _ID.match(target):
            paths.append(Path(target))
        elif bot.store.has_article(target):
            ids.append(target)
        else:
            result.failed.append(f"{target}: no stored article has this id; ingest its file first")
    if paths:
        files, errors = discover(paths)
        result.failed += [str(e) for e in errors]
        report = bot.ingest(files)
        result.failed += report.errors
        for path in files:
            ids += sorted(bot.store.path_article_ids(str(path)))
    return list(dict.fromkeys(ids))


def plan(bot: Assistant, request: BatchRequest, ids: Sequence[str], result: BatchResult) -> list[Job]:
    """The briefs to make: one per article, one merged story, or one topic."""
    groups: list[tuple[str, list[RetrievedChunk]]] = []
    if request.topic is not None:
        chunks = bot.brief_chunks(topic=request.topic, sources=request.sources, since=request.since,
                                  until=request.until)
        filters = [*(request.sources or []), str(request.since or ""), str(request.until or "")]
        suffix = "-" + hashlib.sha256("|".join(filters).encode()).hexdigest()[:6] if any(filters) else ""
        groups.append((f"topic-{slug(request.topic, 40)}{suffix}", chunks))
    elif request.merge and ids:
        digest = hashlib.sha256(",".join(sorted(ids)).encode()).hexdigest()[:10]
        groups.append((f"story-{digest}", bot.brief_chunks(ids)))
    else:
        for article_id in ids:
            try:
                chunks = bot.brief_chunks([article_id])
            except AssistantError as exc:
                result.failed.append(f"{article_id}: {exc}")
                continue
            groups.append((f"{slug(chunks[0].title)}-{article_id[:8]}", chunks))
    jobs = []
    for name, chunks in groups:
        provenance = bot.brief_provenance(chunks, topic=request.topic, sources=request.sources,
                                          since=request.since, until=request.until)
        jobs.append(Job(name=name, chunks=chunks, fingerprint=provenance.fingerprint, topic=request.topic))
    return jobs


def _on_disk(out: Path, job: Job, formats: Sequence[Format]) -> bool:
    """True when every requested file exists and was made with this job's fingerprint."""
    for fmt in formats:
        path = out / f"{job.name}.{fmt}"
        if not path.is_file():
            return False
        text = path.read_text(encoding="utf-8", errors="replace")
        if fmt == "json":
            try:
                if Brief.model_validate_json(text).provenance.fingerprint != job.fingerprint:
                    return False
            except ValidationError:
                return False
        elif (m := _FINGERPRINT.search(text)) is None or m.group(1) != job.fingerprint:
            return False
    return True


def _entry(job: Job, brief: Brief, formats: Sequence[Format]) -> IndexEntry:
    return IndexEntry(
        name=job.name, title=brief.headline, files=[f"{job.name}.{f}" for f in formats],
        grounded_fraction=brief.grounded_fraction, lint_hits=len(brief.lint.hits), model=brief.provenance.model,
        created=brief.provenance.created.isoformat(timespec="seconds"), articles=[s.id for s in brief.sources],
    )


def _write(out: Path, job: Job, brief: Brief, formats: Sequence[Format]) -> None:
    """The brief's files; the Markdown one also carries its index entry, so an index needs no JSON brief."""
    if "json" in formats:
        atomic_write(out / f"{job.name}.json", render_json(brief))
    if "md" in formats:
        entry = _entry(job, brief, formats).model_dump_json().replace("-->", "--\\u003e")  # stays one comment
        atomic_write(out / f"{job.name}.md", render_markdown(brief)
                     + f"\n<!-- fingerprint: {job.fingerprint} -->\n<!-- index: {entry} -->\n")


def _make(bot: Assistant, job: Job, out: Path, formats: Sequence[Format]) -> Brief:
    brief = bot.brief(chunks=job.chunks, topic=job.topic)
    _write(out, job, brief, formats)
    return brief


def run_batch(bot: Assistant, request: BatchRequest, *, progress: Progress | None = None) -> BatchResult:
    """Ingest, plan, skip what is done, brief the rest (concurrently for remote models), write the index."""
    if request.merge and request.topic is not None:
        raise InputError("--merge and --topic exclude each other; a topic brief is always merged")
    if request.topic is None and not request.targets:
        raise InputError("nothing to brief; pass files, folders or article ids, or --topic TEXT")
    try:
        request.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder {request.out} ({exc.strerror}); pick another --out") from exc
    remove_stale_temporaries(request.out)
    result = BatchResult()
    ids = resolve_targets(bot, request.targets, result) if request.targets else []
    jobs = plan(bot, request, ids, result)
    todo = [j for j in jobs if request.force or not _on_disk(request.out, j, request.formats)]
    result.skipped = [j.name for j in jobs if j not in todo]
    workers = request.concurrency if bot.settings.resolved_llm() == "openai" else 1
    done = 0
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        futures: dict[Future[Brief], Job] = {pool.submit(_make, bot, j, request.out, request.formats): j for j in todo}
        for future, job in futures.items():
            try:
                future.result()
                result.written.append(job.name)
            except AssistantError as exc:
                result.failed.append(f"{_label(job)}: {exc}")
            done += 1
            if progress is not None:
                progress(done, len(todo), job.name)
    result.entries = _index_entries(request.out)
    _write_index(request.out, result.entries)
    return result


def _label(job: Job) -> str:
    paths = {c.title for c in job.chunks}
    return f"{job.name} ({', '.join(sorted(paths))[:80]})"


def _index_entries(out: Path) -> list[IndexEntry]:
    """One entry per brief in the folder (this run's and earlier ones'), read from its JSON or its Markdown."""
    entries: dict[str, IndexEntry] = {}
    for path in sorted(out.glob("*.json")):
        if path.name not in _INDEX_FILES and (entry := _entry_from_json(path)) is not None:
            entries[entry.name] = entry
    for path in sorted(out.glob("*.md")):
        if path.name not in _INDEX_FILES and path.stem not in entries and (entry := _entry_from_md(path)):
            entries[entry.name] = entry
    return sorted(entries.values(), key=lambda e: e.name)


def _entry_from_json(path: Path) -> IndexEntry | None:
    try:
        brief = Brief.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, OSError, UnicodeDecodeError):
        return None  # not a brief (or unreadable): the index lists briefs only
    files = [p.name for p in (path.with_suffix(".md"), path) if p.is_file()]  # the readable one first
    return IndexEntry(
        name=path.stem, title=brief.headline, files=files, grounded_fraction=brief.grounded_fraction,
        lint_hits=len(brief.lint.hits), model=brief.provenance.model,
        created=brief.provenance.created.isoformat(timespec="seconds"), articles=[s.id for s in brief.sources],
    )


def _entry_from_md(path: Path) -> IndexEntry | None:
    try:
        found = _INDEX_ENTRY.search(path.read_text(encoding="utf-8"))
        return IndexEntry.model_validate_json(found.group(1)) if found else None
    except (ValidationError, OSError, UnicodeDecodeError):
        return None


def _write_index(out: Path, entries: Sequence[IndexEntry]) -> None:
    """``index.json`` and ``index.md`` over the briefs, both always; left untouched when their content is unchanged."""
    data = json.dumps([e.model_dump() for e in entries], indent=2) + "\n"
    rows = ["# Briefs", "", "| brief | grounded | loaded terms | model | made |", "| --- | --- | --- | --- | --- |"]
    rows += [f"| [{_cell(e.title)}]({e.files[0]}) | {e.grounded_fraction:.2f} | {e.lint_hits} | {_cell(e.model)} "
             f"| {e.created} |" for e in entries]
    if not entries:
        rows += ["", "No brief has been written to this folder yet."]
    for name, text in (("index.json", data), ("index.md", "\n".join(rows) + "\n")):
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            atomic_write(path, text)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell and link label."""
    return " ".join(text.split()).replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")
