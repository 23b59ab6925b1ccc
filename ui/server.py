"""The web server: one FastAPI app with the JSON API, the embedding routes and the Gradio chat mounted in it."""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from assistant import Assistant
from ingest.settings import Settings
from ui import api, embed
from ui.chat import ChatPage, build_chat
from ui.feedback import FeedbackStore, feedback_path
from ui.theme import CHAT_CSS, EMBED_CSS, EMBED_HEAD, PAGE_HEAD, theme

log = logging.getLogger(__name__)
API_DESCRIPTION = """Ask questions about the ingested medical article; every answer quotes the passages it
comes from (`citations`, with the article's own reference numbers), or abstains when the article does not
answer. Send the conversation so far as `history`: the server keeps no state between requests. Errors are
`{"error": "..."}` with a 4xx status.

The chat page is at `/`, the narrow widget at `/embed?article=SLUG` (iframe) or as a web component:
`<script type="module" src="/gradio.js"></script><gradio-app src="/embed" data-article="SLUG"></gradio-app>`."""


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    """Return the app: API routes, /healthz, /gradio.js, the chat at / and the widget at /embed."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    bot = assistant or Assistant.load(settings)
    feedback = FeedbackStore(feedback_path(settings))
    app = FastAPI(title="citechat", version="0.1.0", description=API_DESCRIPTION, docs_url="/docs", redoc_url=None)
    api.install_error_handlers(app)
    app.add_middleware(api.BodyLimit, limit=settings.max_request_bytes)
    embed.install(app, settings)
    app.include_router(api.router(bot, feedback))

    @app.get("/healthz", tags=["ops"], summary="Readiness")
    def healthz() -> Any:
        """200 with the ingested articles once the assistant can answer; 503 if its store cannot be read."""
        try:
            articles = [r.slug for r in bot.articles()]
        except Exception as exc:  # a readiness probe reports, it does not raise
            log.warning("healthz: store unreadable: %s", exc)
            return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
        return {"status": "ok", "articles": articles}

    mount: dict[str, Any] = {"theme": theme(), "css": CHAT_CSS, "head": PAGE_HEAD, "footer_links": [],
                             "run_history": False, "ssr_mode": False, "show_error": True}
    widget = build_chat(ChatPage(bot, feedback, embed=True))
    page = build_chat(ChatPage(bot, feedback, embed=False))
    # Starlette matches in order and "/" matches everything: the widget and all routes above come first.
    gr.mount_gradio_app(app, widget.queue(default_concurrency_limit=4), path=embed.EMBED_PATH,
                        **{**mount, "css": EMBED_CSS, "head": EMBED_HEAD})
    gr.mount_gradio_app(app, page.queue(default_concurrency_limit=4), path="/", **mount)
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Load the assistant once, then serve the app with uvicorn until interrupted."""
    import uvicorn

    app = create_app(settings)
    print(f"citechat: chat on http://{host}:{port}/  widget /embed  API docs /docs", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True, timeout_graceful_shutdown=5)
