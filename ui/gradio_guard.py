"""Gradio's own routes, answered in citechat's format: bounded values in, JSON errors with a request id out.

The chat page and the widget talk to Gradio's routes (`/gradio_api/queue/join`, `/gradio_api/call/NAME`,
`/gradio_api/run/NAME`, `/gradio_api/api/NAME`, under `/embed` for the widget). Gradio answers a malformed call
with a text/plain 500 or `{"error": null}` and prints the whole traceback, with the values sent, for each one.
Before Gradio sees a call, `GradioGuard` checks it: an endpoint that exists, as many values as it takes, every
string within `max_value_chars` and all of them within `max_total_chars`. What the strings say (a lone
surrogate included) is the chat's to judge: it answers in its own words, in the chat. A call that fails the
check is answered 4xx `{"error": ...}`; whatever still fails inside Gradio is answered 500
`{"error": ..., "request_id": ...}` with one bounded log line. Answer streams get `Cache-Control: no-store`.
A call asking a question (the `respond` function) is charged to its client's rate limit; loading the page,
suggestions and ratings are not.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui import messages
from ui.api import new_request_id
from ui.limits import Limiter, read_body, replay

log = logging.getLogger(__name__)
GRADIO_API = re.compile(r"^(?P<mount>/embed)?/gradio_api/")
CALL = re.compile(r"^(?P<mount>/embed)?/gradio_api/(?:(?:call|run|api)/(?P<name>[^/]+)/?|queue/join/?)$")
MAX_LOGGED = 200  # characters of an error message written to the log


class GradioGuard:
    """Checks calls to the mounted Gradio apps and answers their failures as JSON (see the module doc).

    `apps` maps each mount prefix ("" for the page at /, "/embed" for the widget) to {api name or function
    index: how many values the function takes}."""

    def __init__(self, app: ASGIApp, apps: dict[str, dict[str | int, int]], max_value_chars: int,
                 max_total_chars: int, body_timeout: float = 10.0, limiter: Limiter | None = None,
                 asking: dict[str, set[str | int]] | None = None) -> None:
        self.app = app
        self.limiter = limiter
        self.asking = asking if asking is not None else {}
        self.body_timeout = body_timeout
        self.apps = apps
        self.max_value_chars = max_value_chars
        self.max_total_chars = max_total_chars

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not GRADIO_API.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        call = CALL.match(scope["path"])
        if call and scope["method"] == "POST":
            problem: tuple[int, str] | None
            try:
                body = await read_body(receive, self.body_timeout)
            except TimeoutError:
                body, problem = b"", (408, messages.BODY_TOO_SLOW.format(seconds=self.body_timeout))
            except HTTPException as exc:  # BodyLimit, outside: too large (it answers for us)
                body, problem = b"", (exc.status_code, str(exc.detail))
            else:
                if body is None:
                    return  # the client went away
                problem = self.check(call, body)
            if problem:
                status, error = problem
                await JSONResponse({"error": error}, status_code=status)(scope, receive, send)
                return
            if self.limiter and self._asks(call, body) and await self.limiter.refused(scope, receive, send):
                return
            receive = replay(body, receive)
        await self._answer(scope, receive, send)

    def check(self, call: re.Match[str], body: bytes) -> tuple[int, str] | None:
        """Return (status, message) when the call must not reach Gradio, else None."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: arrays nested 100,000 deep
            return 400, messages.GRADIO_NOT_JSON
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            return 422, messages.GRADIO_NO_DATA
        functions = self.apps.get(call.group("mount") or "", {})
        key: str | int | None = call.group("name") or payload.get("fn_index")
        if not isinstance(key, str | int) or isinstance(key, bool) or key not in functions:
            return 404, messages.GRADIO_NO_ENDPOINT
        if len(payload["data"]) != functions[key]:
            return 422, messages.GRADIO_VALUES.format(expected=functions[key], got=len(payload["data"]))
        total = 0
        for text in _strings(payload):
            total += len(text)
            if len(text) > self.max_value_chars or total > self.max_total_chars:
                return 413, messages.GRADIO_TOO_LONG.format(limit=self.max_value_chars, total=self.max_total_chars)
        return None

    def _asks(self, call: re.Match[str], body: bytes) -> bool:
        """Whether a checked call asks a question (it is charged to the client's rate limit)."""
        key = call.group("name") or json.loads(body).get("fn_index")
        return key in self.asking.get(call.group("mount") or "", set())

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request to Gradio; a 5xx (or an exception) becomes our JSON 500 with a request id."""
        failed: int | None = None
        started = False

        async def sending(message: Message) -> None:
            nonlocal failed, started
            if message["type"] == "http.response.start":
                if message["status"] >= 500 and message["status"] != 503:  # 503 "queue is full" is Gradio's word
                    failed = message["status"]
                    return
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": [*headers, (b"cache-control", b"no-store")]}
            elif failed is not None:
                if not message.get("more_body", False):
                    await self._fail(scope, receive, send, f"Gradio answered {failed}")
                return
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:  # a bug in Gradio's handling of a call: one line, not a 14 kB traceback
            if started:
                raise
            await self._fail(scope, receive, send, f"{type(exc).__name__}: {exc}")

    async def _fail(self, scope: Scope, receive: Receive, send: Send, what: str) -> None:
        request_id = new_request_id()
        log.error("gradio route %s failed (request id %s): %s", scope["path"][:MAX_LOGGED], request_id,
                  what[:MAX_LOGGED])
        response = JSONResponse({"error": messages.INTERNAL_ERROR.format(request_id=request_id),
                                 "request_id": request_id}, status_code=500, headers={"X-Request-ID": request_id})
        await response(scope, receive, send)


def asking(blocks: Any, api_name: str = "respond") -> set[str | int]:
    """Return the api name and the function indexes of a Blocks app's function that answers a question (every
    event bound to it: the button and the Enter key)."""
    answer = next((fn.fn for fn in blocks.fns.values() if fn.api_name == api_name), None)
    keys: set[str | int] = {api_name}
    keys.update(index for index, fn in blocks.fns.items() if answer is not None and fn.fn is answer)
    return keys


def endpoints(blocks: Any) -> dict[str | int, int]:
    """Return {api name and function index: how many values it takes} for a Gradio Blocks app."""
    counts: dict[str | int, int] = {}
    for index, fn in blocks.fns.items():
        counts[index] = len(fn.inputs)
        if isinstance(fn.api_name, str):
            counts[fn.api_name] = len(fn.inputs)
    return counts


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
