"""Slow request bodies and flooding clients, against the real app served on loopback.

A body is read before its question takes an answer slot, so clients trickling their bodies in hold no slot and
normal questions are answered meanwhile; a per-client token bucket answers a flooding client 429 with
Retry-After while another client is served; X-Forwarded-For names the client only behind a trusted proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import make_settings
from ui.background import serving
from ui.limits import Limiter
from ui.server import create_app

SLUG = "scleromyxedema"
QUESTION = {"question": "What is the first-line treatment?", "history": [], "article": SLUG}
SLOW_CLIENTS = 100
BODY = json.dumps(QUESTION).encode()


@contextlib.contextmanager
def serve(bot, home, **changes) -> Iterator[str]:
    with serving(create_app(make_settings(home, **changes), assistant=bot)) as base:
        yield base


@pytest.fixture(scope="module")
def slow_url(bot, tmp_path_factory) -> Iterator[str]:
    with serve(bot, tmp_path_factory.mktemp("slow-home"), body_timeout=60.0, answer_concurrency=2,
               max_queue_size=4) as base:
        yield base


async def trickle(host: str, port: int, stop: asyncio.Event) -> bytes:
    """Send a question's headers, then its body one byte every 2 s until told to stop; return what came back."""
    reader, writer = await asyncio.open_connection(host, port)
    head = (f"POST /api/ask HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n").encode()
    writer.write(head)
    await writer.drain()
    sent = 0
    while not stop.is_set() and sent < len(BODY) - 1:
        writer.write(BODY[sent:sent + 1])
        await writer.drain()
        sent += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 2.0)
    try:
        answered = await asyncio.wait_for(reader.read(200), 0.2)
    except TimeoutError:
        answered = b""  # nothing came back: the request is still being received
    writer.close()
    return answered


def test_slow_bodies_hold_no_answer_slot(slow_url):
    """100 clients trickling bodies in (more than the 2 slots + 4 places of this server) while normal
    questions are asked: every normal question is answered, none is told "busy"."""
    host, port = slow_url.removeprefix("http://").split(":")

    async def scenario() -> tuple[list[int], list[bytes]]:
        stop = asyncio.Event()
        slow = [asyncio.create_task(trickle(host, int(port), stop)) for _ in range(SLOW_CLIENTS)]
        await asyncio.sleep(3.0)  # every slow client has sent its headers and a byte or two
        statuses = []
        async with httpx.AsyncClient(base_url=slow_url, timeout=15.0) as client:
            for _ in range(6):
                response = await client.post("/api/ask", json=QUESTION)
                statuses.append(response.status_code)
        stop.set()
        return statuses, await asyncio.gather(*slow)

    statuses, slow_answers = asyncio.run(scenario())
    assert statuses == [200] * 6
    assert all(answer == b"" for answer in slow_answers)  # they were still sending: held, not refused


def test_a_body_slower_than_the_timeout_is_refused(bot, tmp_path):
    async def scenario(host: str, port: int) -> bytes:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"POST /api/ask HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(BODY)}\r\n\r\n{{".encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), 10.0)
        writer.close()
        return answer

    with serve(bot, tmp_path / "home", body_timeout=1.0) as base:
        host, port = base.removeprefix("http://").split(":")
        answer = asyncio.run(scenario(host, int(port)))
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408")
        assert "did not arrive within 1 seconds" in json.loads(body)["error"]
        assert httpx.post(f"{base}/api/ask", json=QUESTION, timeout=15.0).status_code == 200


@pytest.fixture(scope="module")
def limited(bot, tmp_path_factory) -> Iterator[str]:
    with serve(bot, tmp_path_factory.mktemp("limited-home"), rate_limit=6.0, rate_burst=3,
               trusted_proxies="127.0.0.1") as base:
        yield base


def test_a_flooding_client_is_throttled_while_another_is_served(limited):
    flood = {"X-Forwarded-For": "203.0.113.5"}
    statuses = [httpx.post(f"{limited}/api/ask", json=QUESTION, headers=flood, timeout=15.0) for _ in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
    refused = statuses[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 10  # 6 per minute: a token every 10 s
    assert "Too many questions" in refused.json()["error"]
    # Another client behind the same proxy is served; the chat page's calls count for the flooder too.
    other = httpx.post(f"{limited}/api/ask", json=QUESTION, headers={"X-Forwarded-For": "203.0.113.9"},
                       timeout=15.0)
    assert other.status_code == 200
    # The chat's questions count for the flooder too; loading the page and rating answers do not.
    config = httpx.get(f"{limited}/config", timeout=15.0).json()
    index = {d.get("api_name"): i for i, d in enumerate(config["dependencies"])}
    ask = {"data": ["What dose?", [], SLUG], "fn_index": index["respond"], "session_hash": "flood"}
    join = httpx.post(f"{limited}/gradio_api/queue/join", json=ask, headers=flood, timeout=15.0)
    assert join.status_code == 429 and "Too many questions" in join.json()["error"]
    load = {"data": [SLUG], "fn_index": index["load"], "session_hash": "flood"}
    assert httpx.post(f"{limited}/gradio_api/queue/join", json=load, headers=flood, timeout=15.0).status_code == 200
    # A spoofed hop before the proxy's own does not make a new client: the proxy appended the real one.
    spoofed = httpx.post(f"{limited}/api/ask", json=QUESTION, timeout=15.0,
                         headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.5"})
    assert spoofed.status_code == 429


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(bot, tmp_path):
    with serve(bot, tmp_path / "home", rate_limit=6.0, rate_burst=2) as base:
        for n in range(2):  # each claims to be another client: all are 127.0.0.1
            ok = httpx.post(f"{base}/api/ask", json=QUESTION, headers={"X-Forwarded-For": f"203.0.113.{n}"},
                            timeout=15.0)
            assert ok.status_code == 200
        refused = httpx.post(f"{base}/api/ask", json=QUESTION, headers={"X-Forwarded-For": "203.0.113.77"},
                             timeout=15.0)
        assert refused.status_code == 429


def test_the_bucket_refills_at_the_rate():
    limit = Limiter(per_minute=60.0, burst=2)
    assert limit.take("a", 0.0) == 0.0 and limit.take("a", 0.0) == 0.0
    assert limit.take("a", 0.0) == pytest.approx(1.0)  # empty: one token a second
    assert limit.take("a", 0.5) == pytest.approx(0.5)
    assert limit.take("a", 1.0) == 0.0
    assert limit.take("b", 1.0) == 0.0  # another client has its own bucket
    assert limit.client({"client": ("::ffff:10.0.0.1", 1), "headers": []}) == "10.0.0.1"
