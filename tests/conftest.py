"""Shared fixtures: the real packaged embedding model (loaded once) and real Chroma stores in tmp dirs."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant import Assistant  # noqa: E402
from ingest.embedder import Embedder  # noqa: E402
from ingest.factory import load_embedder, open_store  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402
from ingest.settings import BUNDLED_ARTICLES_DIR, Settings  # noqa: E402
from ingest.store import Store  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

ARTICLE_PATH = BUNDLED_ARTICLES_DIR / "scleromyxedema.txt"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; playwright drives it and never downloads a browser
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder(Settings())


def make_settings(home: Path, **changes: object) -> Settings:
    """Settings over `home`; tests send many questions from one address, so the per-client rate limit is off
    unless a test sets it (tests/test_limits.py does)."""
    changes.setdefault("rate_limit", 0.0)
    return Settings(home=home, **changes)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


@pytest.fixture
def store(settings: Settings, embedder: Embedder) -> Store:
    return open_store(settings, embedder.name, embedder.dimension)


def assistant_over(text: str, home: Path, embedder: Embedder) -> Assistant:
    """An assistant over the article with this text (as scleromyxedema.txt), in its own store under `home`."""
    path = home / "scleromyxedema.txt"
    path.write_text(text, encoding="utf-8")
    settings = make_settings(home / "store")
    store = open_store(settings, embedder.name, embedder.dimension)
    ingest_paths([path], settings, store, embedder)
    return Assistant(settings, store, embedder)


@contextmanager
def page_site() -> Iterator[tuple[str, list[bytes]]]:
    """A web server on its own origin serving one HTML page, as a site owner's would: put the page in `body`."""
    from ui.background import free_port

    body: list[bytes] = []

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body[0])

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", body
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Assistant]:
    """An assistant over the bundled article in its own store, shared by the question tests."""
    settings = make_settings(tmp_path_factory.mktemp("bot-home"))
    store = open_store(settings, embedder.name, embedder.dimension)
    ingest_paths([ARTICLE_PATH], settings, store, embedder)
    yield Assistant(settings, store, embedder)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A scripted OpenAI-compatible server on 127.0.0.1 that the real client talks to."""
    server = FakeOpenAI().start()
    yield server
    server.close()
    assert not server.errors  # every scripted "[@phrase]" citation found its passage
