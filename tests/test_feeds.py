"""RSS 2.0 and Atom feeds: one article per entry with its headline, link, date and outlet."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from assistant.articles import read_file
from assistant.errors import ArticleError
from assistant.service import Assistant

PAGES = Path(__file__).resolve().parent / "pages"


def copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copy(PAGES / name, tmp_path / name))


def test_rss_entries_become_articles_with_full_content(tmp_path: Path) -> None:
    ferry, lifeboat = read_file(copy(tmp_path, "coastline.rss"))
    assert ferry.title == "Harbour ferry cuts winter sailings"
    assert ferry.source == "Coastline Post"
    assert ferry.url == "https://coastline.example/2024/10/28/ferry-winter"
    assert ferry.published == date(2024, 10, 28)
    assert ferry.author == "Ana Bellweather"
    # content:encoded, not the one-line description, and extracted like a page: hidden text and share bars gone.
    assert "overhaul both boats before spring" in ferry.text
    assert "praise the operator" not in ferry.text
    assert "every forty minutes from November." not in ferry.text
    assert lifeboat.text.startswith("Volunteers at the lifeboat station took delivery")
    assert lifeboat.published == date(2024, 10, 27)


def test_atom_entries_use_content_then_updated_date(tmp_path: Path) -> None:
    bridge, quay = read_file(copy(tmp_path, "ledger.atom"))
    assert bridge.title == "Ruvell bridge to stay shut for a week"
    assert bridge.source == "The Daily Ledger"
    assert bridge.published == date(2025, 3, 14)
    assert bridge.text.startswith("The county council said the Ruvell bridge would stay shut")
    assert "Buses continue to run through Kessock." in bridge.text
    assert quay.published == date(2025, 3, 13)  # no <published>: <updated> is what the feed states
    assert quay.text == (
        "Residents of the Quay district were asked on Thursday evening to move their cars to higher ground."
    )


def test_a_cut_off_feed_is_a_clear_error_and_stores_nothing(tmp_path: Path) -> None:
    path = copy(tmp_path, "broken.rss")
    with pytest.raises(ArticleError) as caught:
        read_file(path)
    assert str(caught.value).startswith(f"{path}: not a well-formed feed (line ")


def test_xml_that_is_not_a_feed(tmp_path: Path) -> None:
    path = tmp_path / "data.xml"
    path.write_text('<?xml version="1.0"?><config><value>1</value></config>', encoding="utf-8")
    with pytest.raises(ArticleError, match="not an RSS or Atom feed"):
        read_file(path)


def test_ingesting_a_feed_twice_stores_each_entry_once(fake_bot: Assistant, tmp_path: Path) -> None:
    path = copy(tmp_path, "coastline.rss")
    first = fake_bot.ingest([path])
    assert (first.new, first.errors) == (2, [])
    second = fake_bot.ingest([path])
    assert (second.new, second.unchanged, second.replaced) == (0, 2, 0)
    sources = {c.source for c in fake_bot.store.all_chunks()}
    assert sources == {"Coastline Post"}
