"""A brief as the app shows it: sections of cited statements, the same source cards, a timeline chart.

Works on the brief's JSON (the contract of ``assistant brief``: headline, summary, key_facts,
positions, contested, timeline, unknowns, sources, grounded_fraction, lint, provenance; each
statement ``{text, citations, ...}`` with citations shaped as in ``ask --json``), so the view
depends on the published shape, not on how briefs are made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from matplotlib.dates import date2num
from matplotlib.figure import Figure

from assistant.render import Card, card_html, esc, sanitise
from assistant.schemas import Citation, Claim

Brief = Mapping[str, Any]
SECTIONS: Sequence[tuple[str, str]] = (
    ("key_facts", "Key facts"),
    ("positions", "Who says what"),
    ("contested", "Contested"),
    ("timeline", "Timeline"),
    ("unknowns", "Not known yet"),
)
_CITATION_FIELDS = frozenset(Citation.model_fields)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _items(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statement_text(item: object) -> str:
    """A statement's text, with who said it or when, where the brief gives that."""
    if not isinstance(item, Mapping):
        return str(item)
    text = str(item.get("text") or item.get("statement") or "")
    lead = item.get("actor") or item.get("who") or item.get("date") or item.get("when")
    return f"{lead}: {text}" if lead and not text.startswith(str(lead)) else text


def citations_of(item: object) -> list[Citation]:
    """The statement's citations as models; bare numbers and unknown keys are left out."""
    if not isinstance(item, Mapping):
        return []
    found = []
    for raw in _items(item.get("citations")):
        if isinstance(raw, Mapping) and {"n", "article_id", "title", "chunk_id", "quote"} <= raw.keys():
            found.append(Citation.model_validate({k: v for k, v in raw.items() if k in _CITATION_FIELDS}))
    return found


def _numbers(item: object) -> list[int]:
    if not isinstance(item, Mapping):
        return []
    return [c if isinstance(c, int) else int(c.get("n", 0)) for c in _items(item.get("citations"))
            if isinstance(c, int) or (isinstance(c, Mapping) and isinstance(c.get("n"), int))]


def all_statements(brief: Brief) -> Iterable[object]:
    """Every statement of the brief, section by section."""
    yield from _items(brief.get("summary"))
    for key, _ in SECTIONS:
        yield from _items(brief.get(key))


def cited_chunk_ids(brief: Brief) -> list[str]:
    """The chunks the brief cites, first citation first, for fetching their text."""
    seen: dict[str, None] = {}
    for item in all_statements(brief):
        for c in citations_of(item):
            seen.setdefault(c.chunk_id, None)
    return list(seen)


def brief_cards(brief: Brief, chunk_texts: Mapping[str, str]) -> list[Card]:
    """One card per cited chunk, holding every quote and statement that rests on it."""
    cards: dict[str, Card] = {}
    for item in all_statements(brief):
        label = item.get("label") if isinstance(item, Mapping) else None
        for c in citations_of(item):
            card = cards.get(c.chunk_id)
            if card is None:
                card = cards[c.chunk_id] = Card(numbers=[], citation=c, text=chunk_texts.get(c.chunk_id, c.quote))
            if c.n not in card.numbers:
                card.numbers.append(c.n)
            card.quotes.append(c.quote)
            if label in {"supported", "unsupported", "contradicted"}:
                card.claims.append(Claim(text=statement_text(item), label=label, citations=[c.n]))
    return sorted(cards.values(), key=lambda card: min(card.numbers))


def _statement_html(item: object) -> str:
    marks = "".join(f'<a class="cite" href="#src-b-{n}">[{n}]</a>' for n in _numbers(item))
    return f"<li>{esc(statement_text(item))} {marks}</li>"


def brief_html(brief: Brief, chunk_texts: Mapping[str, str]) -> str:
    """The brief's sections (statements with linked marks) and its source cards, sanitised."""
    parts = [f'<h3 class="headline">{esc(str(brief.get("headline") or "Brief"))}</h3>']
    summary = _items(brief.get("summary"))
    if summary:
        parts.append(f'<ul class="summary">{"".join(_statement_html(s) for s in summary)}</ul>')
    for key, title in SECTIONS:
        items = _items(brief.get(key))
        if items:
            parts.append(f'<h4>{esc(title)}</h4><ul>{"".join(_statement_html(s) for s in items)}</ul>')
    cards = "".join(card_html(card, turn=0) for card in brief_cards(brief, chunk_texts)).replace('"src-0-', '"src-b-')
    return sanitise(f'<div class="brief">{"".join(parts)}</div><section class="sources">{cards}</section>')


def quality_html(brief: Brief) -> str:
    """The grounded fraction and each lint finding, in a line a reader takes in at a glance."""
    fraction = brief.get("grounded_fraction")
    shown = f"{float(fraction):.0%}" if isinstance(fraction, int | float) else "unknown"
    findings = [_lint_text(f) for f in _items(_lint_items(brief.get("lint")))]
    tone = "ok" if not findings else "warn"
    lint = "no neutrality issues" if not findings else f"{len(findings)} neutrality issue(s)"
    items = "".join(f"<li>{esc(f)}</li>" for f in findings)
    return sanitise(
        f'<div class="quality"><span class="badge ok">grounded {esc(shown)}</span> '
        f'<span class="badge {tone}">{esc(lint)}</span>{f"<ul>{items}</ul>" if items else ""}</div>'
    )


def _lint_items(lint: object) -> object:
    if isinstance(lint, Mapping):
        return lint.get("issues") or lint.get("findings") or [f"{k}: {v}" for k, v in lint.items() if v]
    return lint


def _lint_text(finding: object) -> str:
    if isinstance(finding, Mapping):
        return " — ".join(str(v) for v in finding.values() if v not in (None, "", []))
    return str(finding)


def timeline_points(brief: Brief) -> list[tuple[date, str]]:
    """(date, event) pairs of the timeline, in date order; entries with no ISO date are left off the chart."""
    points = []
    for item in _items(brief.get("timeline")):
        raw = str(item.get("date") or item.get("when") or "") if isinstance(item, Mapping) else ""
        text = str(item.get("text") or "") if isinstance(item, Mapping) else str(item)
        found = _DATE.search(raw or text)
        if found:
            try:
                points.append((date.fromisoformat(found.group(0)), text))
            except ValueError:
                continue
    return sorted(points)


def timeline_figure(brief: Brief) -> Figure | None:
    """The timeline as a chart (events on a date axis), or None when no entry has a date."""
    points = timeline_points(brief)
    if not points:
        return None
    fig = Figure(figsize=(7.5, 0.6 + 0.45 * len(points)), layout="constrained")
    ax = fig.add_subplot()
    ys = list(range(len(points)))[::-1]
    xs = [float(date2num(day)) for day, _ in points]  # type: ignore[no-untyped-call]
    ax.plot(xs, ys, color="#94a3b8", linewidth=1, zorder=1)
    ax.scatter(xs, ys, color="#2563eb", s=36, zorder=2)
    for (_, text), x, y in zip(points, xs, ys, strict=True):
        short = text if len(text) <= 70 else text[:67] + "…"
        ax.annotate(short, (x, y), xytext=(8, 0), textcoords="offset points", va="center", fontsize=8)
    ax.xaxis_date()
    ax.set_yticks([])
    ax.margins(x=0.35, y=0.3)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.autofmt_xdate()
    return fig


def brief_markdown(brief: Brief) -> str:
    """The brief as Markdown, citations as ``[n]`` with a numbered source list at the end."""
    lines = [f"# {brief.get('headline') or 'Brief'}", ""]
    for s in _items(brief.get("summary")):
        lines.append(_md_statement(s, bullet=False))
    for key, title in SECTIONS:
        items = _items(brief.get(key))
        if items:
            lines += ["", f"## {title}", ""] + [_md_statement(s) for s in items]
    quotes: dict[int, Citation] = {}
    for item in all_statements(brief):
        for c in citations_of(item):
            quotes.setdefault(c.n, c)
    if quotes:
        lines += ["", "## Sources", ""]
        lines += [f"[{n}] {c.title} ({c.origin()}): “{c.quote}”" for n, c in sorted(quotes.items())]
    fraction = brief.get("grounded_fraction")
    if isinstance(fraction, int | float):
        lines += ["", f"Grounded: {float(fraction):.0%} of statements supported by the sources."]
    return "\n".join(lines) + "\n"


def _md_statement(item: object, *, bullet: bool = True) -> str:
    marks = "".join(f"[{n}]" for n in _numbers(item))
    text = f"{statement_text(item)} {marks}".strip()
    return f"- {text}" if bullet else text


def brief_json(brief: Brief) -> str:
    """The brief as the JSON that ``assistant brief`` writes."""
    return json.dumps(brief, ensure_ascii=False, indent=2, default=str) + "\n"
