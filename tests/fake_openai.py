"""A small OpenAI-compatible chat server on 127.0.0.1 that returns scripted replies and records every request.

`POST /v1/chat/completions` answers with the next scripted reply, as one JSON completion or, when the request
says `"stream": true`, as Server-Sent Events (`data: {chunk}` ... `data: [DONE]`) split into small pieces the
way a real server streams tokens. A scripted reply can also be an HTTP error or a delay. With nothing left in
the script it answers 500, so an unexpected call shows up as a fallback a test can see.

A reply may cite a passage by what it says: "[@2 g/kg]" becomes "[n]" for the passage of the prompt that
contains "2 g/kg", so tests need not know how retrieval numbered the passages. A phrase found in no passage
is recorded in `errors` and answered with a 500.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PIECE = 7  # characters per streamed chunk: small enough that sentences arrive in several pieces
CITE_BY_TEXT = re.compile(r"\[@([^\]]+)\]")
PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>(.*?)</passage>', re.DOTALL)


@dataclass(frozen=True)
class Scripted:
    """What the server does for one request: reply `text`, or fail with `status`, after `delay` seconds.

    `broken` ends a streamed reply with a chunk that is not JSON instead of `[DONE]`.
    """

    text: str = ""
    status: int = 200
    delay: float = 0.0
    broken: bool = False


class FakeOpenAI:
    """The server: `script` holds the replies to give, `requests` the JSON bodies received, in order."""

    def __init__(self) -> None:
        self.script: deque[Scripted] = deque()
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.release = threading.Event()  # set on close: ends any scripted delay at once
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give the client (`.../v1`)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def reply(self, *replies: str | Scripted) -> FakeOpenAI:
        """Queue replies for the next requests, in order."""
        self.script.extend(r if isinstance(r, Scripted) else Scripted(r) for r in replies)
        return self

    def prompts(self) -> list[str]:
        """Return every request's messages as one text each ("role: content" lines)."""
        return ["\n".join(f"{m['role']}: {m['content']}" for m in body["messages"]) for body in self.requests]

    def resolve(self, text: str, body: dict[str, Any]) -> str:
        """Return a scripted text with its "[@phrase]" citations replaced by the numbers of those passages."""
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        passages = PASSAGE.findall(prompt)

        def number(match: re.Match[str]) -> str:
            found = [n for n, passage in passages if match.group(1) in passage]
            if not found:
                raise LookupError(f"no passage of the prompt says {match.group(1)!r}")
            return f"[{found[0]}]"

        return CITE_BY_TEXT.sub(number, text)

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

        def do_POST(self) -> None:  # noqa: N802 - the base class's name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            fake.requests.append(body)
            scripted = fake.script.popleft() if fake.script else Scripted("no scripted reply left", status=500)
            if scripted.delay:
                fake.release.wait(scripted.delay)
            try:
                text = fake.resolve(scripted.text, body)
            except LookupError as exc:
                fake.errors.append(str(exc))
                scripted, text = Scripted(str(exc), status=500), str(exc)
            try:
                if scripted.status != 200:
                    self._json(scripted.status, {"error": {"message": scripted.text or "scripted error",
                                                           "type": "server_error", "code": scripted.status}})
                elif body.get("stream"):
                    self._stream(body.get("model", ""), text, scripted.broken)
                else:
                    self._json(200, _completion(body.get("model", ""), text))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to do

        def _json(self, status: int, data: dict[str, Any]) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self, model: str, text: str, broken: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            pieces = [text[i:i + PIECE] for i in range(0, len(text), PIECE)]
            chunks = [_chunk(model, {"role": "assistant", "content": ""})]
            chunks += [_chunk(model, {"content": piece}) for piece in pieces]
            chunks += [] if broken else [_chunk(model, {}, finish="stop")]
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: {not json\n\n" if broken else b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def _completion(model: str, text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
