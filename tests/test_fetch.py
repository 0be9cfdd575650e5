"""Ingesting by URL against a real HTTP server on loopback: pages, feeds, and every way a server can fail."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.errors import ArticleError
from assistant.fetch import Fetcher, FetchLimits, read_url_list
from assistant.service import Assistant

from .test_pdf import make_pdf

PAGES = Path(__file__).resolve().parent / "pages"
LIMITS = FetchLimits(timeout=2.0, max_bytes=200_000, max_redirects=3)


class Handler(http.server.BaseHTTPRequestHandler):
    """Saved pages and feeds, and the misbehaving responses a real server may send."""

    def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
        pass

    def send(self, status: int, body: bytes, content_type: str, *, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path
        if path == "/news/floods":
            self.send(200, (PAGES / "ledger-floods.html").read_bytes(), "text/html; charset=utf-8")
        elif path == "/feed":
            self.send(200, (PAGES / "ledger.atom").read_bytes(), "application/atom+xml")
        elif path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/news/floods")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path.startswith("/loop"):
            self.send_response(302)
            self.send_header("Location", f"/loop{len(path)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow":
            time.sleep(3.5)
            self.send(200, b"<p>late</p>", "text/html")
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(8):
                self.wfile.write(b"<p>drip</p>" * 10)
                self.wfile.flush()
                time.sleep(0.5)
        elif path == "/huge":
            self.send(200, b"<p>" + b"x" * 300_000 + b"</p>", "text/html")
        elif path == "/huge-unsized":
            self.send(200, b"<p>" + b"y" * 300_000 + b"</p>", "text/html", length=False)
        elif path == "/image":
            self.send(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")
        elif path == "/report":
            pdf = make_pdf(["The council confirmed the bridge reopens on Monday."])
            self.send(200, pdf, "application/octet-stream")
        elif path == "/blob":
            self.send(200, b"\x00\x01binary", "application/octet-stream")
        elif path == "/broken":
            self.send(500, b"oops", "text/plain")
        else:
            self.send(404, b"not here", "text/plain")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(LIMITS) as client:
        yield client


def test_a_page_is_fetched_and_read_like_a_saved_one(server: str, fetcher: Fetcher) -> None:
    got = fetcher.fetch(f"{server}/moved")
    assert (got.kind, got.url) == ("html", f"{server}/news/floods")
    assert got.data == (PAGES / "ledger-floods.html").read_bytes()


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/broken", "the server answered HTTP 500 Internal Server Error"),
        ("/missing", "the server answered HTTP 404 Not Found"),
        ("/image", "unsupported content type 'image/png'; give a web page, a feed, a PDF or plain text"),
        ("/huge", "too large (293 KB; limit 195 KB)"),
        ("/huge-unsized", "too large (over 195 KB, the limit); not ingested"),
        ("/loop", "too many redirects"),
        ("/slow", "timed out; the server did not answer in time"),
        ("/trickle", "download took over 2 s; try again later"),
    ],
)
def test_each_failure_is_one_clear_error_naming_the_url(server: str, fetcher: Fetcher, path: str, reason: str) -> None:
    with pytest.raises(ArticleError) as caught:
        fetcher.fetch(server + path)
    assert caught.value.path == server + path
    assert caught.value.reason == reason


def test_a_pdf_served_as_octet_stream_is_recognised_by_its_bytes(server: str, fetcher: Fetcher) -> None:
    assert fetcher.fetch(f"{server}/report").kind == "pdf"
    with pytest.raises(ArticleError, match="unsupported content type 'application/octet-stream'"):
        fetcher.fetch(f"{server}/blob")


def test_only_http_urls(fetcher: Fetcher) -> None:
    with pytest.raises(ArticleError, match="not an http"):
        fetcher.fetch("ftp://127.0.0.1/file")


def test_ingest_stores_the_good_urls_and_reports_each_bad_one(fake_bot: Assistant, server: str) -> None:
    fake_bot.settings.fetch_timeout = 2.0
    report = fake_bot.ingest([f"{server}/news/floods", f"{server}/image", f"{server}/feed", f"{server}/broken"])
    assert (report.new, report.chunks_added > 0) == (3, True)  # the page and the feed's two entries
    assert report.errors == [
        f"{server}/image: unsupported content type 'image/png'; give a web page, a feed, a PDF or plain text",
        f"{server}/broken: the server answered HTTP 500 Internal Server Error",
    ]
    titles = {c.title for c in fake_bot.store.all_chunks()}
    assert "Floods close Ruvell bridge as river rises past record" in titles
    assert "Ruvell bridge to stay shut for a week" in titles
    again = fake_bot.ingest([f"{server}/news/floods"])
    assert (again.new, again.unchanged) == (0, 1)


def test_cli_ingests_a_url_list_and_exits_non_zero_on_a_failed_url(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# today's links\n{server}/news/floods\n\n{server}/missing\n", encoding="utf-8")
    assert read_url_list(listing) == [f"{server}/news/floods", f"{server}/missing"]
    code = main(["--llm", "fake", "--embeddings", "fake", "--data-dir", str(tmp_path / "data"),
                 "ingest", "--from-list", str(listing)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.strip().startswith("1 new, 0 unchanged")
    assert f"error: {server}/missing: the server answered HTTP 404 Not Found" in err


def test_cli_with_nothing_to_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--llm", "fake", "--embeddings", "fake", "--data-dir", str(tmp_path / "data"), "ingest"])
    assert code == 2
    assert "nothing to ingest" in capsys.readouterr().err
