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


def install(app: FastAPI, settings: Settings) -> None:
    """Add the CORS policy for the allowed origins and the loader route to the app (frame-ancestors is part of
    `ui.security.SecurityHeaders`)."""
    origins = allowed_origins(settings)
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
