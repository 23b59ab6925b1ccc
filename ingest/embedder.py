"""The embedding model: a sentence-transformers model loaded from a local folder, never from a hub."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

# Torch threads for embedding one question. A short text gains nothing from a second thread (measured: the
# same p50), and when another process or request holds a core the two threads wait on each other: single
# queries then took 120-400 ms instead of 8 ms on two cores. Batches (ingest) keep all of torch's threads.
QUERY_THREADS = 1


class Embedder:
    """Turns texts into unit-length vectors; `name` and `dimension` identify the vector space."""

    def __init__(self, model: Any, name: str) -> None:
        self.model = model
        self.name = name
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self.embed_query = lru_cache(maxsize=2048)(self._embed_query)
        self.batch_threads = _batch_threads()

    def embed(self, texts: Sequence[str], batch_size: int = 32,
              progress: Callable[[int, int], None] | None = None) -> list[list[float]]:
        """Return one normalised vector per text, reporting (done, total) after each batch."""
        # Longest first, as `encode` orders one call: a batch of similar lengths pads little. In text order
        # a batch pads every paragraph to its longest one (0.6-0.7x of raw `encode` throughput).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        with _threads(self.batch_threads):
            for begin in range(0, len(order), batch_size):
                batch = order[begin: begin + batch_size]
                encoded = self.model.encode([texts[i] for i in batch], batch_size=batch_size,
                                            normalize_embeddings=True, convert_to_numpy=True,
                                            show_progress_bar=False)
                for i, row in zip(batch, encoded, strict=True):
                    vectors[i] = row.tolist()
                if progress:
                    progress(begin + len(batch), len(texts))
        return vectors

    def _embed_query(self, text: str) -> tuple[float, ...]:
        torch = _torch()
        if torch.get_num_threads() != QUERY_THREADS:  # per calling thread; set once, not per question
            torch.set_num_threads(QUERY_THREADS)
        encoded = self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return tuple(encoded[0].tolist())


def _torch() -> Any:
    import torch  # already loaded with the model; imported here to keep it off the CLI's import path

    return torch


@lru_cache(maxsize=1)
def _batch_threads() -> int:
    """Torch's thread count for batches: its own default, read before any question lowers it."""
    return int(_torch().get_num_threads())


@contextmanager
def _threads(count: int) -> Iterator[None]:
    """Run a block with `count` torch threads in the calling thread, then restore the previous count."""
    torch = _torch()
    previous = torch.get_num_threads()
    if previous != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if previous != count:
            torch.set_num_threads(previous)
