"""`citechat eval --llm`: the evaluation suite run through the language model and the grounding guard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import messages
from eval.cli import main
from tests.conftest import ARTICLE_PATH

CASE = {"id": "dose", "split": "test", "category": "single", "article": "scleromyxedema",
        "turns": [{"question": "What dose of IVIG is used?", "answerable": True,
                   "gold": ["High-dose intravenous immunoglobulin (IVIG) at 2 g/kg is the most effective treatment for "
                            "scleromyxedema with systemic involvement, often combined with systemic corticosteroids."],
                   "facts": ["2 g/kg"]}]}


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    path = tmp_path / "cases.jsonl"
    header = {"format": "citechat-cases", "version": 1, "article": "scleromyxedema", "description": "LLM smoke"}
    path.write_text(json.dumps(header) + "\n" + json.dumps(CASE) + "\n")
    return path


def test_llm_mode_without_a_configured_model_is_a_clear_error(cases, monkeypatch, capsys):
    monkeypatch.delenv("CITECHAT_LLM_BASE_URL", raising=False)
    assert main(["--llm", "--cases", str(cases)]) == 2
    assert capsys.readouterr().err.strip() == f"citechat eval: {messages.LLM_NOT_CONFIGURED}"


def test_eval_runs_the_cases_through_the_model_and_agrees_with_the_guard(cases, fake, monkeypatch, capsys):
    monkeypatch.setenv("CITECHAT_LLM_BASE_URL", fake.url)
    monkeypatch.setenv("CITECHAT_LLM_MODEL", "fake-model")
    fake.reply("IVIG is given at 2 g/kg [@2 g/kg]. It is given weekly [@2 g/kg].")
    main(["--llm", "--cases", str(cases), "--articles", str(ARTICLE_PATH), "--json"])
    (turn,) = json.loads(capsys.readouterr().out)["cases"][0]["turns"]
    assert turn["answer"] == "IVIG is given at 2 g/kg [1]."  # the guard dropped the invented schedule
    assert [s["supported"] for s in turn["statements"]] == [True]  # and the eval's own judge agrees
    assert turn["facts"] == [{"fact": "2 g/kg", "stated": True}]
    (request,) = fake.requests
    assert request["messages"][1]["content"].endswith("<question>What dose of IVIG is used?</question>")
