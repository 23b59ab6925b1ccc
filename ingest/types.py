"""The data every stage shares: parsed articles, chunks, citations and replies."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class CitechatError(Exception):
    """An error a user can cause and fix; its message says what to do."""


@dataclass(frozen=True)
class Sentence:
    """One sentence of the cleaned article: its text is `article.text[start:end]`."""

    start: int
    end: int
    refs: tuple[int, ...] = ()


@dataclass(frozen=True)
class Section:
    """A heading of the article with its place in the tree."""

    title: str
    level: int
    path: tuple[str, ...]
    start: int


@dataclass(frozen=True)
class Block:
    """A paragraph or bullet of the cleaned article, with the sentences it holds."""

    kind: str  # "paragraph" or "bullet"
    section: tuple[str, ...]
    start: int
    end: int
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Article:
    """An article after parsing: cleaned text, its sections and blocks, and what was set aside."""

    slug: str
    title: str
    text: str
    sections: tuple[Section, ...]
    blocks: tuple[Block, ...]
    disclaimer: str = ""
    updated: str = ""
    source: str = ""

    def section_paths(self) -> list[str]:
        """Return every section path as 'Parent > Child' strings, in reading order."""
        return [" > ".join(s.path) for s in self.sections]


@dataclass(frozen=True)
class Chunk:
    """A unit of retrieval: a block (or part of a long one) with its section path."""

    id: str
    article: str
    section: str
    text: str
    start: int
    end: int
    order: int
    sentences: tuple[Sentence, ...]
    kind: str = "paragraph"

    @property
    def refs(self) -> tuple[int, ...]:
        """The article's reference numbers cited anywhere in the chunk."""
        seen: dict[int, None] = {}
        for sentence in self.sentences:
            seen.update(dict.fromkeys(sentence.refs))
        return tuple(seen)

    def embedding_text(self) -> str:
        """Text given to the embedding model: section path for context, then the chunk."""
        return f"{self.section}: {self.text}" if self.section else self.text


@dataclass(frozen=True)
class Citation:
    """A cited passage: `text` is exactly `article_text[start:end]` of the named article."""

    number: int
    article: str
    section: str
    text: str
    start: int
    end: int
    refs: tuple[int, ...] = ()
    chunk_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the CLI and the HTTP API."""
        data = asdict(self)
        data["refs"] = list(self.refs)
        return data


@dataclass(frozen=True)
class Statement:
    """A sentence of an answer, without its markers: the citations it carries and how well they support it.

    `support` is the support check's score (1.0 for the article's own sentence in an extractive answer).
    """

    text: str
    citations: tuple[int, ...]
    support: float = 1.0
    supported: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the CLI and the HTTP API."""
        return {"text": self.text, "citations": list(self.citations), "support": self.support,
                "supported": self.supported}


@dataclass(frozen=True)
class Reply:
    """An answer whose inline markers [n] match `citations`, or an abstention.

    `mode` says what produced it: "extractive" (the article's sentences), "llm" (a generated answer whose
    every sentence passed the grounding guard) or "extractive-fallback" (the language model failed or too
    little of its answer was supported; `notice` says which). `statements` are the answer's sentences.
    """

    answer: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    article: str = ""
    mode: str = "extractive"
    query: str = ""
    notice: str = ""
    suggestions: tuple[str, ...] = field(default=())
    statements: tuple[Statement, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the CLI and the HTTP API."""
        return {
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "abstained": self.abstained,
            "article": self.article,
            "mode": self.mode,
            "notice": self.notice,
            "statements": [s.to_dict() for s in self.statements],
        }
