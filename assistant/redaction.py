"""Secrets never leave in text: API keys are cut out of messages that quote a server or an exception.

Servers echo what they were sent: OpenAI's 401 names part of the key, a proxy's error page may repeat the
``Authorization`` header, an exception's text may hold a URL with a token. ``redact`` removes the keys this
process was given (registered when a client is built) and anything shaped like a key or a bearer token,
before a message reaches a log, the terminal, a report or the UI.

Example::

    >>> remember_secret("sk-test-0123456789abcdef")
    >>> redact("401: Incorrect API key provided: sk-test-0123456789abcdef.")
    '401: Incorrect API key provided: [redacted].'
"""

from __future__ import annotations

import re
import threading

_KEY_SHAPED = re.compile(
    r"\b(?:sk|pk|rk|ak)-[A-Za-z0-9_\-*]{8,}|\bBearer\s+[A-Za-z0-9._~+/=\-*]{8,}|"
    r"(?i:(?:api[_-]?key|token|secret|password)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;]{6,}"
)
_secrets: set[str] = set()
_lock = threading.Lock()


def remember_secret(value: str) -> None:
    """Add a secret this process holds, so ``redact`` removes it wherever it shows up."""
    if len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every remembered secret, and anything shaped like a key or token, replaced."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return _KEY_SHAPED.sub("[redacted]", text)
