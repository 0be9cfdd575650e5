"""A brief as Markdown (for reading) and JSON (the contract): both from the one pydantic model."""

from __future__ import annotations

from assistant.brief_schema import Brief, Statement


def render_json(brief: Brief) -> str:
    """The brief as indented JSON with exactly the documented top-level keys."""
    return brief.model_dump_json(indent=2) + "\n"


def _marks(statement: Statement) -> str:
    return "".join(f"[{n}]" for n in dict.fromkeys(c.n for c in statement.citations))


def _reach(statement: Statement) -> str:
    if statement.of_sources <= 1:
        return ""
    if statement.single_source:
        return " (single source)"
    return f" (reported by {statement.reported_by} of {statement.of_sources} sources)"


def _line(statement: Statement) -> str:
    return f"- {statement.text} {_marks(statement)}{_reach(statement)}"


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", f"## {title}", "", *(lines or ["- (none)"])]


def render_markdown(brief: Brief) -> str:
    """Headline, sections, then numbered sources with the verbatim quotes each statement rests on."""
    lines = [f"# {brief.headline}"]
    lines += _section("Summary", [_line(s) for s in brief.summary])
    lines += _section("Key facts", [_line(s) for s in brief.key_facts])
    positions = [f"- **{p.party}**: " + " ".join(f"{s.text} {_marks(s)}" for s in p.statements)
                 for p in brief.positions]
    lines += _section("Positions", positions)
    contested = []
    for c in brief.contested:
        contested.append(f"- {c.claim} ({c.kind})")
        contested += [f"  - {side.value}: {side.statement.text} {_marks(side.statement)}" for side in c.sides]
    lines += _section("Contested", contested)
    timeline = [f"- {e.date.isoformat() if e.date else e.when}: {e.statement.text} {_marks(e.statement)}"
                for e in brief.timeline]
    lines += _section("Timeline", timeline)
    lines += _section("Unknowns", [f"- {u.text} ({u.reason})" for u in brief.unknowns])
    lines += _section("Sources", _sources(brief))
    lines += _section("Checks", _checks(brief))
    return "\n".join(lines) + "\n"


def _sources(brief: Brief) -> list[str]:
    lines = [f"- {s.title} — {s.outlet}, {s.date.isoformat() if s.date else 'date unknown'}"
             f"{', ' + s.url if s.url else ''} (`{s.id}`)" for s in brief.sources]
    quotes: dict[tuple[int, str], str] = {}
    for statement in brief.statements():
        for c in statement.citations:
            quotes.setdefault((c.n, c.quote), c.chunk_id)
    if quotes:
        lines += ["", "Cited passages:", ""]
        lines += [f"- [{n}] `{cid}`: \u201c{quote}\u201d" for (n, quote), cid in sorted(quotes.items())]
    return lines


def _checks(brief: Brief) -> list[str]:
    p = brief.provenance
    lint = brief.lint
    lines = [
        f"- grounded fraction: {brief.grounded_fraction:.2f} ({p.proposed} statements proposed, "
        f"{len(p.dropped)} dropped; model rewrites accepted {p.rewrites_accepted}, "
        f"replaced by the quoted source {p.rewrites_rejected})",
        f"- unattributed loaded terms: {len(lint.hits)}"
        + (" (" + ", ".join(h.term for h in lint.hits) + ")" if lint.hits else ""),
        f"- parties quoted in the sources: {', '.join(lint.parties_in_sources) or 'none'}; "
        f"in positions: {', '.join(lint.parties_in_positions) or 'none'}",
        f"- model: {p.model} ({p.provider}); made {p.created.isoformat(timespec='seconds')}; "
        f"package {p.package_version}",
    ]
    lines += [f"- dropped ({d.label}): {d.text} — {d.reason}" for d in p.dropped]
    return lines
