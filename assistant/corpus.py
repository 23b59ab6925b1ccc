"""The in-memory side of the store: active chunks, their lexical index and the article vocabulary."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property

from assistant.bm25 import BM25Index
from assistant.query import topical_words
from assistant.scope_words import general_zipf
from assistant.text import all_stems, stem, words
from ingest.store import ArticleRecord
from ingest.types import Chunk

# Nouns a question uses for the article's own subject: "Who gets this disease?" names no topic.
SUBJECT_NOUNS = frozenset(stem(w) for w in ("disease", "condition", "disorder", "illness"))


@dataclass
class Corpus:
    """Active chunks of the ingested articles, indexed for lexical search."""

    articles: dict[str, ArticleRecord]
    chunks: list[Chunk]
    index: BM25Index = field(init=False)
    chunk_stems: list[frozenset[str]] = field(init=False)
    section_stems: list[frozenset[str]] = field(init=False)
    context_stems: list[frozenset[str]] = field(init=False)
    position: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        documents = [all_stems(f"{c.section} {c.text}") for c in self.chunks]
        self.index = BM25Index(documents)
        self.chunk_stems = [frozenset(d) for d in documents]
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        self.section_stems = [frozenset(all_stems(c.section)) for c in self.chunks]
        self.context_stems = self._contexts()

    def _contexts(self) -> list[frozenset[str]]:
        """Each chunk's context: its section path, and the paragraph that opens its section (a lead-in
        such as "IVIG is the first-line treatment" gives the bullets below it their subject)."""
        leads: dict[tuple[str, str], str] = {}
        for chunk in self.chunks:
            key = (chunk.article, chunk.section)
            if key not in leads:
                leads[key] = chunk.text if chunk.kind == "paragraph" else ""
        contexts = []
        for chunk in self.chunks:
            lead = leads[(chunk.article, chunk.section)]
            own = lead == chunk.text
            contexts.append(frozenset(all_stems(chunk.section + ("" if own else " " + lead))))
        return contexts

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every lowercase word of the articles' chunks and section titles."""
        found: set[str] = set()
        for chunk in self.chunks:
            found.update(words(f"{chunk.section} {chunk.text}"))
        return frozenset(found)

    @cached_property
    def subject_stems(self) -> frozenset[str]:
        """Stems of the article titles' topical words: what every question is implicitly about."""
        titles = {stem(w) for r in self.articles.values() for w in topical_words(r.title)}
        return frozenset(titles | SUBJECT_NOUNS)

    @cached_property
    def average_idf(self) -> float:
        """Mean IDF of the indexed terms: the weight given to a question term the articles lack."""
        idfs = [self.index.idf(t) for t in self.index.postings]
        return sum(idfs) / len(idfs) if idfs else 1.0

    @cached_property
    def _long_words(self) -> list[str]:
        return sorted(w for w in self.vocabulary if len(w) >= 5)

    def knows(self, word: str, stem_: str) -> bool:
        """Return True when a word (or its stem, or a near spelling of it) occurs in the articles."""
        if stem_ in self.index.postings or word in self.vocabulary:
            return True
        if len(word) >= 7 and general_zipf(word) == 0:  # a typo, not another real word: "scleromixedema"
            return bool(difflib.get_close_matches(word, self._long_words, n=1, cutoff=0.85))
        return False

    def sentence_text(self, chunk: Chunk, start: int, end: int) -> str:
        """Return the article text of a sentence span."""
        return self.articles[chunk.article].text[start:end]
