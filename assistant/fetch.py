"""Fetching pages, feeds and PDFs by URL, with every limit a bad server could push on.

A connect and a read timeout per request and a deadline for the whole download (a server that
trickles bytes never trips a read timeout), a size cap checked against ``Content-Length`` and again
while streaming, a bounded number of redirects, only http(s), and the content type checked before
any byte is parsed. Every failure is an ``ArticleError`` naming the URL, so one bad link costs only
itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from assistant.articles import DocumentKind
from assistant.errors import ArticleError

USER_AGENT = "assistant-news-reader/0.1"
_CONTENT_KINDS: dict[str, DocumentKind] = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/rss+xml": "feed",
    "application/atom+xml": "feed",
    "application/feed+xml": "feed",
    "application/rdf+xml": "feed",
    "application/xml": "feed",
    "text/xml": "feed",
    "application/pdf": "pdf",
    "text/plain": "text",
    "text/markdown": "text",
}
_ACCEPT = "text/html, application/xhtml+xml, application/rss+xml, application/atom+xml, application/xml;q=0.9, " \
          "application/pdf;q=0.9, text/plain;q=0.8"
_CONNECT_RETRIES = 1


@dataclass(frozen=True)
class FetchLimits:
    """How long, how much and how many hops one URL may take."""

    timeout: float = 15.0
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True)
class Fetched:
    """A downloaded document: its bytes, what they are, and the address they finally came from."""

    url: str
    data: bytes
    kind: DocumentKind


def is_url(value: str) -> bool:
    """True for http(s) addresses, which ingest fetches instead of reading from disk."""
    return value.lower().startswith(("http://", "https://"))


def read_url_list(path: Path) -> list[str]:
    """URLs from a file, one a line; blank lines and ``#`` comments skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ArticleError(str(path), f"cannot read the URL list ({err}); give a UTF-8 file, one URL a line") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def sniff(head: bytes) -> DocumentKind | None:
    """What a document is from its first bytes, for servers that do not say (no or a generic content type)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    if start.startswith(b"%pdf-"):
        return "pdf"
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if start.startswith(b"<?xml") or start.startswith((b"<rss", b"<feed", b"<rdf")):
        return "feed"
    return None


def _media(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _check_type(url: str, media: str) -> None:
    """Refuse a stated type that is none of ours before a byte of the body is read."""
    if media not in _CONTENT_KINDS and media not in _GENERIC_TYPES:
        _kind(url, media, b"")


def _kind(url: str, media: str, head: bytes) -> DocumentKind:
    kind = _CONTENT_KINDS.get(media) or (sniff(head) if media in _GENERIC_TYPES else None)
    if kind is None:
        got = media or "none"
        raise ArticleError(url, f"unsupported content type '{got}'; give a web page, a feed, a PDF or plain text")
    return kind


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def _read_capped(response: httpx.Response, url: str, limits: FetchLimits, started: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise ArticleError(url, f"too large ({_size(int(declared))}; limit {_size(limits.max_bytes)})")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limits.max_bytes:
            raise ArticleError(url, f"too large (over {_size(limits.max_bytes)}, the limit); not ingested")
        if time.monotonic() - started > limits.timeout:
            raise ArticleError(url, f"download took over {limits.timeout:g} s; try again later")
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(err: httpx.HTTPError) -> str:
    if isinstance(err, httpx.TooManyRedirects):
        return "too many redirects"
    if isinstance(err, httpx.TimeoutException):
        return "timed out; the server did not answer in time"
    if isinstance(err, httpx.ConnectError):
        return "cannot connect; check the address and the network"
    return f"download failed ({type(err).__name__}: {err})"


class Fetcher:
    """One HTTP client for a batch of URLs (connections are reused); close it when done."""

    def __init__(self, limits: FetchLimits | None = None, *, transport: httpx.BaseTransport | None = None) -> None:
        self.limits = limits or FetchLimits()
        self._client = httpx.Client(
            follow_redirects=True,
            max_redirects=self.limits.max_redirects,
            timeout=httpx.Timeout(self.limits.timeout, connect=min(5.0, self.limits.timeout)),
            headers={"User-Agent": USER_AGENT, "Accept": _ACCEPT},
            transport=transport or httpx.HTTPTransport(retries=_CONNECT_RETRIES),
        )

    def fetch(self, url: str) -> Fetched:
        """The document at ``url``, or an ArticleError naming the URL and what went wrong."""
        if urlsplit(url).scheme.lower() not in {"http", "https"} or not urlsplit(url).netloc:
            raise ArticleError(url, "not an http(s) URL")
        started = time.monotonic()
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise ArticleError(url, f"the server answered HTTP {response.status_code}"
                                            f"{' ' + response.reason_phrase if response.reason_phrase else ''}")
                media = _media(response.headers.get("content-type", ""))
                _check_type(url, media)
                data = _read_capped(response, url, self.limits, started)
                kind = _kind(url, media, data)
                final = str(response.url)
        except httpx.HTTPError as err:
            raise ArticleError(url, _describe(err)) from None
        if not data:
            raise ArticleError(url, "the server sent an empty document")
        return Fetched(url=final, data=data, kind=kind)

    def close(self) -> None:
        """Release the connections."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fetch_all(urls: list[str], fetcher: Fetcher) -> Iterator[tuple[str, Fetched | ArticleError]]:
    """Each URL with its document or its error, in order; one failure never stops the rest."""
    for url in urls:
        try:
            yield url, fetcher.fetch(url)
        except ArticleError as err:
            yield url, err
