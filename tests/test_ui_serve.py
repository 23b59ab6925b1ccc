"""`citechat serve` as a user runs it: a real process on an empty data dir, ready when /healthz says so; then
killed with SIGKILL and started again, keeping every rating it had acknowledged."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ui.background import free_port

READY_WITHIN = 180.0  # seconds; a bound for a loaded shared CI machine, not a performance assertion
ROOT = Path(__file__).parents[1]


def start(home: Path) -> tuple[subprocess.Popen[str], str]:
    """Start `citechat serve` on a free port; return the process and its base URL once /healthz answers 200."""
    port = free_port()
    env = {**os.environ, "CITECHAT_HOME": str(home), "HF_HUB_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}
    process = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_WITHIN
    health = None
    while health is None or health.status_code != 200:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[0])
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"citechat serve was not ready: {process.communicate()[0]}")
        time.sleep(0.5)
        try:
            health = httpx.get(f"{base}/healthz", timeout=5)
        except httpx.TransportError:
            health = None
    assert health.json() == {"status": "ok", "articles": ["scleromyxedema"]}  # the bundled article, ingested
    return process, base


def rate(base: str, question: str) -> int:
    response = httpx.post(f"{base}/api/feedback", json={"rating": "up", "question": question, "answer": "IVIG [1].",
                                                        "article": "scleromyxedema"}, timeout=30)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def stored(home: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(home / "feedback.sqlite3") as db:  # a fresh connection, as the next process opens it
        return db.execute("SELECT id, question FROM feedback ORDER BY id").fetchall()


def test_serve_answers_then_keeps_feedback_across_a_kill_9(tmp_path: Path) -> None:
    home = tmp_path / "home"
    process, base = start(home)
    try:
        reply = httpx.post(f"{base}/api/ask", json={"question": "What dose of IVIG is used?"}, timeout=30).json()
        assert "2 g/kg" in reply["answer"] and reply["citations"][0]["refs"] == [1, 3]
        page = httpx.get(f"{base}/", timeout=30)
        assert page.status_code == 200 and "window.gradio_config" in page.text
        before = [(rate(base, f"question {n}"), f"question {n}") for n in range(5)]
    finally:
        process.send_signal(signal.SIGKILL)  # no shutdown, no flush: what a crash or an OOM kill does
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert stored(home) == before  # acknowledged means on disk

    process, base = start(home)  # the same data dir: the store and the ratings open cleanly after the crash
    try:
        after = rate(base, "after the restart")
        assert "Middle-aged adults" in httpx.post(f"{base}/api/ask", json={"question": "Who is typically affected?"},
                                                  timeout=30).json()["answer"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output = process.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
    assert stored(home) == [*before, (after, "after the restart")] and after == before[-1][0] + 1
    assert "chat on http://127.0.0.1:" in output
    assert "Traceback" not in output
