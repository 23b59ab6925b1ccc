"""The JSON API: ask (whole reply or Server-Sent Events), rate an answer, list articles.

The conversation travels with each request (`history`), so any server process can answer any turn.
Errors are always `{"error": "..."}`, never a traceback: 4xx says what to fix, 503 means busy (see
`ui.limits`), 500 carries a request id that points to the details in the server log.
"""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.exceptions import HTTPException

from assistant import Assistant
from assistant.suggest import follow_ups
from ingest.settings import Settings
from ingest.types import CitechatError, Reply
from ui import messages
from ui.feedback import FeedbackDisabled, FeedbackStore

log = logging.getLogger(__name__)


class Turn(BaseModel):
    """One earlier message of the conversation."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant"]
    content: StrictStr


MAX_SLUG_CHARS = 200  # an article's slug; longer is no slug
FASTAPI_UNPARSABLE = "There was an error parsing the body"  # FastAPI's words when its JSON parser gives up


class AskRequest(BaseModel):
    """A question, the conversation so far (oldest first) and optionally the article to answer from."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "question": "How often is it given?",
        "history": [{"role": "user", "content": "What is the first-line treatment?"},
                    {"role": "assistant", "content": "High-dose intravenous immunoglobulin (IVIG) at 2 g/kg ... [1]."}],
        "article": "scleromyxedema"}]})
    question: StrictStr = Field(description="The question, in plain text.")
    history: list[Turn] = Field(default_factory=list, description="Earlier messages, oldest first.")
    article: StrictStr | None = Field(default=None, max_length=MAX_SLUG_CHARS,
                                      description="Article slug; omitted: all ingested articles.")
    suggest: StrictBool = Field(default=False, description="Also return 2-3 checked follow-up questions.")


class CitationOut(BaseModel):
    """A cited passage: `text` is exactly the article's text from `start` to `end`."""

    number: int = Field(description="The [n] marker in the answer.")
    article: str
    section: str = Field(description="Section path, 'Parent > Child'.")
    text: str = Field(description="The quoted passage.")
    start: int
    end: int
    refs: list[int] = Field(description="The article's own reference numbers cited by the passage.")
    chunk_id: str


class StatementOut(BaseModel):
    """A sentence of the answer (without markers), the citation numbers it carries and its support score."""

    text: str
    citations: list[int]
    support: float
    supported: bool


class AskResponse(BaseModel):
    """The reply: the answer with [n] markers, its citations, or an abstention (the fields of
    `Reply.to_dict()`, plus `suggestions`)."""

    model_config = ConfigDict(extra="allow")  # a field the Python API gains later passes through
    answer: str
    citations: list[CitationOut]
    abstained: bool = Field(description="True when the article does not answer the question.")
    article: str
    mode: str = Field(description='"extractive", "llm" or "extractive-fallback".')
    notice: str = Field(description="Why a fallback happened, when it did.")
    statements: list[StatementOut] = Field(default_factory=list, description="The answer's sentences.")
    suggestions: list[str] = Field(default_factory=list, description="Checked follow-ups, when asked for.")


class FeedbackRequest(BaseModel):
    """A thumbs up or down on an answer."""

    model_config = ConfigDict(extra="forbid")
    rating: Literal["up", "down"]
    question: StrictStr = Field(max_length=20_000)
    answer: StrictStr = Field(max_length=20_000)
    article: StrictStr = Field(default="", max_length=MAX_SLUG_CHARS)


class ErrorOut(BaseModel):
    """What was wrong with the request."""

    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Unusable question or history (empty, too long, unknown article)."},
    413: {"model": ErrorOut, "description": "Request body too large."},
    422: {"model": ErrorOut, "description": "Wrong field names or types."},
}
ASK_ERRORS = {
    **ERRORS,
    408: {"model": ErrorOut, "description": "The request body did not arrive within the body timeout."},
    429: {"model": ErrorOut, "description": "Too many questions from this client; ask again after the Retry-After "
          "seconds."},
    503: {"model": ErrorOut, "description": "Busy: too many questions waiting; try again after the Retry-After "
          "seconds."},
}
FEEDBACK_ERRORS = {**ERRORS, 503: {"model": ErrorOut, "description": "Ratings are not saved here (a read-only data "
                                   "dir); answers still are served."}}
SSE_DOC = (
    "The same as `POST /api/ask`, streamed as Server-Sent Events: `event: delta` with `{\"text\": ...}` pieces of "
    "the answer, then one `event: reply` with the whole reply (the `/api/ask` JSON), which replaces the text "
    "shown so far (with a language model configured, a fallback can differ from the deltas). Input errors are answered "
    "before the stream starts, as JSON with a 4xx status."
    " A failure on our side after the stream started ends it with `event: error` and `{\"error\": ..., "
    "\"request_id\": ...}`."
)


def router(bot: Assistant, feedback: FeedbackStore) -> APIRouter:
    """Return the API routes bound to an assistant and a feedback store."""
    api = APIRouter(prefix="/api", tags=["api"])

    @api.post("/ask", response_model=AskResponse, responses=ASK_ERRORS, summary="Ask a question")
    def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question from the article, with citations, or abstain."""
        history = [t.model_dump() for t in body.history]
        reply = bot.ask(body.question, history, body.article)
        return _reply_json(bot, body, reply)

    @api.post("/ask/stream", responses={**ASK_ERRORS, 200: {"content": {"text/event-stream": {}},
                                                             "description": "Server-Sent Events."}},
              summary="Ask a question, streamed (SSE)", description=SSE_DOC, response_class=StreamingResponse)
    def ask_stream(body: AskRequest) -> StreamingResponse:
        events = bot.stream(body.question, [t.model_dump() for t in body.history], body.article)
        first = next(events)  # input errors raise here, before any byte is sent

        def sse() -> Iterator[str]:
            try:
                for event in itertools.chain([first], events):
                    if isinstance(event, str):
                        yield _sse("delta", {"text": event})
                    else:
                        yield _sse("reply", _reply_json(bot, body, event))
            except Exception:  # the 200 is sent: end the stream with an error event, details in the log only
                request_id = new_request_id()
                log.exception("unexpected error while streaming an answer (request id %s)", request_id)
                yield _sse("error", {"error": messages.INTERNAL_ERROR.format(request_id=request_id),
                                     "request_id": request_id})

        return StreamingResponse(sse(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @api.post("/feedback", status_code=201, responses=FEEDBACK_ERRORS, summary="Rate an answer")
    def rate(body: FeedbackRequest) -> dict[str, Any]:
        """Store a thumbs up or down on an answer (for custom widgets; the chat page stores its own)."""
        try:
            row = feedback.add(liked=body.rating == "up", question=body.question, answer=body.answer,
                               article=body.article, channel="api")
        except FeedbackDisabled as exc:  # the server answers, but cannot keep ratings (a read-only data dir)
            raise HTTPException(status_code=503, detail=str(exc)) from None
        return {"id": row, "status": messages.FEEDBACK_SAVED}

    @api.get("/articles", summary="List the articles")
    def articles() -> list[dict[str, Any]]:
        """The ingested articles: slug, title and section paths."""
        return [{"slug": r.slug, "title": r.title, "sections": list(r.sections), "updated": r.updated}
                for r in bot.articles()]

    @api.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(path: str, request: Request) -> None:
        """Unknown API paths answer in JSON too (the chat page mounted at / would answer them in HTML)."""
        raise HTTPException(404, messages.UNKNOWN_ENDPOINT.format(method=request.method, path=f"/api/{path}"))

    return api


def _reply_json(bot: Assistant, body: AskRequest, reply: Reply) -> dict[str, Any]:
    data = reply.to_dict()
    data["suggestions"] = []
    if body.suggest:
        history = [t.model_dump() for t in body.history]
        data["suggestions"] = follow_ups(bot, body.question, reply, history, body.article)
    return data


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


# -- errors ---------------------------------------------------------------------------------------------------
def document_limits(app: FastAPI, settings: Settings) -> None:
    """State this server's input limits in /openapi.json: the longest question, the most history messages.

    The assistant enforces them (400 with a sentence naming the limit); the schema says them so that clients
    and schema-driven tests know them before they send."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        ask = schema["components"]["schemas"]["AskRequest"]["properties"]
        ask["question"].update(minLength=1, maxLength=settings.max_question_chars)
        ask["history"].update(maxItems=settings.max_history_messages, description=(
            f"Earlier messages, oldest first: at most {settings.max_history_messages} messages and "
            f"{settings.max_history_chars:,} characters in all."))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    """Answer every API error as {"error": message} with a 4xx status (500 without details for bugs)."""

    @app.exception_handler(CitechatError)
    async def user_error(request: Request, exc: CitechatError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, text = describe(exc.errors())
        return JSONResponse({"error": text}, status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and str(exc.detail) == FASTAPI_UNPARSABLE:  # e.g. arrays nested 100,000 deep
            return JSONResponse({"error": messages.NOT_JSON.format(example=messages.ASK_EXAMPLE)}, status_code=400)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        request_id = new_request_id()
        log.error("unexpected error on %s (request id %s)", request.url.path, request_id, exc_info=exc)
        return JSONResponse({"error": messages.INTERNAL_ERROR.format(request_id=request_id),
                             "request_id": request_id}, status_code=500, headers={"X-Request-ID": request_id})


def new_request_id() -> str:
    """Return a short random id that ties an error shown to a user to its traceback in the server log."""
    return uuid.uuid4().hex[:12]


def describe(errors: Any) -> tuple[int, str]:
    """Return (status, one clear sentence) for pydantic validation errors of a request body."""
    errors = list(errors)
    first = errors[0] if errors else {}
    location = [str(p) for p in first.get("loc", ()) if p != "body"]
    kind = str(first.get("type", ""))
    if not location and kind in {"json_invalid", "missing", "model_attributes_type", "dict_type"}:
        return 400, messages.NOT_JSON.format(example=messages.ASK_EXAMPLE)
    if kind == "json_invalid":
        return 400, messages.NOT_JSON.format(example=messages.ASK_EXAMPLE)
    field = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in location).lstrip(".")
    problem = str(first.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        allowed = ", ".join(AskRequest.model_fields)
        problem = messages.UNKNOWN_FIELD.format(allowed=allowed)
    return 422, messages.BAD_FIELD.format(field=field, problem=problem)
