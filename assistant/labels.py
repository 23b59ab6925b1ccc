"""Labels for headings that change how a quoted sentence must be read ("Critical pitfall: ...").

The rules are data, in rules/heading_labels.toml, with the headings each must take and the ordinary headings
none may take. Only the sentence's nearest heading counts: "Critical Pitfalls" labels its own bullets, not the
sections after it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RULES_FILE = Path(__file__).with_name("rules") / "heading_labels.toml"
SECTION_SEPARATOR = " > "


@dataclass(frozen=True)
class LabelRules:
    """The heading patterns, compiled, each with its label."""

    rules: tuple[tuple[re.Pattern[str], str], ...]

    def label(self, heading: str) -> str | None:
        """Return the label of the first rule that takes this heading, or None."""
        return next((label for pattern, label in self.rules if pattern.search(heading)), None)


@lru_cache(maxsize=1)
def load_label_rules(path: Path = RULES_FILE) -> LabelRules:
    """Return the rules read from their TOML file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return LabelRules(tuple((re.compile(r["pattern"], re.IGNORECASE), str(r["label"])) for r in data["rule"]))


def section_label(section: str) -> str | None:
    """Return the label for a sentence under this section path ("Treatment > Critical Pitfalls"), or None."""
    heading = section.rsplit(SECTION_SEPARATOR, 1)[-1].strip()
    return load_label_rules().label(heading) if heading else None
