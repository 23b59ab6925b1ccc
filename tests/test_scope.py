"""Scope: a question asked of one article is answered from that article only, on every surface."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from assistant import Assistant
from eval.covidqa import ARTICLES_DIR, CASES_FILE, load_questions
from ingest.factory import open_store
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLE_PATH, make_settings
from ui.server import create_app

RESEARCH = ("covidqa-009", "covidqa-023", "covidqa-031", "covidqa-093")  # research articles beside the review
SLUGS = ("scleromyxedema", *RESEARCH)
GENERIC = ["What is the first-line treatment?", "What causes it?", "How is it diagnosed?", "What was found?",
           "What is the complete genome sequence?", "Who is at risk?", "What dose is used?", "How many cases?"]
OWN = [q.question for q in load_questions(CASES_FILE) if q.article in RESEARCH]
QUESTIONS = GENERIC + OWN + ["What is the most effective treatment for scleromyxedema?", "What is IVIG?"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scope-home")


@pytest.fixture(scope="module")
def many(home: Path, embedder) -> Assistant:
    settings = make_settings(home)
    store = open_store(settings, embedder.name, embedder.dimension)
    ingest_paths([ARTICLE_PATH, *(ARTICLES_DIR / f"{slug}.txt" for slug in RESEARCH)], settings, store, embedder)
    return Assistant(settings, store, embedder)


def cited(reply) -> set[str]:
    return {c.article for c in reply.citations}


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=st.sampled_from(QUESTIONS), article=st.sampled_from(SLUGS))
def test_no_reply_cites_outside_its_article(many, question, article):
    reply = many.ask(question, article=article)
    assert cited(reply) <= {article}
    assert reply.abstained or reply.article == article


def test_follow_ups_stay_in_the_article(many):
    first = many.ask("What is the first-line treatment?", article="covidqa-009")
    history = [{"role": "user", "content": "What is the first-line treatment?"},
               {"role": "assistant", "content": first.answer}]
    reply = many.ask("And what dose?", history=history, article="covidqa-009")
    assert cited(reply) <= {"covidqa-009"}


def test_a_question_only_another_article_answers_is_not_covered_here(many):
    assert not many.ask("What dose of IVIG is used?", article="scleromyxedema").abstained
    for slug in RESEARCH:
        reply = many.ask("What dose of intravenous immunoglobulin is used for scleromyxedema?", article=slug)
        assert reply.abstained, (slug, reply.answer)


def test_without_an_article_every_citation_names_its_article(many):
    reply = many.ask("What is the most effective treatment for scleromyxedema?")
    assert reply.citations and cited(reply) == {"scleromyxedema"}
    reply = many.ask("What is the genome length of the nephropathogenic IBV strain?")
    assert reply.citations and cited(reply) == {"covidqa-009"}


def test_vocabulary_checks_are_scoped(many):
    # "mucin" is in the review; asked of a research article that never uses it, the word is missing there.
    assert not many.ask("Where is mucin deposited?", article="scleromyxedema").abstained
    reply = many.ask("Where is mucin deposited?", article="covidqa-093")
    assert reply.abstained and "mucin" in reply.answer


def test_the_http_api_keeps_the_scope(many, home):
    with TestClient(create_app(make_settings(home), assistant=many)) as client:
        for slug in SLUGS:
            for question in GENERIC[:4]:
                response = client.post("/api/ask", json={"question": question, "article": slug})
                assert response.status_code == 200, response.text
                body = response.json()
                assert {c["article"] for c in body["citations"]} <= {slug}, (slug, question)


def test_the_cli_keeps_the_scope(many, home):
    env = {**os.environ, "CITECHAT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    for slug in SLUGS:
        result = subprocess.run([sys.executable, "-m", "ui.cli", "ask", "What was found?", "--article", slug,
                                 "--json"], capture_output=True, text=True, env=env, timeout=300,
                                cwd=Path(__file__).parents[1])
        assert result.returncode == 0, result.stderr
        assert {c["article"] for c in json.loads(result.stdout)["citations"]} <= {slug}


def test_a_question_about_the_articles_own_subject_is_answered(many):
    # Every word names the title's subject; it still asks something the article answers.
    reply = many.ask("What is RANBP2?", article="covidqa-023")  # the article's title names RANBP2
    assert not reply.abstained and "nuclear pore protein" in reply.answer


def test_how_much_is_not_always_a_dose(many):
    reply = many.ask("How much of a greater risk are children than adults to viral infection?", article="covidqa-031")
    assert not reply.abstained and "two to three times" in reply.answer
