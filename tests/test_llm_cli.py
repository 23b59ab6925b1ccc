"""The citechat command with a language model configured through CITECHAT_LLM_*, against the scripted server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import messages
from ingest.factory import open_store
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLE_PATH, make_settings
from tests.fake_openai import FakeOpenAI


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    home = tmp_path_factory.mktemp("llm-cli-home")
    settings = make_settings(home)
    ingest_paths([ARTICLE_PATH], settings, open_store(settings, embedder.name, embedder.dimension), embedder)
    return home


def run(home: Path, fake: FakeOpenAI, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CITECHAT_HOME": str(home), "HF_HUB_OFFLINE": "1", "CITECHAT_LLM_BASE_URL": fake.url,
           "CITECHAT_LLM_MODEL": "fake-model", "CITECHAT_LLM_TIMEOUT": "10"}
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=300, cwd=Path(__file__).parents[1])


def test_ask_json_reports_the_mode_and_each_sentences_support(home, fake):
    fake.reply("IVIG is given at 2 g/kg [@2 g/kg]. A dose of 5 g/kg is used in severe cases [@2 g/kg].")
    result = run(home, fake, "ask", "What dose of IVIG is used?", "--json")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["mode"] == "llm" and reply["answer"] == "IVIG is given at 2 g/kg [1]."
    assert reply["notice"] == messages.LLM_REMOVED.format(count=1)
    assert reply["statements"] == [{"text": "IVIG is given at 2 g/kg.", "citations": [1], "support": 1.0,
                                    "supported": True}]
    assert reply["citations"][0]["refs"] == [1, 3] and "2 g/kg" in reply["citations"][0]["text"]
    assert fake.requests[0]["model"] == "fake-model"


def test_chat_streams_verified_text_and_marks_a_replaced_answer(home, fake):
    fake.reply("IVIG is given at 2 g/kg [@2 g/kg].",
               "How often is IVIG given?",  # the follow-up rewritten...
               "IVIG is given at 2 g/kg [@2 g/kg]. It is given weekly [@2 g/kg]. Also daily [@2 g/kg].")  # ...answered
    result = run(home, fake, "chat", stdin="What dose of IVIG is used?\nHow often is it given?\n\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "citechat> IVIG is given at 2 g/kg [1]." in lines
    replaced = lines.index("citechat> (replaced) IVIG therapy administered monthly can produce dramatic improvement in "
                           "cutaneous symptoms, dyspnea, and systemic manifestations within three courses [1].")
    assert lines[replaced - 1].endswith("citechat> IVIG is given at 2 g/kg [1].")  # shown, then settled
    assert lines[replaced + 1] == f"  note: {messages.LLM_UNSUPPORTED}"
    assert "weekly" not in result.stdout and "daily" not in result.stdout
