"""chunk_article: one chunk per paragraph or bullet, long paragraphs cut at sentence boundaries."""

from __future__ import annotations

import hashlib

from ingest.types import Article, Block, Chunk, Sentence

MAX_CHUNK_CHARS = 900


def chunk_article(article: Article, version: str) -> list[Chunk]:
    """Return the article's chunks in reading order; ids depend on the article version and content."""
    chunks: list[Chunk] = []
    for block in article.blocks:
        for run in _sentence_runs(block):
            start, end = run[0].start, run[-1].end
            text = article.text[start:end]
            digest = hashlib.sha256(f"{article.slug}\0{version}\0{start}\0{text}".encode()).hexdigest()
            chunks.append(Chunk(
                id=f"{article.slug}:{digest[:24]}", article=article.slug, section=" > ".join(block.section),
                text=text, start=start, end=end, order=len(chunks), sentences=tuple(run), kind=block.kind,
            ))
    return chunks


def _sentence_runs(block: Block) -> list[list[Sentence]]:
    runs: list[list[Sentence]] = [[]]
    for sentence in block.sentences:
        run = runs[-1]
        if run and sentence.end - run[0].start > MAX_CHUNK_CHARS:
            runs.append([])
        runs[-1].append(sentence)
    return [r for r in runs if r]
