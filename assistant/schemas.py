"""Pydantic models that cross module lines."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Label = Literal["supported", "unsupported", "contradicted"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Article(_Strict):
    """One normalised article; ``id`` is a hash of ``text``."""

    id: str = Field(description="First 16 hex digits of sha256 of the normalised text.")
    title: str = Field(description="Given title, or one derived from the first sentence.")
    source: str = Field(default="unknown", description="Outlet or origin; 'unknown' when not given.")
    published: date | None = Field(default=None, description="Publication date when known.")
    url: str | None = Field(default=None)
    path: str | None = Field(default=None, description="File the article was read from.")
    author: str | None = Field(default=None, description="Byline when the page or sidecar states one.")
    text: str = Field(description="Normalised body text.")


class Outlet(_Strict):
    """One outlet that carried a story: the article itself, or a syndicated copy of it stored once."""

    source: str = Field(default="unknown", description="Outlet name; 'unknown' when not given.")
    url: str | None = None
    path: str | None = Field(default=None, description="File or URL the copy was read from.")
    published: date | None = None


class Chunk(_Strict):
    """A sentence-aligned slice of an article: ``text == article.text[start:end]``."""

    id: str = Field(description="'{article_id}:{n}'")
    article_id: str
    n: int = Field(ge=0)
    text: str
    start: int = Field(ge=0, description="Character offset of the chunk in the article text.")
    end: int = Field(ge=0)
    tokens: int = Field(ge=1, description="Length in the embedding model's tokens.")


class RetrievedChunk(_Strict):
    """A chunk found for a question, with its article's metadata and ranking scores."""

    chunk_id: str
    article_id: str
    title: str
    source: str = "unknown"
    published: date | None = None
    url: str | None = None
    author: str | None = None
    outlets: list[Outlet] = Field(
        default_factory=list, description="Every outlet that carried this story (the article and its copies)."
    )
    text: str
    start: int = 0
    end: int = 0
    similarity: float = Field(default=0.0, description="Cosine similarity to the question (dense).")
    score: float = Field(default=0.0, description="Fused rank score (RRF).")
    injection: str = Field(
        default="", description="Why the chunk, its title or metadata reads as an instruction to an AI; '' if not."
    )


class Evidence(_Strict):
    """Where a claim is backed: the source and the verbatim span."""

    source: str = Field(description="Chunk id or file name the quote comes from.")
    quote: str
    start: int = Field(ge=0, description="Offset of the quote in that source's text.")
    end: int = Field(ge=0)


class Citation(_Strict):
    """A numbered source of an answer; ``quote`` is a verbatim substring of the chunk."""

    n: int = Field(ge=1)
    article_id: str
    title: str
    chunk_id: str
    quote: str
    source: str = "unknown"
    published: date | None = None
    url: str | None = None

    def origin(self) -> str:
        """'Outlet, date' for display, saying plainly what is unknown."""
        source = self.source if self.source != "unknown" else "source unknown"
        return f"{source}, {self.published.isoformat() if self.published else 'date unknown'}"


class Claim(_Strict):
    """One assertion of an answer or brief, with its verdict."""

    text: str
    label: Label
    score: float = Field(default=0.0, description="Support strength in [0, 1].")
    citations: list[int] = Field(default_factory=list, description="Citation numbers backing the claim.")
    evidence: Evidence | None = None
    reason: str = Field(default="", description="Why the verdict, when not supported.")
    removed: bool = Field(default=False, description="Dropped from the answer because it is not supported.")


class RetrievalInfo(_Strict):
    """What retrieval did for one question."""

    query: str = Field(description="The question as searched (after follow-up rewriting).")
    candidates: int = 0
    used: int = Field(default=0, description="Chunks whose sentences were searched for the evidence.")
    dropped_for_budget: int = Field(default=0, description="Evidence sentences left out of the model's prompt "
                                    "to fit its context window.")
    best_similarity: float = Field(default=0.0, description="Highest cosine similarity of a candidate.")
    best_coverage: float = Field(default=0.0, description="Highest share of question words found in one chunk.")
    chunk_ids: list[str] = Field(default_factory=list)


class Answer(_Strict):
    """The answer contract of ``assistant ask --json``."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    model: str
    retrieval: RetrievalInfo
    note: str = Field(default="", description="Why the assistant abstained, when it did.")


class IngestReport(_Strict):
    """What one ingest run did."""

    new: int = 0
    unchanged: int = 0
    replaced: int = 0
    copies: int = Field(default=0, description="Syndicated copies of stored articles, recorded as outlets.")
    chunks_added: int = 0
    errors: list[str] = Field(default_factory=list, description="One line per file that was not stored.")

    def summary(self) -> str:
        """One line for the terminal."""
        parts = [f"{self.new} new", f"{self.unchanged} unchanged"]
        if self.replaced:
            parts.append(f"{self.replaced} replaced")
        if self.copies:
            parts.append(f"{self.copies} {'copy' if self.copies == 1 else 'copies'} of stored stories")
        parts.append(f"{self.chunks_added} chunks embedded")
        if self.errors:
            parts.append(f"{len(self.errors)} failed")
        return ", ".join(parts)


class SourceText(_Strict):
    """A text that claims are checked against: a chunk, an article or a file."""

    id: str = Field(description="Chunk id, article id or file name; echoed in evidence.")
    text: str


class GroundingReport(_Strict):
    """The grounding of one text against its sources."""

    score: float = Field(description="Share of claims labelled supported; 1.0 when there are no claims.")
    claims: list[Claim] = Field(default_factory=list)


class ArticleSummary(_Strict):
    """One stored article as the library lists it."""

    id: str
    title: str
    source: str = "unknown"
    published: date | None = None
    url: str | None = None
    path: str | None = Field(default=None, description="File (or upload name) the article came from.")
    chunks: int = Field(ge=0, description="Chunks stored for the article.")


class StoreStatus(_Strict):
    """What the assistant runs on: models, where the store lives, and how much it holds."""

    chat_model: str
    embeddings: str
    store: str = Field(description="The store's folder, or the Chroma server's URL.")
    articles: int = Field(ge=0)
    chunks: int = Field(ge=0)
