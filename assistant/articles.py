"""Readers that turn files (.txt, .md, .html, .jsonl, .pdf) into normalised ``Article`` objects.

Every problem with a file becomes one ``ArticleError`` naming the file, and a file
that fails yields nothing: half an article set is worse than a clear error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from charset_normalizer import from_bytes
from selectolax.lexbor import LexborHTMLParser, LexborNode

from assistant.errors import ArticleError, PartialFileError
from assistant.extract import (
    canonical_url,
    page_meta,
    paragraphs,
    run_trafilatura,
    strip_hidden,
    without_headline,
)
from assistant.feeds import parse_feed
from assistant.injection import strip_invisible
from assistant.pdfs import read_pdf
from assistant.schemas import Article
from assistant.sentences import split_sentences

FEED_SUFFIXES: frozenset[str] = frozenset({".xml", ".rss", ".atom"})
SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".html", ".htm", ".jsonl", ".pdf", *FEED_SUFFIXES})
DocumentKind = Literal["html", "feed", "pdf", "text"]

MAX_FILE_BYTES = 20 * 1024 * 1024
_SIDECAR_SUFFIX = ".meta.json"
_META_KEYS = frozenset({"title", "source", "url", "published"})
_JSONL_KEYS = _META_KEYS | {"text"}
_UNSUPPORTED_HINT = "use .txt, .md, .html, .jsonl, .pdf or a feed (.xml, .rss, .atom)"

# --------------------------------------------------------------------------- text


_NBSP = re.compile("[\u00a0\u2007\u202f]")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def normalise_text(text: str) -> str:
    """Canonical form of article text, so the same article always hashes to the same id."""
    text = _newlines(strip_invisible(unicodedata.normalize("NFC", text).removeprefix("\ufeff")))
    text = _NBSP.sub(" ", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def article_id(normalised_text: str) -> str:
    """Content address of an article, so re-ingesting the same text is a no-op."""
    return hashlib.sha256(normalised_text.encode("utf-8")).hexdigest()[:16]


_TITLE_MAX_CHARS = 120
_TITLE_MAX_WORDS = 12
_TITLE_SCAN_CHARS = 2000
# Function words a cut title should not end on.
_DANGLING = frozenset(
    {"a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "by", "with", "from", "as", "that"}
)
_CLOSERS = "\"'\u201d\u2019)]\u00bb"


def _is_sentence_line(line: str) -> bool:
    """True when a line reads as running prose rather than a headline."""
    if line.rstrip(_CLOSERS).endswith((".", "!", "\u2026", ",", ";", ":")):
        return True
    return len(split_sentences(line)) > 1


def derive_title(text: str) -> str:
    """A title for text that came without one: its headline line, else its opening words."""
    stripped = text.strip()
    if not stripped:
        return "untitled"
    first_line = " ".join(stripped.split("\n", 1)[0].split())
    if len(first_line) <= _TITLE_MAX_CHARS and not _is_sentence_line(first_line):
        return first_line
    sentences = split_sentences(stripped.split("\n\n", 1)[0][:_TITLE_SCAN_CHARS])  # the opening is enough
    words = (sentences[0] if sentences else first_line).split()
    if len(words) <= _TITLE_MAX_WORDS:
        return " ".join(words)
    cut = words[:_TITLE_MAX_WORDS]
    while len(cut) > 1 and cut[-1].lower().strip(",;:") in _DANGLING:
        cut.pop()  # "...for a second…" reads better as "...for…" than ending on "a"
    return " ".join(cut).rstrip(",;:-\u2013\u2014") + "\u2026"


# --------------------------------------------------------------------------- articles


def _parse_published(value: object, where: str) -> date | None:
    """Dates arrive as ISO strings from files; anything unparseable is the user's to fix."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ArticleError(where, "'published' must be an ISO date string or null")
    cleaned = value.strip()
    if not cleaned:
        return None
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(cleaned).date()
    except ValueError:
        raise ArticleError(where, f"invalid published date {value!r}; use an ISO date such as 2024-05-31") from None


def _clean(value: str | None) -> str | None:
    """One-line metadata with whitespace collapsed; blank means not given."""
    if value is None:
        return None
    return " ".join(strip_invisible(value).split()) or None


def make_article(
    text: str,
    *,
    title: str | None = None,
    source: str | None = None,
    published: date | str | None = None,
    url: str | None = None,
    path: str | None = None,
    author: str | None = None,
) -> Article:
    """The one place an Article is built, so every reader normalises and validates alike."""
    where = path or "<text>"
    body = normalise_text(text)
    if not body:
        raise ArticleError(where, "no text (whitespace only)" if text else "no text")
    return Article(
        id=article_id(body),
        title=_clean(title) or derive_title(body),
        source=_clean(source) or "unknown",
        published=_parse_published(published, where),
        url=_clean(url),
        path=path,
        author=_clean(author),
        text=body,
    )


# --------------------------------------------------------------------------- decoding

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x7fELF", "ELF executable"),
    (b"\x1f\x8b", "gzip archive"),
)
# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
)
# C0 and C1 controls, less the whitespace ones that real text files carry.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_BINARY = "binary content, not text"
_CP1252_MARGIN = 0.1


def _decode(data: bytes, where: str) -> str:
    """Bytes to text without ever dropping characters silently."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise ArticleError(where, f"{_BINARY} ({kind})")
    text = _decode_bom(data, where)
    if text is None:
        text = _decode_guess(data, where)
    if len(_CONTROL.findall(text)) > len(text) / 10:
        raise ArticleError(where, _BINARY)
    return text


def _decode_bom(data: bytes, where: str) -> str | None:
    """A byte-order mark is the file's own statement of its encoding; honour it or fail."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                name = codec.removesuffix("-sig").upper()
                raise ArticleError(where, f"not valid {name} despite its byte-order mark") from None
    return None


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM shows as NULs on one byte parity only (for Latin text); anything else is binary."""
    half = len(data) // 2
    if len(data) % 2 or not half:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    codec = "utf-16-le" if odd >= 0.3 * half and not even else "utf-16-be" if even >= 0.3 * half and not odd else None
    if codec is None:
        return None
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _decode_guess(data: bytes, where: str) -> str:
    """No BOM: strict UTF-8 first (almost everything today), then a statistical guess."""
    if b"\x00" in data:
        text = _bomless_utf16(data)
        if text is None:
            raise ArticleError(where, _BINARY)
        return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    western = _plain_cp1252(data)
    if western is not None:
        return western
    matches = list(from_bytes(data))
    if not matches:
        raise ArticleError(where, "unrecognised text encoding; save the file as UTF-8")
    best = matches[0]
    # Windows-1252 is the commonest legacy encoding of Western news, but on short text
    # charset-normalizer ranks look-alike code pages (cp1125, cp1250, cp1257) above it.
    # Prefer it whenever it reads as well as the best guess.
    for match in matches:
        is_western = "cp1252" in match.could_be_from_charset
        if is_western and match.chaos <= best.chaos + _CP1252_MARGIN and match.coherence >= best.coherence:
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                break
    return str(best)


_CP1252_PUNCTUATION = frozenset("‘’“”–—…€•")


def _plain_cp1252(data: bytes) -> str | None:
    """Western text in Windows-1252: mostly ASCII letters, the rest Latin-1 letters and typographic punctuation.

    On a short text charset-normalizer may rank a look-alike code page first (curly quotes become Baltic letters);
    this shape cannot be mistaken for Cyrillic or Greek, whose letters are almost all outside ASCII.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = [c for c in text if c.isalpha()]
    foreign = [c for c in text if ord(c) > 127]
    if not letters or not foreign or len([c for c in letters if ord(c) > 127]) > 0.15 * len(letters):
        return None
    ok = all(c in _CP1252_PUNCTUATION or ("\u00c0" <= c <= "\u00ff" and c.isalpha()) or c in "£©®°«»·¢¥§¼½¾¿¡"
             for c in foreign)
    return text if ok else None


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing huge ones before they reach memory."""
    where = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                size = max(os.fstat(handle.fileno()).st_size, len(data))
                raise ArticleError(where, f"file too large ({size / 1024 / 1024:.1f} MB; limit 20 MB)")
    except FileNotFoundError:
        raise ArticleError(where, "no such file") from None
    except IsADirectoryError:
        raise ArticleError(where, "is a folder; pass it to discover() or name a file") from None
    except OSError as err:
        raise ArticleError(where, f"cannot read file ({(err.strerror or str(err)).lower()})") from None
    if not data:
        raise ArticleError(where, "empty file")
    return data


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True)
class _Meta:
    """Article metadata from a sidecar or from inside the file; None means not given."""

    title: str | None = None
    source: str | None = None
    url: str | None = None
    published: date | None = None
    author: str | None = None

    def over(self, fallback: _Meta) -> _Meta:
        """These values where given, the fallback's elsewhere."""
        return _Meta(
            title=self.title or fallback.title,
            source=self.source or fallback.source,
            url=self.url or fallback.url,
            published=self.published or fallback.published,
            author=self.author or fallback.author,
        )


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for a name the system cannot hold (too long): such a sidecar cannot exist."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _sidecar_path(path: Path) -> Path:
    return path.with_suffix(_SIDECAR_SUFFIX) if path.suffix else path.with_name(path.name + _SIDECAR_SUFFIX)


def _optional_str(record: dict[str, object], key: str, where: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ArticleError(where, f"'{key}' must be a string or null")


def _check_keys(record: dict[str, object], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise ArticleError(where, f"unknown key '{unknown[0]}'; allowed: {', '.join(sorted(allowed))}")


def _meta_from_record(record: dict[str, object], where: str) -> _Meta:
    return _Meta(
        title=_optional_str(record, "title", where),
        source=_optional_str(record, "source", where),
        url=_optional_str(record, "url", where),
        published=_parse_published(record.get("published"), where),
    )


def _read_sidecar(path: Path) -> _Meta:
    """Metadata for ``foo.txt`` lives in ``foo.meta.json`` so the text file stays untouched."""
    sidecar = _sidecar_path(path)
    if not _is_file(sidecar):
        return _Meta()
    where = str(sidecar)
    text = _decode(_read_bytes(sidecar), where)
    record = _json_object(text, where, keys=_META_KEYS, at="line {lineno}: {msg}",
                          shape="must be a JSON object with title, source, url or published")
    return _meta_from_record(record, where)


# --------------------------------------------------------------------------- formats

_MD_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")


def _markdown_title(text: str) -> str | None:
    """A leading ATX heading is the author's own title."""
    stripped = text.strip()
    match = _MD_HEADING.match(stripped.split("\n", 1)[0]) if stripped else None
    return match.group(1) if match else None


# Subtrees that are never article text: code, chrome, navigation, forms, embedded media.
_DROP_TAGS = frozenset(
    {
        # Not "form": some sites wrap the whole page in one; strip_hidden has removed the search boxes and sign-ups.
        *("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "iframe", "svg"),
        *("head", "button", "select", "option", "datalist", "object", "embed", "canvas", "audio", "video", "math"),
    }
)
# Paragraph-level blocks end in a blank line; line-level ones in a newline.
_PARAGRAPH_TAGS = frozenset(
    {
        *("address", "article", "blockquote", "caption", "details", "dialog", "div", "dl", "fieldset"),
        *("figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "main", "ol", "p", "pre"),
        *("section", "summary", "table", "ul"),
    }
)
_LINE_TAGS = frozenset({"br", "li", "tr", "dt", "dd"})
_CELL_TAGS = frozenset({"td", "th"})
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0*)?(?:px|pt|em|rem|%)?\s*(?:;|!|$)|"
    r"opacity\s*:\s*0(?:\.0*)?\s*(?:;|!|$)",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def _is_hidden(node: LexborNode) -> bool:
    attrs = node.attributes
    if "hidden" in attrs:
        return True
    if (attrs.get("aria-hidden") or "").strip().lower() == "true":
        return True
    return bool(_HIDDEN_STYLE.search(attrs.get("style") or ""))


def _children(node: LexborNode) -> Iterator[LexborNode]:
    child = node.child
    while child is not None:
        yield child
        child = child.next


def _break_after(tag: str) -> int:
    """Line breaks an element stands for: 2 for paragraph blocks, 1 for line-level ones."""
    return 2 if tag in _PARAGRAPH_TAGS else 1 if tag in _LINE_TAGS else 0


def _visible_text(root: LexborNode) -> str:
    """Text a reader would see, walked with an explicit stack so deep nesting cannot overflow."""
    parts: list[str | int] = []  # text, or a break of 1 or 2 newlines
    stack: list[LexborNode | int] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            parts.append(item)
            continue
        tag = item.tag or ""
        if tag == "-text":
            parts.append(_SPACES.sub(" ", item.text_content or ""))
        elif tag.startswith(("_", "!", "-")) or tag in _DROP_TAGS or _is_hidden(item):
            continue
        elif tag == "pre":
            parts.extend([2, item.text(deep=True), 2])
        else:
            breaks = _break_after(tag)
            if breaks:
                parts.append(breaks)
                stack.append(breaks)
            elif tag in _CELL_TAGS:
                parts.append(" ")
            stack.extend(reversed(list(_children(item))))
    return _join_parts(parts)


def _join_parts(parts: list[str | int]) -> str:
    """Adjacent breaks merge into the larger, so nested blocks do not pile up blank lines."""
    out: list[str] = []
    pending = 0
    for part in parts:
        if isinstance(part, int):
            pending = max(pending, part)
        elif part.strip():
            if pending and out:
                out.append("\n" * pending)
            pending = 0
            out.append(part)
        elif not pending:
            out.append(part)
    return "\n".join(" ".join(line.split()) for line in "".join(out).split("\n"))


def read_html(text: str, where: str, *, url: str | None = None) -> tuple[str, _Meta]:
    """A page's article text and the metadata it states; hidden text never reaches the extractor."""
    tree = LexborHTMLParser(text)
    strip_hidden(tree)
    cleaned = tree.html or ""
    # The page's canonical URL often carries its date (/2024/05/31/...); htmldate reads it from there.
    document = run_trafilatura(cleaned, url=url or canonical_url(tree)) if cleaned.strip() else None
    meta = page_meta(tree, document, url=url)
    root = tree.body or tree.root
    visible = without_headline(_visible_text(root), meta.title) if root is not None else ""
    found = without_headline(paragraphs(document.text), meta.title) if document is not None and document.text else ""
    # trafilatura falls back to the whole page when it finds no article in it (a short page); the project's
    # own visible-text reader keeps that page's paragraphs and still leaves menus, asides and footers out.
    # A page with no visible text outside menus, headers and footers has no article, whatever trafilatura returns.
    body = found if found and len(found.split()) < len(visible.split()) else visible
    if not body.strip():
        raise ArticleError(where, "no visible text")
    return body, _Meta(
        title=meta.title, source=meta.source, url=meta.url, published=meta.published, author=meta.author
    )


def _json_object(
    text: str, where: str, *, keys: frozenset[str], at: str, shape: str
) -> dict[str, object]:
    """Parse one JSON object whose keys are all in ``keys``; ``at`` words a syntax error, ``shape`` a non-object."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        detail = at.format(lineno=err.lineno, colno=err.colno, msg=err.msg.lower())
        raise ArticleError(where, f"invalid JSON ({detail})") from None
    if not isinstance(record, dict):
        raise ArticleError(where, shape)
    _check_keys(record, keys, where)
    return record


def _jsonl_record(line: str, where: str) -> dict[str, object]:
    record = _json_object(line, where, keys=_JSONL_KEYS, at="{msg} at column {colno}",
                          shape="each line must be a JSON object with a 'text' key")
    if "text" not in record:
        raise ArticleError(where, "missing required key 'text'")
    if not isinstance(record["text"], str):
        raise ArticleError(where, "'text' must be a string")
    return record


def _read_jsonl(text: str, path: Path) -> list[Article]:
    """One article per line; bad lines are each named in a PartialFileError that carries the good articles."""
    articles: list[Article] = []
    bad: list[ArticleError] = []
    for lineno, line in enumerate(_newlines(text).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            articles.append(_jsonl_article(line, f"{path}:{lineno}", path))
        except ArticleError as err:
            bad.append(err)
    if bad:
        raise PartialFileError(bad, list(articles))
    if not articles:
        raise ArticleError(str(path), "no text (whitespace only)")
    return articles


def _jsonl_article(line: str, where: str, path: Path) -> Article:
    record = _jsonl_record(line, where)
    meta = _meta_from_record(record, where)
    try:
        return make_article(str(record["text"]), title=meta.title, source=meta.source, published=meta.published,
                            url=meta.url, path=str(path))
    except ArticleError as err:
        raise ArticleError(where, err.reason) from None


# --------------------------------------------------------------------------- files


def _unsupported(suffix: str) -> str:
    if not suffix:
        return f"unsupported file type (no extension); {_UNSUPPORTED_HINT}"
    return f"unsupported file type '{suffix}'; {_UNSUPPORTED_HINT}"


def _feed_articles(data: bytes, where: str, *, path: str | None) -> list[Article]:
    """One article per feed entry; HTML bodies go through the page reader like any saved page."""
    articles: list[Article] = []
    for entry in parse_feed(data, where):
        text, inline = (entry.body, _Meta()) if not entry.is_html else read_html(entry.body, where, url=entry.link)
        try:
            articles.append(
                make_article(
                    text, title=entry.title or inline.title, source=entry.source or inline.source,
                    published=entry.published or inline.published, url=entry.link or inline.url,
                    author=entry.author or inline.author, path=f"{path}#{entry.key}" if path else None,
                )
            )
        except ArticleError as err:
            raise ArticleError(f"{where} (entry {entry.key})", err.reason) from None
    return articles


def _pdf_article(data: bytes, where: str, sidecar: _Meta, *, url: str | None, path: str | None) -> list[Article]:
    pdf = read_pdf(data, where)
    meta = sidecar.over(_Meta(title=pdf.title, author=pdf.author, url=url))
    return [make_article(pdf.text, title=meta.title, source=meta.source, published=meta.published, url=meta.url,
                         author=meta.author, path=path)]


def read_document(
    data: bytes, *, kind: DocumentKind, where: str, url: str | None = None, path: str | None = None
) -> list[Article]:
    """Articles from a document's bytes whose kind is already known (a fetched URL's content type)."""
    if kind == "feed":
        return _feed_articles(data, where, path=path)
    if kind == "pdf":
        return _pdf_article(data, where, _Meta(), url=url, path=path)
    text = _decode(data, where)
    if not text.strip():
        raise ArticleError(where, "no text (whitespace only)")
    meta = _Meta(url=url)
    if kind == "html":
        text, inline = read_html(text, where, url=url)
        meta = inline.over(meta)
    return [make_article(text, title=meta.title, source=meta.source, published=meta.published, url=meta.url,
                         author=meta.author, path=path)]


def read_file(path: Path) -> list[Article]:
    """One file's articles, all or nothing, with any problem named in one ArticleError."""
    where = str(path)
    suffix = path.suffix.lower()
    if path.name.lower().endswith(_SIDECAR_SUFFIX):
        raise ArticleError(where, "is a metadata sidecar; name the article file it describes")
    if suffix not in SUPPORTED_SUFFIXES:
        raise ArticleError(where, _unsupported(suffix))
    data = _read_bytes(path)
    if suffix in FEED_SUFFIXES or suffix == ".jsonl":
        sidecar = _sidecar_path(path)
        if _is_file(sidecar):
            raise ArticleError(str(sidecar), f"a sidecar does not apply to {suffix}; the fields come from the file")
        if suffix != ".jsonl":
            return _feed_articles(data, where, path=where)
    if suffix == ".pdf":
        return _pdf_article(data, where, _read_sidecar(path), url=None, path=where)
    text = _decode(data, where)
    if suffix == ".jsonl":
        return _read_jsonl(text, path)
    if not text.strip():
        raise ArticleError(where, "no text (whitespace only)")
    inline = _Meta()
    if suffix in {".html", ".htm"}:
        text, inline = read_html(text, where)
    elif suffix == ".md":
        inline = _Meta(title=_markdown_title(text))
    meta = _read_sidecar(path).over(inline)
    return [
        make_article(text, title=meta.title, source=meta.source, published=meta.published, url=meta.url, path=where,
                     author=meta.author)
    ]


def _is_hidden_name(name: str) -> bool:
    return name.startswith(".")


def _expand_folder(folder: Path, errors: list[ArticleError]) -> list[Path]:
    """Supported article files under a folder, sorted; hidden entries and sidecars skipped."""
    found: list[Path] = []

    def on_error(err: OSError) -> None:
        reason = (err.strerror or str(err)).lower()
        errors.append(ArticleError(err.filename or str(folder), f"cannot read folder ({reason})"))

    for root, dirs, files in os.walk(folder, onerror=on_error):
        dirs[:] = [d for d in dirs if not _is_hidden_name(d)]
        for name in files:
            if _is_hidden_name(name) or name.lower().endswith(_SIDECAR_SUFFIX):
                continue
            candidate = Path(root, name)
            if candidate.suffix.lower() in SUPPORTED_SUFFIXES and candidate.is_file():
                found.append(candidate)
    return sorted(found)


def _check_explicit(path: Path) -> ArticleError | None:
    """Why a file the user named cannot be read, or None when it can be tried."""
    if path.name.lower().endswith(_SIDECAR_SUFFIX):
        return ArticleError(str(path), "is a metadata sidecar; name the article file it describes")
    if not path.is_file():
        return ArticleError(str(path), "not a regular file")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return ArticleError(str(path), _unsupported(path.suffix.lower()))
    return None


def _unusable_name(path: Path) -> ArticleError | None:
    """A name the system refuses (a NUL byte, too long) as an error naming it, instead of a traceback."""
    shown = repr(str(path))[1:-1]
    if "\x00" in str(path):
        return ArticleError(shown, "the name contains a NUL byte; rename the file")
    try:
        path.stat()
    except FileNotFoundError:
        return None
    except OSError as err:
        return ArticleError(shown[:200], f"cannot use this name ({(err.strerror or str(err)).lower()})")
    return None


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[ArticleError]]:
    """Files to read from what the user named, with each unusable path reported, not fatal."""
    files: list[Path] = []
    errors: list[ArticleError] = []
    seen: set[Path] = set()
    for path in paths:
        problem = _unusable_name(path)
        if problem is not None:
            errors.append(problem)
            continue
        if not path.exists():
            errors.append(ArticleError(str(path), "no such file or folder"))
            continue
        if path.is_dir():
            candidates = _expand_folder(path, errors)
        else:
            problem = _check_explicit(path)
            if problem is not None:
                errors.append(problem)
                continue
            candidates = [path]
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                files.append(candidate)
    return files, errors
