"""Thumbs up/down on answers, kept in SQLite in the data directory.

One short connection per write: several `citechat serve` processes on one host can share the file (WAL lets
readers and one writer work at once; busy_timeout waits out another writer), and `synchronous=FULL` makes a
rating survive a power cut once the request has returned.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.settings import Settings
from ingest.types import CitechatError

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    created TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    article TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    channel TEXT NOT NULL
)
"""
MAX_TEXT = 20_000  # longest question or answer stored; longer ones are cut (a rating needs no more)


class FeedbackDisabled(CitechatError):
    """Ratings cannot be saved (a read-only data dir); the message says so."""


def _writable(path: Path) -> bool:
    """True when the feedback file can be written: it, its WAL files and its folder (SQLite makes them)."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    files = [p for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")) if p.exists()]
    return os.access(folder, os.W_OK) and all(os.access(p, os.W_OK) for p in files)


@dataclass(frozen=True)
class Rating:
    """One stored thumbs up (+1) or down (-1) on an answer."""

    id: int
    created: str
    rating: int
    article: str
    question: str
    answer: str
    citations: list[dict[str, Any]]
    abstained: bool
    channel: str


def feedback_path(settings: Settings) -> Path:
    """Return the configured feedback database file (default: feedback.sqlite3 in the data directory)."""
    return settings.feedback_path or settings.home / "feedback.sqlite3"


class FeedbackStore:
    """Appends ratings to a SQLite file and reads them back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Why ratings are not saved (the file or its folder is read-only), or None. The rest of the app works
        # without them: answers are served from a read-only data dir.
        self.disabled: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not _writable(path):
                raise PermissionError(f"{path} is read-only")
            with closing(self._connect()) as db, db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(SCHEMA)
        except (OSError, sqlite3.OperationalError) as exc:
            if _writable(path):  # not a permissions problem: let it be seen
                raise
            log.warning("ratings are not saved: %s (%s)", path, exc)
            self.disabled = f"Ratings are not saved: {path} is read-only."

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=10000")
        return db

    def add(self, *, liked: bool, question: str, answer: str, article: str = "",
            citations: Sequence[dict[str, Any]] = (), abstained: bool = False, channel: str = "chat") -> int:
        """Store one rating and return its id; it is on disk when this returns. Raises FeedbackDisabled when
        ratings cannot be saved here."""
        if self.disabled is not None:
            raise FeedbackDisabled(self.disabled)
        row = (datetime.now(UTC).isoformat(timespec="seconds"), 1 if liked else -1, article,
               question[:MAX_TEXT], answer[:MAX_TEXT], json.dumps(list(citations), ensure_ascii=False),
               int(abstained), channel)
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO feedback (created, rating, article, question, answer, citations, abstained, channel)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            return int(cursor.lastrowid or 0)

    def ratings(self) -> list[Rating]:
        """Return every stored rating, oldest first."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT id, created, rating, article, question, answer, citations, abstained, "
                              "channel FROM feedback ORDER BY id").fetchall()
        return [Rating(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), bool(r[7]), r[8]) for r in rows]
