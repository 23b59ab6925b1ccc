"""Okapi BM25 over an inverted index: a query touches only the postings of its own terms."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence


class BM25Index:
    """A BM25 index of documents given as lists of stems."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.size = len(documents)
        self.lengths = [len(d) for d in documents]
        self.average = (sum(self.lengths) / self.size) if self.size else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for doc, tokens in enumerate(documents):
            for term, count in Counter(tokens).items():
                self.postings.setdefault(term, []).append((doc, count))

    def idf(self, term: str) -> float:
        """Return the term's inverse document frequency (0 for unknown terms)."""
        df = len(self.postings.get(term, ()))
        if not df:
            return 0.0
        return math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, weighted_terms: Mapping[str, float]) -> dict[int, float]:
        """Return {document index: BM25 score} for the documents that contain any query term."""
        scores: dict[int, float] = {}
        for term, weight in weighted_terms.items():
            postings = self.postings.get(term)
            if not postings or weight <= 0:
                continue
            idf = self.idf(term) * weight
            for doc, tf in postings:
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[doc] / self.average)
                scores[doc] = scores.get(doc, 0.0) + idf * tf * (self.k1 + 1) / norm
        return scores

    def top(self, weighted_terms: Mapping[str, float], k: int) -> list[tuple[int, float]]:
        """Return the k best (document index, score) pairs."""
        scores = self.scores(weighted_terms)
        return sorted(scores.items(), key=lambda item: -item[1])[:k]
