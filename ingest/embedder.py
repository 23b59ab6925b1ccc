"""The embedding model: a sentence-transformers model loaded from a local folder, never from a hub."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any


class Embedder:
    """Turns texts into unit-length vectors; `name` and `dimension` identify the vector space."""

    def __init__(self, model: Any, name: str) -> None:
        self.model = model
        self.name = name
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self.embed_query = lru_cache(maxsize=2048)(self._embed_query)

    def embed(self, texts: Sequence[str], batch_size: int = 64,
              progress: Callable[[int, int], None] | None = None) -> list[list[float]]:
        """Return one normalised vector per text, reporting (done, total) after each batch."""
        vectors: list[list[float]] = []
        for begin in range(0, len(texts), batch_size):
            batch = list(texts[begin: begin + batch_size])
            encoded = self.model.encode(batch, batch_size=batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
            vectors.extend(row.tolist() for row in encoded)
            if progress:
                progress(len(vectors), len(texts))
        return vectors

    def _embed_query(self, text: str) -> tuple[float, ...]:
        encoded = self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return tuple(encoded[0].tolist())
