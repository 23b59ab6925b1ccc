"""Article files as people have them: UTF-16 text, invisible characters inside words, and files refused before
the model loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.parse import parse_file_text
from ingest.reader import read_article_file
from tests.conftest import ARTICLE_PATH, assistant_over

TEXT = "Scleromyxedema\n\nTreatment\n\nHigh-dose immunoglobulin is the first-line therapy.\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_are_read(tmp_path, encoding):
    path = tmp_path / "article.txt"
    path.write_bytes(TEXT.encode(encoding))  # "utf-16" writes a byte order mark; -le/-be write none
    assert read_article_file(path, 10**6) == TEXT


def test_a_binary_file_is_still_refused(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(Exception, match="looks like a binary file"):
        read_article_file(path, 10**6)


INVISIBLE = "\u00ad\u200b\u2060\ufeff\u180e"


def test_invisible_characters_leave_article_text_and_answers(tmp_path, embedder):
    hidden = (ARTICLE_PATH.read_text(encoding="utf-8").replace("immunoglobulin", "immuno\u00adglob\u200bulin")
              .replace("methotrexate", "metho\u2060trex\ufeffa\u180ete"))
    article = parse_file_text(hidden, name="scleromyxedema.txt")
    assert not any(ch in article.text for ch in INVISIBLE)
    assert "immunoglobulin" in article.text and "methotrexate" in article.text
    bot = assistant_over(hidden, tmp_path, embedder)
    reply = bot.ask("What is the first-line treatment?")
    assert not reply.abstained and "immunoglobulin" in reply.answer
    assert not any(ch in reply.answer + "".join(c.text for c in reply.citations) for ch in INVISIBLE)


def test_an_unusable_file_is_refused_before_the_model_loads(tmp_path):
    bad = tmp_path / "scan.txt"
    bad.write_bytes(b"\x00\x01\x02binary" * 100)
    # With a model folder that does not exist, loading the model would fail first: the file's message proves
    # the file was read before the model was touched.
    env = {**os.environ, "CITECHAT_HOME": str(tmp_path / "home"),
           "CITECHAT_EMBEDDING_MODEL_PATH": str(tmp_path / "no-model-here")}
    result = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", str(bad)], capture_output=True, text=True,
                            env=env, cwd=Path(__file__).parent.parent, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "looks like a binary file" in result.stderr and "Traceback" not in result.stderr
