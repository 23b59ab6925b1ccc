"""HTTP API throughput: concurrent clients on loopback posting the eval conversations to `POST /api/ask`.

Each client plays whole conversations and sends the history with every follow-up, as the chat widget does.
The eval set has 198 questions and a round sends up to 800 requests: so that repeats do not hit the server's
query-embedding cache, every request writes its question with its own capitalisation (MiniLM lowercases its
input, and the answers to all 198 questions are the same in any case: checked when this was written).
The server is a real `citechat serve` process; the clients share this process (asyncio + httpx), so on a
small machine they take some CPU from the server: the figures are for client and server on the same cores.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cold import CITECHAT, prepare, server_available
from bench.common import Figure, env, figure, free_port, percentile, say, stop
from bench.queries import conversations

_REQUEST_NUMBERS = itertools.count()


def recased(question: str) -> str:
    """Return the question with about a third of its letters' case flipped, differently for every call."""
    pick = random.Random(next(_REQUEST_NUMBERS))
    return "".join(c.swapcase() if c.isalpha() and pick.random() < 0.3 else c for c in question)


async def _client(http: Any, url: str, cases: list[list[str]], offset: int, budget: list[int],
                  latencies: list[float], failures: list[str]) -> None:
    """Play conversations from `offset` on until the shared request budget is spent."""
    index = offset
    while budget[0] > 0:
        history: list[dict[str, str]] = []
        for asked in cases[index % len(cases)]:
            if budget[0] <= 0:
                return
            budget[0] -= 1
            question = recased(asked)
            start = time.perf_counter()
            response = await http.post(url, json={"question": question, "history": history})
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code == 200:
                history += [{"role": "user", "content": question},
                            {"role": "assistant", "content": response.json()["answer"]}]
            elif response.status_code != 400:  # 400: an eval input the assistant must refuse
                failures.append(f"{response.status_code} {response.text[:200]}")
        index += 1


async def _round(port: int, clients: int, requests: int) -> tuple[float, list[float], list[str]]:
    import httpx

    cases = conversations()
    url = f"http://127.0.0.1:{port}/api/ask"
    latencies: list[float] = []
    failures: list[str] = []
    budget = [requests]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(_client(http, url, cases, i * 7, budget, latencies, failures)
                               for i in range(clients)))
        seconds = time.perf_counter() - start
    return requests / seconds, latencies, failures


def _wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("citechat serve exited before answering /healthz")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"citechat serve did not answer /healthz within {timeout} s")


def run(runs: int, concurrency: tuple[int, ...] = (8, 32), per_client: int = 25) -> dict[str, Figure]:
    """Return answers/s and p95 latency for each client count, over `runs` rounds."""
    why_not = server_available()
    if why_not:
        say(f"  http: skipped, ui.server is not importable ({why_not})")
        return {}
    figures: dict[str, Figure] = {}
    with tempfile.TemporaryDirectory(prefix="citechat-bench-http-") as tmp:
        home = Path(tmp)
        prepare(home)
        port = free_port()
        # Every benchmark client is 127.0.0.1: the per-client rate limit would measure itself, not the server.
        process = subprocess.Popen([CITECHAT, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env(CITECHAT_HOME=str(home), CITECHAT_RATE_LIMIT="0"))
        try:
            _wait_healthy(port, process)
            asyncio.run(_round(port, 4, 40))  # warm-up: worker threads, caches (untimed)
            for clients in concurrency:
                rates, p95s, p50s = [], [], []
                for round_ in range(runs):
                    rate, latencies, failures = asyncio.run(_round(port, clients, clients * per_client))
                    if failures:
                        raise RuntimeError(f"{len(failures)} failed requests, e.g. {failures[0]}")
                    rates.append(rate)
                    p50s.append(percentile(latencies, 50))
                    p95s.append(percentile(latencies, 95))
                    say(f"  http {clients} clients, round {round_ + 1}/{runs}: {rate:.1f} answers/s, "
                        f"p50 {p50s[-1]:.0f} ms, p95 {p95s[-1]:.0f} ms")
                figures[f"http{clients}_rate"] = figure(f"HTTP {clients} clients: answers/s", "/s", rates)
                figures[f"http{clients}_p50"] = figure(f"HTTP {clients} clients: p50 latency", "ms", p50s)
                figures[f"http{clients}_p95"] = figure(f"HTTP {clients} clients: p95 latency", "ms", p95s)
        finally:
            stop(process)
    return figures
