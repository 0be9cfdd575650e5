"""A brief as the app shows it: sections of cited statements, the same source cards, a timeline chart.

Reads the ``Brief`` model (the contract of ``assistant brief``); downloads use the briefs
module's own Markdown and JSON renderers, so the app and the command write the same files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from assistant.brief_schema import Brief, Statement
from assistant.render import Card, card_html, esc, sanitise
from assistant.schemas import Claim


def _marks(statement: Statement) -> str:
    numbers = dict.fromkeys(c.n for c in statement.citations)
    return "".join(f'<a class="cite" href="#src-b-{n}">[{n}]</a>' for n in numbers)


def _reach(statement: Statement) -> str:
    if statement.of_sources <= 1:
        return ""
    if statement.single_source:
        return ' <span class="badge warn">single source</span>'
    return f' <small class="reach">{statement.reported_by} of {statement.of_sources} sources</small>'


def _item(statement: Statement, lead: str = "") -> str:
    head = f"<strong>{esc(lead)}</strong> " if lead else ""
    return f"<li>{head}{esc(statement.text)} {_marks(statement)}{_reach(statement)}</li>"


def _section(title: str, items: Sequence[str]) -> str:
    return f'<h4>{esc(title)}</h4><ul>{"".join(items)}</ul>' if items else ""


def cited_chunk_ids(brief: Brief) -> list[str]:
    """The chunks the brief cites, first citation first, for fetching their text."""
    return list(dict.fromkeys(c.chunk_id for s in brief.statements() for c in s.citations))


def brief_cards(brief: Brief, chunk_texts: Mapping[str, str]) -> list[Card]:
    """One card per cited chunk, holding every quote and statement (with its verdict) that rests on it."""
    cards: dict[str, Card] = {}
    for statement in brief.statements():
        for c in statement.citations:
            card = cards.get(c.chunk_id)
            if card is None:
                card = cards[c.chunk_id] = Card(numbers=[], citation=c, text=chunk_texts.get(c.chunk_id, c.quote))
            if c.n not in card.numbers:
                card.numbers.append(c.n)
            card.quotes.append(c.quote)
            if all(cl.text != statement.text for cl in card.claims):
                card.claims.append(Claim(text=statement.text, label=statement.label, citations=[c.n]))
    return sorted(cards.values(), key=lambda card: min(card.numbers))


def brief_html(brief: Brief, chunk_texts: Mapping[str, str]) -> str:
    """The brief's sections: statements with marks linking to the source cards, sanitised."""
    parts = [f'<h3 class="headline">{esc(brief.headline)}</h3>']
    parts.append(f'<ul class="summary">{"".join(_item(s) for s in brief.summary)}</ul>')
    parts.append(_section("Key facts", [_item(s) for s in brief.key_facts]))
    parts.append(_section("Who says what", [_item(s, p.party + ":") for p in brief.positions for s in p.statements]))
    contested = [
        f"<li>{esc(c.claim)} <small>({esc(c.kind.replace('_', ' '))})</small><ul>"
        + "".join(_item(side.statement, side.value + ":") for side in c.sides) + "</ul></li>"
        for c in brief.contested
    ]
    parts.append(_section("Contested", contested))
    parts.append(_section("Timeline", [_item(e.statement, (e.date.isoformat() if e.date else e.when) + ":")
                                       for e in brief.timeline]))
    parts.append(_section("Not known yet", [f"<li>{esc(u.text)} <small>({esc(u.reason)})</small></li>"
                                            for u in brief.unknowns]))
    return sanitise(f'<div class="brief">{"".join(parts)}</div>')


def brief_sources_html(brief: Brief, chunk_texts: Mapping[str, str]) -> str:
    """The brief's source cards; their ids are the targets of the brief's ``[n]`` marks."""
    cards = "".join(card_html(card, turn=0) for card in brief_cards(brief, chunk_texts))
    cards = cards.replace('id="src-0-', 'id="src-b-')
    return sanitise(f'<section class="sources">{cards}</section>')


def quality_html(brief: Brief) -> str:
    """The grounded fraction and the neutrality lint, in a line a reader takes in at a glance."""
    lint = brief.lint
    issues = [f"“{h.term}” ({h.category}) in: {h.text}" for h in lint.hits]
    issues += [f"{party} is quoted in the sources but has no position here" for party in lint.missing_parties]
    tone = "ok" if not issues else "warn"
    label = "neutral wording" if not issues else f"{len(issues)} neutrality issue{'s' if len(issues) > 1 else ''}"
    grounded_tone = "ok" if brief.grounded_fraction >= 0.8 else "warn"
    items = "".join(f"<li>{esc(i)}</li>" for i in issues)
    dropped = len(brief.provenance.dropped)
    return sanitise(
        f'<div class="quality"><span class="badge {grounded_tone}">grounded {brief.grounded_fraction:.0%}</span>'
        f'<span class="badge {tone}">{esc(label)}</span>'
        f"<small>{dropped} proposed statement{'s' if dropped != 1 else ''} dropped as unsupported</small>"
        f"{f'<ul>{items}</ul>' if items else ''}</div>"
    )


def timeline_figure(brief: Brief) -> Figure | None:
    """The timeline as a chart (events on a date axis), or None when no event has a resolved date."""
    points = sorted((e.date, e.statement.text) for e in brief.timeline if e.date is not None)
    if not points:
        return None
    fig = Figure(figsize=(7.5, 0.8 + 0.45 * len(points)), layout="constrained")
    ax = fig.add_subplot()
    ys = list(range(len(points)))[::-1]
    xs = [float(date2num(day)) for day, _ in points]  # type: ignore[no-untyped-call]
    ax.plot(xs, ys, color="#94a3b8", linewidth=1, zorder=1)
    ax.scatter(xs, ys, color="#2563eb", s=36, zorder=2)
    for (_, text), x, y in zip(points, xs, ys, strict=True):
        short = text if len(text) <= 70 else text[:67] + "…"
        ax.annotate(short, (x, y), xytext=(8, 0), textcoords="offset points", va="center", fontsize=8)
    locator = AutoDateLocator(minticks=2, maxticks=6)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    if len({day for day, _ in points}) > 1:
        span = xs[-1] - xs[0] if xs[-1] != xs[0] else 1.0
        ax.set_xlim(min(xs) - 0.1 * span, max(xs) + 1.2 * span)
    else:
        ax.set_xlim(xs[0] - 1, xs[0] + 4)
    ax.set_yticks([])
    ax.margins(y=0.3)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    return fig
