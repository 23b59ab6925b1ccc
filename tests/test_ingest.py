"""Ingest into a real Chroma store: idempotent, atomic version switch, bad files refused, model checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ingest.factory import open_store
from ingest.pipeline import ingest_paths, writer_lock
from ingest.types import CitechatError
from tests.conftest import ARTICLE_PATH, make_settings


def copy_article(folder: Path, name: str = "scleromyxedema.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_text(ARTICLE_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def test_ingest_is_idempotent(tmp_path, settings, store, embedder):
    path = copy_article(tmp_path / "articles")
    first = ingest_paths([path], settings, store, embedder)
    assert [(r.slug, r.status, r.chunks) for r in first] == [("scleromyxedema", "added", 26)]
    calls = []
    second = ingest_paths([path], settings, store, embedder, progress=lambda *a: calls.append(a))
    assert [r.status for r in second] == ["unchanged"]
    assert calls == []  # nothing was embedded again
    versions = store.versions()
    assert len(store.chunks(versions)) == 26


def test_changed_article_replaces_its_chunks(tmp_path, settings, store, embedder):
    path = copy_article(tmp_path / "articles")
    ingest_paths([path], settings, store, embedder)
    old_version = store.versions()["scleromyxedema"]
    text = path.read_text(encoding="utf-8").replace("Extremely rare disorder", "Very uncommon disorder")
    path.write_text(text, encoding="utf-8")
    [result] = ingest_paths([path], settings, store, embedder)
    assert result.status == "updated"
    new_version = store.versions()["scleromyxedema"]
    assert new_version != old_version
    chunks = store.chunks({"scleromyxedema": new_version})
    assert any(c.text == "Very uncommon disorder" for c in chunks)
    assert not any("Extremely rare" in c.text for c in chunks)
    assert store.chunks({"scleromyxedema": old_version}) == []  # the old version is gone


def test_several_articles_side_by_side(tmp_path, settings, store, embedder):
    folder = tmp_path / "articles"
    copy_article(folder)
    (folder / "gout.md").write_text("# Gout\n\n## Treatment\n\n- Colchicine is used for flares. 1\n",
                                    encoding="utf-8")
    results = ingest_paths([folder], settings, store, embedder)
    assert sorted(r.slug for r in results) == ["gout", "scleromyxedema"]
    assert [r.title for r in store.articles()] == ["Gout", "What is Scleromyxedema?"]


def test_articles_embedded_in_lots_publish_whole(tmp_path, settings, store, embedder, monkeypatch):
    # Lots of 10 chunks, staged 4 at a time: batches mix the two articles and cut through both.
    monkeypatch.setattr("ingest.pipeline.EMBED_LOT", 10)
    monkeypatch.setattr("ingest.pipeline.STAGE_BATCH", 4)
    folder = tmp_path / "articles"
    copy_article(folder)
    bullets = "\n".join(f"- Colchicine dose note {n} for acute flares." for n in range(7))
    (folder / "gout.md").write_text(f"# Gout\n\n## Treatment\n\n{bullets}\n", encoding="utf-8")
    reports: list[tuple[str, int, int]] = []
    results = ingest_paths([folder], settings, store, embedder, progress=lambda *a: reports.append(a))
    assert {(r.slug, r.chunks) for r in results} == {("gout", 7), ("scleromyxedema", 26)}
    versions = store.versions()
    for slug, count in (("gout", 7), ("scleromyxedema", 26)):
        assert len(store.chunks({slug: versions[slug]})) == count
        done = [d for s, d, _ in reports if s == slug]
        assert done == sorted(done) and done[-1] == count  # progress only grows, and ends at the whole article
    again = ingest_paths([folder], settings, store, embedder)
    assert {r.status for r in again} == {"unchanged"}


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"Caf\xe9 au lait spots\n\nText.", "not valid UTF-8"),
    (b"Personalize\n\nHelp us tailor your experience\n", "No article text"),
])
def test_bad_files_are_refused_and_the_store_is_untouched(tmp_path, settings, store, embedder, content,
                                                           message):
    good = copy_article(tmp_path / "articles")
    ingest_paths([good], settings, store, embedder)
    before = store.versions()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    with pytest.raises(CitechatError, match=message):
        ingest_paths([good, bad], settings, store, embedder)
    assert store.versions() == before
    assert len(store.chunks(before)) == 26


def test_oversized_file_is_refused(tmp_path, embedder):
    settings = make_settings(tmp_path / "home", max_article_bytes=1000)
    store = open_store(settings, embedder.name, embedder.dimension)
    with pytest.raises(CitechatError, match="over the 1,000-byte limit"):
        ingest_paths([ARTICLE_PATH], settings, store, embedder)
    assert store.versions() == {}


def test_store_from_another_model_is_refused(settings, store, embedder):
    ingest_paths([ARTICLE_PATH], settings, store, embedder)
    other = open_store(settings.model_copy(update={"embedding_model": "all-mpnet-base-v2"}),
                       "all-mpnet-base-v2", 768)
    with pytest.raises(CitechatError, match="built with the embedding model 'all-MiniLM-L6-v2'"):
        other.articles()


def test_a_second_writer_gives_up_with_a_clear_message(settings, store, embedder):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom ingest.pipeline import writer_lock\n"
         "from ingest.settings import Settings\nfrom pathlib import Path\n"
         "with writer_lock(Settings(home=Path(sys.argv[1]))):\n    print('held', flush=True)\n    time.sleep(60)",
         str(settings.home)], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(CitechatError, match=r"Another ingest \(pid \d+\) is writing"):
            ingest_paths([ARTICLE_PATH], settings, store, embedder)
        assert holder.poll() is None  # it gave up while the other writer was still at work
    finally:
        holder.kill()
        holder.wait()
    assert store.versions() == {}


def test_the_lock_is_reentrant_within_one_process(settings, store, embedder):
    with writer_lock(settings):
        [result] = ingest_paths([ARTICLE_PATH], settings, store, embedder)
    assert result.status == "added"


def test_a_50_mb_file_is_refused_with_the_limit_named(tmp_path, settings, store, embedder):
    big = tmp_path / "huge.txt"
    big.write_bytes(b"Scleromyxedema. " * (50 * 1024 * 1024 // 16))
    with pytest.raises(CitechatError, match="over the 20,000,000-byte limit.*CITECHAT_MAX_ARTICLE_BYTES"):
        ingest_paths([big], settings, store, embedder)
    assert store.versions() == {}


def test_html_full_of_scripts_ingests_cleanly(tmp_path, settings, store, embedder):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><script>steal()</script><style>p{}</style></head><body onload='x()'>"
        "<h1>Topic</h1><script>document.write('injected')</script>"
        "<p>Real text <img src='http://evil.example/x.png' onerror='alert(1)'>here. 1</p>"
        "<iframe src='javascript:alert(2)'></iframe><noscript>fallback</noscript>"
        "<ul><li><a href='javascript:alert(3)'>Linked</a> item 2</li></ul></body></html>", encoding="utf-8")
    [result] = ingest_paths([page], settings, store, embedder)
    record = store.article(result.slug)
    assert record is not None
    assert record.text == "Topic\n\nReal text here.\n\n- Linked item"
    for bad in ("steal", "injected", "alert", "javascript", "evil.example", "fallback", "onerror"):
        assert bad not in record.text
