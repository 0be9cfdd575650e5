"""Structured output that steps down to what the server supports: JSON schema, then JSON object, then parsing.

OpenAI honours ``response_format={"type": "json_schema"}``; OpenAI-compatible servers support less.
llama-cpp-python's own server answers a ``json_schema`` request with HTTP 500 and accepts ``json_object``;
others accept neither. Rather than keep a list of servers, the first request tries the strongest form and,
when the server refuses it (HTTP 400, 422, 500 or 501 for that request), the next one; the form that worked
is remembered for the rest of the process per (server, model), so the refusal costs one request, once.

Example::

    >>> judge = stepped_structured_output(chat_model, JudgeVerdict, parse=parse_verdict)  # doctest: +SKIP
    >>> judge.invoke(messages)  # doctest: +SKIP
    JudgeVerdict(label='supported', evidence=1, reason='...')
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ValidationError

Level = Literal["json_schema", "json_mode", "prompt"]
LEVELS: tuple[Level, ...] = ("json_schema", "json_mode", "prompt")
# HTTP statuses with which servers refuse a response_format they do not implement.
_REFUSAL_STATUSES = frozenset({400, 422, 500, 501})

_chosen: dict[tuple[str, str, str], Level] = {}
_chosen_lock = threading.Lock()


def server_key(model: BaseChatModel) -> tuple[str, str, str]:
    """Which server and model a choice of level belongs to."""
    base = getattr(model, "openai_api_base", None) or getattr(model, "base_url", None) or ""
    name = getattr(model, "model_name", None) or getattr(model, "model", None) or ""
    return type(model).__name__, str(base), str(name)


def chosen_level(model: BaseChatModel) -> Level | None:
    """The level this process settled on for ``model``'s server, if any request has succeeded yet."""
    with _chosen_lock:
        return _chosen.get(server_key(model))


def forget_levels() -> None:
    """Forget every settled level (tests start from a clean process state)."""
    with _chosen_lock:
        _chosen.clear()


def _bind(model: BaseChatModel, schema: type[BaseModel], level: Level,
          parse: Callable[[BaseMessage], BaseModel]) -> Runnable[list[BaseMessage], Any] | None:
    """``model`` asked for ``schema`` in one form; None when the model class offers no such form."""
    if level == "json_schema":  # the schema travels in the request
        try:
            return model.with_structured_output(schema, method="json_schema")
        except (NotImplementedError, ValueError):  # fakes and llama.cpp in-process have no structured output
            return None
    def tell(messages: list[BaseMessage]) -> list[BaseMessage]:
        return [*messages, HumanMessage(content=json_instructions(schema))]

    told: Runnable[list[BaseMessage], list[BaseMessage]] = RunnableLambda(tell)
    if level == "prompt":
        return told | model | RunnableLambda(parse)
    try:
        return told | model.with_structured_output(schema, method="json_mode")
    except (NotImplementedError, ValueError):
        return None


def json_instructions(schema: type[BaseModel]) -> str:
    """The reply's shape in words, for servers that take no schema: the keys and what each holds."""
    keys = "; ".join(f'"{name}": {field.description or field.annotation}' for name, field in
                     schema.model_fields.items())
    return f"Reply with one JSON object and nothing else, with these keys: {keys}."


def stepped_structured_output(
    model: BaseChatModel, schema: type[BaseModel], *, parse: Callable[[BaseMessage], BaseModel]
) -> Runnable[list[BaseMessage], Any]:
    """A runnable that returns ``schema`` (or what the structured runnable returns) with the strongest form the
    server accepts; ``parse`` reads a plain reply for the last step."""
    bound = {level: _bind(model, schema, level, parse) for level in LEVELS}
    available = [level for level in LEVELS if bound[level] is not None]
    key = server_key(model)

    def invoke(messages: list[BaseMessage]) -> Any:
        import openai  # here, not at import: only OpenAI-compatible servers get this far with a refusal

        with _chosen_lock:
            settled = _chosen.get(key)
        start = available.index(settled) if settled in available else 0
        for position, level in enumerate(available[start:], start=start):
            runnable = bound[level]
            assert runnable is not None
            try:
                result = runnable.invoke(messages)
            except openai.APIStatusError as exc:  # a refusal of this form steps down; the rest is the caller's
                if position + 1 < len(available) and settled is None and exc.status_code in _REFUSAL_STATUSES:
                    continue
                raise
            except (OutputParserException, ValidationError, ValueError):
                # The server took the request and answered: this form is the one it accepts, even when a small
                # model's reply does not parse (the caller deals with that reply).
                if settled is None:
                    with _chosen_lock:
                        _chosen.setdefault(key, level)
                raise
            if settled is None:
                with _chosen_lock:
                    _chosen.setdefault(key, level)
            return result
        raise AssertionError("unreachable: the last level either returns or raises")

    return RunnableLambda(invoke)
