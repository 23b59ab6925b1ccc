"""Retrieval at scale: the Python documentation ingested through citechat's HTML path, then searched.

`python -m bench.scale build --size N` ingests the first pages holding N chunks into a cached store (embeddings
come from the vector cache when known). `python -m bench.scale query --size N` loads an Assistant over it and
times the lexical index, the dense index (Chroma), the hybrid ranking and whole answers; it measures dense
recall@10 against exact search (NumPy over the same vectors) and the process's memory. Each prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

from bench.common import elapsed_ms, peak_rss_mb, percentile, rss_mb
from bench.corpus import CachedEmbedder, VectorCache, cache_dir, corpus_key, doc_root, pages_for, staged_pages
from bench.queries import PYTHON_DOC_QUESTIONS, eval_questions

K = 10


def store_home(files: list[Path], model: str) -> Path:
    """Return the cached CITECHAT_HOME holding these pages ingested with this model, index and Chroma version."""
    import hashlib
    from importlib.metadata import version

    from ingest.store import HNSW

    index = hashlib.sha1(json.dumps(HNSW, sort_keys=True).encode()).hexdigest()[:8]
    return cache_dir() / "stores" / f"{model}-{corpus_key(files)}-hnsw{index}-chroma{version('chromadb')}"


def build(size: int) -> dict[str, Any]:
    """Ingest the pages holding `size` chunks (once: the store is cached); return what it took."""
    from ingest.factory import load_embedder, open_store
    from ingest.pipeline import ingest_paths
    from ingest.settings import Settings

    files, chunks = pages_for(staged_pages(doc_root()), size)
    embedder = load_embedder(Settings())
    home = store_home(files, embedder.name)
    if (home / ".complete").exists():
        return {"size": size, "chunks": chunks, "pages": len(files), "home": str(home), "cached": True}
    shutil.rmtree(home, ignore_errors=True)
    settings = Settings(home=home, ingest_lock_timeout=0)  # type: ignore[call-arg]
    cache = VectorCache(embedder.name, embedder.dimension)
    cached = CachedEmbedder(embedder, cache, save_every=10_000)
    store = open_store(settings, embedder.name, embedder.dimension)
    start = time.perf_counter()
    results = ingest_paths(files, settings, store, cached)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    cache.save()
    stored = sum(r.chunks for r in results)
    (home / ".complete").write_text(json.dumps({"chunks": stored, "pages": len(files)}))
    return {"size": size, "chunks": stored, "pages": len(files), "home": str(home), "cached": False,
            "seconds": seconds, "embedded": cached.embedded, "peak_rss_mb": peak_rss_mb()}


def query(size: int, runs: int) -> dict[str, Any]:
    """Time lexical, dense and hybrid retrieval and whole answers over the cached store of `size` chunks."""
    import numpy as np

    from assistant import Assistant
    from assistant.query import Query, build_query
    from assistant.rank import rank
    from ingest.factory import load_embedder, open_store
    from ingest.settings import Settings

    files, _ = pages_for(staged_pages(doc_root()), size)
    base_rss = rss_mb()
    embedder = load_embedder(Settings())
    home = store_home(files, embedder.name)
    if not (home / ".complete").exists():
        raise SystemExit(f"bench: no store for {size:,} chunks: run `python -m bench.scale build --size {size}`.")
    settings = Settings(home=home)  # type: ignore[call-arg]
    model_rss = rss_mb()
    start = time.perf_counter()
    store = open_store(settings, embedder.name, embedder.dimension)
    bot = Assistant(settings, store, embedder)
    corpus = bot.corpus()
    load_s = time.perf_counter() - start
    loaded_rss = rss_mb()
    versions = dict(bot._versions)
    questions = PYTHON_DOC_QUESTIONS + eval_questions()
    queries = [build_query(q, [], bot.lexicon) for q in questions]
    vectors = {q.text: embedder.embed_query(q.text) for q in queries}  # cached: retrieval timings exclude it

    rank(queries[0], corpus, store, embedder, versions, settings.retrieve_k)  # loads the index: not timed
    lexical: list[list[float]] = []
    dense: list[list[float]] = []
    hybrid: list[list[float]] = []
    answers: list[list[float]] = []
    for _ in range(runs):
        lex, den, hyb, ans = [], [], [], []
        for q in queries:  # the answers below clear the query cache: embed again, untimed
            embedder.embed_query(q.text)
        for q in queries:
            t = time.perf_counter()
            corpus.index.top(q.weights, settings.retrieve_k)
            lex.append(elapsed_ms(t))
            t = time.perf_counter()
            store.search(vectors[q.text], settings.retrieve_k, versions)
            den.append(elapsed_ms(t))
            t = time.perf_counter()
            rank(q, corpus, store, embedder, versions, settings.retrieve_k)
            hyb.append(elapsed_ms(t))
        for question in PYTHON_DOC_QUESTIONS:
            embedder.embed_query.cache_clear()
            t = time.perf_counter()
            bot.ask(question)
            ans.append(elapsed_ms(t))
        lexical.append(lex)
        dense.append(den)
        hybrid.append(hyb)
        answers.append(ans)

    serving_peak = peak_rss_mb()  # before the exact-search matrix, which only the bench holds

    # Exact search over the very vectors the store holds, read back from Chroma into one matrix.
    collection = store.client.get_collection(f"{settings.collection_prefix}-chunks")
    ids = [c.id for c in corpus.chunks]
    matrix = np.zeros((len(ids), embedder.dimension), dtype=np.float32)
    for begin in range(0, len(ids), 5000):
        got = collection.get(ids=ids[begin: begin + 5000], include=["embeddings"])
        row = {i: e for i, e in zip(got["ids"], got["embeddings"], strict=True)}
        matrix[begin: begin + len(row)] = np.stack([row[i] for i in ids[begin: begin + 5000]])
    position = {chunk_id: row for row, chunk_id in enumerate(ids)}

    def recall(subset: list[Query], matrix: np.ndarray) -> float:
        hits = 0
        for q in subset:
            exact = matrix @ np.asarray(vectors[q.text], dtype=np.float32)
            kth = np.partition(-exact, K - 1)[K - 1]
            found = store.search(vectors[q.text], K, versions)
            # A hit is a result as near as the exact k-th: duplicate passages tie, and any of them is right.
            hits += sum(1 for chunk_id, _ in found if -exact[position[chunk_id]] <= kth + 1e-5)
        return hits / (K * len(subset))

    on_topic = queries[:len(PYTHON_DOC_QUESTIONS)]
    off_topic = queries[len(PYTHON_DOC_QUESTIONS):]
    recalls = {"all": recall(queries, matrix), "on_topic": recall(on_topic, matrix),
               "off_topic": recall(off_topic, matrix)}
    del matrix  # 170 MB at 110k chunks: not part of what the assistant holds

    def stats(samples: list[list[float]]) -> dict[str, list[float]]:
        return {"p50": [percentile(s, 50) for s in samples], "p95": [percentile(s, 95) for s in samples]}

    return {
        "size": size, "chunks": len(corpus.chunks), "pages": len(files), "queries": len(queries),
        "load_s": load_s, "recall_at_10": recalls, "lexical_ms": stats(lexical), "dense_ms": stats(dense),
        "hybrid_ms": stats(hybrid), "ask_ms": stats(answers), "rss_base_mb": base_rss, "rss_model_mb": model_rss,
        "rss_loaded_mb": loaded_rss, "peak_rss_mb": serving_peak,
        "store_mb": sum(f.stat().st_size for f in home.rglob("*") if f.is_file()) / 2**20,
        "hnsw": collection.configuration_json["hnsw"],
    }


def main() -> None:
    """Run one phase for one size and print its JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("phase", choices=["build", "query"])
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    result = build(args.size) if args.phase == "build" else query(args.size, args.runs)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
