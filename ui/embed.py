"""Embedding: which sites may embed the widget (CORS, frame-ancestors) and a stable web-component loader.

Gradio's `<gradio-app>` element is defined by `/assets/index-<hash>.js`, whose name changes with every Gradio
release; the wheel ships `templates/frontend/gradio.js`, a one-line module importing it, but does not route it.
`/gradio.js` serves that file from the installed wheel, so the snippet site owners paste never changes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.settings import Settings

LOADER_PATH = "/gradio.js"
EMBED_PATH = "/embed"


def allowed_origins(settings: Settings) -> list[str]:
    """Return the origins allowed to embed the widget, from the comma-separated setting ('*': any site)."""
    origins = [o.strip().rstrip("/") for o in settings.allowed_origins.split(",")]
    return list(dict.fromkeys(o for o in origins if o))


def frame_ancestors(origins: list[str]) -> str:
    """Return the CSP directive listing who may frame our pages: ourselves and the allowed origins."""
    if "*" in origins:
        return "frame-ancestors *"
    return " ".join(["frame-ancestors 'self'", *origins])


@lru_cache(maxsize=1)
def loader_source() -> bytes:
    """Return the installed Gradio wheel's web-component loader (imports the hashed bundle relatively)."""
    import gradio

    return (Path(gradio.__file__).parent / "templates" / "frontend" / "gradio.js").read_bytes()


class FrameAncestors:
    """Adds `Content-Security-Policy: frame-ancestors ...` to every response, so only the allowed sites (and
    we ourselves) can show our pages in a frame."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.policy = policy.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"content-security-policy", b"x-frame-options")]
                headers.append((b"content-security-policy", self.policy))
                headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_policy)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the embedding policy (CORS and frame-ancestors) and the loader route to the app."""
    origins = allowed_origins(settings)
    app.add_middleware(FrameAncestors, policy=frame_ancestors(origins))
    # Gradio sees a parent CORSMiddleware and leaves CORS to it, so this one policy covers the widget too.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"] if "*" in origins else origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        max_age=600,
    )

    @app.get(LOADER_PATH, include_in_schema=False)
    def gradio_loader() -> Response:
        """The web-component loader: `<script type="module" src="https://HOST/gradio.js">`."""
        return Response(loader_source(), media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})

    @app.get(EMBED_PATH, include_in_schema=False)
    def widget(request: Request) -> RedirectResponse:
        """`/embed?article=SLUG` (the URL site owners paste) is the widget mounted at `/embed/`."""
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{EMBED_PATH}/{query}", status_code=307)
