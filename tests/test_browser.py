"""The real chat app in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.ui import build_app

pytestmark = pytest.mark.slow
SHOT_DIR = Path(__file__).resolve().parent.parent / "build"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_a_question_typed_in_the_browser_gets_a_cited_answer(seeded_bot: Assistant, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `apt-get install chromium` (make test does it when run as root)")
    from playwright.sync_api import sync_playwright

    SHOT_DIR.mkdir(exist_ok=True)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    app = build_app(seeded_bot)
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/", wait_until="networkidle")
            box = page.get_by_label("Question")
            box.fill("Which areas in southern Lebanon were targeted?")
            box.press("Enter")
            page.get_by_text("Sources", exact=True).wait_for(timeout=60_000)
            text = page.locator("body").inner_text()
            page.screenshot(path=str(SHOT_DIR / "chat.png"), full_page=True)
            browser.close()
    finally:
        app.close()
    assert "Sources" in text
    assert "“Among the locations targeted" in text and "Khiam" in text
