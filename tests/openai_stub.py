"""A small OpenAI-compatible server on loopback: chat completions and embeddings, or scripted failures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assistant.fakes import FakeChatModel, HashingEmbeddings


@dataclass
class StubState:
    """What the stub answers, and what it was asked."""

    fail_with: int | None = None
    fail_times: int | None = None  # fail only the first N requests (None: all), then answer
    retry_after: str | None = None  # Retry-After header sent with a failure
    fail_body: str = "stub failure"  # error message of a failure (a server may echo the request back in it)
    delay: float = 0.0  # seconds to wait before answering (a slow or hung server)
    cut_short: bool = False  # announce the full body, send half of it, close the connection
    finish_reason: str = "stop"
    refuse_formats: frozenset[str] = frozenset()  # response_format types answered with HTTP 500 (llama.cpp style)
    headers: list[dict[str, str]] = field(default_factory=list)
    chat_reply: Callable[[dict[str, Any]], str] | None = None  # request body -> reply text; default: the fake model
    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def _handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    chat = FakeChatModel()
    embed = HashingEmbeddings(size=384)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status >= 400 and state.retry_after is not None:
                self.send_header("Retry-After", state.retry_after)
            self.end_headers()
            if state.cut_short and status == 200:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)

        def _failing(self, body: dict[str, Any]) -> int | None:
            """The status to fail this request with, if any."""
            kind = (body.get("response_format") or {}).get("type")
            if kind in state.refuse_formats:
                return 500
            if state.fail_with is None:
                return None
            if state.fail_times is not None and len(state.requests) > state.fail_times:
                return None
            return state.fail_with

        def _stream(self, body: dict[str, Any], text: str) -> None:
            """The reply as server-sent chat.completion.chunk events, word by word, as OpenAI streams it."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            words = [w + " " for w in text.split(" ")]
            words[-1] = words[-1].rstrip(" ")
            deltas = [{"role": "assistant", "content": ""}] + [{"content": w} for w in words] + [{}]
            if state.cut_short:  # the connection drops halfway: no finish reason, no [DONE]
                deltas = deltas[: max(2, len(deltas) // 2)]
            for i, delta in enumerate(deltas):
                last = i == len(deltas) - 1 and not state.cut_short
                chunk = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()),
                         "model": body.get("model", "stub"),
                         "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                      "finish_reason": state.finish_reason if last else None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if not state.cut_short:
                self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            state.requests.append(body)
            state.paths.append(self.path)
            state.headers.append({k.lower(): v for k, v in self.headers.items()})
            if state.delay:
                time.sleep(state.delay)
            failing = self._failing(body)
            if failing is not None:
                self._send(failing, {"error": {"message": state.fail_body, "type": "server_error"}})
                return
            if self.path.endswith("/chat/completions"):
                prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
                text = state.chat_reply(body) if state.chat_reply else chat.respond(prompt)
                if body.get("stream"):
                    self._stream(body, text)
                    return
                self._send(200, {
                    "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "stub"),
                    "choices": [{"index": 0, "finish_reason": state.finish_reason, "logprobs": None,
                                 "message": {"role": "assistant", "content": text, "refusal": None}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })
            elif self.path.endswith("/embeddings"):
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                vectors = embed.embed_documents([str(i) for i in inputs])
                self._send(200, {
                    "object": "list", "model": body.get("model", "stub"),
                    "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
                    "usage": {"prompt_tokens": 1, "total_tokens": 1},
                })
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

    return Handler


@pytest.fixture
def openai_stub() -> Iterator[tuple[str, StubState]]:
    """(base_url, state) of a running stub; the server stops after the test."""
    state = StubState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()
