"""Ingest throughput: `ingest_paths` on Python documentation pages, next to raw `encode` of the same texts.

Raw encode is the model's own `encode` over every chunk text the ingest embeds, with its default batching:
the most a pipeline built on this model could reach. Ingest is the whole path (read, parse HTML, chunk,
embed, write to Chroma) into a fresh store. The two alternate within each run. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.corpus import doc_root, pages_for, staged_pages


def run(chunks: int, runs: int) -> dict[str, object]:
    """Return per-run chunks/s of raw encode and of ingest, and their ratio."""
    from ingest.chunk import chunk_article
    from ingest.factory import load_embedder, open_store
    from ingest.parse import parse_file_text, slugify
    from ingest.pipeline import ingest_paths, version_of
    from ingest.reader import read_article_file
    from ingest.settings import Settings

    files, _ = pages_for(staged_pages(doc_root()), chunks)
    embedder = load_embedder(Settings())
    texts: list[str] = []
    for path in files:
        text = read_article_file(path, 50_000_000)
        article = parse_file_text(text, name=path.name, slug=slugify(path.stem))
        texts += [c.embedding_text() for c in chunk_article(article, version_of(text, embedder.name))]
    embedder.model.encode(texts[:64], show_progress_bar=False)  # warm-up, untimed
    encode_rate, ingest_rate, ratio = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        encode_rate.append(len(texts) / (time.perf_counter() - start))
        with tempfile.TemporaryDirectory(prefix="citechat-bench-ingest-") as tmp:
            settings = Settings(home=Path(tmp))  # type: ignore[call-arg]
            store = open_store(settings, embedder.name, embedder.dimension)
            start = time.perf_counter()
            results = ingest_paths(files, settings, store, embedder)
            seconds = time.perf_counter() - start
            stored = sum(r.chunks for r in results)
            store.client.clear_system_cache()  # let the next run open a fresh store in this process
        ingest_rate.append(stored / seconds)
        ratio.append(ingest_rate[-1] / encode_rate[-1])
    return {"chunks": len(texts), "pages": len(files), "encode_per_s": encode_rate, "ingest_per_s": ingest_rate,
            "ratio": ratio}


def main() -> None:
    """Print the ingest-throughput figures as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_rate")
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.chunks, args.runs)), flush=True)


if __name__ == "__main__":
    main()
