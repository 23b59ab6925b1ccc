"""A bridge between lay words, clinical terms and shorthand, read from lexicon.txt."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from assistant.text import STOPWORDS, stem, terms, words

LEXICON_FILE = Path(__file__).with_name("lexicon.txt")


class Lexicon:
    """Groups of equivalent expressions; `expand` maps a question to the stems of related words."""

    def __init__(self, groups: list[list[str]]) -> None:
        self._by_stem: dict[str, set[int]] = {}
        self._phrases: list[tuple[re.Pattern[str], int]] = []
        self._group_stems: list[set[str]] = []
        for index, group in enumerate(groups):
            stems: set[str] = set()
            for entry in group:
                tokens = words(entry)
                if len(tokens) == 1 and tokens[0] in STOPWORDS:
                    continue  # "often", "before": framing words would match everywhere
                if len(tokens) == 1:
                    stems.add(stem(tokens[0]))
                    self._by_stem.setdefault(stem(tokens[0]), set()).add(index)
                else:
                    stems.update(terms(entry))
                    pattern = r"\b" + r"[\s-]+".join(map(re.escape, tokens)) + r"\b"
                    self._phrases.append((re.compile(pattern), index))
            self._group_stems.append(stems)

    def groups_in(self, text: str) -> set[int]:
        """Return the indexes of the groups a text touches, by word stem or by phrase."""
        lowered = text.lower()
        found: set[int] = set()
        for token in words(lowered):
            found |= self._by_stem.get(stem(token), set())
        for pattern, index in self._phrases:
            if pattern.search(lowered):
                found.add(index)
        return found

    def related(self, text: str) -> set[str]:
        """Return the stems related to a text through the lexicon (the text's own stems excluded)."""
        own = set(terms(text))
        related: set[str] = set()
        for index in self.groups_in(text):
            related |= self._group_stems[index]
        return related - own

    def concepts(self, text: str) -> list[frozenset[str]]:
        """Return the text's concepts: each content stem with its synonyms, and each phrase group it names."""
        found: list[frozenset[str]] = []
        covered: set[int] = set()
        for term in terms(text):
            groups = self._by_stem.get(term, set())
            covered |= groups
            members = {term}
            for index in groups:
                members |= self._group_stems[index]
            found.append(frozenset(members))
        for pattern, index in self._phrases:
            if index not in covered and pattern.search(text.lower()):
                covered.add(index)
                found.append(frozenset(self._group_stems[index]))
        return found

    def synonyms_of(self, term_stem: str) -> set[str]:
        """Return the stems sharing a group with one stem."""
        related: set[str] = set()
        for index in self._by_stem.get(term_stem, set()):
            related |= self._group_stems[index]
        return related - {term_stem}


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    """Return the lexicon read from a file of comma-separated groups ('#' starts a comment)."""
    groups = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            groups.append([entry.strip() for entry in line.split(",") if entry.strip()])
    return Lexicon(groups)
