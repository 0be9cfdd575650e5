"""The one seam between the chat and the answer path: a stream of stages, draft text and the final answer.

The app renders whatever this yields: the stages of ``Assistant.ask_stream``, the model's
draft as it grows (whole text so far, so the view never has to keep state), and last the
checked ``Answer`` that replaces the draft.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from assistant.answering import AnswerEvent, StageEvent, TokenEvent
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
    draft = ""
    events = bot.ask_stream(
        question, history=history, sources=list(filters.sources) or None, since=filters.since, until=filters.until
    )
    for event in events:
        if isinstance(event, StageEvent):
            yield Stage(event.stage)
        elif isinstance(event, TokenEvent):
            draft += event.text
            yield Draft(draft)
        elif isinstance(event, AnswerEvent):
            yield Final(event.answer)
