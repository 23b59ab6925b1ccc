"""Checks on what users send: questions and conversation histories."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from assistant import messages
from ingest.types import CitechatError

# C0/C1 controls (tab and newlines allowed), bidi overrides and isolates, lone surrogates.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")

Message = dict[str, str]


def clean_question(question: Any, max_chars: int) -> str:
    """Return the question stripped of invisible characters; raises CitechatError when unusable."""
    if not isinstance(question, str):
        raise CitechatError(messages.EMPTY_QUESTION)
    if len(question) > max_chars:
        raise CitechatError(messages.QUESTION_TOO_LONG.format(length=len(question), limit=max_chars))
    if FORBIDDEN.search(question):
        raise CitechatError(messages.BAD_CHARACTERS)
    text = " ".join(INVISIBLE.sub("", question).split())
    if not text:
        raise CitechatError(messages.EMPTY_QUESTION)
    return text


def clean_history(history: Sequence[Any] | None, max_messages: int, max_chars: int) -> list[Message]:
    """Return the history as role/content messages; raises CitechatError for wrong shapes or sizes."""
    if history is None:
        return []
    if not isinstance(history, list | tuple):
        raise CitechatError(messages.BAD_HISTORY.format(problem="it is not a list"))
    if len(history) > max_messages:
        raise CitechatError(messages.HISTORY_TOO_LONG.format(count=len(history), limit=max_messages))
    cleaned: list[Message] = []
    total = 0
    for index, item in enumerate(history):
        if not isinstance(item, dict) or item.get("role") not in {"user", "assistant"}:
            raise CitechatError(messages.BAD_HISTORY.format(problem=f"message {index} has no valid role"))
        content = _content(item)
        if content is None:
            raise CitechatError(messages.BAD_HISTORY.format(problem=f"message {index} has no text content"))
        total += len(content)
        if total > max_chars:
            size = total + sum(len(_content(rest) or "") for rest in history[index + 1:])
            raise CitechatError(messages.HISTORY_TOO_BIG.format(size=size, limit=max_chars))
        cleaned.append({"role": item["role"], "content": FORBIDDEN.sub("", content)})
    return cleaned


def _content(item: Any) -> str | None:
    """A history message's text, in either form (Gradio's: [{"type": "text", "text": ...}]); None if it has none."""
    content = item.get("content") if isinstance(item, dict) else None
    if isinstance(content, list):
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else None
