"""The in-memory side of the store: active chunks, their lexical index and the article vocabulary.

Everything a question is checked and ranked against is scoped: a question asked about one article is ranked and
checked against that article's chunks, words and title only (`Corpus.view`), never the rest of the store.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from assistant.addressed import addressed_to_assistant
from assistant.bm25 import BM25Index
from assistant.query import topical_words
from assistant.scope_words import general_zipf
from assistant.text import all_stems, stem, words
from ingest.store import ArticleRecord
from ingest.types import Chunk

if TYPE_CHECKING:
    from assistant.rank import Passage

# Nouns a question uses for the article's own subject: "Who gets this disease?" names no topic.
SUBJECT_NOUNS = frozenset(stem(w) for w in ("disease", "condition", "disorder", "illness"))
MAX_CACHED_VIEWS = 512  # one view per article asked about; a site with more articles rebuilds the coldest


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
    _views: dict[frozenset[str], Corpus] = field(init=False, default_factory=dict, repr=False)
    _addressed: dict[str, bool] = field(init=False, default_factory=dict, repr=False)  # shared with views
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

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

    def view(self, slugs: Iterable[str]) -> Corpus:
        """Return the corpus of the named articles only (itself when they are all of its articles), cached."""
        key = frozenset(slugs)
        if key >= self.articles.keys():
            return self
        with self._lock:
            found = self._views.get(key)
            if found is None:
                if len(self._views) >= MAX_CACHED_VIEWS:
                    self._views.pop(next(iter(self._views)))
                found = Corpus({s: r for s, r in self.articles.items() if s in key},
                               [c for c in self.chunks if c.article in key])
                found._addressed = self._addressed
                self._views[key] = found
            return found

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every lowercase word of the articles' chunks, section titles and titles."""
        found: set[str] = set()
        for chunk in self.chunks:
            found.update(words(f"{chunk.section} {chunk.text}"))
        for record in self.articles.values():
            found.update(words(record.title))
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

    def addressed(self, chunk: Chunk) -> bool:
        """Whether any sentence of the chunk is addressed to an AI or to the answer's writer (judged once per
        chunk: the check normalises every sentence, too slow to repeat for every question)."""
        verdict = self._addressed.get(chunk.id)
        if verdict is None:
            verdict = any(addressed_to_assistant(self.sentence_text(chunk, s.start, s.end)) for s in chunk.sentences)
            self._addressed[chunk.id] = verdict
        return verdict

    def previous_sentence(self, passage: Passage) -> Passage | None:
        """The sentence before a passage's: in its own chunk, else the last of the chunk before in the same
        section (the bullet before), as a passage of the same score; None at a section's start."""
        chunk, sentences = passage.chunk, passage.chunk.sentences
        index = next((i for i, s in enumerate(sentences) if s.start == passage.sentence.start), 0)
        if index == 0:
            position = self.position.get(chunk.id)
            if not position:
                return None
            chunk = self.chunks[position - 1]
            if chunk.article != passage.chunk.article or chunk.section != passage.chunk.section or not chunk.sentences:
                return None
            index = len(chunk.sentences)
        previous = chunk.sentences[index - 1]
        return replace(passage, chunk=chunk, sentence=previous, answers=frozenset(),
                       text=self.sentence_text(chunk, previous.start, previous.end))

    def sentence_text(self, chunk: Chunk, start: int, end: int) -> str:
        """Return the article text of a sentence span."""
        return self.articles[chunk.article].text[start:end]
