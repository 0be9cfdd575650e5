"""RSS and Atom feeds to entries, through feedparser.

Each entry carries its headline, link, date and outlet as the feed states them, and the fullest
text the feed carries (``content:encoded`` or Atom ``content`` before the summary). HTML bodies are
handed back as HTML so that the page reader extracts them exactly as it extracts a saved page.
"""

from __future__ import annotations

import calendar
import time
import xml.sax
from dataclasses import dataclass
from datetime import UTC, date, datetime

import feedparser

from assistant.errors import ArticleError

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})


@dataclass(frozen=True)
class FeedEntry:
    """One feed item; ``body`` is HTML when ``is_html``, else plain text; None fields were not stated."""

    title: str | None
    link: str | None
    published: date | None
    source: str | None
    author: str | None
    body: str
    is_html: bool
    key: str


def _text(value: object) -> str | None:
    return " ".join(value.split()) or None if isinstance(value, str) else None


def _date(entry: feedparser.FeedParserDict) -> date | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if isinstance(parsed, time.struct_time):
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC).date()
    return None


def _body(entry: feedparser.FeedParserDict) -> tuple[str, bool]:
    """The longest full content the entry carries, else its summary, else its title."""
    contents = [c for c in entry.get("content") or [] if isinstance(c.get("value"), str) and c["value"].strip()]
    if contents:
        best = max(contents, key=lambda c: len(c["value"]))
        return best["value"], (best.get("type") or "text/html").lower() in _HTML_TYPES
    summary = entry.get("summary")
    if isinstance(summary, str) and summary.strip():
        detail = entry.get("summary_detail") or {}
        return summary, (detail.get("type") or "text/html").lower() in _HTML_TYPES
    return _text(entry.get("title")) or "", False


def _source(entry: feedparser.FeedParserDict, outlet: str | None) -> str | None:
    """The entry's own ``<source>`` (an aggregator's item names its outlet), else the feed's title."""
    source = entry.get("source")
    named = _text(source.get("title")) if isinstance(source, dict) else None
    return named or outlet


def parse_feed(data: bytes, where: str) -> list[FeedEntry]:
    """Every entry of an RSS or Atom document; a document that is not a feed is an ArticleError."""
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    problem = parsed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXParseException):
        # A feed that is not well-formed XML is often a cut-off download: its last entry would be half an article.
        raise ArticleError(where, f"not a well-formed feed (line {problem.getLineNumber()}: {problem.getMessage()}); "
                                  "download it again or check the source")
    entries = list(parsed.get("entries") or [])
    if not entries:
        raise ArticleError(where, "the feed has no entries" if parsed.get("version") else "not an RSS or Atom feed")
    outlet = _text((parsed.get("feed") or {}).get("title"))
    found: list[FeedEntry] = []
    for n, entry in enumerate(entries, start=1):
        body, is_html = _body(entry)
        if not body.strip():
            continue
        link = _text(entry.get("link"))
        found.append(
            FeedEntry(
                title=_text(entry.get("title")),
                link=link,
                published=_date(entry),
                source=_source(entry, outlet),
                author=_text(entry.get("author")),
                body=body,
                is_html=is_html,
                key=_text(entry.get("id")) or link or str(n),
            )
        )
    if not found:
        raise ArticleError(where, "no entry of the feed carries any text")
    return found
