"""Generated answers through a LangChain chat model, shown only as far as the grounding guard allows.

The extractive pipeline still decides whether to answer at all and supplies the passages; the model only
rewrites follow-ups for retrieval and phrases the answer. Whatever goes wrong on the model's side (server
down, slow, rate-limited, an answer the guard cannot keep) ends in the extractive answer with a notice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from assistant import messages
from assistant.addressed import addressed_to_assistant
from assistant.guard import Draft
from assistant.lexicon import Lexicon
from assistant.prompts import NO_ANSWER, answer_prompt, condense_prompt
from assistant.query import MARKER
from assistant.rank import Passage
from assistant.scope import is_instruction
from ingest.settings import Settings
from ingest.types import CitechatError, Reply

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger("citechat.llm")

CONDENSE_HISTORY = 6  # messages of the conversation shown to the model when rewriting a follow-up


class ModelTimeout(TimeoutError):
    """The model took longer than `llm_max_seconds` in all."""


def chat_model(settings: Settings) -> BaseChatModel:
    """Return the chat model the settings name: the one place one is built; raises CitechatError if it can't."""
    if not settings.llm_base_url:
        raise CitechatError(messages.LLM_NOT_CONFIGURED)
    if not settings.llm_model:
        raise CitechatError(messages.LLM_NO_MODEL)
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise CitechatError(messages.LLM_NOT_INSTALLED) from None
    # Local servers ignore the key, but the client insists on one; never fall back to OPENAI_API_KEY.
    key = settings.llm_api_key or SecretStr("not-needed")
    return ChatOpenAI(base_url=settings.llm_base_url, api_key=key, model=settings.llm_model,
                      timeout=settings.llm_timeout, max_retries=0, temperature=0.0,
                      max_completion_tokens=settings.llm_max_tokens)


class Generator:
    """Writes cited answers with a chat model from numbered passages; safe to share between threads."""

    def __init__(self, model: BaseChatModel, settings: Settings, lexicon: Lexicon) -> None:
        self.model = model
        self.settings = settings
        self.lexicon = lexicon

    def stream(self, question: str, history: Sequence[dict[str, str]], followup: bool, fallback: Reply,
               retrieve: Callable[[str | None], Sequence[Passage]], known: Sequence[str]) -> Iterator[str | Reply]:
        """Yield guarded sentences of a generated answer, then the Reply (the extractive `fallback` on failure).

        `retrieve(standalone)` returns the ranked passages for a rewritten follow-up, or for the offline
        query when given None. Never raises for the model's failures.
        """
        deadline = time.monotonic() + self.settings.llm_max_seconds
        draft: Draft | None = None
        try:
            standalone = self.condense(history, question) if followup else None
            passages = pick(retrieve(standalone), self.settings.llm_passages)
            if not passages:
                yield from _fall_back(fallback, messages.LLM_UNSUPPORTED, shown=False)
                return
            asked = standalone or (fallback.query if followup else question)
            system, user = answer_prompt(asked, [(p.chunk.section, p.text) for p in passages],
                                         self.settings.max_answer_sentences)
            draft = Draft(passages, known, self.lexicon)
            for text in self._generate(system, user, deadline):
                yield from draft.feed(text)
            yield from draft.feed("", final=True)
        except Exception as exc:  # noqa: BLE001 - an optional backend must never break answering
            problem = _problem(exc)
            log.warning("language model failed (%s): %s %s", problem, type(exc).__name__,
                        getattr(exc, "status_code", ""), exc_info=problem == "failed")
            notice = messages.LLM_UNAVAILABLE.format(problem=messages.LLM_PROBLEMS[problem])
            yield from _fall_back(fallback, notice, shown=bool(draft and draft.rendered))
            return
        yield settle(draft, fallback, self.settings.llm_min_kept, query=asked)

    def condense(self, history: Sequence[dict[str, str]], question: str) -> str | None:
        """Return the follow-up rewritten as a standalone question, or None when the rewrite is unusable.

        Raises the model's errors: a server that is down or slow would only fail the answer next, later.
        """
        turns = [{"role": m["role"], "content": MARKER.sub("", m["content"])} for m in history[-CONDENSE_HISTORY:]]
        system, user = condense_prompt(turns, question)
        text = _text(self.model.invoke(_messages(system, user)).content)
        lines = [line.strip().strip('"“”').strip() for line in text.splitlines() if line.strip()]
        standalone = lines[0].removeprefix("Standalone question:").strip() if lines else ""
        usable = (standalone and len(standalone) <= self.settings.max_question_chars
                  and not is_instruction(standalone) and NO_ANSWER.lower() not in standalone.lower())
        log.debug("follow-up %r rewritten as %r (%s)", question, standalone, "used" if usable else "ignored")
        return standalone if usable else None

    def _generate(self, system: str, user: str, deadline: float) -> Iterator[str]:
        chunks = self.model.stream(_messages(system, user))
        try:
            for chunk in chunks:
                if time.monotonic() > deadline:
                    raise ModelTimeout(f"no answer within {self.settings.llm_max_seconds} s")
                yield chunk.text
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()  # hang up on the server when we stop listening early


def _messages(system: str, user: str) -> list[BaseMessage]:
    from langchain_core.messages import HumanMessage, SystemMessage

    return [SystemMessage(system), HumanMessage(user)]


def _text(content: str | list[str | dict[str, Any]]) -> str:
    """Return the text of a message's content, whether a string or a list of content blocks."""
    if isinstance(content, str):
        return content
    return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)


def pick(ranked: Sequence[Passage], n: int) -> list[Passage]:
    """Return the best `n` distinct passages in reading order, leaving out text addressed to an assistant."""
    chosen: dict[tuple[str, int], Passage] = {}
    for passage in ranked:
        key = (passage.chunk.article, passage.sentence.start)
        if key not in chosen and not addressed_to_assistant(passage.text):
            chosen[key] = passage
        if len(chosen) == n:
            break
    return [chosen[key] for key in sorted(chosen)]


def settle(draft: Draft, fallback: Reply, min_kept: float, query: str = "") -> Reply:
    """Return the reply for a finished draft: the guarded answer, or the extractive one when too little is kept."""
    judged, kept = draft.judged, draft.kept
    for verdict in judged:  # what the guard caught is worth seeing in the logs; what it kept, when debugging
        log.log(logging.DEBUG if verdict.kept else logging.INFO, "guard %s: %r (%s)",
                "kept" if verdict.kept else "dropped", verdict.text, verdict.reason)
    if not kept:
        if any(j.declined for j in judged):
            notice = messages.LLM_DECLINED
        elif not any(j.cited for j in judged):
            notice = messages.LLM_NO_CITATIONS
        else:
            notice = messages.LLM_UNSUPPORTED
        return _fallback_reply(fallback, notice)
    if len(kept) / len(judged) < min_kept:
        return _fallback_reply(fallback, messages.LLM_UNSUPPORTED)
    dropped = len(judged) - len(kept)
    citations = draft.citations()
    return Reply(answer=draft.answer, citations=citations, article=citations[0].article, mode="llm",
                 query=query or fallback.query, statements=draft.statements(),
                 notice=messages.LLM_REMOVED.format(count=dropped) if dropped else "")


def _fall_back(fallback: Reply, notice: str, shown: bool) -> Iterator[str | Reply]:
    """Yield the extractive answer, as one piece unless generated text was already shown, then its Reply."""
    reply = _fallback_reply(fallback, notice)
    if not shown:
        yield reply.answer
    yield reply


def _fallback_reply(fallback: Reply, notice: str) -> Reply:
    return replace(fallback, mode="extractive-fallback", notice=notice)


def _problem(exc: BaseException) -> str:
    """Return which of messages.LLM_PROBLEMS an exception of the model client is."""
    try:
        import openai
    except ImportError:  # another LangChain chat model: judge by the standard exceptions only
        openai = None  # type: ignore[assignment]
    if isinstance(exc, TimeoutError) or (openai and isinstance(exc, openai.APITimeoutError)):
        return "timeout"
    if isinstance(exc, ConnectionError) or (openai and isinstance(exc, openai.APIConnectionError)):
        return "unreachable"
    if openai and isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if openai and isinstance(exc, openai.APIStatusError | openai.APIResponseValidationError):
        return "server_error"
    return "failed"
