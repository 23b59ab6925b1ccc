"""Summary questions ("Summarize the article", "Key points?", "Give me an overview of the treatment").

Answered with a few of the article's own sentences, cited: one per main section, each the most central of the
section's opening sentences (the one sharing most of its words with the rest of its section), in reading
order. A
question naming a topic ("...of the treatment") keeps the sections whose headings name it. Which questions
ask for a summary is data: rules/intents.toml, with the questions each side must take.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.addressed import addressed_to_assistant
from assistant.compose import leans
from assistant.corpus import Corpus
from assistant.query import STOPWORDS
from assistant.rank import Passage
from assistant.text import all_stems, stem, terms, words
from ingest.types import Chunk, Sentence

RULES_FILE = Path(__file__).with_name("rules") / "intents.toml"
MAX_SECTIONS = 6  # sentences in a summary at most: one per main section
MIN_PARTS = 3  # fewer main sections than this: their subsections, or runs of sentences, are the parts
MIN_WORDS = 6  # shorter sentences (headings run into text, "Yes.") say too little to stand for a section
LEAD_SENTENCES = 3  # a part's opening sentences, among which its most central one is chosen
SKIPPED_SECTIONS = re.compile(r"^\s*(references|bibliography|acknowledg\w*|funding|conflicts?\s+of\s+interest|"
                              r"competing\s+interests?|disclaimer|professional\s+medical\s+disclaimer|"
                              r"author\s+contributions?|supplementary\s+material)\b", re.IGNORECASE)
# Words of the summary request itself, never a topic: "Give me an overview of the treatment" names treatment.
REQUEST_WORDS = frozenset(stem(w) for w in (
    "summary", "summarize", "summarise", "overview", "key", "main", "point", "points", "takeaway", "finding",
    "message", "gist", "tldr", "article", "review", "paper", "page", "study", "leaflet", "know", "cover",
    "brief", "briefly", "explain", "describe", "give", "tell", "take", "home", "topic", "section"))


@dataclass(frozen=True)
class Intents:
    """The summary patterns, compiled."""

    summary: tuple[re.Pattern[str], ...]


@lru_cache(maxsize=1)
def load_intents(path: Path = RULES_FILE) -> Intents:
    """Return the question patterns read from their TOML file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Intents(tuple(re.compile(p, re.IGNORECASE) for p in data["summary"]["patterns"]))


def asks_for_summary(question: str) -> bool:
    """Return True when the question asks for the article (or a part of it) summarised."""
    return any(p.search(question) for p in load_intents().summary)


def summary_topic(question: str) -> frozenset[str]:
    """Return the stems of what a summary question narrows to ("...of the treatment"): empty for all."""
    # Not topical_words: "treatment" frames a question ("What is the treatment?") but names a section here.
    return frozenset(stem(w) for w in words(question) if w not in STOPWORDS and len(w) > 1) - REQUEST_WORDS


def summarize(view: Corpus, question: str, max_sentences: int = MAX_SECTIONS) -> list[Passage]:
    """Return the summary's sentences, in reading order: an empty list when the topic names no section."""
    sentences = [(chunk, sentence, view.sentence_text(chunk, sentence.start, sentence.end))
                 for chunk in view.chunks if not _skipped(chunk.section) for sentence in chunk.sentences]
    topic = summary_topic(question)
    if topic:
        sentences = [item for item in sentences if topic & set(all_stems(item[0].section))]
    parts = _parts(sentences, max_sentences)
    chosen = [(best, len(part)) for best, part in ((_central(part), part) for part in parts) if best is not None]
    if len(chosen) > max_sentences:  # the largest parts stand for the article
        chosen = sorted(chosen, key=lambda c: -c[1])[:max_sentences]
    return sorted((p for p, _ in chosen), key=lambda p: (p.chunk.article, p.sentence.start))


Item = tuple[Chunk, Sentence, str]


def _parts(items: Sequence[Item], most: int) -> list[list[Item]]:
    """The main sections of the text (top-level headings; their subsections when there are fewer than three);
    a text with fewer still (a research article's one "Text" section) cut into `most` runs of sentences."""
    for depth in (1, None):
        groups: dict[tuple[str, str], list[Item]] = {}
        for item in items:
            path = item[0].section if depth is None else " > ".join(item[0].section.split(" > ")[:depth])
            groups.setdefault((item[0].article, path), []).append(item)
        if len(groups) >= MIN_PARTS:
            return list(groups.values())
    size = math.ceil(len(items) / most) if items else 1
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _skipped(section: str) -> bool:
    return any(SKIPPED_SECTIONS.match(part) for part in section.split(" > "))


def _central(items: Sequence[tuple[Chunk, Sentence, str]]) -> Passage | None:
    """The sentence of a section sharing most of its words with the section's other sentences."""
    eligible = [(chunk, sentence, text, frozenset(terms(text))) for chunk, sentence, text in items
                if len(text.split()) >= MIN_WORDS and not leans(text) and not addressed_to_assistant(text)]
    if not eligible:
        return None
    candidates = eligible[:LEAD_SENTENCES]  # a section states its point first: the most central of its opening
    counts: dict[str, int] = {}
    for *_, stems in eligible:
        for s in stems:
            counts[s] = counts.get(s, 0) + 1

    def centrality(stems: frozenset[str]) -> float:
        return sum(counts[s] - 1 for s in stems) / math.sqrt(len(stems) + 1)

    chunk, sentence, text, stems = max(candidates, key=lambda c: (centrality(c[3]), -c[1].start))
    return Passage(chunk, sentence, text, score=1.0, dense=0.0, coverage=1.0)
