"""Is article text addressed to an AI, or instructing whoever writes the answer, rather than informing a reader?

One check for every mode: the extractive ranker never quotes such text, the model is never given it, and the
grounding guard drops a generated sentence that reads like it. Planted text hides its words from a pattern
with invisible characters (a soft hyphen inside "Ignore"), compatibility forms and odd spacing, so the text
is normalised before matching; the article's stored text and character spans are never changed. The patterns
are data, in rules/addressed.toml, with the text each must take and the ordinary text none may take.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RULES_FILE = Path(__file__).with_name("rules") / "addressed.toml"
PART = re.compile(r"\{([a-z_]+)\}")  # "{addressee}"; a count such as {0,60} has no letters
SPACE = re.compile(r"\s+")
# Quotes and dashes written more than one way, so "you’re" matches a pattern written with "you're".
UNIFY = str.maketrans({"‘": "'", "’": "'", "ʼ": "'", "“": '"', "”": '"', "‐": "-", "‑": "-", "‒": "-",
                       "–": "-", "—": "-", "―": "-", "−": "-"})


@dataclass(frozen=True)
class Rules:
    """The named patterns, compiled."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    def match(self, text: str) -> str | None:
        """Return the name of the first rule that takes the (normalised) text, or None."""
        return next((name for name, pattern in self.patterns if pattern.search(text)), None)


@lru_cache(maxsize=1)
def load_rules(path: Path = RULES_FILE) -> Rules:
    """Return the rules read from their TOML file, each pattern's {parts} filled in."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    parts = data.get("parts", {})

    def fill(pattern: str) -> str:
        def part(found: re.Match[str]) -> str:
            if found.group(1) not in parts:
                raise KeyError(f"{path.name}: no part named {found.group(1)!r}")
            return fill(parts[found.group(1)])
        return PART.sub(part, pattern)

    return Rules(tuple((rule["name"], re.compile(fill(rule["pattern"]), re.IGNORECASE | re.VERBOSE))
                       for rule in data["rule"]))


def normalise(text: str) -> str:
    """Return text as matched: NFKC, format characters (category Cf) dropped, quotes, dashes, spaces unified."""
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return SPACE.sub(" ", text.translate(UNIFY)).strip()


@lru_cache(maxsize=8192)
def addressed_rule(text: str) -> str | None:
    """Return the name of the rule by which text is addressed to an AI or to whoever writes the answer."""
    return load_rules().match(normalise(text))


def addressed_to_assistant(text: str) -> bool:
    """Return True when text instructs an AI or the answer's writer rather than informing a reader."""
    return addressed_rule(text) is not None
