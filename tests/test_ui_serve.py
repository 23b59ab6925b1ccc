"""`citechat serve` as a user runs it: a real process on an empty data dir, ready when /healthz says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ui.background import free_port

READY_WITHIN = 180.0  # seconds; a bound for a loaded shared CI machine, not a performance assertion


def test_serve_loads_the_assistant_then_answers(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CITECHAT_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}
    process = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=Path(__file__).parents[1])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_WITHIN
        health = None
        while health is None or health.status_code != 200:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "citechat serve was not ready"
            time.sleep(0.5)
            try:
                health = httpx.get(f"{base}/healthz", timeout=5)
            except httpx.TransportError:
                health = None
        assert health.json() == {"status": "ok", "articles": ["scleromyxedema"]}  # the bundled article, ingested
        reply = httpx.post(f"{base}/api/ask", json={"question": "What dose of IVIG is used?"}, timeout=30).json()
        assert "2 g/kg" in reply["answer"] and reply["citations"][0]["refs"] == [1, 3]
        page = httpx.get(f"{base}/", timeout=30)
        assert page.status_code == 200 and "window.gradio_config" in page.text
        assert (tmp_path / "home" / "feedback.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output = process.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
    assert f"chat on http://127.0.0.1:{port}/" in output
    assert "Traceback" not in output
