"""Turn plain text, Markdown or HTML into a flat list of headings, paragraphs and bullets."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

BULLET = re.compile(r"^\s*(?:[•●▪◦‣∙·*+-]|\d{1,3}[.)])\s+")
MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
SPACES = re.compile(r"\s+")
# Characters that would corrupt spans or rendering, or hide inside words from search and checks: controls (but
# tab/newline), soft hyphens, zero-width spaces and joiners, word joiners and invisible operators, the Mongolian
# vowel separator, bidi marks and overrides, BOM.
UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                          "\u2066-\u2069\ufeff]")
# Lines that are figure or table residue, never section titles.
NOT_HEADING = re.compile(r"^(fig(ure)?s?|tables?|supplementa(l|ry)|panel|appendix)\b\.?\s*[\dA-Z]", re.I)
HTML_ENTITY = re.compile(r"&(#\d{1,6}|#x[0-9a-f]{1,5}|[a-z][a-z0-9]{1,30});", re.I)
HTML_DROP = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "svg",
             "template", "button", "select", "object", "embed", "canvas"]


@dataclass(frozen=True)
class RawBlock:
    """A heading, paragraph or bullet as found in the source; `level` is None when the source has none."""

    kind: str  # "heading", "paragraph" or "bullet"
    text: str
    level: int | None = None


def clean_inline(text: str) -> str:
    """Return text with unsafe characters removed and white space folded to single spaces."""
    return SPACES.sub(" ", UNSAFE_CHARS.sub("", text)).strip()


def detect_format(name: str, text: str) -> str:
    """Return 'html', 'markdown' or 'text' from the file name, sniffing the content for HTML."""
    lower = name.lower()
    if lower.endswith((".html", ".htm", ".xhtml")):
        return "html"
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype html", "<html")):
        return "html"
    return "text"


def to_blocks(text: str, fmt: str) -> list[RawBlock]:
    """Return the blocks of a source in reading order, for fmt 'text', 'markdown' or 'html'."""
    if fmt == "html":
        return _html_blocks(text)
    return _line_blocks(text, markdown=fmt == "markdown")


def _line_blocks(text: str, *, markdown: bool) -> list[RawBlock]:
    # Text exported from web pages keeps HTML entities ("2.49&minus;2.63"): they are characters, not markup.
    text = HTML_ENTITY.sub(lambda m: html.unescape(m.group()), text)
    groups: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            groups[-1].append(line)
        elif groups[-1]:
            groups.append([])
    blocks: list[RawBlock] = []
    for group in groups:
        blocks.extend(_group_blocks(group, markdown=markdown))
    return blocks


def _group_blocks(lines: list[str], *, markdown: bool) -> list[RawBlock]:
    """Split a run of non-blank lines into headings, bullets and one joined paragraph per run."""
    out: list[RawBlock] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            text = _inline_md(" ".join(paragraph)) if markdown else clean_inline(" ".join(paragraph))
            if text:
                out.append(RawBlock("paragraph", text))
            paragraph.clear()

    for line in lines:
        heading = MD_HEADING.match(line) if markdown else None
        if heading:
            flush()
            out.append(RawBlock("heading", _inline_md(heading.group(2)), len(heading.group(1))))
        elif BULLET.match(line) and not (markdown and line.strip() in {"---", "***", "___"}):
            flush()
            body = BULLET.sub("", line, count=1)
            out.append(RawBlock("bullet", _inline_md(body) if markdown else clean_inline(body)))
        elif out and out[-1].kind == "bullet" and not paragraph and line[:1].isspace():
            previous = out.pop()  # an indented continuation line belongs to the bullet above it
            out.append(RawBlock("bullet", clean_inline(f"{previous.text} {line}")))
        elif markdown and line.strip() in {"---", "***", "___"}:
            flush()
        else:
            paragraph.append(line)
    flush()
    if not markdown and len(out) == 1 and out[0].kind == "paragraph" and len(lines) == 1:
        only = out[0]
        if _looks_like_heading(only.text):
            return [RawBlock("heading", only.text)]
    return out


def _looks_like_heading(line: str) -> bool:
    """A standalone short line without sentence punctuation reads as a heading in plain text; a table row,
    a figure or table label, or a line of numbers does not."""
    words = line.split()
    digits = sum(c.isdigit() for c in line)
    return (
        0 < len(words) <= 10
        and len(line) <= 90
        and line[0].isupper()
        and not line.endswith((".", ",", ";", ":"))
        and not re.search(r"\s\d{1,3}(?:,\s*\d{1,3})*$", line)
        and digits <= 0.15 * len(line)
        and not NOT_HEADING.match(line)
    )


def _inline_md(text: str) -> str:
    text = MD_LINK.sub(lambda m: m.group(1) if not m.group(0).startswith("!") else "", text)
    for _ in range(2):
        text = MD_EMPHASIS.sub(r"\2", text)
    return clean_inline(text)


def _html_blocks(text: str) -> list[RawBlock]:
    from bs4 import BeautifulSoup  # only HTML needs it: keeps ~40 ms off every `citechat` command

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup.find_all(HTML_DROP):
        tag.decompose()
    blocks: list[RawBlock] = []
    title = soup.find("title")
    if title and title.get_text(strip=True) and not soup.find("h1"):
        blocks.append(RawBlock("heading", clean_inline(title.get_text(" ")), 1))
    body = soup.body or soup
    for element in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "dd", "dt", "blockquote",
                                  "pre", "td"]):
        name = element.name or ""
        enclosing = ["p", "blockquote", "td", "pre"] + ([] if name == "li" else ["li"])
        if element.find_parent(enclosing) is not None:
            continue  # its text is already part of the enclosing block
        if name in {"li", "dd"} and element.find(["ul", "ol"]):
            # a list item holding a nested list: keep only its own leading text
            own = "".join(t for t in element.find_all(string=True, recursive=False))
            content = clean_inline(own)
        else:
            content = clean_inline(element.get_text(" "))
        if not content:
            continue
        if name.startswith("h") and len(name) == 2:
            blocks.append(RawBlock("heading", content, int(name[1])))
        elif name in {"li", "dd"}:
            blocks.append(RawBlock("bullet", content))
        else:
            blocks.append(RawBlock("paragraph", content))
    return blocks
