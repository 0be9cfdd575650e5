"""Neutral briefs: the key sentences picked first, then condensed, checked and attributed one at a time.

Example::

    >>> brief = build_brief(chunks, tools=BriefTools(chat=chat, checker=checker, embeddings=emb),
    ...                     provenance=base)                                   # doctest: +SKIP
    >>> render_markdown(brief)                                                 # doctest: +SKIP

The pipeline: sentences of the chunks (each keeping its chunk id) -> salience by map-reduce
within a token budget -> near-duplicates across articles merged ("reported by 2 of 3 sources")
-> disagreements on a figure, date or name set aside as ``contested`` (never stated as fact)
-> each statement condensed by the model, checked by the grounding checker and the lint, or the
source sentence quoted and attributed -> positions per quoted party, timeline, unknowns.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.brief_schema import (
    Brief,
    Contested,
    Lint,
    Position,
    Provenance,
    Side,
    SourceRef,
    Statement,
    TimelineEvent,
    Unknown,
)  # fmt: skip
from assistant.judge import Grounder
from assistant.neutrality import lint_text, neutralise, parties_quoted, party_key, speakers
from assistant.prompts import PROMPTS_DIR
from assistant.providers import ChatBackend
from assistant.schemas import RetrievedChunk
from assistant.statements import STATEMENT_PROMPT, Citer, Tally, condense, headline, propose_verbatim
from assistant.stories import (
    Cluster,
    Conflict,
    Unit,
    cluster_units,
    embed_units,
    find_conflicts,
    guard_values,
    map_reduce_select,
    mentions,
    sentence_units,
)  # fmt: skip
from assistant.timeline import find_dates

_HEDGES = ("reportedly", "allegedly", "unconfirmed", "could not be independently", "not independently", "claimed")
_CASUALTY = ("killed", "dead", "death", "wounded", "injured", "casualties")


@dataclass(frozen=True)
class BriefOptions:
    """How much a brief holds; part of the fingerprint that decides whether a batch may skip it."""

    summary_size: int = 3
    facts_size: int = 6
    positions_per_party: int = 2
    timeline_size: int = 8
    single_party_max: int = 3
    statement_tokens: int = 64
    select_budget: int = 1500
    min_ratio: float = 0.7  # tuned on RGB's evaluation half (bench/briefs_rgb.py --split evaluation)
    detect_conflicts: bool = True  # off only to measure the figure guard alone (bench/briefs_rgb.py)
    figure_guard: bool = True  # a value another source contradicts stays out of the facts, paired or not

    def as_dict(self) -> dict[str, int | float]:
        """The options as plain values, for provenance and the fingerprint."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class BriefTools:
    """What a brief is built with: injected, never reached for."""

    chat: ChatBackend | None
    checker: Grounder
    embeddings: Embeddings
    count_tokens: Callable[[str], int] | None = None
    free: bool = False  # strong models: a statement may join two sentences of one source, citing both


@dataclass
class _Work:
    """The state shared by the sections of one brief."""

    units: list[Unit]
    vectors: np.ndarray
    tools: BriefTools
    options: BriefOptions
    n_sources: int
    citer: Citer = field(default_factory=Citer)
    tally: Tally = field(default_factory=Tally)
    contested_uids: set[int] = field(default_factory=set)


def prompt_hashes(names: Sequence[str] = (STATEMENT_PROMPT,)) -> dict[str, str]:
    """sha256 of each prompt file used, so a changed prompt changes the fingerprint."""
    return {name: hashlib.sha256((PROMPTS_DIR / f"{name}.md").read_bytes()).hexdigest() for name in names}


def package_version() -> str:
    """The installed package's version."""
    try:
        return version("assistant")
    except PackageNotFoundError:
        return "unknown"


def fingerprint(*, article_ids: Sequence[str], settings: dict[str, object], prompts: dict[str, str]) -> str:
    """sha256 over the articles, the settings that shape a brief and the prompt hashes."""
    blob = json.dumps({"articles": sorted(article_ids), "settings": settings, "prompts": prompts},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def build_brief(
    chunks: Sequence[RetrievedChunk], *, tools: BriefTools, provenance: Provenance,
    options: BriefOptions | None = None,
) -> Brief:
    """The brief of the articles these chunks come from (one article, or a story across several)."""
    options = options or BriefOptions()
    units = sentence_units(chunks)
    work = _Work(units=units, vectors=embed_units(units, tools.embeddings), tools=tools, options=options,
                 n_sources=len({c.article_id for c in chunks}))
    contested = _contested(work) if options.detect_conflicts else []
    if options.figure_guard:
        _guard(work)
    clusters = _clusters(work)
    summary = _statements(work, clusters[: options.summary_size], "summary")
    facts = _statements(work, clusters[options.summary_size : options.summary_size + options.facts_size], "key_facts")
    positions = _positions(work)
    contested += _single_party(work, clusters)
    timeline = _timeline(work)
    sources = _sources(chunks)
    brief = Brief(
        headline=_written_headline(work, summary) or _headline(chunks, summary), summary=summary,
        key_facts=facts, positions=positions,
        contested=contested, timeline=timeline, unknowns=[], sources=sources,
        grounded_fraction=round(work.tally.grounded_fraction(), 4), lint=Lint(), provenance=provenance,
    )
    brief.unknowns = _unknowns(work, brief)
    brief.lint = _lint(work, brief)
    brief.provenance = provenance.model_copy(update={
        "proposed": work.tally.proposed, "rewrites_accepted": work.tally.accepted,
        "rewrites_rejected": work.tally.rejected, "dropped": work.tally.dropped,
    })
    return brief


def _clusters(work: _Work) -> list[Cluster]:
    """Salient sentences, near-duplicates merged, contested ones left out of the facts."""
    count = work.tools.count_tokens or (lambda t: 2 * len(t.split()))
    keep = 4 * (work.options.summary_size + work.options.facts_size)
    full = [u for u in work.units if u.full]
    ranked = map_reduce_select(full, work.vectors, keep=keep, budget=work.options.select_budget, count_tokens=count)
    clusters = cluster_units(ranked, work.vectors)
    return [c for c in clusters if not ({c.head.uid} | {m.uid for m in c.members}) & work.contested_uids]


def _statements(work: _Work, clusters: Sequence[Cluster], section: str) -> list[Statement]:
    out: list[Statement] = []
    for cluster in clusters:
        context = _neighbours(work, cluster.head) if work.tools.free else []
        statement = condense(cluster.head, chat=work.tools.chat, checker=work.tools.checker, citer=work.citer,
                             tally=work.tally, section=section, max_tokens=work.options.statement_tokens,
                             context=context, free=work.tools.free)
        if statement is not None:
            out.append(_merged(work, statement, cluster))
    return out


def _neighbours(work: _Work, head: Unit, reach: int = 2) -> list[Unit]:
    """Sentences of the head's own article next to it that a freer rewrite may join with it; never a contested
    one (a disputed figure must not reach the facts through a combined statement)."""
    near = [u for u in work.units if u.article_id == head.article_id and u.uid != head.uid and u.full
            and abs(u.order - head.order) <= reach and u.uid not in work.contested_uids]
    return sorted(near, key=lambda u: (abs(u.order - head.order), u.order))[:3]


def _merged(work: _Work, statement: Statement, cluster: Cluster) -> Statement:
    """Cite every outlet that carries the statement and say how many do."""
    cited = {c.article_id for c in statement.citations}
    extra = []
    for member in cluster.members:
        if member.article_id not in cited:
            cited.add(member.article_id)
            extra.append(work.citer.cite(member.chunk, member.text))
    reported = len(cluster.articles())
    return statement.model_copy(update={
        "citations": [*statement.citations, *extra], "reported_by": reported, "of_sources": work.n_sources,
        "single_source": work.n_sources > 1 and reported == 1,
    })


def _contested(work: _Work) -> list[Contested]:
    """Disagreements across articles, grouped by the values in dispute, each side cited."""
    groups: list[tuple[set[str], Contested, set[int]]] = []
    for conflict in find_conflicts(work.units, min_ratio=work.options.min_ratio):
        values = {conflict.left_value.lower(), conflict.right_value.lower()}
        group = next((g for g in groups if g[0] & values and g[1].kind == conflict.kind), None)
        if group is None:
            claim = f"The sources give different {conflict.kind}s: {conflict.left_value} / {conflict.right_value}."
            group = (set(), Contested(kind=conflict.kind, claim=claim, sides=[]), set())  # type: ignore[arg-type]
            groups.append(group)
        group[0].update(values)
        _add_sides(work, group[1], group[2], conflict)
    disputed = {v for g in groups for v in g[0]}
    _set_aside(work, disputed)
    return [g[1] for g in groups if len(g[1].sides) >= 2]


def _guard(work: _Work) -> None:
    """Whatever the contested detector paired or missed: a sentence whose figure, date or name an alike sentence
    of another source replaces stays out of the facts, as does every sentence stating either value."""
    values: set[str] = set()
    for conflict in guard_values(work.units, work.vectors):
        work.contested_uids.update((conflict.left.uid, conflict.right.uid))
        values.update(v.lower() for v in (conflict.left_value, conflict.right_value))
    _set_aside(work, values)


def _set_aside(work: _Work, values: set[str]) -> None:
    """Every sentence that states a disputed value stays out of the facts: no side is silently picked."""
    patterns = [re.compile(r"(?<!\w)" + re.escape(v) + r"(?!\w)", re.IGNORECASE) for v in values if len(v) >= 2]
    for unit in work.units:
        if any(p.search(unit.text) for p in patterns):
            work.contested_uids.add(unit.uid)


def _add_sides(work: _Work, contested: Contested, uids: set[int], conflict: Conflict) -> None:
    """Each value once, citing every source that gives it."""
    for unit, value in ((conflict.left, conflict.left_value), (conflict.right, conflict.right_value)):
        work.contested_uids.add(unit.uid)
        if unit.uid in uids:
            continue
        uids.add(unit.uid)
        same = next((i for i, side in enumerate(contested.sides) if side.value.lower() == value.lower()), None)
        if same is not None:
            _cite_also(work, contested, same, unit)
            continue
        statement = propose_verbatim(unit, checker=work.tools.checker, citer=work.citer, tally=work.tally,
                                     section="contested")
        if statement is not None:
            contested.sides.append(Side(value=value, statement=statement))


def _cite_also(work: _Work, contested: Contested, index: int, unit: Unit) -> None:
    side = contested.sides[index]
    if unit.article_id in {c.article_id for c in side.statement.citations}:
        return
    citations = [*side.statement.citations, work.citer.cite(unit.chunk, unit.text)]
    reported = len({c.article_id for c in citations})
    statement = side.statement.model_copy(update={"citations": citations, "reported_by": reported,
                                                  "of_sources": work.n_sources})
    contested.sides[index] = side.model_copy(update={"statement": statement})


def _positions(work: _Work) -> list[Position]:
    """One entry per quoted party with its attributed sentences, most salient first."""
    by_party: dict[str, tuple[str, list[Unit]]] = {}
    for unit in work.units:
        for who in speakers(unit.text) if unit.full else []:
            by_party.setdefault(party_key(who), (who, []))[1].append(unit)
    positions = []
    for name, units in by_party.values():
        free = [u for u in _distinct(units) if u.uid not in work.contested_uids]
        chosen = (free or _distinct(units))[: work.options.positions_per_party]
        statements: list[Statement] = []
        for unit in _distinct(chosen):
            statement = _verbatim(work, unit, "positions")
            if statement is not None:
                statements.append(statement)
        if statements:
            positions.append(Position(party=name, statements=statements))
    return positions


def _distinct(units: Sequence[Unit]) -> list[Unit]:
    seen: set[str] = set()
    out = []
    for unit in units:
        key = " ".join(unit.text.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(unit)
    return out


def _verbatim(work: _Work, unit: Unit, section: str) -> Statement | None:
    return propose_verbatim(unit, checker=work.tools.checker, citer=work.citer, tally=work.tally, section=section)


def _single_party(work: _Work, clusters: Sequence[Cluster]) -> list[Contested]:
    """Attributed claims no other outlet carries: a single party's word."""
    out: list[Contested] = []
    if work.n_sources < 2:
        return out
    for cluster in clusters:
        who = speakers(cluster.head.text)
        if len(who) == 1 and len(cluster.articles()) == 1 and len(out) < work.options.single_party_max:
            statement = _verbatim(work, cluster.head, "contested")
            if statement is not None:
                out.append(Contested(kind="single_party", claim=f"Only {who[0]} makes this claim.",
                                     sides=[Side(value=who[0], statement=statement)]))
    return out


def _timeline(work: _Work) -> list[TimelineEvent]:
    """Dated events in date order; undated relative mentions kept as written, at the end."""
    events: list[TimelineEvent] = []
    for unit in work.units:
        if unit.uid in work.contested_uids or not unit.full or len(events) >= work.options.timeline_size:
            continue
        found = find_dates(unit.text, unit.chunk.published)
        if not found:
            continue
        statement = _verbatim(work, unit, "timeline")
        if statement is not None:
            first = found[0]
            events.append(TimelineEvent(date=first.date, when=first.when, statement=statement,
                                        resolved_from=unit.chunk.published if first.relative and first.date else None))
    return sorted(events, key=lambda e: (e.date is None, e.date or datetime.min.date()))


def _sources(chunks: Sequence[RetrievedChunk]) -> list[SourceRef]:
    seen: dict[str, SourceRef] = {}
    for c in chunks:
        seen.setdefault(c.article_id, SourceRef(id=c.article_id, title=c.title, outlet=c.source, date=c.published,
                                                url=c.url))
    return list(seen.values())


def _written_headline(work: _Work, summary: Sequence[Statement]) -> str | None:
    """On the freer path the model writes the headline from the summary, checked; else None."""
    if not work.tools.free or work.tools.chat is None:
        return None
    return headline(summary, chat=work.tools.chat, checker=work.tools.checker)


def _headline(chunks: Sequence[RetrievedChunk], summary: Sequence[Statement]) -> str:
    """The article's title when it is neutral (or can be made so); else the first summary statement."""
    titles = list(dict.fromkeys(c.title for c in chunks))
    for title in titles:
        if not lint_text(title):
            return title if len(titles) == 1 else f"{title} ({len(titles)} sources)"
        fixed = neutralise(title)
        if fixed:
            return fixed
    return summary[0].text if summary else "No statement of the sources could be checked"


def _unknowns(work: _Work, brief: Brief) -> list[Unknown]:
    out: list[Unknown] = []
    for source in brief.sources:
        if source.outlet == "unknown":
            out.append(Unknown(text=f"Which outlet published \u201c{source.title}\u201d.", reason="not given"))
        if source.date is None:
            out.append(Unknown(text=f"When \u201c{source.title}\u201d was published.",
                               reason="not given; relative dates in it are kept as written"))
    for unit in work.units:
        low = unit.text.lower()
        if any(h in low for h in _HEDGES):
            out.append(Unknown(text=f"Whether this is independently confirmed: \u201c{unit.text.strip()}\u201d",
                               reason="the source states it only as reported or claimed"))
        elif any(c in low for c in _CASUALTY) and _single(work, unit):
            out.append(Unknown(text=f"An independent count of the casualties in: \u201c{unit.text.strip()}\u201d",
                               reason="one source gives these figures; no other confirms them"))
    if not brief.positions:
        out.append(Unknown(text="What the parties involved say: no source quotes any of them.",
                           reason="the sources report actions without attributed statements"))
    return out[:8]


def _single(work: _Work, unit: Unit) -> bool:
    return work.n_sources == 1 or not any(
        u.article_id != unit.article_id and float(work.vectors[u.uid] @ work.vectors[unit.uid]) > 0.8
        for u in work.units
    )


def _lint(work: _Work, brief: Brief) -> Lint:
    hits = []
    for section in ("summary", "key_facts"):
        for statement in getattr(brief, section):
            hits += lint_text(statement.text, section=section)
    for position in brief.positions:
        for statement in position.statements:
            hits += lint_text(statement.text, section="positions")
    for event in brief.timeline:
        hits += lint_text(event.statement.text, section="timeline")
    hits += lint_text(brief.headline, section="headline")
    in_sources = parties_quoted(u.text for u in work.units)
    in_positions = {party_key(p.party): p.party for p in brief.positions}
    return Lint(hits=hits, fixed=work.tally.fixed, parties_in_sources=sorted(in_sources.values()),
                parties_in_positions=sorted(in_positions.values()),
                missing_parties=sorted(v for k, v in in_sources.items() if k not in in_positions))


def now() -> datetime:
    """The time a brief is made (UTC)."""
    return datetime.now(UTC)


__all__ = ["Brief", "BriefOptions", "BriefTools", "build_brief", "fingerprint", "mentions", "prompt_hashes"]
