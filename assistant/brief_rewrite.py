"""Statement rewrites under a JSON schema: the model fills ``{"text", "cites"}`` and nothing else.

A 135M model left to write free text rambles past the sentence, cites a number that is not there or runs out
of tokens mid-sentence. Decoding under a schema removes those failures before any check runs: the reply is
one JSON object whose ``text`` is at most a little longer than its sources and whose ``cites`` can only name
sentences that were shown. On llama.cpp the schema becomes a grammar (``response_format={"type":
"json_object", "schema": ...}``); on OpenAI-compatible servers it is a structured-output request that steps
down to JSON mode or a parsed reply where the server lacks it (``assistant/structured.py``). A reply that
still does not fit (junk, cut off, out of range) is ``None``: the caller falls back to the source sentence.

Example::

    >>> schema = RewriteSchema(sentences=1, max_chars=180)
    >>> ask_rewrite(chat, messages, schema, max_tokens=96)            # doctest: +SKIP
    Rewrite(text='Israeli strikes hit Khiam on Tuesday.', cites=[1])
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from assistant.fakes import FakeChatModel
from assistant.providers import ChatBackend, LlamaCppChat, model_errors
from assistant.structured import stepped_structured_output


class Rewrite(BaseModel):
    """One rewritten statement and the numbers of the shown sentences it rests on."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="The statement: one or two short sentences.")
    cites: list[int] = Field(min_length=1, description="Numbers of the sentences the statement comes from.")


@dataclass(frozen=True)
class RewriteSchema:
    """The bounds of one rewrite: how many sentences were shown, how long and how many cites it may be."""

    sentences: int
    max_chars: int
    max_cites: int = 1

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema sent to the model (llama.cpp turns it into a grammar)."""
        return {
            "type": "object",
            "properties": {
                "text": {"type": "string", "minLength": 1, "maxLength": self.max_chars},
                "cites": {"type": "array", "items": {"type": "integer", "enum": list(range(1, self.sentences + 1))},
                          "minItems": 1, "maxItems": self.max_cites},
            },
            "required": ["text", "cites"],
            "additionalProperties": False,
        }

    def fits(self, rewrite: Rewrite) -> bool:
        """True when the reply keeps to the bounds (a server may ignore parts of a schema)."""
        return (len(rewrite.text) <= self.max_chars and len(rewrite.cites) <= self.max_cites
                and all(1 <= n <= self.sentences for n in rewrite.cites) and bool(rewrite.text.strip()))

    def model(self) -> type[BaseModel]:
        """The bounds as a pydantic model, for servers that take a structured-output schema."""
        cites = list[int]
        return create_model(
            "Rewrite", __config__=ConfigDict(extra="forbid"),
            text=(str, Field(min_length=1, max_length=self.max_chars,
                             description="The statement: one or two short sentences.")),
            cites=(cites, Field(min_length=1, max_length=self.max_cites,
                                description=f"Numbers (1 to {self.sentences}) of the sentences it comes from.")),
        )


def ask_rewrite(
    chat: ChatBackend, messages: list[BaseMessage], schema: RewriteSchema, *, max_tokens: int
) -> Rewrite | None:
    """The model's rewrite decoded under ``schema``; None when the reply does not fit it."""
    model = chat.model
    with model_errors(f"the chat model '{chat.name}'"):
        if isinstance(model, LlamaCppChat | FakeChatModel):  # in-process: llama.cpp's response_format
            raw: object = _grammar_reply(model, messages, schema, max_tokens)
        else:
            raw = _structured_reply(model, messages, schema, max_tokens)
    rewrite = _as_rewrite(raw)
    return rewrite if rewrite is not None and schema.fits(rewrite) else None


def _grammar_reply(model: BaseChatModel, messages: list[BaseMessage], schema: RewriteSchema,
                   max_tokens: int) -> object:
    """llama.cpp in-process: the schema is compiled to a grammar, so every token keeps the reply valid."""
    response_format = {"type": "json_object", "schema": schema.json_schema()}
    reply = model.invoke(messages, response_format=response_format, max_tokens=max_tokens)
    try:
        return json.loads(str(reply.content))
    except ValueError:
        return None  # cut off by max_tokens before the object closed


def _structured_reply(model: BaseChatModel, messages: list[BaseMessage], schema: RewriteSchema,
                      max_tokens: int) -> object:
    """OpenAI-compatible servers: structured output, stepping down to JSON mode or a parsed reply."""
    import openai  # only this path gets here; the local and fake models never import it

    bounded = model.model_copy(update={"max_tokens": max_tokens}) if "max_tokens" in type(model).model_fields \
        else model
    runnable = stepped_structured_output(bounded, schema.model(), parse=_parse_reply)
    try:
        return runnable.invoke(messages)
    except (OutputParserException, ValidationError, ValueError, openai.LengthFinishReasonError,
            openai.ContentFilterFinishReasonError):
        return None  # the server answered, but not with a rewrite that parses: the caller falls back


def _parse_reply(message: BaseMessage) -> BaseModel:
    """A rewrite from a plain reply's text: its first JSON object."""
    text = str(message.content)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError(f"no JSON object in the reply: {text[:80]!r}")
    return Rewrite.model_validate_json(text[start : end + 1])


def _as_rewrite(raw: object) -> Rewrite | None:
    if isinstance(raw, BaseModel):
        raw = raw.model_dump()
    if not isinstance(raw, dict):
        return None
    try:
        return Rewrite.model_validate(raw)
    except ValidationError:
        return None
