"""compose: an extractive answer from the article's own sentences, every sentence cited."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

from assistant.labels import section_label
from assistant.rank import Passage
from assistant.text import all_stems
from ingest.types import Citation, Reply, Statement

CLOSING = (".", "!", "?")
GAP_FILL_MARGINS = 3  # a sentence naming a topic of the question no chosen sentence names may trail further
# A sentence whose subject is in the sentence before: it opens on a pronoun or a demonstrative, or names "these"
# or "such" things within its first words ("Skin biopsy demonstrates these characteristic features").
# Connectives ("However, ...") are left alone: the sentence after one still says what it says.
LEANS = re.compile(
    r"^\W*(?:(?:this|these|those|such|it|they|their|its|both|the\s+former|the\s+latter)\b"
    r"|(?:[\w-]+\W+){1,5}?(?:these|those|such)\s+(?!as\b)[\w-]+)",
    re.IGNORECASE)


def select(passages: Sequence[Passage], max_sentences: int, margin: float,
           focus: Collection[str] = (), asked: Collection[int] = (),
           before: Callable[[Passage], Passage | None] | None = None) -> list[Passage]:
    """Return the passages worth stating: the best one, those within `margin` of it, and those a little
    further behind that name a focus stem of the question, or state an asked answer type ("how often?"),
    that no chosen passage does yet.

    A sentence that leans on the one before it ("Skin biopsy demonstrates these characteristic features")
    comes with the sentence `before` finds for it (`Corpus.previous_sentence`), cited too, or is not used
    when there is none.
    The answer leads with the best passage stating an asked answer type ("monthly" for "How often?"); the
    rest, or all when nothing of a type is asked, follow in reading order."""
    if not passages:
        return []
    best = passages[0].score
    chosen: list[Passage] = []
    covered: set[str] = set()
    answered: set[int] = set()
    seen: set[tuple[str, int]] = set()
    for passage in passages:
        if len(chosen) >= max_sentences or passage.score < best - GAP_FILL_MARGINS * margin:
            break
        key = (passage.chunk.article, passage.sentence.start)
        if key in seen:
            continue
        stems = set(all_stems(f"{passage.chunk.section} {passage.text}"))
        fills_gap = bool((set(focus) - covered) & stems) or bool((set(asked) - answered) & passage.answers)
        if not (passage.score >= best - margin or fills_gap):
            continue
        group = [passage]
        if passage.chunk.kind == "bullet" and leans(passage.text):
            antecedent = before(passage) if before else None
            if antecedent is None:
                continue  # nothing before it to lean on: a half thought, not an answer
            if (passage.chunk.article, antecedent.sentence.start) not in seen:
                group = [antecedent, passage]
        if len(chosen) + len(group) > max_sentences and chosen:
            continue
        for item in group:
            seen.add((item.chunk.article, item.sentence.start))
            chosen.append(item)
        covered |= stems
        answered |= passage.answers
    lead = next((p for p in chosen if set(asked) & p.answers), None) if asked else None
    if lead is not None and not leans(lead.text):
        rest = [p for p in chosen if p is not lead]
        return [lead, *sorted(rest, key=_reading_order)]
    return sorted(chosen, key=_reading_order)


def leans(sentence: str) -> bool:
    """Return True when a sentence leans on the one before it for its subject ("These ...", "It ...")."""
    return bool(LEANS.match(sentence))


def _reading_order(passage: Passage) -> tuple[str, int]:
    return passage.chunk.article, passage.sentence.start


def compose(passages: Sequence[Passage], query: str = "") -> Reply:
    """Return a reply stating each passage once, in the given order, each followed by its citation marker."""
    citations: list[Citation] = []
    statements: list[str] = []
    for number, passage in enumerate(passages, start=1):
        citations.append(Citation(
            number=number, article=passage.chunk.article, section=passage.chunk.section, text=passage.text,
            start=passage.sentence.start, end=passage.sentence.end, refs=passage.sentence.refs,
            chunk_id=passage.chunk.id,
        ))
        statements.append(statement(citations[-1]))
    article = citations[0].article if citations else ""
    said = tuple(Statement(c.text, (c.number,)) for c in citations)  # the article's own words: support 1.0
    return Reply(answer=" ".join(statements), citations=tuple(citations), article=article, query=query,
                 statements=said)


def statement(citation: Citation) -> str:
    """Return a cited sentence as the answer states it: its marker, and the label of a heading that changes
    how it reads ("Critical pitfall: ..."), said outside the quote."""
    return cite(labelled(citation), citation.number)


def labelled(citation: Citation) -> str:
    """Return what a cited passage states: its text, after its heading's label when it has one."""
    label = section_label(citation.section)
    return f"{label}: {citation.text}" if label else citation.text


def cite(sentence: str, number: int) -> str:
    """Return a sentence as a statement with its marker before the closing punctuation."""
    body = sentence.rstrip().rstrip(":;,")
    if body.endswith(CLOSING):
        return f"{body[:-1]} [{number}]{body[-1]}"
    return f"{body} [{number}]."
