"""The web server: one FastAPI app with the JSON API, the embedding routes and the Gradio chat mounted in it."""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from assistant import Assistant
from ingest.settings import Settings
from ui import api, docs, embed, messages
from ui.chat import ChatPage, build_chat
from ui.feedback import FeedbackStore, feedback_path
from ui.gradio_guard import GradioGuard, asking, endpoints
from ui.limits import Admission, BodyLimit, Limiter, RateLimit
from ui.security import BlockedRoutes, SecurityHeaders
from ui.theme import CHAT_CSS, EMBED_CSS, EMBED_HEAD, PAGE_HEAD, theme

log = logging.getLogger(__name__)
API_DESCRIPTION = """Ask questions about the ingested medical article; every answer quotes the passages it
comes from (`citations`, with the article's own reference numbers), or abstains when the article does not
answer. Send the conversation so far as `history`: the server keeps no state between requests. Errors are
`{"error": "..."}`: a 4xx status says what to fix; 503 (with `Retry-After`) means busy, try again; 500 carries a
`request_id` to quote when reporting it.

The chat page is at `/`, the narrow widget at `/embed?article=SLUG` (iframe) or as a web component:
`<script type="module" src="/gradio.js"></script><gradio-app src="/embed" data-article="SLUG"></gradio-app>`."""


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    """Return the app: API routes, /healthz, /gradio.js, the chat at / and the widget at /embed."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    bot = assistant or Assistant.load(settings)
    feedback = FeedbackStore(feedback_path(settings))
    disabled = [messages.READ_ONLY_STORE.format(read_only=bot.store.read_only)] if bot.store.read_only else []
    disabled += [f"ratings are not saved ({feedback.disabled})"] if feedback.disabled else []
    app = FastAPI(title="citechat", version="0.1.0", description=API_DESCRIPTION, docs_url=None, redoc_url=None)
    app.state.disabled = disabled  # what this server cannot do here, said when it starts
    api.install_error_handlers(app)
    # Starlette runs the middleware added last first: CORS, security headers, blocked routes, rate limit, body
    # limit, Gradio's calls checked, admission.
    app.add_middleware(Admission, concurrency=settings.answer_concurrency, max_waiting=settings.max_queue_size,
                       body_timeout=settings.body_timeout)
    gradio_apps: dict[str, dict[str | int, int]] = {}  # filled below, once the chat apps are built
    gradio_asking: dict[str, set[str | int]] = {}
    limiter = Limiter(settings.rate_limit, settings.rate_burst, settings.trusted_proxies)
    # Values just past the chat's own limits reach it, which says so in the chat; far past them, 413 here.
    app.add_middleware(GradioGuard, apps=gradio_apps, max_value_chars=settings.max_history_chars,
                       max_total_chars=settings.max_history_chars + settings.max_question_chars,
                       body_timeout=settings.body_timeout, limiter=limiter, asking=gradio_asking)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.add_middleware(RateLimit, limiter=limiter)
    app.add_middleware(BlockedRoutes)
    app.add_middleware(SecurityHeaders, frame_ancestors=embed.frame_ancestors(embed.allowed_origins(settings)))
    embed.install(app, settings)
    docs.install(app)
    app.include_router(api.router(bot, feedback))
    api.document_limits(app, settings)

    @app.get("/healthz", tags=["ops"], summary="Readiness")
    def healthz() -> Any:
        """200 with the ingested articles once the assistant can answer; 503 if its store cannot be read."""
        try:
            articles = [r.slug for r in bot.articles()]
        except Exception:  # a readiness probe reports, it does not raise; the details go to the log only
            log.exception("healthz: store unreadable")
            return JSONResponse({"status": "unavailable", "error": messages.UNAVAILABLE}, status_code=503)
        return {"status": "ok", "articles": articles}

    private = [str(p.resolve()) for p in (settings.home, feedback.path.parent)]
    mount: dict[str, Any] = {"theme": theme(), "css": CHAT_CSS, "head": PAGE_HEAD, "footer_links": [],
                             "run_history": False, "ssr_mode": False, "show_error": False,
                             "enable_monitoring": False, "mcp_server": False, "blocked_paths": private,
                             "max_file_size": 0}
    widget = build_chat(ChatPage(bot, feedback, embed=True), settings.answer_concurrency)
    page = build_chat(ChatPage(bot, feedback, embed=False), settings.answer_concurrency)
    gradio_apps.update({embed.EMBED_PATH: endpoints(widget), "": endpoints(page)})
    gradio_asking.update({embed.EMBED_PATH: asking(widget), "": asking(page)})
    queue = {"default_concurrency_limit": settings.answer_concurrency, "max_size": settings.max_queue_size}
    # Starlette matches in order and "/" matches everything: the widget and all routes above come first.
    gr.mount_gradio_app(app, widget.queue(**queue), path=embed.EMBED_PATH,
                        **{**mount, "css": EMBED_CSS, "head": EMBED_HEAD})
    gr.mount_gradio_app(app, page.queue(**queue), path="/", **mount)
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Load the assistant once, then serve the app with uvicorn until interrupted."""
    import uvicorn

    app = create_app(settings)
    for notice in app.state.disabled:
        print(f"citechat: note: {notice}.", flush=True)
    print(f"citechat: chat on http://{host}:{port}/  widget /embed  API docs /docs", flush=True)
    # X-Forwarded-For is read by the Limiter, from CITECHAT_TRUSTED_PROXIES only: uvicorn's own reading would
    # trust any local peer.
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False, timeout_graceful_shutdown=5,
                server_header=False)
