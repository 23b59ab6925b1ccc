"""Crashes and concurrent writers, in real processes: kill -9 mid-ingest, and a second writer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from assistant import Assistant
from ingest.factory import open_store
from tests.conftest import ARTICLE_PATH, make_settings

ROOT = Path(__file__).parents[1]
EXTRA_NOTES = 600  # more chunks than one staged batch (ingest.pipeline.STAGE_BATCH)

DRIVER = """
import sys
from pathlib import Path
from ingest.factory import load_embedder, open_store
from ingest.pipeline import ingest_paths
from ingest.settings import Settings
settings = Settings(home=Path(sys.argv[1]))
embedder = load_embedder(settings)
store = open_store(settings, embedder.name, embedder.dimension)
pause = sys.argv[3:] == ["pause"]  # hold the writer lock after the first batch until a line comes on stdin

def staged(slug, done, total):
    global pause
    print(f"staged {done} {total}", flush=True)
    if pause:
        pause = False
        sys.stdin.readline()

ingest_paths([Path(sys.argv[2])], settings, store, embedder, progress=staged)
print("done", flush=True)
"""


def env(home: Path) -> dict[str, str]:
    return {**os.environ, "CITECHAT_HOME": str(home), "HF_HUB_OFFLINE": "1"}


def citechat(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], capture_output=True, text=True, env=env(home),
                          cwd=ROOT, timeout=600)


def changed_article(path: Path) -> None:
    notes = "\n".join(f"  • Registry note {n}: case {n} showed lichenoid papules on the forearm {n % 7 + 1}"
                      for n in range(EXTRA_NOTES))
    text = ARTICLE_PATH.read_text(encoding="utf-8").replace(
        "References", f"Registry Notes\n\n{notes}\n\nReferences", 1)
    path.write_text(text, encoding="utf-8")


def test_kill_during_ingest_keeps_the_old_version_serving(tmp_path):
    home = tmp_path / "home"
    article = tmp_path / "scleromyxedema.txt"
    article.write_text(ARTICLE_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    assert citechat(home, "ingest", str(article)).returncode == 0

    changed_article(article)
    # The driver pauses after its first staged batch, so the kill lands mid-ingest on a machine of any speed.
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(home), str(article), "pause"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env(home), cwd=ROOT)
    assert driver.stdout is not None
    done, total = map(int, driver.stdout.readline().split()[1:3])
    assert 0 < done < total
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert driver.returncode == -signal.SIGKILL

    # The store still serves the previous version, whole.
    listed = json.loads(citechat(home, "articles", "--json").stdout)
    assert [(a["slug"], a["chunks"]) for a in listed] == [("scleromyxedema", 26)]
    reply = json.loads(citechat(home, "ask", "Who is typically affected?", "--json").stdout)
    assert "Middle-aged adults" in reply["answer"]
    assert not any("Registry note" in c["text"] for c in reply["citations"])

    # A re-run completes, and a second writer started meanwhile gives up with a clear message.
    # The re-run pauses mid-ingest, holding the lock, so the second writer meets it however fast this machine is.
    rerun = subprocess.Popen([sys.executable, "-c", DRIVER, str(home), str(article), "pause"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env(home), cwd=ROOT)
    assert rerun.stdout is not None
    first = rerun.stdout.readline()
    assert first.startswith("staged")
    other = tmp_path / "gout.md"
    other.write_text("# Gout\n\nColchicine treats flares.\n", encoding="utf-8")
    second = citechat(home, "ingest", str(other))
    assert second.returncode == 2
    assert "Another ingest (pid" in second.stderr and "Traceback" not in second.stderr
    assert rerun.poll() is None  # the second writer did not wait for the first to finish
    rest = rerun.communicate("go\n", timeout=600)[0]
    assert rest.rstrip().endswith("done") and rerun.returncode == 0

    listed = json.loads(citechat(home, "articles", "--json").stdout)
    assert listed[0]["chunks"] == 26 + EXTRA_NOTES
    reply = json.loads(citechat(home, "ask", "What did registry note 17 show?", "--json").stdout)
    assert any(c["text"].startswith("Registry note 17:") for c in reply["citations"])


def test_an_ingest_in_another_process_reaches_a_running_assistant(tmp_path, embedder):
    # `citechat serve` keeps answering while `citechat ingest` updates the same embedded store: Chroma's
    # in-memory index in the serving process does not follow the other process's writes, so the store reopens.
    home = tmp_path / "home"
    folder = tmp_path / "articles"
    folder.mkdir()
    article = folder / "scleromyxedema.txt"
    article.write_text(ARTICLE_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    assert citechat(home, "ingest", str(folder)).returncode == 0
    settings = make_settings(home)
    bot = Assistant(settings, open_store(settings, embedder.name, embedder.dimension), embedder)
    assert "2 g/kg" in bot.ask("What dose of IVIG is used?").answer

    for dose in ("1 g/kg", "3 g/kg"):  # twice: the reopened store follows later changes too
        text = ARTICLE_PATH.read_text(encoding="utf-8").replace("2 g/kg", dose)
        article.write_text(text, encoding="utf-8")
        (folder / "gout.md").write_text(f"# Gout\n\n## Treatment\n\nColchicine at {dose} treats flares.\n",
                                        encoding="utf-8")
        ingest = citechat(home, "ingest", str(folder))
        assert ingest.returncode == 0, ingest.stderr
        reply = bot.ask("What dose of IVIG is used?")
        assert dose in reply.answer and "2 g/kg" not in reply.answer
        assert all(c.article == "scleromyxedema" for c in reply.citations)
        gout = bot.ask("What treats gout flares?", article="gout")
        assert f"Colchicine at {dose}" in gout.answer
    assert len(bot.corpus().chunks) == 26 + 1
