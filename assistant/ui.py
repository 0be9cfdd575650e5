"""The Gradio app: chat with sources, briefs, the library and the status line. The only module that imports gradio.

Handlers are plain functions of the facade and their inputs, so tests call them directly;
every ``AssistantError`` becomes ``gr.Error`` with its one-line message, never a traceback.
Pinned API names for ``gradio_client``: ``chat``, ``ask``, ``brief``, ``upload``.
Per-browser state (the conversation and each turn's sources) lives in ``gr.State``, so
two sessions never see each other's history.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from matplotlib.figure import Figure

from assistant import brief_view, render
from assistant.brief_render import render_json, render_markdown
from assistant.brief_schema import Brief
from assistant.chat_stream import Draft, Filters, Final, Stage, stream_answer
from assistant.errors import AssistantError, ConfigError, InputError
from assistant.schemas import Answer, ArticleSummary
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.ui_style import CSS, HEAD

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

Message = dict[str, Any]
Turn = dict[str, str]
T = TypeVar("T")
ALL_OUTLETS = "All outlets"
# The model, the embeddings and the store are shared by every session and the local model is not
# thread-safe: chat, ask, brief and upload wait in one queue and run one at a time.
ONE_AT_A_TIME: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "assistant"}


def _friendly(action: Callable[[], T]) -> T:
    """Run ``action``; an AssistantError becomes a gr.Error with its message (no traceback reaches a user)."""
    try:
        return action()
    except AssistantError as exc:
        raise gr.Error(str(exc)) from exc


# -- chat -----------------------------------------------------------------------------------------------


def parse_filters(sources: Sequence[str] | str | None, since: str | None, until: str | None) -> Filters:
    """Filters from the app's controls; a malformed date is an InputError naming the format."""
    chosen = [sources] if isinstance(sources, str) else list(sources or [])
    outlets = tuple(s for s in chosen if s and s != ALL_OUTLETS)
    return Filters(sources=outlets, since=_day(since, "From"), until=_day(until, "To"))


def _day(value: str | None, label: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InputError(f"{label} date '{text}' is not a date; write it as YYYY-MM-DD, or leave it empty") from None


def history_pairs(turns: Sequence[Turn]) -> list[tuple[str, str]]:
    """(question, checked answer) pairs of this session, for rewriting follow-ups."""
    return [(t["question"], t["answer"]) for t in turns]


def cited_texts(bot: Assistant, chunk_ids: Sequence[str]) -> dict[str, str]:
    """The full text of each cited chunk, for the cards."""
    return {c.chunk_id: c.text for c in bot.store.get_chunks(list(dict.fromkeys(chunk_ids)))}


def finish_turn(bot: Assistant, answer: Answer, turn: int) -> tuple[str, str]:
    """The chat bubble and the sources panel for a checked answer."""
    texts = cited_texts(bot, [c.chunk_id for c in answer.citations])
    return render.answer_html(answer, turn=turn), render.sources_html(answer, texts, turn=turn)


ChatOutputs = tuple[list[Message], str, str, list[Turn]]


def chat(
    bot: Assistant,
    message: str,
    history: list[Message] | None,
    turns: list[Turn] | None,
    sources: Sequence[str] | str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Iterator[ChatOutputs]:
    """One chat turn as a stream: (chat messages, sources panel, input box, session turns) after each event."""
    history, turns = list(history or []), list(turns or [])
    if not message or not message.strip():
        raise gr.Error("The question is empty: type a question about the articles.")
    filters = _friendly(lambda: parse_filters(sources, since, until))
    turn = len(turns) + 1
    asked = [*history, {"role": "user", "content": render.esc(message.strip())}]
    waiting = render.sanitise('<section class="sources"><p class="empty">Finding the sources…</p></section>')
    events = stream_answer(bot, message, history=history_pairs(turns), filters=filters)
    draft = ""
    while True:
        try:
            event = next(events)
        except StopIteration:
            return
        except AssistantError as exc:  # the conversation is left as it was, the question kept to fix and resend
            yield history, render.EMPTY_SOURCES, message, turns
            raise gr.Error(str(exc)) from exc
        if isinstance(event, Stage):
            bubble = render.stage_html(event.name, draft)
        elif isinstance(event, Draft):
            draft = event.text
            bubble = render.stage_html("writing", draft)
        elif isinstance(event, Final):
            bubble, panel = finish_turn(bot, event.answer, turn)
            done = [*asked, {"role": "assistant", "content": bubble}]
            record = {"question": event.answer.question, "answer": event.answer.answer, "sources": panel}
            yield done, panel, "", [*turns, record]
            return
        yield [*asked, {"role": "assistant", "content": bubble}], waiting, "", turns


def show_turn_sources(turns: list[Turn] | None, evt: gr.SelectData) -> str:
    """Clicking a message shows the sources of that turn."""
    index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
    turns = turns or []
    turn = int(index) // 2 if isinstance(index, int) else len(turns) - 1
    return turns[turn]["sources"] if 0 <= turn < len(turns) else render.EMPTY_SOURCES


def clear_chat() -> tuple[list[Message], str, str, list[Turn]]:
    """A new conversation: no messages, no sources, no history for follow-ups."""
    return [], render.EMPTY_SOURCES, "", []


def ask_api(bot: Assistant, question: str) -> dict[str, Any]:
    """The ``/ask`` API: the same JSON object as ``assistant ask --json``."""
    return _friendly(lambda: bot.ask(question).model_dump(mode="json"))


# -- library --------------------------------------------------------------------------------------------

LIBRARY_HEADERS = ["Title", "Outlet", "Date", "Chunks", "From"]


def library_rows(articles: Sequence[ArticleSummary]) -> list[list[str | int]]:
    """Table rows for the library."""
    return [[a.title, a.source, a.published.isoformat() if a.published else "unknown", a.chunks,
             Path(a.path).name if a.path and not a.path.startswith("upload:") else a.path or ""]
            for a in articles]


def library_view(bot: Assistant, query: str | None = "") -> tuple[list[list[str | int]], list[str]]:
    """The (filtered) library table and the article id of each row."""
    articles = _friendly(lambda: bot.library(query or ""))
    return library_rows(articles), [a.id for a in articles]


def status_html(bot: Assistant) -> str:
    """The status line: chat model, embeddings, where the store lives, and what it holds."""
    s = _friendly(bot.status)
    return render.sanitise(
        '<div class="status">'
        f'<span><small>Chat model</small>{render.esc(s.chat_model)}</span>'
        f'<span><small>Embeddings</small>{render.esc(s.embeddings)}</span>'
        f'<span><small>Store</small>{render.esc(s.store)}</span>'
        f'<span><small>Library</small>{s.articles} article{"s" if s.articles != 1 else ""} · {s.chunks} chunks</span>'
        "</div>"
    )


def _upload_name_and_bytes(item: object, max_bytes: int) -> tuple[str, bytes]:
    """Gradio's temporary copy of an upload: its original name (a label only) and at most max_bytes + 1 bytes."""
    path = Path(str(getattr(item, "name", None) or item))
    shown = getattr(item, "orig_name", None) or path.name
    with path.open("rb") as handle:
        return str(shown), handle.read(max_bytes + 1)


def upload(bot: Assistant, files: Sequence[object] | None, progress: Callable[..., object] | None = None) -> str:
    """Ingest uploaded files; one line per rejected file, and a summary of what went in."""
    if not files:
        raise gr.Error("No file chosen: pick .txt, .md, .html or .jsonl files to add.")
    max_bytes = int(bot.settings.ui_max_upload_mb * 1_000_000)
    batch = [_upload_name_and_bytes(f, max_bytes) for f in files]

    def step(done: int, total: int, name: str) -> None:
        if progress is not None:
            progress(done / total, desc=f"Embedded {done} of {total}: {name}")

    report = _friendly(lambda: bot.ingest_uploads(batch, max_bytes=max_bytes, progress=step))
    rejected = "".join(f"<li>Not added: {render.esc(error)}</li>" for error in report.errors)
    tone = "warn" if report.errors else "ok"
    return render.sanitise(f'<div class="upload-report"><span class="badge {tone}">Added</span> '
                           f"{render.esc(report.summary())}.{f'<ul>{rejected}</ul>' if rejected else ''}</div>")


def delete_selected(bot: Assistant, article_id: str | None) -> str:
    """Delete the article chosen in the table."""
    if not article_id:
        raise gr.Error("No article selected: click a row of the table first.")
    removed = _friendly(lambda: bot.delete_article(article_id))
    return f"Deleted the article and its {removed} chunks."


# -- briefs ---------------------------------------------------------------------------------------------


def make_brief(bot: Assistant, article_ids: Sequence[str], topic: str) -> Brief:
    """The brief of the chosen articles (merged into one story), or of the topic when no article is chosen."""
    ids, topic = [i for i in article_ids if i], " ".join((topic or "").split())
    if not ids and not topic:
        raise InputError("choose articles from the library or type a topic, then make the brief")
    return bot.brief(ids, topic=None if ids else topic)


BriefOutputs = tuple[str, str, str, Figure | None, str, str, dict[str, Any]]


def brief(bot: Assistant, article_ids: Sequence[str] | None, topic: str | None) -> BriefOutputs:
    """The brief tab: the brief, its source cards, quality line, timeline chart, .md/.json files, and its JSON."""
    made = _friendly(lambda: make_brief(bot, article_ids or [], topic or ""))
    texts = _friendly(lambda: cited_texts(bot, brief_view.cited_chunk_ids(made)))
    md_path, json_path = _brief_files(made)
    return (brief_view.brief_html(made, texts), brief_view.brief_sources_html(made, texts),
            brief_view.quality_html(made), brief_view.timeline_figure(made), str(md_path), str(json_path),
            made.model_dump(mode="json"))


def _brief_files(made: Brief) -> tuple[Path, Path]:
    """The brief as .md and .json in a fresh folder, each written whole (gradio copies them into its cache)."""
    folder = Path(tempfile.mkdtemp(prefix="assistant-brief-"))
    stem = re.sub(r"[^a-z0-9]+", "-", made.headline.lower()).strip("-")[:60] or "brief"
    md_path, json_path = folder / f"{stem}.md", folder / f"{stem}.json"
    md_path.write_text(render_markdown(made), encoding="utf-8")
    json_path.write_text(render_json(made), encoding="utf-8")
    return md_path, json_path


def article_choices(bot: Assistant) -> list[tuple[str, str]]:
    """(label, id) of each stored article, for the brief's article picker."""
    return [(f"{a.title} ({a.source}, {a.published or 'date unknown'})", a.id) for a in _friendly(bot.library)]


# -- the app --------------------------------------------------------------------------------------------


def _chat_tab(bot: Assistant) -> gr.Dropdown:
    turns = gr.State([])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=380):
            chatbot = gr.Chatbot(label="Conversation", height=560, render_markdown=False, sanitize_html=True,
                                 elem_id="chat", buttons=["copy"], feedback_options=None,
                                 placeholder="Ask about the stored articles. Every answer cites the sentences "
                                             "it rests on; click a [n] mark to see its source.")
            with gr.Row():
                box = gr.Textbox(label="Question", placeholder="Ask about the articles…", scale=5,
                                 submit_btn="Ask", autofocus=True, max_length=bot.settings.max_question_chars)
            with gr.Row(elem_classes="examples"):
                examples = [gr.Button(q, size="sm", variant="secondary") for q in _examples(bot)]
            with gr.Accordion("Filters", open=False), gr.Row():
                outlets = gr.Dropdown([ALL_OUTLETS, *_friendly(bot.outlets)], value=[], multiselect=True,
                                      label="Outlets", elem_id="outlets", allow_custom_value=True)
                since = gr.Textbox(label="From (YYYY-MM-DD)", placeholder="any date")
                until = gr.Textbox(label="To (YYYY-MM-DD)", placeholder="any date")
            new = gr.Button("New conversation", size="sm", variant="secondary")
        with gr.Column(scale=2, min_width=320, elem_id="sources-col"):
            gr.HTML("<h4 class='panel-title'>Sources</h4>")
            panel = gr.HTML(render.EMPTY_SOURCES, elem_id="sources")
    inputs = [box, chatbot, turns, outlets, since, until]
    outputs = [chatbot, panel, box, turns]

    def run(*args: Any) -> Iterator[ChatOutputs]:
        yield from chat(bot, *args)

    box.submit(run, inputs=inputs, outputs=outputs, api_name="chat", **ONE_AT_A_TIME)
    for button in examples:
        button.click(lambda q: q, inputs=button, outputs=box, api_visibility="private", queue=False).then(
            run, inputs=inputs, outputs=outputs, api_visibility="private", **ONE_AT_A_TIME)
    new.click(clear_chat, outputs=outputs, api_visibility="private", queue=False)
    chatbot.clear(clear_chat, outputs=outputs, api_visibility="private", queue=False)
    chatbot.select(show_turn_sources, inputs=turns, outputs=panel, api_visibility="private", queue=False)
    hidden_q, hidden_out = gr.Textbox(visible=False), gr.JSON(visible=False)
    hidden_q.submit(lambda q: ask_api(bot, q), inputs=hidden_q, outputs=hidden_out, api_name="ask",
                    **ONE_AT_A_TIME)
    return outlets


def _examples(bot: Assistant) -> list[str]:
    try:
        return bot.suggested_questions(limit=3)
    except AssistantError:
        return []


def _library_tab(bot: Assistant, status: gr.HTML, app: gr.Blocks) -> None:
    ids = gr.State([])
    selected = gr.State("")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            max_mb = bot.settings.ui_max_upload_mb
            files = gr.File(label=f"Add articles (.txt .md .html .jsonl, up to {max_mb:g} MB each)",
                            file_count="multiple", file_types=[".txt", ".md", ".html", ".htm", ".jsonl"],
                            elem_id="upload")
            add = gr.Button("Add to library", variant="primary")
            report = gr.HTML(elem_id="upload-report")
        with gr.Column(scale=3):
            search = gr.Textbox(label="Search the library", placeholder="title, outlet or file name")
            table = gr.Dataframe(headers=LIBRARY_HEADERS, interactive=False, wrap=True, elem_id="library",
                                 datatype=["str", "str", "str", "number", "str"],
                                 column_widths=["42%", "16%", "12%", "9%", "21%"])
            with gr.Row():
                chosen = gr.Markdown("Click a row to select an article.")
                delete = gr.Button("Delete selected", variant="stop", size="sm", scale=0)

    def refresh(query: str | None) -> tuple[list[list[str | int]], list[str], str]:
        rows, row_ids = library_view(bot, query)
        return rows, row_ids, status_html(bot)

    def pick(row_ids: list[str], evt: gr.SelectData) -> tuple[str, str]:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if not isinstance(row, int) or not 0 <= row < len(row_ids):
            return "", "Click a row to select an article."
        return row_ids[row], f"Selected: **{render.esc(str(evt.row_value[0] if evt.row_value else ''))}**"

    def add_files(found: Sequence[object] | None, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        return upload(bot, found, progress)

    listing = [table, ids, status]
    added = add.click(add_files, inputs=files, outputs=report, api_name="upload", **ONE_AT_A_TIME)
    added.success(refresh, inputs=search, outputs=listing, api_visibility="private").then(
        lambda: None, outputs=files, api_visibility="private")
    search.change(refresh, inputs=search, outputs=listing, api_visibility="private", queue=False)
    app.load(refresh, inputs=search, outputs=listing, api_visibility="private", queue=False)
    table.select(pick, inputs=ids, outputs=[selected, chosen], api_visibility="private", queue=False)
    deleted = delete.click(lambda a: delete_selected(bot, a), inputs=selected, outputs=chosen,
                           api_visibility="private", **ONE_AT_A_TIME)
    deleted.success(refresh, inputs=search, outputs=listing, api_visibility="private").then(
        lambda: "", outputs=selected, api_visibility="private")


def _briefs_tab(bot: Assistant) -> gr.Dropdown:
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            picks = gr.Dropdown(article_choices(bot), multiselect=True, label="Articles from the library",
                                allow_custom_value=True, elem_id="brief-articles")
            topic = gr.Textbox(label="…or a topic", placeholder="e.g. strikes in the Bekaa Valley")
            go = gr.Button("Make the brief", variant="primary")
            quality = gr.HTML(elem_id="brief-quality")
            with gr.Row():
                md = gr.DownloadButton("Download .md", size="sm", elem_id="download-md")
                js = gr.DownloadButton("Download .json", size="sm", elem_id="download-json")
        with gr.Column(scale=3, min_width=380):
            shown = gr.HTML('<p class="empty">Choose articles or type a topic, then make the brief.</p>',
                            elem_id="brief")
            chart = gr.Plot(label="Timeline", show_label=True, elem_id="timeline")
        with gr.Column(scale=2, min_width=300):
            gr.HTML("<h4 class='panel-title'>Sources</h4>")
            cards = gr.HTML(render.EMPTY_SOURCES.replace("Ask a question", "Make a brief"), elem_id="brief-sources")
    data = gr.JSON(visible=False)
    go.click(lambda a, t: brief(bot, a, t), inputs=[picks, topic],
             outputs=[shown, cards, quality, chart, md, js, data], api_name="brief", **ONE_AT_A_TIME)
    return picks


def build_app(bot: Assistant) -> gr.Blocks:
    """The app: Chat, Briefs and Library tabs under a status line; queue bounded by the settings."""
    # Uploads and brief downloads go through gradio's cache: files older than a day are removed hourly.
    with gr.Blocks(title="News brief assistant", fill_width=True, delete_cache=(3600, 86400)) as app:
        with gr.Row(elem_classes="topbar"):
            gr.HTML("<div class='brand'><strong>News brief assistant</strong>"
                    "<small>Answers only from your articles, citing the sentences they rest on.</small></div>")
            status = gr.HTML(status_html(bot), elem_id="status")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab") as chat_tab:
                outlets = _chat_tab(bot)
            with gr.Tab("Briefs", id="briefs-tab") as briefs_tab:
                picks = _briefs_tab(bot)
            with gr.Tab("Library", id="library-tab"):
                _library_tab(bot, status, app)
        chat_tab.select(lambda: gr.Dropdown(choices=[ALL_OUTLETS, *_friendly(bot.outlets)]), outputs=outlets,
                        api_visibility="private", queue=False)
        briefs_tab.select(lambda: gr.Dropdown(choices=article_choices(bot)), outputs=picks, api_visibility="private",
                          queue=False)
    app.queue(default_concurrency_limit=1, max_size=bot.settings.ui_queue_size)
    return app  # type: ignore[no-any-return]


# -- serving --------------------------------------------------------------------------------------------


def launch_options(settings: Settings) -> dict[str, Any]:
    """Safe launch arguments: loopback by default, basic auth required elsewhere, upload size capped."""
    password = settings.ui_password.get_secret_value() if settings.ui_password else ""
    has_auth = bool(settings.ui_user and password)
    if not settings.is_loopback_host() and not has_auth:
        raise ConfigError(
            f"the app would listen on {settings.host} without a login; set ASSISTANT_UI_USER and "
            "ASSISTANT_UI_PASSWORD, or leave ASSISTANT_HOST at 127.0.0.1"
        )
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "share": False,
        "auth": (settings.ui_user, password) if has_auth else None,
        "max_file_size": int(settings.ui_max_upload_mb * 1_000_000),
        "show_error": False,
        "allowed_paths": [],
        "css": CSS,
        "head": HEAD,
        "theme": gr.themes.Soft(primary_hue="blue", neutral_hue="slate",
                                font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
                                font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"]),
        "footer_links": [],
    }


def serve(app: gr.Blocks, settings: Settings, *, port: int | None = None, block: bool = True) -> None:
    """Launch the app with ``launch_options``; ``block=False`` returns at once (tests close it)."""
    options = launch_options(settings)
    if port is not None:
        options["server_port"] = port
    app.launch(prevent_thread_lock=not block, quiet=not block, **options)
