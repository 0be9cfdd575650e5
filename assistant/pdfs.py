"""PDF documents (press releases, reports) to text, through pypdf.

Only the text layer is read: a scanned PDF has none, and says so rather than ingesting nothing.
The document's own Title and Author are used when set; its creation date is when the file was
made, not when the story was published, so it is never taken for a publication date.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from assistant.errors import ArticleError

MAX_PAGES = 500


@dataclass(frozen=True)
class PdfText:
    """The text of a PDF, page by page joined with blank lines, and its stated title and author."""

    text: str
    title: str | None
    author: str | None


def _clean(value: object) -> str | None:
    return " ".join(value.split()) or None if isinstance(value, str) else None


def read_pdf(data: bytes, where: str) -> PdfText:
    """The text layer of a PDF; encrypted, broken or image-only files are an ArticleError naming the fix."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns on every recoverable quirk
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ArticleError(where, "the PDF is encrypted; save an unencrypted copy and ingest that")
        if len(reader.pages) > MAX_PAGES:
            raise ArticleError(where, f"the PDF has {len(reader.pages)} pages (limit {MAX_PAGES}); split it")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as err:
        detail = str(err).splitlines()[0] if str(err) else "damaged"
        raise ArticleError(where, f"not a readable PDF ({detail}); export it again from its source") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise ArticleError(where, "the PDF has no text layer (a scan?); run OCR on it first")
    title = _clean(info.title) if info is not None else None
    author = _clean(info.author) if info is not None else None
    return PdfText(text=text, title=title, author=author)
