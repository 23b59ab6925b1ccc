"""What the server lets a browser do: security headers on every response, and Gradio routes it never serves.

The pages show article text, questions and answers only as escaped text (`ui.render`); the Content Security
Policy is the second line: no plugin, no remote script, image, font or connection, no form posting elsewhere,
framing only by the allowed sites. Gradio's own routes that read files, fetch URLs, take uploads or expose
monitoring are answered 404 before Gradio sees them: the chat needs none of them.
"""

from __future__ import annotations

import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui import messages

# Gradio evaluates the page's small scripts (js= on events) with `new Function` and inlines its config.
PAGE_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' data: blob:; connect-src 'self'; "
               "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'")
# The /docs page: Swagger UI from the app itself (ui/docs.py), started by one inline script.
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'")
DATA_POLICY = "default-src 'none'"  # JSON, event streams, plain text: nothing in them may load or run
DOCS_PATHS = ("/docs",)
DATA_TYPES = (b"application/json", b"text/event-stream", b"text/plain")
HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    b"cross-origin-opener-policy": b"same-origin",
}

# Gradio routes the chat never uses, on the page (/) and on the widget (/embed): file and URL serving (file=,
# file/, proxy=), uploads, media streams, monitoring, recording, custom components, live code editing, run
# history, reload and MCP. Matched on the decoded path with repeated slashes collapsed.
BLOCKED = re.compile(
    r"^(?:/embed)?(?:/gradio_api)?/(?:file=|file/|proxy=|upload(?:_progress)?/?$|stream/|monitoring|"
    r"process_recording|custom_component/|vibe-|undo-vibe-|dev/|run-history|runs/?$|mcp)",
    re.IGNORECASE,
)


class SecurityHeaders:
    """Adds the Content Security Policy (with `frame-ancestors`: who may frame us) and the other security
    headers to every response; drops any X-Frame-Options (frame-ancestors supersedes it and can list sites)."""

    def __init__(self, app: ASGIApp, frame_ancestors: str) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors

    def policy(self, path: str, content_type: bytes) -> bytes:
        """Return the CSP for a response: pages, the API docs page, or data."""
        if path in DOCS_PATHS:
            base = DOCS_POLICY
        elif content_type.split(b";")[0].strip().lower() in DATA_TYPES:
            base = DATA_POLICY
        else:
            base = PAGE_POLICY
        return f"{base}; {self.frame_ancestors}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                dropped = {b"content-security-policy", b"x-frame-options", b"server", *HEADERS}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dropped]
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                headers.append((b"content-security-policy", self.policy(scope["path"], content_type)))
                headers.extend(HEADERS.items())
                if api:  # answers about someone's health are nobody else's to cache
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BlockedRoutes:
    """Answers 404 (JSON) for the Gradio routes in `BLOCKED`, before Gradio sees the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and is_blocked(scope["path"]):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            response = JSONResponse({"error": messages.NOT_FOUND}, status_code=404)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def is_blocked(path: str) -> bool:
    """Return whether a (decoded) request path is one of the Gradio routes the server never serves."""
    return bool(BLOCKED.match(re.sub(r"/{2,}", "/", path)))
