"""HTML for the app: answers with ``[n]`` marks, source cards with the quoted sentence highlighted.

Everything a model or an article wrote is escaped here, then the whole fragment passes
through ``nh3`` (the Ammonia sanitiser) with a short allow-list: no images, no scripts,
no styles, and links only to anchors inside the page. So a planted ``<img src=...>`` or
a Markdown image in an article or a reply can never make the browser fetch anything.
The app shows these fragments with Markdown rendering off, so Markdown syntax stays text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import nh3

from assistant.schemas import Answer, Citation, Claim

_TAGS = frozenset({"a", "article", "br", "div", "em", "h3", "h4", "li", "mark", "p", "section", "small", "span",
                   "strong", "sup", "ul"})
_ATTRIBUTES = {"*": frozenset({"class", "id", "title"}), "a": frozenset({"href"})}
_CITE = re.compile(r"\[(\d+)\]")

BADGES: Mapping[str, tuple[str, str]] = {
    "supported": ("supported", "ok"),
    "unsupported": ("removed as unsupported", "warn"),
    "contradicted": ("contradicted", "bad"),
}
STAGE_TEXT: Mapping[str, str] = {
    "retrieving": "Searching the articles…",
    "writing": "Writing an answer from the sources…",
    "checking": "Checking every claim against the sources…",
}


def _only_anchors(url: str) -> str | None:
    return url if url.startswith("#") else None


_CLEANER = nh3.Cleaner(
    tags=set(_TAGS), attributes={k: set(v) for k, v in _ATTRIBUTES.items()}, url_schemes=set(),
    url_relative=_only_anchors, link_rel=None,
)


def sanitise(fragment: str) -> str:
    """The fragment with everything but the app's own tags, classes and in-page links removed."""
    return _CLEANER.clean(fragment)


def esc(text: str) -> str:
    """Plain text made safe to put inside HTML."""
    return html.escape(text, quote=True)


def _cite_links(text: str, turn: int) -> str:
    """Escaped text whose ``[n]`` marks link to card n of this turn's sources."""
    return _CITE.sub(lambda m: f'<a class="cite" href="#src-{turn}-{m.group(1)}">[{m.group(1)}]</a>', esc(text))


def stage_html(stage: str, draft: str = "") -> str:
    """A reply in progress: the current stage and, once the model writes, its unchecked draft."""
    label = STAGE_TEXT.get(stage, stage)
    parts = [f'<div class="stage"><span class="spinner"></span>{esc(label)}</div>']
    if draft:
        parts.append(f'<div class="draft" title="draft, not yet checked">{esc(draft)}</div>')
    return sanitise("".join(parts))


def answer_html(answer: Answer, *, turn: int) -> str:
    """The checked answer for the chat: its text with linked marks, or an abstention with its reason."""
    if answer.abstained:
        reason = answer.note or "nothing stored answers this question"
        return sanitise(
            '<div class="abstain"><strong>The sources do not say.</strong>'
            f"<small>Why: {esc(reason)}. Try other words, widen the filters, or add articles in the Library.</small>"
            "</div>"
        )
    removed = [c for c in answer.claims if c.label != "supported"]
    note = ""
    if removed:
        verb = "removed" if removed[0].removed else "flagged"
        note = (f'<small class="removed-note">{len(removed)} claim{"s" if len(removed) > 1 else ""} not backed by '
                f"the sources {verb}; see Sources.</small>")
    return sanitise(f'<div class="answer"><p>{_cite_links(answer.answer, turn)}</p>{note}</div>')


# -- source cards ---------------------------------------------------------------------------------------


@dataclass
class Card:
    """One cited chunk: its article, its text, the quotes drawn from it, the claims resting on it."""

    numbers: list[int]
    citation: Citation
    text: str
    quotes: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)


def _quote_span(text: str, quote: str) -> tuple[int, int] | None:
    start = text.find(quote)
    if start >= 0:
        return start, start + len(quote)
    words = [re.escape(w) for w in quote.split()]
    match = re.search(r"\s+".join(words), text) if words else None
    return (match.start(), match.end()) if match else None


def highlight(text: str, quotes: Iterable[str]) -> str:
    """Escaped text with each quote found in it wrapped in ``<mark>``; overlapping quotes merge."""
    spans = sorted(s for q in quotes if q and (s := _quote_span(text, q)))
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    out, last = [], 0
    for start, end in merged:
        out += [esc(text[last:start]), f"<mark>{esc(text[start:end])}</mark>"]
        last = end
    out.append(esc(text[last:]))
    return "".join(out)


def build_cards(answer: Answer, chunk_texts: Mapping[str, str]) -> tuple[list[Card], list[Claim]]:
    """One card per cited chunk, in citation order, and the claims that no card holds."""
    cards: dict[str, Card] = {}
    by_number: dict[int, Card] = {}
    for c in answer.citations:
        card = cards.get(c.chunk_id)
        if card is None:
            card = cards[c.chunk_id] = Card(numbers=[], citation=c, text=chunk_texts.get(c.chunk_id, c.quote))
        if c.n not in card.numbers:  # one number may cite several sentences of its chunk
            card.numbers.append(c.n)
        card.quotes.append(c.quote)
        by_number[c.n] = card
    loose: list[Claim] = []
    for claim in answer.claims:
        holders = {id(by_number[n]): by_number[n] for n in claim.citations if n in by_number}
        for card in holders.values():
            card.claims.append(claim)
        if not holders and claim.label != "supported":
            loose.append(claim)
    return list(cards.values()), loose


def origin(source: str, published: object) -> str:
    """'Outlet · date', saying plainly what is unknown."""
    outlet = source if source and source != "unknown" else "outlet unknown"
    return f"{outlet} · {published if published else 'date unknown'}"


def _badge(claim: Claim) -> str:
    label, tone = BADGES[claim.label]
    if claim.label != "supported" and not claim.removed:
        label = claim.label
    return f'<li><span class="badge {tone}">{esc(label)}</span> {esc(claim.text)}</li>'


def card_html(card: Card, *, turn: int) -> str:
    """One source card; its id is the target of the answer's ``[n]`` marks."""
    c = card.citation
    marks = "".join(f"[{n}]" for n in card.numbers)
    anchors = "".join(f'<span id="src-{turn}-{n}"></span>' for n in card.numbers[1:])
    claims = f'<ul class="claims">{"".join(_badge(cl) for cl in card.claims)}</ul>' if card.claims else ""
    return (
        f'<article class="card" id="src-{turn}-{card.numbers[0]}">{anchors}'
        f'<div class="card-head"><span class="num">{marks}</span><strong>{esc(c.title)}</strong></div>'
        f'<div class="meta">{esc(origin(c.source, c.published))}</div>'
        f'<div class="chunk">{highlight(card.text, card.quotes)}</div>{claims}</article>'
    )


def loose_claims_html(claims: Sequence[Claim]) -> str:
    """Claims the checker rejected that cite no card: listed so nothing is dropped silently."""
    if not claims:
        return ""
    items = "".join(_badge(c) for c in claims)
    return f'<article class="card loose"><div class="card-head"><strong>Not in the sources</strong></div>' \
           f'<ul class="claims">{items}</ul></article>'


def sources_html(answer: Answer, chunk_texts: Mapping[str, str], *, turn: int) -> str:
    """The sources panel for one answer: a card per cited chunk, then any rejected claims."""
    cards, loose = build_cards(answer, chunk_texts)
    if not cards:
        head = '<p class="empty">No source passage answers this question.</p>'
        return sanitise(f'<section class="sources">{head}{loose_claims_html(loose)}</section>')
    body = "".join(card_html(card, turn=turn) for card in cards)
    return sanitise(f'<section class="sources">{body}{loose_claims_html(loose)}</section>')


EMPTY_SOURCES = sanitise(
    '<section class="sources"><p class="empty">Ask a question: the passages each answer rests on appear here, '
    "with the quoted sentences highlighted.</p></section>"
)
