"""Load on loopback: 50 concurrent five-turn conversations over the HTTP API and 10 through the chat page.

Every session follows a topic with "Tell me more about it.", twice, so its follow-ups can only be answered
right from its own history; the topics are chosen so that the follow-up's answer differs for each of them
(checked first), and every reply must equal the one the assistant gives that exact conversation when asked
alone. No 5xx, no reply from another session's history.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from gradio_client import Client

from tests.conftest import make_settings
from ui.background import serving
from ui.server import create_app

SLUG = "scleromyxedema"
TOPICS = [
    "What is the first-line treatment?", "Which gastrointestinal symptom does scleromyxedema cause?",
    "What is the dermato-neuro syndrome?", "What does a skin biopsy show?", "How does renal involvement present?",
    "What muscle problem occurs in scleromyxedema?", "What pulmonary symptom occurs?", "What are the skin findings?",
    "Has methotrexate been used?", "What are the critical pitfalls?",
]
MORE = "Tell me more about it."
HTTP_SESSIONS = 50
CHAT_SESSIONS = 10
CONVERSATION = 1  # position of the conversation among the chat page's /respond outputs


def script(session: int) -> list[str]:
    """The five questions of a session: topic A, a follow-up, topic B, two follow-ups (no two sessions alike)."""
    a = session % len(TOPICS)
    b = (a + session // len(TOPICS) + 1) % len(TOPICS)
    return [TOPICS[a], MORE, TOPICS[b], MORE, MORE]


def turn(question: str, answer: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


@pytest.fixture(scope="module")
def expected(bot) -> dict[tuple[str, ...], dict[str, Any]]:
    """The reply to every prefix of every session's conversation, asked alone: keyed by the questions so far."""
    replies: dict[tuple[str, ...], dict[str, Any]] = {}
    for session in range(HTTP_SESSIONS):
        history: list[dict[str, str]] = []
        asked: tuple[str, ...] = ()
        for question in script(session):
            asked = (*asked, question)
            if asked not in replies:
                replies[asked] = bot.ask(question, history, SLUG).to_dict()
            history += turn(question, replies[asked]["answer"])
    return replies


def essence(reply: dict[str, Any]) -> tuple[Any, ...]:
    """What must match: the answer, whether it abstained and which spans it cites."""
    return (reply["answer"], reply["abstained"],
            [(c["article"], c["start"], c["end"], c["number"]) for c in reply["citations"]])


def test_each_follow_up_depends_on_its_own_topic(expected):
    follow_ups = {expected[(topic, MORE)]["answer"] for topic in TOPICS}
    assert len(follow_ups) == len(TOPICS)  # another session's history would give another answer
    assert not any(expected[(topic, MORE)]["abstained"] for topic in TOPICS)


@pytest.fixture(scope="module")
def url(bot, tmp_path_factory) -> Iterator[str]:
    with serving(create_app(make_settings(tmp_path_factory.mktemp("load-home")), assistant=bot)) as base:
        yield base


async def http_session(client: httpx.AsyncClient, session: int, statuses: list[int]) -> list[dict[str, Any]]:
    """Hold one conversation over the API (odd sessions stream it); return the replies."""
    history: list[dict[str, str]] = []
    replies = []
    for question in script(session):
        body = {"question": question, "history": history, "article": SLUG}
        if session % 2:
            async with client.stream("POST", "/api/ask/stream", json=body) as response:
                statuses.append(response.status_code)
                text = "".join([piece async for piece in response.aiter_text()])
            reply = json.loads(re.findall(r"event: reply\ndata: (.*)\n\n", text)[-1])
        else:
            response = await client.post("/api/ask", json=body)
            statuses.append(response.status_code)
            reply = response.json()
        replies.append(reply)
        history += turn(question, reply["answer"])
    return replies


def test_50_concurrent_sessions_over_the_api(url, expected):
    statuses: list[int] = []

    async def run() -> list[list[dict[str, Any]]]:
        limits = httpx.Limits(max_connections=HTTP_SESSIONS, max_keepalive_connections=HTTP_SESSIONS)
        async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
            return await asyncio.gather(*(http_session(client, s, statuses) for s in range(HTTP_SESSIONS)))

    sessions = asyncio.run(run())
    assert statuses == [200] * HTTP_SESSIONS * 5
    for session, replies in enumerate(sessions):
        questions = script(session)
        for n, reply in enumerate(replies):
            assert essence(reply) == essence(expected[tuple(questions[:n + 1])]), (session, n)


def chat_session(url: str, session: int) -> list[str]:
    """Hold one conversation through the chat page's own endpoint; return the answers it showed."""
    client = Client(url + "/", verbose=False)
    conversation: list[dict[str, Any]] = []
    for question in script(session):
        conversation = client.predict(question, conversation, SLUG, api_name="/respond")[CONVERSATION]
    return [t["content"] for t in conversation if t["role"] == "assistant"]


def test_10_concurrent_sessions_through_the_chat_page(url, expected):
    with ThreadPoolExecutor(CHAT_SESSIONS) as pool:
        sessions = list(pool.map(lambda s: chat_session(url, s), range(CHAT_SESSIONS)))
    for session, answers in enumerate(sessions):
        questions = script(session)
        assert answers == [expected[tuple(questions[:n + 1])]["answer"] for n in range(5)], session
