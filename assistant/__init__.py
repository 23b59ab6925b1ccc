"""The assistant: history-aware hybrid retrieval and cited extractive answers over ingested articles."""

from assistant.core import Assistant, StreamEvent
from ingest.settings import Settings
from ingest.types import Citation, CitechatError, Reply

__all__ = ["Assistant", "Citation", "CitechatError", "Reply", "Settings", "StreamEvent"]
