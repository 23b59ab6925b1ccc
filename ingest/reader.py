"""Read an article file safely: size, binary and encoding checks with messages that say what to do."""

from __future__ import annotations

from pathlib import Path

from ingest.types import CitechatError


def read_article_file(path: Path, max_bytes: int) -> str:
    """Return the decoded text of an article file; raises CitechatError for unusable files."""
    if not path.exists():
        raise CitechatError(f"{path}: no such file.")
    if not path.is_file():
        raise CitechatError(f"{path}: not a file (give the path of a .txt, .md or .html article).")
    size = path.stat().st_size
    if size == 0:
        raise CitechatError(f"{path}: the file is empty.")
    if size > max_bytes:
        raise CitechatError(
            f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit for one article "
            "(set CITECHAT_MAX_ARTICLE_BYTES to raise it)."
        )
    data = path.read_bytes()
    utf16 = _utf16(data)
    if utf16:
        try:
            return data.decode(utf16).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            raise CitechatError(f"{path}: not valid {utf16.upper()} text (bad bytes at offset {exc.start}). Save "
                                "the article as UTF-8 and retry.") from exc
    if b"\x00" in data[:65536]:
        raise CitechatError(f"{path}: this looks like a binary file, not a text, Markdown or HTML article.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CitechatError(
            f"{path}: not valid UTF-8 (bad byte at offset {exc.start}). Save the article as UTF-8 and retry."
        ) from exc


def _utf16(data: bytes) -> str | None:
    """Return "utf-16" for text with a UTF-16 byte order mark, "utf-16-le"/"-be" for BOM-less UTF-16 (every
    other byte zero in its first kilobyte, as in Latin text saved so), else None."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = data[: min(len(data), 1024) // 2 * 2]
    if len(head) < 4:
        return None
    odd_zero, even_zero = head[1::2].count(0), head[0::2].count(0)
    half = len(head) // 2
    if odd_zero >= 0.9 * half and even_zero == 0:
        return "utf-16-le"
    if even_zero >= 0.9 * half and odd_zero == 0:
        return "utf-16-be"
    return None
