"""parse_article: from a saved page to an Article with a section tree, sentences, references and spans."""

from __future__ import annotations

import re
import unicodedata

from ingest.blocks import RawBlock, clean_inline, detect_format, to_blocks
from ingest.chrome import DISCLAIMER_HEADING, END_OF_BODY, PROMO_HEADING, is_chrome, last_updated
from ingest.front import label_parts, read_front_matter
from ingest.sentences import split_sentences
from ingest.types import Article, Block, CitechatError, Section, Sentence

BULLET_PREFIX = "- "


def slugify(name: str) -> str:
    """Return a lowercase ASCII slug (letters, digits, dashes) for an article name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60].strip("-") or "article"


def parse_article(text: str, *, slug: str, fmt: str = "text", source: str = "") -> Article:
    """Return the Article held in a page's text; raises CitechatError when no article text is found."""
    front = read_front_matter(text) if fmt == "text" else None
    raw = to_blocks(text[front.body_start:] if front else text, fmt)
    if fmt != "html":
        raw = label_parts(raw)
    page_updated = front.fields.get("date", "") if front else ""
    for block in raw:
        page_updated = page_updated or last_updated(block.text)
    title, body, disclaimer = _split_page(raw, front.title if front else None)
    if not any(b.kind != "heading" for b in body):
        raise CitechatError(
            f"No article text found in {source or slug!r}: it has no paragraphs or bullets after removing "
            "site chrome. Check that the file is the article itself (plain text, Markdown or HTML)."
        )
    return _assemble(slug, title, body, disclaimer, page_updated, source)


def parse_file_text(text: str, *, name: str, slug: str | None = None) -> Article:
    """Return the Article in a file's decoded text, choosing the format from its name and content."""
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", name.rsplit("/", 1)[-1])
    return parse_article(text, slug=slug or slugify(stem), fmt=detect_format(name, text), source=name)


def _split_page(raw: list[RawBlock], known_title: str | None = None) -> tuple[str, list[RawBlock], str]:
    """Return the title, the body blocks (chrome dropped) and the disclaimer of a page.

    With a title from the file's front matter, every block is body; otherwise the body starts at the title
    heading, and only site chrome before it is dropped.
    """
    headings = [b for b in raw if b.kind == "heading"]
    if known_title is not None:
        title = clean_inline(known_title)
        return title, *_body([RawBlock("heading", title, None), *raw], 0)
    if not headings:
        first = next((b for b in raw if b.text), None)
        title = first.text[:120] if first else ""
        return title, [b for b in raw if not is_chrome(b.text)], ""
    top = min((h.level for h in headings if h.level is not None), default=None)
    first_heading = next(h for h in headings if top is None or h.level == top)
    title = first_heading.text
    start = raw.index(first_heading)
    # Saved pages often show the title twice (browser title, then the article's H1): start at the last.
    for i in range(start + 1, len(raw)):
        if raw[i].kind == "heading" and _same(raw[i].text, title):
            start = i
    title = raw[start].text
    before = [b for b in raw[:start] if b.kind != "heading" and not is_chrome(b.text)]
    body, disclaimer = _body(raw, start)
    return title, body[:1] + before + body[1:], disclaimer


def _body(raw: list[RawBlock], start: int) -> tuple[list[RawBlock], str]:
    """Return the body blocks from `start` on (chrome dropped, up to the references) and the disclaimer."""
    body: list[RawBlock] = []
    disclaimer: list[str] = []
    mode = "body"
    for block in raw[start:]:
        if block.kind == "heading" and block is not raw[start]:
            if END_OF_BODY.match(block.text):
                mode = "after"
                continue
            if DISCLAIMER_HEADING.match(block.text):
                mode = "disclaimer"
                continue
            if PROMO_HEADING.match(block.text):
                mode = "after"
                continue
        if mode == "disclaimer" and block.kind != "heading":
            disclaimer.append(block.text)
        elif mode == "body" and not is_chrome(block.text):
            body.append(block)
        elif mode == "disclaimer":
            mode = "after"
    return body, " ".join(disclaimer)


def _same(a: str, b: str) -> bool:
    return clean_inline(a).casefold() == clean_inline(b).casefold()


def _levels(body: list[RawBlock]) -> list[int]:
    """Heading levels: explicit ones as given; in plain text, a heading right above another is its parent."""
    levels: list[int] = []
    parent_open = False
    for i, block in enumerate(body):
        if block.kind != "heading":
            levels.append(0)
            continue
        if block.level is not None:
            levels.append(block.level)
            continue
        if i == 0:
            levels.append(1)
            continue
        followed_by_heading = i + 1 < len(body) and body[i + 1].kind == "heading"
        if followed_by_heading:
            parent_open = True
            levels.append(2)
        else:
            levels.append(3 if parent_open else 2)
    return levels


def _assemble(slug: str, title: str, body: list[RawBlock], disclaimer: str, updated: str,
              source: str) -> Article:
    parts: list[str] = []
    offset = 0

    def emit(piece: str) -> int:
        nonlocal offset
        if parts:
            parts.append("\n\n")
            offset += 2
        begin = offset
        parts.append(piece)
        offset += len(piece)
        return begin

    sections: list[Section] = []
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []
    levels = _levels(body)
    top_level = min((lv for lv, b in zip(levels, body, strict=True) if b.kind == "heading"), default=1)
    if not body or body[0].kind != "heading":
        begin = emit(title)
        sections.append(Section(title, top_level, (title,), begin))
        stack = [(top_level, title)]
    for block, level in zip(body, levels, strict=True):
        if block.kind == "heading":
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, block.text))
            names = [name for lv, name in stack if lv > top_level] or [block.text]
            begin = emit(block.text)
            sections.append(Section(block.text, level, tuple(names), begin))
            continue
        path = sections[-1].path if sections else (title,)
        sentences = split_sentences(block.text)
        if not sentences:
            continue
        prefix = BULLET_PREFIX if block.kind == "bullet" else ""
        line = prefix + " ".join(text for text, _ in sentences)
        begin = emit(line)
        cursor = begin + len(prefix)
        spans: list[Sentence] = []
        for text, refs in sentences:
            spans.append(Sentence(cursor, cursor + len(text), refs))
            cursor += len(text) + 1
        blocks.append(Block(block.kind, path, begin + len(prefix), begin + len(line), tuple(spans)))
    return Article(
        slug=slug, title=title, text="".join(parts), sections=tuple(sections), blocks=tuple(blocks),
        disclaimer=disclaimer, updated=updated, source=source,
    )
