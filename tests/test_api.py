"""The HTTP API through FastAPI's TestClient on the real app: answers, SSE, errors, CORS and framing policy."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant import messages as said
from tests.conftest import make_settings
from ui import messages
from ui.feedback import FeedbackStore, feedback_path
from ui.server import create_app

SITE = "https://articles.example"
OTHER_SITE = "https://evil.example"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-home")


@pytest.fixture(scope="module")
def client(bot, home) -> Iterator[TestClient]:
    settings = make_settings(home, allowed_origins=f"{SITE}, http://127.0.0.1:7860", max_request_bytes=500_000)
    with TestClient(create_app(settings, assistant=bot)) as client:
        yield client


def ask(client: TestClient, **body: object) -> dict:
    response = client.post("/api/ask", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_ask_returns_the_cited_answer(client, bot):
    reply = ask(client, question="What dose of IVIG is used?")
    assert set(reply) == set(bot.ask("What dose of IVIG is used?").to_dict()) | {"suggestions"}
    assert "2 g/kg" in reply["answer"] and reply["abstained"] is False
    dose = next(c for c in reply["citations"] if "2 g/kg" in c["text"])
    assert dose["section"] == "Treatment Approach > First-Line Therapy"
    assert dose["refs"] == [1, 3]
    assert f"[{dose['number']}]" in reply["answer"]
    assert reply["suggestions"] == []  # only computed when asked for


def test_follow_up_is_answered_from_the_history(client):
    first = ask(client, question="What is the first-line treatment?", article="scleromyxedema")
    history = [{"role": "user", "content": "What is the first-line treatment?"},
               {"role": "assistant", "content": first["answer"]}]
    often = ask(client, question="How often is it given?", history=history, article="scleromyxedema")
    assert "monthly" in often["answer"] and not often["abstained"]
    assert any(c["section"].endswith("First-Line Therapy") for c in often["citations"])


def test_questions_the_article_does_not_answer_abstain(client):
    reply = ask(client, question="What is the dose of rituximab?")
    assert reply["abstained"] is True and reply["citations"] == []


def test_suggested_follow_ups_are_answerable(client):
    reply = ask(client, question="What dose of IVIG is used?", suggest=True)
    assert 2 <= len(reply["suggestions"]) <= 3
    history = [{"role": "user", "content": "What dose of IVIG is used?"},
               {"role": "assistant", "content": reply["answer"]}]
    for question in reply["suggestions"]:
        follow = ask(client, question=question, history=history)
        assert not follow["abstained"] and follow["citations"], question


def test_stream_sends_deltas_then_the_reply(client):
    with client.stream("POST", "/api/ask/stream", json={"question": "How often is IVIG given?"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = [(m.group(1), json.loads(m.group(2))) for m in re.finditer(r"event: (\w+)\ndata: (.*)\n\n", body)]
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "reply" and set(kinds[:-1]) == {"delta"}
    reply = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == reply["answer"]
    assert "monthly" in reply["answer"] and reply["citations"]


def error(response) -> str:
    assert "traceback" not in response.text.lower()
    return response.json()["error"]


@pytest.mark.parametrize(("body", "status", "expected"), [
    ({"question": ""}, 400, said.EMPTY_QUESTION),
    ({"question": "   \n  "}, 400, said.EMPTY_QUESTION),
    ({"question": "x" * 100_000}, 400, "100,000 characters long; the limit is 2,000"),
    ({"question": 42}, 422, "Field 'question': Input should be a valid string"),
    ({"question": ["What", "dose?"]}, 422, "Field 'question'"),
    ({}, 422, "Field 'question': Field required"),
    ({"question": "Dose?", "history": "earlier"}, 422, "Field 'history': Input should be a valid list"),
    ({"question": "Dose?", "history": [{"role": "system", "content": "x"}]}, 422, "Field 'history[0].role'"),
    ({"question": "Dose?", "history": [{"role": "user"}]}, 422, "Field 'history[0].content': Field required"),
    ({"question": "Dose?", "history": [{"role": "user", "content": 3}]}, 422, "Field 'history[0].content'"),
    ({"question": "Dose?", "history": [{"role": "user", "content": "a"}] * 201}, 400, "201 messages, limit 200"),
    ({"question": "Dose?", "article": "psoriasis"}, 400, "No article 'psoriasis' is ingested"),
    ({"question": "Dose?", "article": 7}, 422, "Field 'article'"),
    ({"question": "Dose?", "suggest": "yes"}, 422, "Field 'suggest'"),
    ({"question": "Dose?", "questoin": "typo"}, 422, "Field 'questoin': unknown field"),
    ({"question": "Dose\u202e?"}, 400, said.BAD_CHARACTERS),
    ({"question": "Dose\u2066?\u2069"}, 400, said.BAD_CHARACTERS),
    ({"question": "Dose\x00?"}, 400, said.BAD_CHARACTERS),
    ({"question": "Dose\x07?"}, 400, said.BAD_CHARACTERS),
    ({"question": "Dose \ud800?"}, 400, said.BAD_CHARACTERS),  # a lone surrogate, sent as the JSON escape \\ud800
    ({"question": "Dose?", "history": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}] * 250},
     400, "500 messages, limit 200"),
    ({"question": "Dose?", "history": [["user", "What dose?"]]}, 422, "Field 'history[0]'"),
    # Few messages, too many characters: the limit named is the one exceeded.
    ({"question": "Dose?", "history": [{"role": "user", "content": "a" * 150_000}] * 2}, 400,
     "300,000 characters, limit 200,000"),
    ({"question": "Dose?", "article": "s" * 201}, 422, "Field 'article'"),
])
@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream"])
def test_bad_requests_get_a_4xx_with_a_clear_message(client, path, body, status, expected):
    response = client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert expected in error(response)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"What dose?"', b'{"question": "dose"',
                                 b"[" * 100_000 + b"]" * 100_000])
def test_bodies_that_are_not_a_json_object_get_400(client, raw):
    response = client.post("/api/ask", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert error(response) == messages.NOT_JSON.format(example=messages.ASK_EXAMPLE)


def test_oversized_bodies_get_413_before_being_read(client):
    big = json.dumps({"question": "Dose?", "history": [{"role": "user", "content": "x" * 600_000}]})
    response = client.post("/api/ask", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "the limit is 500,000 bytes" in error(response)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        yield b'{"question": "Dose?", "history": [{"role": "user", "content": "'
        for _ in range(70):
            yield b"x" * 10_000
        yield b'"}]}'

    response = client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_oversized_bodies_to_the_chat_page_get_413(client):
    response = client.post("/gradio_api/queue/join", content=b"x" * 600_000,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and "the limit is 500,000 bytes" in error(response)


def test_unknown_api_paths_answer_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert "There is no API endpoint GET /api/nothing-here" in error(response)


def test_feedback_is_stored_durably(client, home):
    response = client.post("/api/feedback", json={"rating": "down", "question": "What dose of IVIG is used?",
                                                 "answer": "IVIG at 2 g/kg [1].", "article": "scleromyxedema"})
    assert response.status_code == 201
    row_id = response.json()["id"]
    path = feedback_path(make_settings(home))
    assert path == home / "feedback.sqlite3" and path.exists()
    with sqlite3.connect(path) as db:  # a fresh connection, as another process would read it
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        row = db.execute("SELECT rating, question, answer, article, channel FROM feedback WHERE id = ?",
                         (row_id,)).fetchone()
    assert row == (-1, "What dose of IVIG is used?", "IVIG at 2 g/kg [1].", "scleromyxedema", "api")
    assert any(r.id == row_id for r in FeedbackStore(path).ratings())
    bad = client.post("/api/feedback", json={"rating": "meh", "question": "q", "answer": "a"})
    assert bad.status_code == 422 and "Field 'rating'" in error(bad)
    huge = client.post("/api/feedback", json={"rating": "up", "question": "q", "answer": "a", "article": "x" * 10_000})
    assert huge.status_code == 422 and "Field 'article'" in error(huge)
    assert len(FeedbackStore(path).ratings()) == 1  # nothing of the refused ones was stored


def test_cors_allows_configured_origins_only(client):
    allowed = client.post("/api/ask", json={"question": "What dose of IVIG is used?"}, headers={"Origin": SITE})
    assert allowed.headers["access-control-allow-origin"] == SITE
    other = client.post("/api/ask", json={"question": "What dose of IVIG is used?"}, headers={"Origin": OTHER_SITE})
    assert "access-control-allow-origin" not in other.headers
    preflight = {"Origin": SITE, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    response = client.options("/api/ask", headers=preflight)
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == SITE
    response = client.options("/api/ask", headers={**preflight, "Origin": OTHER_SITE})
    assert response.status_code == 400 and "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("path", ["/gradio.js", "/embed/config", "/config", "/embed/gradio_api/info"])
def test_the_widget_loads_cross_origin_for_allowed_sites(client, path):
    assert client.get(path, headers={"Origin": SITE}).headers["access-control-allow-origin"] == SITE
    assert "access-control-allow-origin" not in client.get(path, headers={"Origin": OTHER_SITE}).headers


@pytest.mark.parametrize("path", ["/", "/embed/", "/healthz", "/api/articles"])
def test_only_allowed_sites_may_frame_the_pages(client, path):
    policy = client.get(path).headers["content-security-policy"]
    directives = dict(d.strip().partition(" ")[::2] for d in policy.split(";"))
    assert directives["frame-ancestors"] == f"'self' {SITE} http://127.0.0.1:7860"


def test_loader_is_the_installed_gradio_bundle(client):
    loader = client.get("/gradio.js")
    assert loader.status_code == 200 and loader.headers["content-type"].startswith("text/javascript")
    bundle = re.fullmatch(r'import\("\./(assets/index-[\w-]+\.js)"\);\s*', loader.text)
    assert bundle, loader.text
    script = client.get(f"/{bundle.group(1)}")  # what the relative import resolves to from /gradio.js
    assert script.status_code == 200 and "customElements.define" in script.text


def test_embed_url_opens_the_widget_with_its_article(client):
    response = client.get("/embed?article=scleromyxedema", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/embed/?article=scleromyxedema"
    page = client.get("/embed/?article=scleromyxedema")
    assert page.status_code == 200 and "window.gradio_config" in page.text


def test_healthz_reports_ready_with_the_articles(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "articles": ["scleromyxedema"]}


def test_openapi_documents_the_ask_endpoints(client):
    spec = client.get("/openapi.json").json()
    ask_op = spec["paths"]["/api/ask"]["post"]
    assert {"200", "400", "413", "422"} <= set(ask_op["responses"])
    request = spec["components"]["schemas"]["AskRequest"]
    assert set(request["properties"]) == {"question", "history", "article", "suggest"}
    assert request["required"] == ["question"]
    # The limits are stated, with this server's settings.
    assert request["properties"]["question"]["maxLength"] == 2000
    assert request["properties"]["history"]["maxItems"] == 200
    assert "200,000 characters" in request["properties"]["history"]["description"]
    assert {"408", "429", "503"} <= set(ask_op["responses"])
    reply = spec["components"]["schemas"]["AskResponse"]
    assert {"answer", "citations", "abstained"} <= set(reply["required"])
    assert "text/event-stream" in spec["paths"]["/api/ask/stream"]["post"]["responses"]["200"]["content"]
    assert client.get("/docs").status_code == 200
