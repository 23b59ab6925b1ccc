"""Limits on what one request may cost: its body size, and how many questions the HTTP API takes at once.

The chat page and the widget get the same bounds from Gradio's queue (`answer_concurrency`, `max_queue_size`);
these two middlewares give them to the JSON API, so an overload is answered "busy, try again" with 503 instead
of piling threads up until the process falls over.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui import messages

ASK_PATHS = frozenset({"/api/ask", "/api/ask/stream"})
RETRY_AFTER = "2"  # seconds; answers take tens of milliseconds, a queue drains in a few seconds


class BodyLimit:
    """Rejects request bodies over `limit` bytes with 413 JSON: by Content-Length before reading, and while
    reading when the body declares no length (chunked), on every path."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        size = int(declared) if declared.isdigit() else 0
        if size > self.limit:
            await self._reject(size, scope, receive, send)
            return
        received = 0
        overflowed = False

        async def counted() -> Message:
            nonlocal received, overflowed
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                overflowed = True
                # FastAPI (ours and Gradio's) lets an HTTPException raised while reading the body through.
                raise HTTPException(413, messages.BODY_TOO_LARGE.format(size=received, limit=self.limit))
            return message

        async def sent(message: Message) -> None:
            if not overflowed:
                await send(message)
            elif message["type"] == "http.response.start":  # whoever answered, the answer is ours: JSON
                await self._reject(received, scope, receive, send)

        await self.app(scope, counted, sent)

    async def _reject(self, size: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"error": messages.BODY_TOO_LARGE.format(size=size, limit=self.limit)},
                                status_code=413)
        await response(scope, receive, send)


class Admission:
    """Lets `concurrency` API questions be answered at once and up to `max_waiting` more wait their turn; any
    more are answered 503 with Retry-After and a "busy, try again" message."""

    def __init__(self, app: ASGIApp, concurrency: int, max_waiting: int) -> None:
        self.app = app
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self.waiting = 0
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def slots(self) -> asyncio.Semaphore:
        """Return the semaphore of the running event loop (a test may serve the app from several loops)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.concurrency))
        return self._slots[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in ASK_PATHS or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        slots = self.slots()
        if slots.locked() and self.waiting >= self.max_waiting:
            response = JSONResponse({"error": messages.BUSY}, status_code=503, headers={"Retry-After": RETRY_AFTER})
            await response(scope, receive, send)
            return
        self.waiting += 1
        try:
            await slots.acquire()
        finally:
            self.waiting -= 1
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()
