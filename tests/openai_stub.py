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
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, body: dict[str, Any], text: str) -> None:
            """The reply as server-sent events, a word at a time, as OpenAI streams it."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": body.get("model", "stub")}
            words = [w + " " for w in text.split(" ")] or [""]
            for i, word in enumerate(words):
                delta = {"role": "assistant", "content": word} if i == 0 else {"content": word}
                chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            state.requests.append(body)
            state.paths.append(self.path)
            if state.fail_with is not None:
                self._send(state.fail_with, {"error": {"message": "stub failure", "type": "server_error"}})
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
                    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
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
