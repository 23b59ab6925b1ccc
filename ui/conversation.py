"""The conversation as the browser holds it: a JSON list the page sends back with every question.

The server keeps nothing between requests, so any `citechat serve` process behind a load balancer can answer
the next turn. What comes back from the browser is untrusted: it is read defensively, and only ever
rendered through `ui.render`, which escapes every piece of text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingest.types import Citation, Reply
from ui import render


@dataclass(frozen=True)
class Turn:
    """One message of the conversation; an assistant turn keeps its citations for sources and highlights."""

    role: str
    content: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    article: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form kept by the browser."""
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.role == "assistant":
            data.update(citations=[c.to_dict() for c in self.citations], abstained=self.abstained,
                        article=self.article)
        return data

    def reply(self) -> Reply:
        """Return an assistant turn as the Reply it came from."""
        return Reply(answer=self.content, citations=self.citations, abstained=self.abstained, article=self.article)


def user_turn(question: str) -> Turn:
    """Return the user's question as a turn."""
    return Turn("user", question.strip())


def assistant_turn(reply: Reply) -> Turn:
    """Return a reply as a turn."""
    return Turn("assistant", reply.answer, reply.citations, reply.abstained, reply.article)


def parse(value: Any) -> list[Turn]:
    """Return the turns of a conversation sent by the browser; malformed items are dropped."""
    if not isinstance(value, list):
        return []
    turns = []
    for item in value:
        if not isinstance(item, Mapping) or item.get("role") not in ("user", "assistant"):
            continue
        content = item.get("content")
        if not isinstance(content, str):
            continue
        citations = tuple(c for c in map(_citation, item.get("citations") or []) if c is not None)
        turns.append(Turn(str(item["role"]), content, citations, item.get("abstained") is True,
                          str(item.get("article") or "")))
    return turns


def readable(value: Any) -> bool:
    """Return whether a conversation sent by the browser is whole: a list (or nothing) of messages that each
    have a user or assistant role and text content. A question is only answered against a whole one."""
    if value is None:
        return True
    return isinstance(value, list) and all(
        isinstance(item, Mapping) and item.get("role") in ("user", "assistant") and isinstance(item.get("content"), str)
        and _is_text(item) for item in value)


def _is_text(value: Any) -> bool:
    """Whether every string in a JSON value is text that can be sent back (a lone surrogate cannot)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, Mapping):
        return all(_is_text(k) and _is_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(_is_text, value))
    return True


def dump(turns: list[Turn]) -> list[dict[str, Any]]:
    """Return the JSON form of the turns, for the browser."""
    return [t.to_json() for t in turns]


def history(turns: list[Turn]) -> list[dict[str, str]]:
    """Return the turns as the assistant's history: role and content only."""
    return [{"role": t.role, "content": t.content} for t in turns]


def chat_messages(turns: list[Turn], titles: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """Return the Chatbot value showing the turns: one message per turn, so like/dislike indexes match."""
    return [{"role": t.role, "content": render.user_html(t.content) if t.role == "user"
             else render.reply_html(t.reply(), titles)} for t in turns]


def answer_at(turns: list[Turn], index: int | None = None) -> tuple[int, str, Turn] | None:
    """Return (position, question, assistant turn) for the assistant turn at `index` (default: the last one);
    None when there is no assistant turn there."""
    positions = [i for i, t in enumerate(turns) if t.role == "assistant"]
    if index is not None:
        positions = [i for i in positions if i == index]
    if not positions:
        return None
    at = positions[-1]
    question = next((t.content for t in reversed(turns[:at]) if t.role == "user"), "")
    return at, question, turns[at]


def _citation(value: Any) -> Citation | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return Citation(number=int(value["number"]), article=str(value["article"]), section=str(value["section"]),
                        text=str(value["text"]), start=int(value["start"]), end=int(value["end"]),
                        refs=tuple(int(r) for r in value.get("refs") or ()), chunk_id=str(value.get("chunk_id", "")))
    except (KeyError, TypeError, ValueError):
        return None
