"""Limits on what one request may cost: its body size, how long its body may take to arrive, how many
questions the HTTP API takes at once, and how many questions one client may ask per minute.

The chat page and the widget get the concurrency bounds from Gradio's queue (`answer_concurrency`,
`max_queue_size`); `Admission` gives them to the JSON API, so an overload is answered "busy, try again" with 503
instead of piling threads up until the process falls over. It reads a question's whole body (within
`body_timeout`) before the question takes a place, so clients sending their bodies slowly hold no slot.
`Limiter` answers 429 with Retry-After to a client asking faster than `rate_limit` per minute, on the API
(`RateLimit`) and the chat page and widget (`ui.gradio_guard`), so one client flooding cannot starve others.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import time

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui import messages

log = logging.getLogger(__name__)
ASK_PATHS = frozenset({"/api/ask", "/api/ask/stream"})
RETRY_AFTER = "2"  # seconds; answers take tens of milliseconds, a queue drains in a few seconds
MAX_CLIENTS = 10_000  # buckets kept; past it, the full ones (clients at rest) are forgotten


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
    more are answered 503 with Retry-After and a "busy, try again" message. A question's body is read first,
    within `body_timeout` seconds (408 past it), so a slow client waits on its own, without a place."""

    def __init__(self, app: ASGIApp, concurrency: int, max_waiting: int, body_timeout: float = 10.0) -> None:
        self.app = app
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self.body_timeout = body_timeout
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
        if self._full(slots):  # refused before its body is read: an overload costs no bandwidth
            await self._busy(scope, receive, send)
            return
        body = await self._read_body(scope, receive, send)
        if body is None:
            return
        if self._full(slots):  # the places filled while the body arrived
            await self._busy(scope, receive, send)
            return
        self.waiting += 1
        try:
            await slots.acquire()
        finally:
            self.waiting -= 1
        try:
            await self.app(scope, replay(body, receive), send)
        finally:
            slots.release()

    def _full(self, slots: asyncio.Semaphore) -> bool:
        return slots.locked() and self.waiting >= self.max_waiting

    async def _busy(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"error": messages.BUSY}, status_code=503, headers={"Retry-After": RETRY_AFTER})
        await response(scope, receive, send)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """Return the whole request body, or answer 408 (too slow) or 413 (too large) and return None."""
        try:
            return await read_body(receive, self.body_timeout)
        except TimeoutError:
            error, status = messages.BODY_TOO_SLOW.format(seconds=self.body_timeout), 408
        except HTTPException as exc:  # BodyLimit, outside: the body grew past the limit (it answers for us)
            error, status = str(exc.detail), exc.status_code
        response = JSONResponse({"error": error}, status_code=status, headers={"Connection": "close"})
        await response(scope, receive, send)
        return None


async def read_body(receive: Receive, timeout: float) -> bytes | None:
    """Return a request's whole body, or None when the client went away; TimeoutError past `timeout` s."""
    parts: list[bytes] = []
    async with asyncio.timeout(timeout):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(parts)


def replay(body: bytes, receive: Receive) -> Receive:
    """Return a `receive` that gives the body read already, then whatever the client sends next."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when the client goes away

    return replayed


class Limiter:
    """A token bucket per client: `burst` questions at once, refilled at `per_minute`. The client is the
    socket's address, or, for a request from one of `trusted_proxies`, the nearest address in X-Forwarded-For
    that is not itself a trusted proxy. Shared by `RateLimit` (the API) and `GradioGuard` (the chat)."""

    def __init__(self, per_minute: float, burst: int, trusted_proxies: str = "") -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.trusted = frozenset(_address(p) for p in trusted_proxies.split(",") if p.strip())
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)
        self._warned = False

    async def refused(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Charge the asking client one question; when its bucket is empty, answer 429 and return True."""
        if self.rate <= 0:
            return False
        wait = self.take(self.client(scope), time.monotonic())
        if wait <= 0:
            return False
        seconds = math.ceil(wait)
        response = JSONResponse({"error": messages.RATE_LIMITED.format(seconds=seconds)}, status_code=429,
                                headers={"Retry-After": str(seconds)})
        await response(scope, receive, send)
        return True

    def take(self, client: str, now: float) -> float:
        """Spend one token of the client's bucket; return 0, or the seconds until a token is there."""
        tokens, then = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1.0:
            self.buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if client not in self.buckets and len(self.buckets) >= MAX_CLIENTS:
            self._forget_rested(now)
        self.buckets[client] = (tokens - 1.0, now)
        return 0.0

    def _forget_rested(self, now: float) -> None:
        rested = [c for c, (tokens, then) in self.buckets.items() if tokens + (now - then) * self.rate >= self.burst]
        for client in rested or list(self.buckets)[: MAX_CLIENTS // 10]:
            del self.buckets[client]

    def client(self, scope: Scope) -> str:
        """Return who is asking: the peer, or the client a trusted proxy forwarded the request for."""
        peer = _address((scope.get("client") or ("unknown", 0))[0])
        forwarded = [v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"x-forwarded-for"]
        if not forwarded:
            return peer
        if peer not in self.trusted:
            if not self._warned:
                self._warned = True
                log.warning("X-Forwarded-For from %s ignored: it is not in CITECHAT_TRUSTED_PROXIES", peer)
            return peer
        hops = [_address(h) for h in ",".join(forwarded).split(",") if h.strip()]
        for hop in reversed(hops):  # the rightmost hops were added by our own proxies
            if hop not in self.trusted:
                return hop
        return peer


class RateLimit:
    """Charges each question to the HTTP API (`/api/ask`, `/api/ask/stream`) to its client's bucket: past it,
    429 with Retry-After and a "wait N seconds" message. The chat's questions are charged by `GradioGuard`,
    which knows which of Gradio's calls asks one (loading the page or rating an answer does not)."""

    def __init__(self, app: ASGIApp, limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and costs_an_answer(scope) and await self.limiter.refused(scope, receive, send):
            return
        await self.app(scope, receive, send)


def costs_an_answer(scope: Scope) -> bool:
    """Return True for the API's questions."""
    return scope["method"] == "POST" and scope["path"] in ASK_PATHS


def _address(text: str) -> str:
    """Return an IP address in one spelling ("::ffff:10.0.0.1" and "10.0.0.1" alike), or the text as it is."""
    text = text.strip()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text[:64]
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)
