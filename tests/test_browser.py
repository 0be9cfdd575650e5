"""The real app in a real browser (Debian's Chromium driven by Playwright); each test saves a screenshot."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import ui
from assistant.service import Assistant

pytestmark = pytest.mark.slow
SHOT_DIR = Path(__file__).resolve().parent.parent / "build"
DATA = Path(__file__).resolve().parent / "data" / "ui"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "Which areas in southern Lebanon were targeted?"
VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture
def app_url(seeded_bot: Assistant) -> Iterator[str]:
    app = ui.build_app(seeded_bot)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    ui.serve(app, seeded_bot.settings, port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `apt-get install chromium` (make test does it when run as root)")
    from playwright.sync_api import sync_playwright

    SHOT_DIR.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser: Any, url: str) -> Any:
    page = browser.new_context(viewport=VIEWPORT, accept_downloads=True).new_page()
    page.goto(url, wait_until="load")
    page.locator("#status .status").wait_for(timeout=30_000)
    return page


def _wait_for_text(page: Any, selector: str, text: str, *, timeout: int = 30_000) -> None:
    """Wait until the element's visible text contains ``text`` (table cells render twice, one hidden)."""
    page.wait_for_function("([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)",
                           arg=[selector, text], timeout=timeout)


def _ask(page: Any, question: str) -> None:
    box = page.get_by_label("Question")
    box.fill(question)
    box.press("Enter")


def test_a_question_gets_a_cited_answer_and_its_highlighted_source(browser: Any, app_url: str,
                                                                   seeded_bot: Assistant) -> None:
    seeded_bot.ingest([DATA])
    page = _open(browser, app_url)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _ask(page, QUESTION)
    page.locator("#sources article.card").first.wait_for(timeout=60_000)
    page.locator("#chat a.cite").first.click()
    page.locator("#sources article.card.flash").first.wait_for(timeout=5_000)
    mark = page.locator("#sources article.card mark").first.inner_text()
    chat = page.locator("#chat").inner_text()
    page.screenshot(path=str(SHOT_DIR / "chat.png"))
    assert "[1]" in chat and "Khiam" in page.locator("#sources").inner_text()
    assert mark and mark in page.locator("#sources article.card .chunk").first.inner_text()
    assert page.locator("#sources .badge.ok").count() >= 1
    assert all(u.startswith(app_url.rstrip("/")) or u.startswith("data:") for u in requests), requests


def test_two_browsers_see_only_their_own_conversations(browser: Any, app_url: str) -> None:
    first, second = _open(browser, app_url), _open(browser, app_url)
    _ask(first, QUESTION)
    _ask(second, "What is the best recipe for banana bread?")
    first.locator("#sources article.card").first.wait_for(timeout=60_000)
    second.get_by_text("The sources do not say.").wait_for(timeout=60_000)
    first_chat, second_chat = first.locator("#chat").inner_text(), second.locator("#chat").inner_text()
    assert "banana" not in first_chat and QUESTION in first_chat
    assert QUESTION not in second_chat and "banana" in second_chat


def test_an_uploaded_file_appears_in_the_library(browser: Any, app_url: str) -> None:
    page = _open(browser, app_url)
    page.get_by_role("tab", name="Library").click()
    _wait_for_text(page, "#library", "Israeli strikes hit")
    page.locator("#upload input[type=file]").set_input_files([str(DATA / "wire.jsonl"), str(DATA / "council.md")])
    page.get_by_role("button", name="Add to library").click()
    _wait_for_text(page, "#upload-report", "3 new", timeout=60_000)
    _wait_for_text(page, "#library", "Aid convoy reaches villages")
    page.screenshot(path=str(SHOT_DIR / "library.png"))
    table = page.locator("#library").inner_text()
    assert "Municipal council approves shelter plan" in table and "Example Wire" in table
    assert "upload:council.md" in table
    assert "4 articles" in page.locator("#status").inner_text()


def test_a_brief_is_made_shown_and_downloaded(browser: Any, app_url: str, seeded_bot: Assistant,
                                              tmp_path: Path) -> None:
    seeded_bot.ingest([DATA])
    page = _open(browser, app_url)
    page.get_by_role("tab", name="Briefs").click()
    page.get_by_label("…or a topic").fill("strikes in the Bekaa Valley")
    page.get_by_role("button", name="Make the brief").click()
    page.locator("#brief-sources article.card mark").first.wait_for(timeout=120_000)
    page.locator("#download-md").wait_for(timeout=10_000)
    page.screenshot(path=str(SHOT_DIR / "brief.png"))
    page.locator("#brief a.cite").first.click()
    page.locator("#brief-sources article.card.flash").first.wait_for(timeout=5_000)
    with page.expect_download(timeout=30_000) as md:
        page.locator("#download-md").click()
    with page.expect_download(timeout=30_000) as js:
        page.locator("#download-json").click()
    md_file, json_file = tmp_path / "brief.md", tmp_path / "brief.json"
    md.value.save_as(md_file)
    js.value.save_as(json_file)
    assert md_file.read_text().startswith("# ") and "## Sources" in md_file.read_text()
    import json

    data = json.loads(json_file.read_text())
    assert data["headline"] in page.locator("#brief").inner_text()
    assert "grounded" in page.locator("#brief-quality").inner_text()
