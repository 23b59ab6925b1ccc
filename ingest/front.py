"""Front matter and part labels of article files: what describes an article rather than saying something.

Research articles exported as text open with a title line and then lines of metadata (a URL, `SHA:`, authors, a
date, a DOI, a licence), and label their parts inline (`Abstract: ...`, `Text: ...`). The rules are data, in
rules/front_matter.toml with the cases each must take.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ingest.blocks import RawBlock

RULES_FILE = Path(__file__).with_name("rules") / "front_matter.toml"
MAX_FRONT_LINES = 25  # front matter is the head of a file: never look further for it
MAIN_TEXT = "Main text"
PART_LEVEL = 2  # the abstract and the main text are parts of the article, below its title


@dataclass(frozen=True)
class FrontMatter:
    """The title and metadata lines found at the head of a file, and where the article text begins."""

    title: str
    fields: dict[str, str] = field(default_factory=dict)
    body_start: int = 0  # character offset of the first line after the front matter


@dataclass(frozen=True)
class Rules:
    """The front-matter line patterns by kind, and the labels of an article's parts."""

    lines: tuple[tuple[str, re.Pattern[str]], ...]
    headed: tuple[str, ...]
    unheaded: tuple[str, ...]
    placeholders: frozenset[str]

    def kind(self, line: str) -> str | None:
        """Return the kind of front-matter line this is ('url', 'doi'...), or None for article text."""
        text = line.strip()
        return next((kind for kind, pattern in self.lines if pattern.fullmatch(text)), None)


@lru_cache(maxsize=1)
def load_rules(path: Path = RULES_FILE) -> Rules:
    """Return the front-matter rules read from their TOML file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    lines = tuple((r["kind"], re.compile(r["pattern"], re.IGNORECASE)) for r in data["rule"])
    parts = data["parts"]
    return Rules(lines, tuple(parts["headed"]), tuple(parts["unheaded"]),
                 frozenset(p.casefold() for p in parts["placeholders"]))


def read_front_matter(text: str, rules: Rules | None = None) -> FrontMatter | None:
    """Return the front matter of a plain-text article: a first line followed at once by metadata lines.

    None when the file does not open that way (a saved web page, a leaflet): its title is found as before.
    """
    rules = rules or load_rules()
    offset = 0
    title = ""
    fields: dict[str, str] = {}
    seen = 0
    end = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        offset += len(line)
        if not stripped:
            continue
        seen += 1
        if seen > MAX_FRONT_LINES:
            break
        kind = rules.kind(stripped)
        if not title:
            if kind is not None:
                return None  # a file that opens with metadata has no title line to trust
            title = stripped
            continue
        if kind is None:
            break
        fields.setdefault(kind, stripped)
        end = offset
    if not title or not fields:
        return None
    return FrontMatter(title=title, fields=fields, body_start=end)


def label_parts(blocks: list[RawBlock], rules: Rules | None = None) -> list[RawBlock]:
    """Return the blocks with part labels lifted: 'Abstract: ...' becomes an Abstract heading and its text,
    'Text: ...' plain text, and a part that holds only a placeholder ('Abstract: nan') is dropped."""
    rules = rules or load_rules()
    labels = sorted((*rules.headed, *rules.unheaded), key=len, reverse=True)
    pattern = re.compile(r"^(" + "|".join(map(re.escape, labels)) + r")\s*:\s*", re.IGNORECASE)
    out: list[RawBlock] = []
    headed = False
    for block in blocks:
        match = pattern.match(block.text) if block.kind != "bullet" else None
        if not match:
            out.append(block)
            continue
        label = match.group(1)
        rest = block.text[match.end():].strip()
        if rest.casefold() in rules.placeholders:
            continue
        if label.casefold() in rules.headed:
            out.append(RawBlock("heading", label.capitalize(), PART_LEVEL))
            headed = True
        elif headed:  # the text after an abstract is not part of the abstract
            out.append(RawBlock("heading", MAIN_TEXT, PART_LEVEL))
            headed = False
        if rest:
            out.append(RawBlock("paragraph", rest))
    return out
