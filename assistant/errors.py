"""The assistant's error tree: every message says what to do next.

The CLI turns an ``AssistantError`` into one line on stderr and a non-zero exit;
the UI turns it into ``gr.Error``. Nothing else catches a bare ``Exception``.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class; ``str(err)`` is a one-line message for the user."""

    exit_code = 1


class ConfigError(AssistantError):
    """A setting is missing or inconsistent."""

    exit_code = 2


class InputError(AssistantError):
    """A file or question the assistant cannot use."""

    exit_code = 2


class ArticleError(InputError):
    """One article file could not be read; names the file and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class PartialFileError(ArticleError):
    """Some lines of a multi-article file (.jsonl) are bad: each is named, and the good ones still go in."""

    def __init__(self, errors: list[ArticleError], articles: list[object]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else ""
        super().__init__(first.path, first.reason + more)
        self.errors = errors
        self.articles = articles


class StoreError(AssistantError):
    """The vector store cannot be opened or used."""

    exit_code = 3


class StoreLockedError(StoreError):
    """Another process holds the embedded store."""


class EmbeddingMismatchError(StoreError):
    """The collection was built with another embedding model."""


class StoreVersionError(StoreError):
    """The store was written by another version of the assistant, in a format this one does not read."""


class ModelError(AssistantError):
    """The chat model or embeddings could not be loaded or did not answer."""

    exit_code = 4
