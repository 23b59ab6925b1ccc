"""Broken stores, in real processes on a real Chroma store of the bundled article: a truncated, garbled,
zero-byte or deleted chroma.sqlite3 is a clear error naming the path and what to do (never a traceback, never
a fresh store in its place), and a read-only data dir still answers and says what it cannot do."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ingest.types import CitechatError
from tests.conftest import ARTICLE_PATH, make_settings
from ui.background import free_port

ROOT = Path(__file__).parents[1]
QUESTION = "Who is typically affected?"
ANSWER = "Middle-aged adults"
START_WITHIN = 180.0  # seconds for `citechat serve` to be ready or to give up, on a loaded shared CI machine
# Root ignores file modes: run the read-only cases without the capabilities that let it, as the owner would.
UNPRIVILEGED = (["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
                if os.geteuid() == 0 else [])


def env(home: Path) -> dict[str, str]:
    return {**os.environ, "CITECHAT_HOME": str(home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
            "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1", "ANONYMIZED_TELEMETRY": "False"}


def citechat(home: Path, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "ui.cli", *args], capture_output=True, text=True,
                          env=env(home), cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the bundled article, written by `citechat ingest` (so its process has let go of it)."""
    home = tmp_path_factory.mktemp("built") / "home"
    result = citechat(home, "ingest", str(ARTICLE_PATH))
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture
def home(built: Path, tmp_path: Path) -> Path:
    """A copy of the built data dir, to break."""
    copy = tmp_path / "home"
    shutil.copytree(built, copy)
    return copy


def sqlite_of(home: Path) -> Path:
    return home / "chroma" / "chroma.sqlite3"


def truncate_to_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def garble_the_middle(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xa5\x5a" * 2048)  # one 4 KiB page of garbage where a page of the store was


def empty(path: Path) -> None:
    os.truncate(path, 0)


def delete(path: Path) -> None:
    path.unlink()


def assert_clear_error(result: subprocess.CompletedProcess[str], home: Path) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert str(home / "chroma") in result.stderr  # names the store
    assert "backup" in result.stderr and "citechat ingest" in result.stderr  # and what to do
    assert ANSWER not in result.stdout


@pytest.mark.parametrize("damage", [truncate_to_half, garble_the_middle], ids=["truncated", "garbled"])
def test_an_unreadable_store_is_a_clear_error(home: Path, damage: Callable[[Path], None]) -> None:
    damage(sqlite_of(home))
    before = sqlite_of(home).read_bytes()
    result = citechat(home, "ask", QUESTION)
    assert_clear_error(result, home)
    assert "cannot be read" in result.stderr
    assert sqlite_of(home).read_bytes() == before  # left as it was, for whoever restores it


@pytest.mark.parametrize("damage", [empty, delete], ids=["zero-bytes", "deleted"])
def test_a_store_that_lost_its_data_is_an_error_not_a_fresh_store(home: Path, damage: Callable[[Path], None]) -> None:
    damage(sqlite_of(home))
    existed = sqlite_of(home).exists()
    result = citechat(home, "ask", QUESTION)
    assert_clear_error(result, home)
    assert "lost its data" in result.stderr
    # Not replaced by a store of the bundled article: still empty or still missing.
    assert sqlite_of(home).exists() == existed and (not existed or sqlite_of(home).stat().st_size == 0)


def test_articles_and_ingest_refuse_a_store_that_lost_its_data(home: Path, tmp_path: Path) -> None:
    delete(sqlite_of(home))
    assert_clear_error(citechat(home, "articles"), home)
    # Ingesting one article must not start a new store beside the lost one either: the user decides.
    article = tmp_path / "scleromyxedema.txt"
    article.write_text(ARTICLE_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    assert_clear_error(citechat(home, "ingest", str(article)), home)
    assert not sqlite_of(home).exists()


def test_the_python_api_raises_citechat_error_on_a_lost_store(home: Path) -> None:
    from assistant import Assistant

    empty(sqlite_of(home))
    with pytest.raises(CitechatError, match="lost its data") as caught:
        Assistant.load(make_settings(home))
    assert str(home / "chroma") in str(caught.value)
    assert sqlite_of(home).stat().st_size == 0


def test_a_home_without_a_store_is_new(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "chroma").mkdir(parents=True)  # an empty store folder is no store at all
    result = citechat(home, "ask", QUESTION)
    assert result.returncode == 0, result.stderr
    assert ANSWER in result.stdout


# -- serve ------------------------------------------------------------------------------------------------------
def start(home: Path, prefix: tuple[str, ...] = ()) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen([*prefix, sys.executable, "-m", "ui.cli", "serve", "--port", str(port)],
                               env=env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    return process, f"http://127.0.0.1:{port}"


def wait_ready(process: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + START_WITHIN
    while True:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[0])
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"citechat serve was not ready: {process.communicate()[0]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)


def stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0]


@pytest.mark.parametrize("damage", [truncate_to_half, delete], ids=["truncated", "deleted"])
def test_serve_refuses_to_start_on_a_broken_store(home: Path, damage: Callable[[Path], None]) -> None:
    damage(sqlite_of(home))
    process, base = start(home)
    deadline = time.monotonic() + START_WITHIN
    while process.poll() is None:  # serving at all (answering "not covered" from a fresh store) is the failure
        answered = None
        with contextlib.suppress(httpx.TransportError):
            answered = httpx.get(f"{base}/healthz", timeout=5)
        if answered is not None or time.monotonic() > deadline:
            raise AssertionError(f"citechat serve started on a broken store: {stop(process)}")
        time.sleep(0.5)
    output = process.communicate()[0]
    result = subprocess.CompletedProcess(process.args, process.returncode, "", output)
    assert_clear_error(result, home)
    assert "chat on http" not in output


# -- a read-only data dir -----------------------------------------------------------------------------------------
@pytest.fixture
def read_only(home: Path) -> Iterator[Path]:
    """The data dir, every file and folder in it without write permission (`chmod -R a-w`)."""
    if UNPRIVILEGED and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: root ignores file modes")
    paths = [home, *home.rglob("*")]
    for path in paths:
        path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
    yield home
    for path in paths:
        path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o200)  # so the test's tmp dir can be cleaned up


def listing(home: Path) -> dict[str, tuple[int, float]]:
    return {str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime) for p in home.rglob("*")}


def test_a_read_only_home_still_answers(read_only: Path) -> None:
    before = listing(read_only)
    result = citechat(read_only, "ask", QUESTION, prefix=tuple(UNPRIVILEGED))
    assert result.returncode == 0, result.stderr
    assert ANSWER in result.stdout
    assert "Traceback" not in result.stderr
    assert "read-only" in result.stderr  # says so
    assert listing(read_only) == before


def test_ingest_into_a_read_only_home_says_it_needs_write_access(read_only: Path) -> None:
    result = citechat(read_only, "ingest", str(ARTICLE_PATH), prefix=tuple(UNPRIVILEGED))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "write access" in result.stderr and str(read_only) in result.stderr


def test_serve_on_a_read_only_home_answers_and_says_ratings_are_off(read_only: Path) -> None:
    before = listing(read_only)
    process, base = start(read_only, prefix=tuple(UNPRIVILEGED))
    try:
        wait_ready(process, base)
        assert httpx.get(f"{base}/healthz", timeout=30).json() == {"status": "ok", "articles": ["scleromyxedema"]}
        reply = httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=60).json()
        assert ANSWER in reply["answer"]
        rated = httpx.post(f"{base}/api/feedback", json={"rating": "up", "question": QUESTION,
                                                         "answer": reply["answer"]}, timeout=30)
        assert rated.status_code == 503
        assert "not saved" in rated.json()["error"] and "read-only" in rated.json()["error"]
    finally:
        output = stop(process)
    assert "Traceback" not in output
    assert "read-only" in output and "ratings" in output  # what is disabled, said at start
    assert listing(read_only) == before
