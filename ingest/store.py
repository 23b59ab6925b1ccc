"""The Chroma store: articles and their chunks, one embedding space, versions switched atomically."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.types import Article, Chunk, CitechatError, Sentence

ADD_BATCH = 2000
GENERATION = "generation"  # the record in the state collection that changes with every version switch
READ_PAGE = 5000  # records per get when reading every chunk
# Generations this process wrote. Its own Chroma client saw those writes; a generation written by another
# process (`citechat ingest` while `citechat serve` runs on the same embedded store) means this process's
# client holds a stale in-memory vector index, and has to be opened afresh.
_WRITTEN_HERE: set[str] = set()
# The chunk index: HNSW with twice Chroma's default links and build effort, and a wide search. On 109,976 chunks
# of the Python documentation (bench/scale.py), dense recall@10 against exact search went from 0.99 to 1.00 for
# questions about the docs and from 0.58 to 0.975 for off-topic ones (the hard case for HNSW) compared with
# Chroma's defaults and search_ef 128, for 3.5 ms more per query (1.6 -> 5.1) and 11 s more to index 110k vectors.
SEARCH_EF = 1000
HNSW: dict[str, Any] = {"hnsw:space": "cosine", "hnsw:M": 32, "hnsw:construction_ef": 200, "hnsw:search_ef": SEARCH_EF}


@dataclass(frozen=True)
class ArticleRecord:
    """What the store knows of an ingested article: its cleaned text and the active version."""

    slug: str
    title: str
    version: str
    text: str
    source: str
    disclaimer: str
    updated: str
    sections: tuple[str, ...]
    chunk_count: int


class Store:
    """Reads and writes articles and chunks in two Chroma collections bound to one embedding model."""

    def __init__(self, connect: Callable[[bool], Any], prefix: str, model: str, dimension: int,
                 read_only: str | None = None) -> None:
        self._connect = connect  # connect(fresh): fresh=True drops the process's cached client for the store
        self._client: Any = None
        self._client_generation: str | None = None  # the store's generation this client is known to have seen
        self._reopening = threading.Lock()
        self.model = model
        self.dimension = dimension
        # Why this store cannot be written ("the data dir ... is read-only"): it is then a copy taken on opening,
        # and every write raises CitechatError. None: a writable store.
        self.read_only = read_only
        self._chunks_name = f"{prefix}-chunks"
        self._articles_name = f"{prefix}-articles"
        self._state_name = f"{prefix}-state"
        self._chunks: Any = None
        self._articles: Any = None
        self._state: Any = None
        self._versions_seen: dict[str, str] = {}  # the last versions() read: every stored article
        self._generation_seen: str | None = None  # the store's generation when they were read

    # -- opening ---------------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The Chroma client, connected on first use (so a writer can take its lock before opening)."""
        if self._client is None:
            self._client = self._connect(False)
        return self._client

    def exists(self) -> bool:
        """Return True when the store holds a chunk collection (built by an earlier ingest)."""
        return self._holds_chunks(self.client)

    def _holds_chunks(self, client: Any) -> bool:
        return self._chunks_name in {getattr(c, "name", c) for c in client.list_collections()}

    def _open(self, create: bool) -> None:
        if self._chunks is None:
            self._attach(self.client, create)

    def _attach(self, client: Any, create: bool) -> None:
        """Open the collections on a client, check the embedding model, then switch to them all at once:
        a question running in another thread keeps working on the ones it started with."""
        if not create and not self._holds_chunks(client):
            raise CitechatError("The store is empty: run `citechat ingest PATH` first.")
        chunks = client.get_or_create_collection(
            self._chunks_name, embedding_function=None,
            metadata={"embedding_model": self.model, "dimension": self.dimension, **HNSW},
        )
        meta = chunks.metadata or {}
        if meta.get("embedding_model") != self.model or int(meta.get("dimension", -1)) != self.dimension:
            raise CitechatError(
                f"This store was built with the embedding model {meta.get('embedding_model')!r} "
                f"({meta.get('dimension')}-d) but citechat is set to {self.model!r} ({self.dimension}-d). "
                "Set CITECHAT_EMBEDDING_MODEL back, or use another CITECHAT_HOME and ingest again."
            )
        _widen_search(chunks)
        articles = client.get_or_create_collection(self._articles_name, embedding_function=None)
        state = client.get_or_create_collection(self._state_name, embedding_function=None)
        self._client, self._articles, self._state, self._chunks = client, articles, state, chunks
        if self._generation() is None:  # a store from before generations, or a new one
            self._next_generation()
        self._client_generation = self._generation()

    def _reopen(self, seen: str | None) -> None:
        """Open the store afresh after another process changed it (once, however many threads notice)."""
        with self._reopening:
            if self._client_generation == seen:  # not reopened by another thread meanwhile
                self._attach(self._connect(True), create=False)

    # -- reading ---------------------------------------------------------------------------------------
    def articles(self) -> list[ArticleRecord]:
        """Return every ingested article, sorted by slug."""
        if not self.exists():
            return []
        self._open(create=False)
        got = self._articles.get(include=["documents", "metadatas"])
        records = [_record(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"],
                                                        strict=True)]
        return sorted(records, key=lambda r: r.slug)

    def article(self, slug: str) -> ArticleRecord | None:
        """Return one article's record, or None when it is not ingested."""
        if not self.exists():
            return None
        self._open(create=False)
        got = self._articles.get(ids=[slug], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return _record(got["ids"][0], got["documents"][0], got["metadatas"][0])

    def versions(self) -> dict[str, str]:
        """Return {slug: active version}, cheap enough to check before every question."""
        if not self.exists():
            return {}
        self._open(create=False)
        # Every switch of an article's version changes the store's generation, a one-record read. Reading
        # all article records costs about 60 us each (28 ms per question at 456 articles): only on a change.
        generation = self._generation()
        seen = self._client_generation
        if generation is not None and generation != seen and generation not in _WRITTEN_HERE:
            self._reopen(seen)
            generation = self._generation()
        if generation is None or generation != self._generation_seen:
            got = self._articles.get(include=["metadatas"])
            self._versions_seen = {i: str(m["version"]) for i, m in zip(got["ids"], got["metadatas"], strict=True)}
            self._generation_seen = generation
        return dict(self._versions_seen)

    def _generation(self) -> str | None:
        got = self._state.get(ids=[GENERATION], include=["metadatas"])
        return str(got["metadatas"][0]["generation"]) if got["ids"] else None

    def _next_generation(self) -> None:
        generation = uuid.uuid4().hex
        _WRITTEN_HERE.add(generation)
        self._state.upsert(ids=[GENERATION], embeddings=[[1.0]], metadatas=[{"generation": generation}])
        self._client_generation = generation

    def chunks(self, versions: dict[str, str]) -> list[Chunk]:
        """Return the active chunks of the given {slug: version} articles, in reading order."""
        if not versions:
            return []
        self._open(create=False)
        # Ids first, then the records page by page: Chroma fails a get of more than about 32k records with
        # their documents ("too many SQL variables"). With every article in scope no `where` is needed (see
        # `search`); inactive chunks are dropped here.
        where = None if versions == self._versions_seen else _version_filter(versions)
        ids = self._chunks.get(where=where, include=[])["ids"]
        chunks: list[Chunk] = []
        for begin in range(0, len(ids), READ_PAGE):
            got = self._chunks.get(ids=ids[begin: begin + READ_PAGE], include=["documents", "metadatas"])
            chunks += [_chunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
                       if versions.get(str(m["article"])) == m["version"]]
        return sorted(chunks, key=lambda c: (c.article, c.order))

    def search(self, embedding: Sequence[float], k: int, versions: dict[str, str]) -> list[tuple[str, float]]:
        """Return (chunk id, cosine similarity) of the k nearest active chunks."""
        if not versions:
            return []
        self._open(create=False)
        query = list(embedding)
        if versions == self._versions_seen:
            # All articles in scope: search unfiltered and drop inactive chunks. A `where` on the version makes
            # Chroma check every record's metadata (36 ms instead of 1 ms at 10k chunks), and inactive chunks
            # only exist while an ingest runs or after one crashed; if they crowd out the k, filter after all.
            result = self._chunks.query(query_embeddings=[query], n_results=2 * k, include=["distances", "metadatas"])
            found = result["ids"][0]
            hits = [(i, 1.0 - float(d)) for i, d, m in zip(found, result["distances"][0], result["metadatas"][0],
                                                            strict=True)
                    if m is not None and versions.get(str(m["article"])) == m["version"]]
            if len(hits) >= k or len(found) < 2 * k:
                return hits[:k]
        result = self._chunks.query(query_embeddings=[query], n_results=k, where=_version_filter(versions),
                                    include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """Return the stored embedding of each chunk id."""
        if not ids:
            return {}
        self._open(create=False)
        got = self._chunks.get(ids=list(ids), include=["embeddings"])
        return {i: list(map(float, e)) for i, e in zip(got["ids"], got["embeddings"], strict=True)}

    # -- writing (one writer at a time: see ingest.lock) -----------------------------------------------
    def _writable(self) -> None:
        if self.read_only is not None:
            raise CitechatError(f"Ingesting needs write access, and {self.read_only}. Make it writable (or set "
                                "CITECHAT_HOME to a writable folder) and run `citechat ingest` again.")

    def stage(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]],
              version: str | Sequence[str]) -> None:
        """Add chunks of a version that is not active yet: readers ignore them until `publish`.

        `version` is the version of every chunk, or one per chunk (a batch holding several articles).
        """
        self._writable()
        self._open(create=True)
        versions = [version] * len(chunks) if isinstance(version, str) else list(version)
        for begin in range(0, len(chunks), ADD_BATCH):
            part = chunks[begin: begin + ADD_BATCH]
            self._chunks.upsert(
                ids=[c.id for c in part],
                documents=[c.text for c in part],
                embeddings=[list(e) for e in embeddings[begin: begin + ADD_BATCH]],
                metadatas=[_chunk_metadata(c, v) for c, v in zip(part, versions[begin: begin + ADD_BATCH],
                                                                  strict=True)],
            )

    def publish(self, article: Article, version: str, chunk_count: int) -> None:
        """Make a staged version the article's active one, then drop every other version's chunks."""
        self._writable()
        self._open(create=True)
        # The switch is one record write: readers see the old version or the new one, never a mix.
        self._articles.upsert(ids=[article.slug], documents=[article.text], embeddings=[[1.0]], metadatas=[{
            "title": article.title, "version": version, "source": article.source,
            "disclaimer": article.disclaimer, "updated": article.updated,
            "sections": json.dumps(article.section_paths()), "chunk_count": chunk_count,
        }])
        self.drop_stale(article.slug, version)

    def drop_stale(self, slug: str, version: str) -> None:
        """Delete the chunks of an article that belong to any version but the active one."""
        self._writable()
        self._open(create=True)
        # After a switch (or a run killed after one): readers see the new version before its old chunks go.
        self._next_generation()
        self._chunks.delete(where={"$and": [{"article": slug}, {"version": {"$ne": version}}]})

    def remove(self, slug: str) -> bool:
        """Delete an article and its chunks; return False when it was not there."""
        self._writable()
        if self.article(slug) is None:
            return False
        self._articles.delete(ids=[slug])
        self._next_generation()
        self._chunks.delete(where={"article": slug})
        return True


def _widen_search(chunks: Any) -> None:
    """Raise the search breadth of a collection made with a narrower one (links and build effort are fixed at
    creation; the breadth is not). An embedded store applies it at once, a server when it next loads the index."""
    config = getattr(chunks, "configuration_json", None) or {}
    ef_search = (config.get("hnsw") or {}).get("ef_search")
    if ef_search is not None and int(ef_search) < SEARCH_EF:
        chunks.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})


def _version_filter(versions: dict[str, str]) -> dict[str, Any]:
    values = sorted(set(versions.values()))
    return {"version": values[0]} if len(values) == 1 else {"version": {"$in": values}}


def _chunk_metadata(chunk: Chunk, version: str) -> dict[str, Any]:
    return {
        "article": chunk.article, "version": version, "section": chunk.section, "start": chunk.start,
        "end": chunk.end, "order": chunk.order, "kind": chunk.kind,
        "sentences": json.dumps([[s.start, s.end, list(s.refs)] for s in chunk.sentences]),
    }


def _chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    sentences = tuple(Sentence(int(s), int(e), tuple(r)) for s, e, r in json.loads(meta["sentences"]))
    return Chunk(id=chunk_id, article=str(meta["article"]), section=str(meta["section"]), text=text,
                 start=int(meta["start"]), end=int(meta["end"]), order=int(meta["order"]),
                 sentences=sentences, kind=str(meta.get("kind", "paragraph")))


def _record(slug: str, text: str, meta: dict[str, Any]) -> ArticleRecord:
    return ArticleRecord(
        slug=slug, title=str(meta.get("title", slug)), version=str(meta["version"]), text=text,
        source=str(meta.get("source", "")), disclaimer=str(meta.get("disclaimer", "")),
        updated=str(meta.get("updated", "")), sections=tuple(json.loads(str(meta.get("sections", "[]")))),
        chunk_count=int(meta.get("chunk_count", 0)),
    )
