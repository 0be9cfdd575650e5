"""Bounded retries for transient failures of outside services, with tenacity.

A Chroma server that restarts, or a connection dropped mid-request, fails one call; the same call a moment
later works. Every retry here is bounded both in attempts and in seconds, so a dead service becomes a clear
error within seconds instead of a hang. Only idempotent calls are retried (reads, upserts by id, deletes by
id). The OpenAI client is not wrapped: it retries 408, 409, 429 and 5xx itself (``max_retries``, honouring
``Retry-After``), and stacking a second layer would multiply the attempts.

Example::

    >>> calls = []
    >>> def flaky() -> str:
    ...     calls.append(1)
    ...     if len(calls) < 2:
    ...         raise ConnectionError("reset")
    ...     return "ok"
    >>> with_retries(flaky, transient=(ConnectionError,), attempts=3, max_seconds=5, first_wait=0.01)
    'ok'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential

T = TypeVar("T")


def with_retries(
    fn: Callable[[], T],
    *,
    transient: tuple[type[BaseException], ...],
    attempts: int = 4,
    max_seconds: float = 6.0,
    first_wait: float = 0.25,
) -> T:
    """``fn()``, tried again on a ``transient`` error up to ``attempts`` times or ``max_seconds``; the last
    error is raised as it was, for the caller to turn into a message."""
    retrying = Retrying(
        stop=stop_after_attempt(attempts) | stop_after_delay(max_seconds),
        wait=wait_exponential(multiplier=first_wait, max=2.0),
        retry=retry_if_exception_type(transient),
        reraise=True,
    )
    return retrying(fn)
