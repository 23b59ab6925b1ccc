"""Checks of an embedded store before Chroma opens it: one that cannot be read, or that lost its data, is a
clear error naming the path and what to do; a store in a read-only data dir is read from a private copy.

Chroma would otherwise die deep inside its Rust bindings on a damaged file, and it silently creates an empty
database where `chroma.sqlite3` is missing or empty, which made a 30-article site answer "not covered" to
everything. The rule here: a store folder with no index folders in it is new (a home with no store at all);
one with index folders but a missing or empty `chroma.sqlite3` lost its data.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from ingest.settings import Settings
from ingest.types import CitechatError

SQLITE_FILE = "chroma.sqlite3"
SQLITE_MAGIC = b"SQLite format 3\x00"
RESTORE = "Restore {store} from a backup, or move it aside and ingest your articles again with `citechat ingest PATH`."


def lost(store: Path, what: str) -> CitechatError:
    return CitechatError(
        f"The article store in {store} has lost its data: {what}, but its index folders are still there. "
        "citechat does not start an empty store in its place. " + RESTORE.format(store=store))


def unreadable(store: Path, why: str) -> CitechatError:
    return CitechatError(f"The article store in {store} cannot be read: {why}. " + RESTORE.format(store=store))


def check_store(store: Path, sqlite_file: Path | None = None) -> None:
    """Raise CitechatError when the store folder `store` cannot be read or lost its data; a missing or empty
    folder is a new store and passes. With `sqlite_file` (the file Chroma will open: `store`'s own or a
    copy of it), also run SQLite's quick integrity check on it, which reads every page."""
    database = store / SQLITE_FILE
    try:
        if not store.exists():
            return
        index_folders = [p for p in store.iterdir() if p.is_dir() and any(p.iterdir())]
        size = database.stat().st_size if database.exists() else None
        if not size:
            if index_folders:
                raise lost(store, f"{SQLITE_FILE} is missing" if size is None else f"{SQLITE_FILE} is empty (0 bytes)")
            return
        with database.open("rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise unreadable(store, f"{exc.strerror or exc} ({exc.filename or store})") from exc
    if not header.startswith(SQLITE_MAGIC):
        raise unreadable(store, f"{SQLITE_FILE} is not a SQLite database (its first bytes are garbage)")
    expected = _size_in_header(header)
    if expected is not None and size < expected:
        raise unreadable(store, f"{SQLITE_FILE} is truncated ({size:,} of its {expected:,} bytes are there)")
    if sqlite_file is not None:
        problem = _quick_check(sqlite_file)
        if problem is not None:
            raise unreadable(store, f"{SQLITE_FILE} is damaged (SQLite says: {problem})")


def _size_in_header(header: bytes) -> int | None:
    """The database size the SQLite header records, when the header says that field is valid."""
    if len(header) < 100:
        return None
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    change_counter, valid_for = header[24:28], header[92:96]
    return page_size * pages if pages and change_counter == valid_for else None


def _quick_check(path: Path) -> str | None:
    """SQLite's `quick_check` of a file (every page read, no index cross-check): None when it is sound."""
    try:
        with _readable(path) as db:
            rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):  # a writer holds it: no verdict, Chroma will wait it out
            return None
        return str(exc)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    found = " ".join(str(r[0]) for r in rows[:3]).replace("\n", " ")
    return None if found == "ok" else found.replace("*** in database main *** ", "")


def _readable(path: Path) -> sqlite3.Connection:
    # Never create the file; read-only where it cannot be written (a writable one may roll back a hot journal,
    # as Chroma itself would when it opens the file).
    mode = "rw" if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK) else "ro"
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=10)


def read_only_reason(settings: Settings) -> str | None:
    """Return why the embedded store cannot be written ("the data dir ... is read-only"), or None."""
    store = settings.chroma_path
    database = store / SQLITE_FILE
    if database.exists():
        blocked = [p for p in (store, database) if not os.access(p, os.W_OK)]
    elif store.exists():
        blocked = [store] if not os.access(store, os.W_OK) else []
    else:  # no store yet: could one be made?
        parent = settings.home
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        blocked = [parent] if not os.access(parent, os.W_OK) else []
    if not blocked:
        return None
    home = settings.home.resolve()
    first = blocked[0].resolve()
    return f"the data dir {settings.home} is read-only" if first.is_relative_to(home) or first == home \
        else f"{blocked[0]} is read-only (it holds the data dir {settings.home})"


def snapshot(store: Path) -> Path:
    """Copy a store Chroma cannot open in place (it writes to its database on opening, even to read) to a
    private temporary folder, removed at exit; return the copy's store folder."""
    base = Path(tempfile.mkdtemp(prefix="citechat-read-only-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    copy = base / store.name
    if not store.exists():
        return copy
    try:
        for folder, _, files in os.walk(store):
            target = copy / Path(folder).relative_to(store)
            target.mkdir(parents=True, exist_ok=True)
            for name in files:
                shutil.copyfile(Path(folder) / name, target / name)  # the data, not the read-only modes
    except OSError as exc:
        raise CitechatError(
            f"The article store in {store} is read-only, and copying it to {base} to read it failed: "
            f"{exc.strerror or exc}. Free some space in {base.parent} (or set TMPDIR), or make {store} writable."
        ) from exc
    return copy
