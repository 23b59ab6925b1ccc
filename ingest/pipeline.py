"""ingest_paths: read, parse, chunk, embed and store articles, idempotently and one writer at a time."""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ingest.chunk import chunk_article
from ingest.embedder import Embedder
from ingest.parse import parse_file_text, slugify
from ingest.reader import read_article_file
from ingest.settings import Settings
from ingest.store import Store
from ingest.types import Article, Chunk, CitechatError

# Bump when parsing or chunking changes what an unchanged file turns into: it forces a re-ingest.
PIPELINE_VERSION = "3"  # 3: front matter, part labels, bracketed markers and HTML entities read
ARTICLE_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
STAGE_BATCH = 256
# Chunks of consecutive articles embedded as one lot, longest first, then staged STAGE_BATCH at a time. Embedding
# article by article sorted only each article's few chunks by length: on 2,145 chunks of Python documentation
# (bench/ingest_rate.py) ingest ran at 0.48x of the model's own `encode` over the same texts; lots reach 0.82x.
EMBED_LOT = 2048
_held_locks: dict[Path, int] = {}  # writer locks this process holds, with their nesting depth

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IngestResult:
    """What ingest did with one article: 'added', 'updated' or 'unchanged'."""

    slug: str
    title: str
    status: str
    chunks: int
    source: str


def article_files(paths: Sequence[Path]) -> list[Path]:
    """Return the article files named by paths, expanding folders to their article files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in ARTICLE_SUFFIXES and p.is_file())
            if not found:
                raise CitechatError(f"{path}: no .txt, .md or .html articles in this folder.")
            files.extend(found)
        else:
            files.append(path)
    return files


def version_of(text: str, model: str) -> str:
    """Return the content hash that identifies one article version in one embedding space."""
    return hashlib.sha256(f"{PIPELINE_VERSION}\0{model}\0{text}".encode()).hexdigest()[:16]


def read_articles(paths: Sequence[Path], settings: Settings) -> list[tuple[Article, str]]:
    """Read and parse every article file, as (article, file text); raises CitechatError for the first unusable
    one. Needs no model: the CLI calls it first, so a bad file is refused before the model loads."""
    parsed: list[tuple[Article, str]] = []
    slugs: dict[str, Path] = {}
    for path in article_files(paths):
        text = read_article_file(path, settings.max_article_bytes)
        slug = slugify(path.stem)
        if slug in slugs:
            raise CitechatError(f"{path} and {slugs[slug]} would both be stored as article {slug!r}.")
        slugs[slug] = path
        parsed.append((parse_file_text(text, name=path.name, slug=slug), text))
    return parsed


def ingest_paths(paths: Sequence[Path], settings: Settings, store: Store, embedder: Embedder,
                 progress: Progress | None = None,
                 articles: Sequence[tuple[Article, str]] | None = None) -> list[IngestResult]:
    """Ingest article files; every file is read and parsed before anything is written (`articles`: what
    `read_articles` already returned for these paths)."""
    read = read_articles(paths, settings) if articles is None else articles
    parsed = [(article, version_of(text, embedder.name)) for article, text in read]
    with writer_lock(settings):
        return _write_all(parsed, store, embedder, progress)


@dataclass(eq=False)  # hashed by identity: counted per batch
class _Pending:
    """An article whose new version is being staged."""

    article: Article
    version: str
    status: str
    total: int = 0
    staged: int = 0


def _write_all(parsed: Sequence[tuple[Article, str]], store: Store, embedder: Embedder,
               progress: Progress | None) -> list[IngestResult]:
    results: dict[str, IngestResult] = {}
    pending: list[_Pending] = []
    for article, version in parsed:
        previous = store.article(article.slug)
        if previous is not None and previous.version == version:
            store.drop_stale(article.slug, version)  # finishes a run that was killed after the switch
            results[article.slug] = IngestResult(article.slug, article.title, "unchanged", previous.chunk_count,
                                                 article.source)
            continue
        pending.append(_Pending(article, version, "added" if previous is None else "updated"))
    lot: list[tuple[_Pending, Chunk]] = []
    for item in pending:
        chunks = chunk_article(item.article, item.version)  # chunked when reached: memory stays flat
        item.total = len(chunks)
        if not chunks:
            _publish(item, store, results)
        for chunk in chunks:
            lot.append((item, chunk))
            if len(lot) == EMBED_LOT:
                _stage_lot(lot, store, embedder, progress, results)
                lot = []
    if lot:
        _stage_lot(lot, store, embedder, progress, results)
    return [results[article.slug] for article, _ in parsed]


def _stage_lot(lot: list[tuple[_Pending, Chunk]], store: Store, embedder: Embedder, progress: Progress | None,
               results: dict[str, IngestResult]) -> None:
    """Embed and stage a lot of chunks, longest first, STAGE_BATCH at a time; publish the articles it completes."""
    lot = sorted(lot, key=lambda pair: -len(pair[1].embedding_text()))
    for begin in range(0, len(lot), STAGE_BATCH):
        batch = lot[begin: begin + STAGE_BATCH]
        vectors = embedder.embed([chunk.embedding_text() for _, chunk in batch])
        store.stage([chunk for _, chunk in batch], vectors, [item.version for item, _ in batch])
        for item, count in Counter(item for item, _ in batch).items():
            item.staged += count
            if progress:
                progress(item.article.slug, item.staged, item.total)
            if item.staged == item.total:
                _publish(item, store, results)


def _publish(item: _Pending, store: Store, results: dict[str, IngestResult]) -> None:
    store.publish(item.article, item.version, item.total)
    results[item.article.slug] = IngestResult(item.article.slug, item.article.title, item.status, item.total,
                                              item.article.source)


@contextmanager
def writer_lock(settings: Settings) -> Iterator[None]:
    """Hold the store's writer lock (re-entrant in one process); raises CitechatError when another process
    keeps it past the timeout."""
    path = (settings.home / "ingest.lock").resolve()
    if _held_locks.get(path):
        _held_locks[path] += 1
        try:
            yield
        finally:
            _held_locks[path] -= 1
        return
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise CitechatError(
            f"Ingesting needs write access to the data dir {settings.home}, and it cannot be written "
            f"({exc.strerror or exc}). Make it writable (or set CITECHAT_HOME to a writable folder) and run "
            "`citechat ingest` again."
        ) from exc
    with handle:
        deadline = time.monotonic() + settings.ingest_lock_timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise CitechatError(
                        f"Another ingest ({holder}) is writing to {settings.home}. Wait for it to finish "
                        "and run this again."
                    ) from None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        _held_locks[path] = 1
        try:
            yield
        finally:
            del _held_locks[path]
            fcntl.flock(handle, fcntl.LOCK_UN)
