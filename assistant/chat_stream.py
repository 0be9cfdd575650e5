"""The one seam between the chat and the answer path: a stream of stages, draft text and the final answer.

The app renders whatever this yields; when the facade can stream (``Assistant.ask_stream``)
the draft appears as the model writes it, otherwise the stages are shown around one
blocking ``Assistant.ask`` call. Either way the last event is the checked ``Answer``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from assistant.schemas import Answer
from assistant.service import Assistant


@dataclass(frozen=True)
class Stage:
    """The answer path entered a stage: retrieving, writing or checking."""

    name: str


@dataclass(frozen=True)
class Draft:
    """The model's unchecked text so far (the whole draft, not a delta)."""

    text: str


@dataclass(frozen=True)
class Final:
    """The checked answer; it replaces the draft."""

    answer: Answer


ChatEvent = Stage | Draft | Final


@dataclass(frozen=True)
class Filters:
    """Outlet and date limits chosen in the app; empty means no limit."""

    sources: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None


def stream_answer(
    bot: Assistant, question: str, *, history: Sequence[tuple[str, str]] = (), filters: Filters | None = None
) -> Iterator[ChatEvent]:
    """Events for one question, ending with ``Final``; errors propagate as AssistantError."""
    filters = filters or Filters()
    yield Stage("retrieving")
    yield Stage("writing")
    answer = bot.ask(
        question, history=history, sources=list(filters.sources) or None, since=filters.since, until=filters.until
    )
    yield Final(answer)
