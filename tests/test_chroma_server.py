"""Client/server mode: a real `chroma run` on 127.0.0.1, with ingest and questions going through it.

Several `citechat serve` processes can sit behind a load balancer over one Chroma server because the app keeps
no per-user state: the conversation travels with each request. Two Assistants, each with its own HTTP client,
stand in for two such processes; the CLI test runs ingest and ask as separate processes with separate homes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Assistant, CitechatError
from ingest.factory import open_store
from ingest.pipeline import ingest_paths
from ingest.settings import Settings
from tests.conftest import ARTICLE_PATH, make_settings

CHROMA = Path(sys.executable).with_name("chroma")
FIRST = "What is the first-line treatment?"
FOLLOW_UP = "What dose?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `chroma run` server on a free loopback port, stopped at teardown."""
    if not CHROMA.exists():
        pytest.fail(f"{CHROMA} is missing: it ships in the chromadb wheel (pip install chromadb)")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = open(data.parent / f"chroma-{port}.log", "wb")  # noqa: SIM115 (closed at teardown)
    server = subprocess.Popen([str(CHROMA), "run", "--path", str(data / "db"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start: {log.name}") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def server_settings(tmp_path: Path, url: str) -> Settings:
    """Settings on the server, with a collection prefix of their own (tests share the server)."""
    return make_settings(tmp_path / "home", chroma_url=url, collection_prefix=f"t{uuid.uuid4().hex[:10]}")


def test_ingest_and_answers_go_through_the_server(tmp_path, chroma_url, embedder):
    settings = server_settings(tmp_path, chroma_url)
    store = open_store(settings, embedder.name, embedder.dimension)
    results = ingest_paths([ARTICLE_PATH], settings, store, embedder)
    assert [(r.slug, r.status, r.chunks) for r in results] == [("scleromyxedema", "added", 26)]
    assert type(store.client._server).__name__ == "FastAPI"  # chromadb's HTTP client, not an embedded one
    assert not settings.chroma_path.exists()  # nothing stored locally

    import chromadb

    host, port = chroma_url.rsplit(":", 1)
    direct = chromadb.HttpClient(host=host.removeprefix("http://"), port=int(port))
    assert direct.get_collection(f"{settings.collection_prefix}-chunks").count() == 26

    bot = Assistant(settings, store, embedder)
    reply = bot.ask("What dose of IVIG is used?")
    assert "2 g/kg" in reply.answer and not reply.abstained
    article = bot.corpus().articles["scleromyxedema"].text
    for citation in reply.citations:
        assert article[citation.start:citation.end] == citation.text
    dose = next(c for c in reply.citations if "2 g/kg" in c.text)
    assert dose.refs == (1, 3) and dose.section == "Treatment Approach > First-Line Therapy"
    assert [r.status for r in ingest_paths([ARTICLE_PATH], settings, store, embedder)] == ["unchanged"]


def test_two_server_processes_answer_alike_with_the_history_in_the_request(tmp_path, chroma_url, embedder):
    settings = server_settings(tmp_path, chroma_url)
    ingest_paths([ARTICLE_PATH], settings, open_store(settings, embedder.name, embedder.dimension), embedder)
    # Two assistants, each with its own client and home: what two `citechat serve` processes would hold.
    first, second = (Assistant(settings.model_copy(update={"home": tmp_path / name}),
                               open_store(settings, embedder.name, embedder.dimension), embedder)
                     for name in ("a", "b"))
    assert first.store is not second.store
    opening = first.ask(FIRST)
    assert "IVIG" in opening.answer and opening.citations
    assert second.ask(FIRST).to_dict() == opening.to_dict()
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": opening.answer}]
    follow_a = first.ask(FOLLOW_UP, history=history)
    follow_b = second.ask(FOLLOW_UP, history=history)
    assert "2 g/kg" in follow_b.answer
    assert follow_b.to_dict() == follow_a.to_dict()
    article = second.corpus().articles["scleromyxedema"].text
    assert all(article[c.start:c.end] == c.text for c in follow_b.citations)


@pytest.mark.parametrize("where", ["embedded", "server"])
def test_an_update_through_one_store_reaches_the_other(tmp_path, request, embedder, where):
    url = request.getfixturevalue("chroma_url") if where == "server" else None
    settings = server_settings(tmp_path, url) if url else make_settings(tmp_path / "home")
    path = tmp_path / "articles" / "scleromyxedema.txt"
    path.parent.mkdir()
    path.write_text(ARTICLE_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    writer = open_store(settings, embedder.name, embedder.dimension)
    ingest_paths([path], settings, writer, embedder)
    reader = Assistant(settings, open_store(settings, embedder.name, embedder.dimension), embedder)
    assert "2 g/kg" in reader.ask("What dose of IVIG is used?").answer
    path.write_text(path.read_text(encoding="utf-8").replace("2 g/kg", "1 g/kg"), encoding="utf-8")
    assert [r.status for r in ingest_paths([path], settings, writer, embedder)] == ["updated"]
    reply = reader.ask("What dose of IVIG is used?")
    assert "1 g/kg" in reply.answer and "2 g/kg" not in reply.answer
    assert len(reader.corpus().chunks) == 26  # the old version's chunks are gone from the server


def test_cli_ingest_and_ask_in_separate_processes(tmp_path, chroma_url):
    prefix = f"t{uuid.uuid4().hex[:10]}"

    def cli(home: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CITECHAT_HOME": str(tmp_path / home), "CITECHAT_CHROMA_URL": chroma_url,
               "CITECHAT_COLLECTION_PREFIX": prefix, "HF_HUB_OFFLINE": "1"}
        return subprocess.run([sys.executable, "-m", "ui.cli", *args], capture_output=True, text=True, env=env,
                              timeout=300, cwd=Path(__file__).parents[1])

    ingested = cli("writer", "ingest", str(ARTICLE_PATH))
    assert ingested.returncode == 0, ingested.stderr
    assert ingested.stdout.startswith("added     scleromyxedema  (26 chunks)")
    asked = cli("reader", "ask", "What dose of IVIG is used?", "--json")
    assert asked.returncode == 0, asked.stderr
    reply = json.loads(asked.stdout)
    assert "2 g/kg" in reply["answer"] and reply["citations"][0]["refs"] == [1, 3]
    assert not (tmp_path / "reader" / "chroma").exists()


def test_an_unreachable_server_is_a_clear_error(tmp_path, embedder):
    settings = make_settings(tmp_path / "home", chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(CitechatError, match="Cannot reach the Chroma server at http://127.0.0.1:"):
        open_store(settings, embedder.name, embedder.dimension).versions()


@pytest.mark.parametrize("where", ["embedded", "server"])
def test_reads_skip_the_chunks_of_an_ingest_in_progress(tmp_path, request, embedder, where):
    url = request.getfixturevalue("chroma_url") if where == "server" else None
    settings = server_settings(tmp_path, url) if url else make_settings(tmp_path / "home")
    store = open_store(settings, embedder.name, embedder.dimension)
    ingest_paths([ARTICLE_PATH], settings, store, embedder)
    active = store.versions()
    # A new version whose chunks are stored but whose record switch never happened (an ingest running, or
    # killed before the switch): its chunks have the same vectors as the active ones, and must not be found.
    from ingest.chunk import chunk_article
    from ingest.parse import parse_file_text

    text = ARTICLE_PATH.read_text(encoding="utf-8").replace("2 g/kg", "1 g/kg")
    article = parse_file_text(text, name=ARTICLE_PATH.name)
    pending = chunk_article(article, "pending-version")
    store._chunks.upsert(ids=[c.id for c in pending], documents=[c.text for c in pending],
                         embeddings=embedder.embed([c.embedding_text() for c in pending]),
                         metadatas=[{"article": c.article, "version": "pending-version", "section": c.section,
                                     "start": c.start, "end": c.end, "order": c.order, "kind": c.kind,
                                     "sentences": "[]"} for c in pending])
    assert store.versions() == active
    loaded = store.chunks(active)
    assert len(loaded) == 26 and not any(c.id in {p.id for p in pending} for c in loaded)
    assert [c.order for c in loaded] == list(range(26))
    query = embedder.embed_query("What dose of IVIG is used?")
    for k in (5, 20, 26):
        hits = store.search(query, k, active)
        expected = store._chunks.query(query_embeddings=[list(query)], n_results=k, include=["distances"],
                                       where={"version": active["scleromyxedema"]})
        assert [i for i, _ in hits] == expected["ids"][0]
    bot = Assistant(settings, store, embedder)
    reply = bot.ask("What dose of IVIG is used?")
    assert "2 g/kg" in reply.answer and "1 g/kg" not in reply.answer


@pytest.mark.parametrize("where", ["embedded", "server"])
def test_a_store_made_with_a_narrower_search_is_widened(tmp_path, request, embedder, where):
    import chromadb

    from ingest.store import SEARCH_EF

    url = request.getfixturevalue("chroma_url") if where == "server" else None
    settings = server_settings(tmp_path, url) if url else make_settings(tmp_path / "home")
    store = open_store(settings, embedder.name, embedder.dimension)
    # What an earlier citechat created: Chroma's default graph and search_ef 128.
    store.client.create_collection(f"{settings.collection_prefix}-chunks", embedding_function=None, metadata={
        "embedding_model": embedder.name, "dimension": embedder.dimension, "hnsw:space": "cosine",
        "hnsw:search_ef": 128})
    ingest_paths([ARTICLE_PATH], settings, store, embedder)
    if url:
        host, port = url.rsplit(":", 1)
        client = chromadb.HttpClient(host=host.removeprefix("http://"), port=int(port))
    else:
        client = store.client
    hnsw = client.get_collection(f"{settings.collection_prefix}-chunks").configuration_json["hnsw"]
    assert hnsw["ef_search"] == SEARCH_EF and hnsw["max_neighbors"] == 16  # links are fixed at creation
    assert "2 g/kg" in Assistant(settings, store, embedder).ask("What dose of IVIG is used?").answer


def test_a_new_store_gets_the_wider_index(tmp_path, embedder):
    settings = make_settings(tmp_path / "home")
    store = open_store(settings, embedder.name, embedder.dimension)
    ingest_paths([ARTICLE_PATH], settings, store, embedder)
    hnsw = store.client.get_collection(f"{settings.collection_prefix}-chunks").configuration_json["hnsw"]
    assert (hnsw["max_neighbors"], hnsw["ef_construction"], hnsw["ef_search"]) == (32, 200, 1000)


def test_a_store_from_before_generations_still_sees_updates(tmp_path, embedder):
    settings = make_settings(tmp_path / "home")
    path = tmp_path / "articles" / "scleromyxedema.txt"
    path.parent.mkdir()
    path.write_text(ARTICLE_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    writer = open_store(settings, embedder.name, embedder.dimension)
    ingest_paths([path], settings, writer, embedder)
    writer.client.delete_collection(f"{settings.collection_prefix}-state")  # as an earlier citechat left it
    writer, reader = (open_store(settings, embedder.name, embedder.dimension) for _ in range(2))
    before = reader.versions()
    assert set(before) == {"scleromyxedema"} and reader.versions() == before
    path.write_text(path.read_text(encoding="utf-8").replace("2 g/kg", "1 g/kg"), encoding="utf-8")
    assert [r.status for r in ingest_paths([path], settings, writer, embedder)] == ["updated"]
    after = reader.versions()
    assert after["scleromyxedema"] != before["scleromyxedema"]
    assert after == open_store(settings, embedder.name, embedder.dimension).versions()
