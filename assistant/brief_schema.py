"""The brief contract: what ``assistant brief`` writes as JSON and renders as Markdown.

Every statement carries citations shaped exactly as ``ask --json`` shapes them (a ``Citation``
with its verbatim ``quote``) and the grounding label the checker gave it. The models forbid
extra keys so a brief read back from disk (for resuming a batch) is the brief that was written.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.schemas import Citation, Label

Origin = Literal["rewritten", "quoted", "verbatim"]
ConflictKind = Literal["figure", "date", "name", "single_party"]
TOP_LEVEL_KEYS = (
    "headline", "summary", "key_facts", "positions", "contested", "timeline", "unknowns",
    "sources", "grounded_fraction", "lint", "provenance",
)  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Statement(_Strict):
    """One checked sentence of a brief with the source sentences it rests on."""

    text: str = Field(description="The sentence as shipped (neutral, attributed where it characterises).")
    citations: list[Citation] = Field(description="Shaped as in `ask --json`; each quote is verbatim.")
    label: Label = Field(description="The grounding checker's verdict on `text`.")
    origin: Origin = Field(
        default="verbatim",
        description="rewritten: the model's condensed sentence passed the checks; quoted: the source sentence quoted "
        "and attributed after a rewrite failed; verbatim: the source sentence as written.",
    )
    reported_by: int = Field(default=1, ge=1, description="How many of the sources carry this statement.")
    of_sources: int = Field(default=1, ge=1, description="How many sources the brief covers.")
    single_source: bool = Field(default=False, description="Only one of several sources carries it.")


class Position(_Strict):
    """What one party that the sources quote or paraphrase says."""

    party: str
    statements: list[Statement]


class Side(_Strict):
    """One side of a disagreement: the value as one source gives it."""

    value: str = Field(description="The figure, date or name as this side states it.")
    statement: Statement


class Contested(_Strict):
    """A claim the sources disagree on, or one that only one party makes."""

    kind: ConflictKind
    claim: str = Field(description="What the disagreement is about, in neutral words.")
    sides: list[Side]


class TimelineEvent(_Strict):
    """A dated event; ``date`` is resolved against the article's date when known."""

    date: dt.date | None = Field(description="Resolved calendar date; null when it cannot be resolved.")
    when: str = Field(description="The date expression as written in the source.")
    resolved_from: dt.date | None = Field(default=None, description="Article date a relative one was resolved from.")
    statement: Statement


class Unknown(_Strict):
    """What a reader would ask that the sources do not say."""

    text: str
    reason: str


class SourceRef(_Strict):
    """One article the brief draws on."""

    id: str
    title: str
    outlet: str
    date: dt.date | None
    url: str | None


class LintHit(_Strict):
    """A loaded term found outside quotation marks and outside an attribution."""

    term: str
    category: str
    neutral: str | None
    text: str = Field(description="The sentence the term was found in.")
    section: str = Field(default="", description="Where in the brief (or 'proposed' for a rewrite that was fixed).")
    fixed: str = Field(default="", description="How it was fixed: 'neutral', 'quoted', or '' when shipped as is.")


class Lint(_Strict):
    """Neutrality of the brief: loaded terms and balance of parties."""

    hits: list[LintHit] = Field(default_factory=list, description="Unattributed loaded terms in the shipped brief.")
    fixed: list[LintHit] = Field(default_factory=list, description="Hits in proposed text that were fixed.")
    parties_in_sources: list[str] = Field(default_factory=list)
    parties_in_positions: list[str] = Field(default_factory=list)
    missing_parties: list[str] = Field(default_factory=list, description="Quoted in the sources, absent here.")


class Dropped(_Strict):
    """A proposed statement the checker did not find supported; not shipped."""

    text: str
    label: Label
    reason: str


class Provenance(_Strict):
    """Enough to audit and reproduce a brief; never a secret."""

    model: str
    provider: str
    prompts: dict[str, str] = Field(description="sha256 of each prompt file used.")
    retrieval: dict[str, str | int | float | bool | None]
    articles: dict[str, str] = Field(
        description="Article id -> hash of its normalised text (first 16 hex digits of sha256, as the id)."
    )
    package_version: str
    created: dt.datetime
    fingerprint: str = Field(description="sha256 over articles, settings and prompts: equal means nothing to redo.")
    proposed: int = Field(default=0, description="Statements proposed for the brief.")
    rewrites_accepted: int = Field(default=0, description="Model rewrites that passed grounding and the lint.")
    rewrites_rejected: int = Field(default=0, description="Model rewrites replaced by the quoted source sentence.")
    dropped: list[Dropped] = Field(default_factory=list, description="Proposed statements not shipped.")


class Brief(_Strict):
    """A neutral brief of one article, one story across outlets, or one topic."""

    headline: str
    summary: list[Statement]
    key_facts: list[Statement]
    positions: list[Position]
    contested: list[Contested]
    timeline: list[TimelineEvent]
    unknowns: list[Unknown]
    sources: list[SourceRef]
    grounded_fraction: float = Field(ge=0, le=1, description="Supported share of the statements proposed.")
    lint: Lint
    provenance: Provenance

    def statements(self) -> list[Statement]:
        """Every statement the brief ships, in reading order."""
        out = [*self.summary, *self.key_facts]
        out += [s for p in self.positions for s in p.statements]
        out += [side.statement for c in self.contested for side in c.sides]
        out += [e.statement for e in self.timeline]
        return out
