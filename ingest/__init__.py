"""Ingest: parse articles, chunk them and embed them into the Chroma store."""

from ingest.chunk import chunk_article
from ingest.parse import parse_article, parse_file_text, slugify
from ingest.pipeline import IngestResult, ingest_paths
from ingest.settings import Settings
from ingest.types import Article, Chunk, Citation, CitechatError, Reply

__all__ = [
    "Article", "Chunk", "Citation", "CitechatError", "IngestResult", "Reply", "Settings", "chunk_article",
    "ingest_paths", "parse_article", "parse_file_text", "slugify",
]
