"""The served app under attack and overload, over real HTTP on loopback: file routes, monitoring, headers,
oversized bodies, unexpected exceptions and a full queue.

Paths are sent byte for byte with http.client (httpx would normalise `..` and percent-escapes away).
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.conftest import make_settings
from ui import messages
from ui.background import serving
from ui.feedback import feedback_path
from ui.security import is_blocked
from ui.server import create_app

SITE = "https://articles.example"
SECRET = "boom in /srv/citechat/secret-store/chroma.sqlite3 token=hunter2"
QUESTION = "What dose of IVIG is used?"


# -- one app for the route, header and body checks -------------------------------------------------------------
@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hardening-home")


@pytest.fixture(scope="module")
def url(bot, home) -> Iterator[str]:
    with serving(create_app(make_settings(home, allowed_origins=SITE), assistant=bot)) as base:
        yield base


def raw(url: str, path: str, method: str = "GET", body: bytes | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Send `path` exactly as written; return status, headers (lowercase names) and body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def private_files(bot, home: Path) -> list[Path]:
    """Files the app must never serve: the system's, the vector store's and the feedback database."""
    chroma = sorted(p for p in Path(bot.settings.chroma_path).rglob("*") if p.is_file())
    feedback = feedback_path(make_settings(home))
    assert chroma and feedback.exists()
    return [Path("/etc/passwd"), chroma[0], feedback]


def tricks(target: Path) -> list[str]:
    """Ways to ask Gradio's file routes (page and widget mounts) for `target`."""
    t = str(target)
    up = "/.." * 12
    return [
        f"/gradio_api/file={t}", f"/gradio_api/file/{t}", f"/file={t}", f"/file/{t}", f"/embed/gradio_api/file={t}",
        f"/gradio_api/file={quote(t, safe='')}", f"/gradio_api/%66ile={t}", f"//gradio_api/file={t}",
        f"/gradio_api//file={t}", f"/GRADIO_API/FILE={t}", f"/gradio_api/file=..{up}{t}",
        f"/static{up}{t}", f"/static/{'%2e%2e/' * 12}{t.lstrip('/')}", f"/static/{'..%2f' * 12}{t.lstrip('/')}",
        f"/static/{'..%252f' * 12}{t.lstrip('/')}", f"/assets{up}{t}", f"/assets/{'%2e%2e%2f' * 12}{t.lstrip('/')}",
        f"/assets/{t}", f"/static/{t}", f"/embed/static{up}{t}", f"/embed/assets/{'..%2f' * 12}{t.lstrip('/')}",
        f"/{t}", f"/gradio.js{up}{t}", f"/api/..{up}{t}", f"/gradio_api/proxy=file://{t}",
    ]


def test_no_route_serves_private_files(bot, home, url):
    for target in private_files(bot, home):
        content = target.read_bytes()[:64]
        for path in tricks(target):
            status, _, body = raw(url, path)
            assert status in (403, 404), (path, status)
            assert content not in body and b"root:x:0:0" not in body and b"SQLite format 3" not in body, path


def test_a_symlink_in_gradios_folders_does_not_leak_its_target(home, url, tmp_path):
    from gradio.utils import get_upload_folder

    target = feedback_path(make_settings(home))
    links = [Path(get_upload_folder()) / f"cc-test-{tmp_path.name}.txt", tmp_path / "leak.txt"]
    for link in links:
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    try:
        for link in links:
            for path in (f"/gradio_api/file={link}", f"/embed/gradio_api/file={link}", f"/file={link}"):
                status, _, body = raw(url, path)
                assert status in (403, 404) and b"SQLite format 3" not in body, path
    finally:
        links[0].unlink()


def test_the_app_still_serves_what_it_should(url):
    page = httpx.get(f"{url}/", timeout=30)
    assert page.status_code == 200
    for asset in sorted(set(re.findall(r'(?:src|href)="\./?((?:assets|static)/[^"]+)"', page.text)))[:5]:
        assert httpx.get(f"{url}/{asset}", timeout=30).status_code == 200, asset
    assert httpx.get(f"{url}/theme.css", timeout=30).status_code == 200
    assert httpx.get(f"{url}/embed/config", timeout=30).status_code == 200


@pytest.mark.parametrize("path", ["/gradio_api/file=x", "/gradio_api/file/x", "/file=x", "/gradio_api/proxy=x",
                                  "/gradio_api/upload", "/gradio_api/upload_progress", "/monitoring",
                                  "/monitoring/summary", "/gradio_api/monitoring", "/embed/monitoring/summary",
                                  "/gradio_api/stream/1/2/3/playlist.m3u8", "/gradio_api/vibe-code",
                                  "/gradio_api/run-history/records", "/gradio_api/mcp/sse", "//embed//file=x"])
def test_routes_the_chat_never_uses_are_off(path):
    assert is_blocked(path)


@pytest.mark.parametrize("path", ["/", "/embed/", "/assets/index-abc.js", "/static/fonts/x.woff2", "/config",
                                  "/gradio_api/queue/join", "/gradio_api/queue/data", "/gradio_api/heartbeat/x",
                                  "/embed/gradio_api/info", "/api/ask", "/gradio.js", "/theme.css", "/filed"])
def test_routes_the_chat_uses_stay_on(path):
    assert not is_blocked(path)


@pytest.mark.parametrize("path", ["/monitoring", "/monitoring/summary", "/monitoring/0123456789abcdef",
                                  "/gradio_api/monitoring/summary", "/embed/monitoring/summary"])
def test_monitoring_is_off(url, path):
    status, _, body = raw(url, path)
    assert status in (403, 404) and b"event" not in body.lower()


def test_uploads_are_refused(url):
    files = {"files": ("note.txt", b"hello", "text/plain")}
    for path in ("/gradio_api/upload", "/embed/gradio_api/upload"):
        response = httpx.post(f"{url}{path}", files=files, timeout=30)
        assert response.status_code == 404, path


# -- headers ---------------------------------------------------------------------------------------------------
def csp(headers: dict[str, str]) -> dict[str, str]:
    return dict(d.strip().partition(" ")[::2] for d in headers["content-security-policy"].split(";"))


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("GET", "/embed/"), ("GET", "/api/articles"),
                                              ("POST", "/api/ask"), ("GET", "/healthz"), ("GET", "/docs"),
                                              ("GET", "/gradio.js"), ("GET", "/gradio_api/file=/etc/passwd"),
                                              ("GET", "/config")])
def test_every_response_carries_the_security_headers(url, method, path):
    body = json.dumps({"question": QUESTION}).encode() if method == "POST" else None
    status, headers, _ = raw(url, path, method, body, {"content-type": "application/json"} if body else None)
    assert status < 500
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in headers["permissions-policy"]
    assert "x-frame-options" not in headers
    assert "server" not in headers and "x-powered-by" not in headers  # no software or version named
    policy = csp(headers)
    assert policy["frame-ancestors"] == f"'self' {SITE}"
    sources = " ".join(v for k, v in policy.items() if k != "frame-ancestors")
    assert "http:" not in sources and "*" not in sources
    if path in ("/", "/embed/"):
        assert policy["img-src"] == "'self' data: blob:" and policy["connect-src"] == "'self'"
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'self'"
        assert "https:" not in sources  # no remote script, image, font or connection
    if path.startswith("/api/"):
        assert policy["default-src"] == "'none'" and headers["cache-control"] == "no-store"


def test_any_origin_may_embed_when_configured(bot, home):
    with TestClient(create_app(make_settings(home, allowed_origins="*"), assistant=bot)) as client:
        response = client.get("/embed/", headers={"Origin": "https://anywhere.example"})
        assert csp({k.lower(): v for k, v in response.headers.items()})["frame-ancestors"] == "*"
        assert response.headers["access-control-allow-origin"] in ("*", "https://anywhere.example")


# -- bodies ----------------------------------------------------------------------------------------------------
TEN_MB = 10 * 1024 * 1024


def ten_mb_chunks() -> Iterator[bytes]:
    yield b'{"question": "Dose?", "history": [{"role": "user", "content": "'
    for _ in range(TEN_MB // 65536):
        yield b"x" * 65536
    yield b'"}]}'


@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream", "/api/feedback", "/gradio_api/queue/join",
                                  "/embed/gradio_api/queue/join"])
def test_a_10_mb_body_gets_413_json(url, path):
    big = b'{"question": "' + b"x" * TEN_MB + b'"}'
    with httpx.Client(timeout=60) as client:
        declared = client.post(f"{url}{path}", content=big, headers={"content-type": "application/json"})
        chunked = client.post(f"{url}{path}", content=ten_mb_chunks(), headers={"content-type": "application/json"})
    for response in (declared, chunked):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/json"
        assert "the limit is 2,000,000 bytes" in response.json()["error"]


@pytest.mark.parametrize(("question", "expected"), [
    ("x" * 100_000, "100,000 characters long; the limit is 2,000"),
    ("x" * 2_001, "2,001 characters long; the limit is 2,000"),
    ("<script>alert(1)</script>", None),
])
def test_long_questions_get_400_and_markup_is_just_a_question(url, question, expected):
    response = httpx.post(f"{url}/api/ask", json={"question": question}, timeout=60)
    if expected is None:
        assert response.status_code == 200 and response.json()["abstained"] is True
        return
    assert response.status_code == 400 and expected in response.json()["error"]


# -- unexpected exceptions -------------------------------------------------------------------------------------
class Faulty:
    """The real assistant, except that answering fails with an exception full of internals (after one streamed
    sentence), and reading the store can be made to fail too."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.store_broken = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bot, name)

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(SECRET)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield "High-dose intravenous immunoglobulin (IVIG) at 2 g/kg [1]."
        raise RuntimeError(SECRET)

    def articles(self) -> Any:
        if self.store_broken:
            raise OSError(SECRET)
        return self.bot.articles()


@pytest.fixture(scope="module")
def faulty(bot, tmp_path_factory) -> Iterator[tuple[Faulty, str]]:
    double = Faulty(bot)
    with serving(create_app(make_settings(tmp_path_factory.mktemp("faulty-home")), assistant=double)) as base:  # type: ignore[arg-type]
        yield double, base


def internals_in(text: str) -> bool:
    return any(s in text for s in ("hunter2", "/srv/", "secret-store", "Traceback", "RuntimeError", "OSError",
                                   'File "'))


def test_an_unexpected_error_is_a_generic_500_with_a_request_id(faulty, caplog):
    _, base = faulty
    with caplog.at_level(logging.ERROR):
        response = httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=60)
    assert response.status_code == 500 and not internals_in(response.text)
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"] and re.fullmatch(r"[0-9a-f]{12}", body["request_id"])
    assert body["error"] == messages.INTERNAL_ERROR.format(request_id=body["request_id"])
    logged = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert logged and logged[0].exc_info and SECRET in str(logged[0].exc_info[1])  # the details are in the log


def test_a_stream_that_fails_midway_ends_with_an_error_event(faulty):
    _, base = faulty
    with httpx.stream("POST", f"{base}/api/ask/stream", json={"question": QUESTION}, timeout=60) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    events = [(m.group(1), json.loads(m.group(2))) for m in re.finditer(r"event: (\w+)\ndata: (.*)\n\n", text)]
    assert [kind for kind, _ in events] == ["delta", "error"]
    assert events[1][1]["error"] == messages.INTERNAL_ERROR.format(request_id=events[1][1]["request_id"])
    assert not internals_in(text)


def test_the_chat_page_shows_a_generic_message_on_an_unexpected_error(faulty):
    double, base = faulty
    client = Client(base + "/", verbose=False)
    chat, conversation, _, status, *_ = client.predict(QUESTION, [], "scleromyxedema", api_name="/respond")
    assert "Something went wrong on our side" in status and "request id" in status
    assert chat == [] and conversation == {"__type__": "update"}  # the chat is as it was before the question
    double.store_broken = True
    try:
        with pytest.raises(AppError) as raised:
            client.predict("", api_name="/load")
        assert "Something went wrong on our side" in str(raised.value) and not internals_in(str(raised.value))
        health = httpx.get(f"{base}/healthz", timeout=30)
        assert health.status_code == 503
        assert health.json() == {"status": "unavailable", "error": messages.UNAVAILABLE}
    finally:
        double.store_broken = False


# -- overload --------------------------------------------------------------------------------------------------
class Gated:
    """The real assistant, whose answers wait for `release` (the first caller also sets `entered`)."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bot, name)

    def _wait(self) -> None:
        self.entered.set()
        assert self.release.wait(timeout=120), "the test never released the gate"

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        self._wait()
        return self.bot.ask(*args, **kwargs)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self._wait()
        yield from self.bot.stream(*args, **kwargs)


@pytest.fixture
def gated(bot, tmp_path) -> Iterator[tuple[Gated, str]]:
    double = Gated(bot)
    settings = make_settings(tmp_path / "home", answer_concurrency=1, max_queue_size=1)
    with serving(create_app(settings, assistant=double)) as base:  # type: ignore[arg-type]
        try:
            yield double, base
        finally:
            double.release.set()


def test_an_overloaded_api_says_busy_and_recovers(gated):
    double, base = gated

    def post() -> httpx.Response:
        return httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=120)

    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(post)
        assert double.entered.wait(timeout=60)  # being answered, holding the one slot
        waiting = {pool.submit(post) for _ in range(5)}  # one may wait its turn; the other four are turned away
        turned_away: list[httpx.Response] = []
        while len(turned_away) < 4:
            finished, waiting = wait(waiting, timeout=60, return_when=FIRST_COMPLETED)
            assert finished, "nothing was turned away"
            turned_away += [f.result() for f in finished]
        double.release.set()
        answered = [first.result(), *(f.result() for f in waiting)]
    assert [r.status_code for r in turned_away] == [503] * 4
    assert turned_away[0].json() == {"error": messages.BUSY} and turned_away[0].headers["retry-after"] == "2"
    assert [r.status_code for r in answered] == [200, 200] and all("2 g/kg" in r.json()["answer"] for r in answered)
    assert httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=60).status_code == 200


def test_an_overloaded_chat_says_busy_and_recovers(gated):
    double, base = gated
    client = Client(base + "/", verbose=False)
    first = client.submit(QUESTION, [], "scleromyxedema", api_name="/respond")
    assert double.entered.wait(timeout=60)
    config = httpx.get(f"{base}/config", timeout=30).json()
    respond = next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "respond")
    statuses = []
    for n in range(4):  # the queue holds one; every other question is told the app is busy
        body = {"data": [QUESTION, [], "scleromyxedema"], "fn_index": respond, "session_hash": f"overload-{n}"}
        joined = httpx.post(f"{base}/gradio_api/queue/join", json=body, timeout=30)
        statuses.append(joined.status_code)
        if joined.status_code == 503:
            assert "Queue is full" in joined.json()["detail"]
    assert statuses == [200, 503, 503, 503]
    with pytest.raises(Exception, match="Queue is full! Please try again"):  # what gradio_client users see
        client.submit(QUESTION, [], "scleromyxedema", api_name="/respond").result(timeout=60)
    double.release.set()
    chat = first.result(timeout=120)[0]
    assert "2 g/kg" in "".join(part["text"] for part in chat[-1]["content"])
    again = client.predict("Who is typically affected?", [], "scleromyxedema", api_name="/respond")[0]
    assert "Middle&#45;aged adults" in "".join(part["text"] for part in again[-1]["content"])
