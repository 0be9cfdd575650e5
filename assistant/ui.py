"""The Gradio chat: a thin layer over the Assistant facade. The only module that imports gradio.

Handlers are plain functions of the facade and their inputs, so tests call them
directly; the app exposes ``/ask`` (pinned api_name) for ``gradio_client``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from assistant.errors import AssistantError
from assistant.injection import safe_markdown
from assistant.schemas import Answer
from assistant.service import Assistant

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

Message = dict[str, Any]
LABEL_MARK = {"supported": "✅", "unsupported": "⚠️", "contradicted": "❌"}


def _text(content: object) -> str:
    """A chat message's text, whether Gradio gives a string or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    return ""


def history_pairs(history: Sequence[Message]) -> list[tuple[str, str]]:
    """(question, answer) pairs from the chatbot's messages, for follow-up rewriting."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for message in history:
        role = message.get("role")
        if role == "user":
            question = _text(message.get("content"))
        elif role == "assistant" and question is not None:
            answer = _text(message.get("content")).split("\n\n**Sources**", 1)[0]
            pairs.append((question, answer))
            question = None
    return pairs


def answer_markdown(answer: Answer) -> str:
    """The answer with its numbered sources and quoted sentences, as Markdown."""
    if answer.abstained:
        return safe_markdown(f"{answer.answer}\n\n_No source passage answers this question._")
    lines = [answer.answer, "", "**Sources**"]
    for c in answer.citations:
        lines.append(f"[{c.n}] *{c.title}* ({c.origin()}): “{c.quote}”")
    flagged = [c for c in answer.claims if c.label != "supported"]
    if flagged:
        lines += ["", "**Not supported by the sources**" + (" (removed)" if flagged[0].removed else "")]
        lines += [f"- {LABEL_MARK[c.label]} {c.text}" for c in flagged]
    return safe_markdown("\n".join(lines))  # quotes and titles are article text: no external image or link


def respond(bot: Assistant, message: str, history: list[Message]) -> tuple[list[Message], str]:
    """Answer one chat turn; returns the new history and clears the input box."""
    try:
        answer = bot.ask(message, history=history_pairs(history))
    except AssistantError as exc:
        raise gr.Error(str(exc)) from exc
    history = [*history, {"role": "user", "content": message},
               {"role": "assistant", "content": answer_markdown(answer)}]
    return history, ""


def ask_api(bot: Assistant, question: str) -> dict[str, Any]:
    """The ``/ask`` API: the same JSON object as ``assistant ask --json``."""
    try:
        return bot.ask(question).model_dump(mode="json")
    except AssistantError as exc:
        raise gr.Error(str(exc)) from exc


def build_app(bot: Assistant) -> gr.Blocks:
    """The chat app: a conversation, an input box, and a JSON API at /ask."""
    with gr.Blocks(title="News brief assistant") as app:
        gr.Markdown(
            "## News brief assistant\n"
            f"Answers only from the stored articles, citing the sentences it rests on. Model: `{bot.chat.name}`."
        )
        chatbot = gr.Chatbot(label="Conversation", height=480)
        box = gr.Textbox(label="Question", placeholder="Which areas in southern Lebanon were targeted?",
                         submit_btn=True)
        box.submit(lambda m, h: respond(bot, m, h), inputs=[box, chatbot], outputs=[chatbot, box], api_name="chat")
        hidden_q = gr.Textbox(visible=False)
        hidden_out = gr.JSON(visible=False)
        hidden_q.submit(lambda q: ask_api(bot, q), inputs=hidden_q, outputs=hidden_out, api_name="ask")
    app.queue(default_concurrency_limit=1, max_size=32)
    return app  # type: ignore[no-any-return]
