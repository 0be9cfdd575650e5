"""Files that arrive through the app: checked by name and size, never trusted as paths.

A browser sends a file name chosen by whoever uploads it (``../../etc/passwd.md``,
``C:\\evil.txt``, control characters). The name is only ever shown, reduced to its
last component; the bytes are read into a fresh private folder under a fixed name
with the checked suffix, so no uploaded name ever reaches the file system.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

from assistant.articles import SUPPORTED_SUFFIXES, read_file
from assistant.errors import ArticleError
from assistant.schemas import Article

UPLOAD_PREFIX = "upload:"
UPLOAD_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".html", ".htm", ".jsonl"}) & SUPPORTED_SUFFIXES
_UNSAFE = re.compile(r"[^\w .,()+@-]+")


def display_name(name: str) -> str:
    """The last component of an uploaded name, printable and short: for messages and the library only."""
    last = PureWindowsPath(PurePosixPath(name or "").name).name
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", last) if unicodedata.category(ch)[0] != "C")
    cleaned = _UNSAFE.sub("_", cleaned).strip(" .") or "upload"
    return cleaned[:120]


def check_upload(name: str, size: int, *, max_bytes: int) -> str:
    """The checked suffix of an upload, or an ArticleError that says what to send instead."""
    shown = display_name(name)
    suffix = PurePosixPath(shown).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        kinds = ", ".join(sorted(UPLOAD_SUFFIXES))
        raise ArticleError(shown, f"unsupported file type '{suffix or 'none'}'; upload {kinds} files")
    if size > max_bytes:
        raise ArticleError(shown, f"file too large ({size / 1e6:.1f} MB; the app accepts up to {max_bytes / 1e6:g} MB)")
    if size == 0:
        raise ArticleError(shown, "empty file")
    return suffix


def read_upload(name: str, data: bytes, *, max_bytes: int) -> list[Article]:
    """The articles of one uploaded file, labelled ``upload:NAME`` so a new version replaces the old."""
    suffix = check_upload(name, len(data), max_bytes=max_bytes)
    shown = display_name(name)
    with tempfile.TemporaryDirectory(prefix="assistant-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            articles = read_file(path)
        except ArticleError as exc:
            raise ArticleError(shown, exc.reason) from None
    label = UPLOAD_PREFIX + shown
    return [article.model_copy(update={"path": label}) for article in articles]
