"""compose: an extractive answer from the article's own sentences, every sentence cited."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from assistant.rank import Passage
from assistant.text import all_stems
from ingest.types import Citation, Reply, Statement

CLOSING = (".", "!", "?")
GAP_FILL_MARGINS = 3  # a sentence naming a topic of the question no chosen sentence names may trail further


def select(passages: Sequence[Passage], max_sentences: int, margin: float,
           focus: Collection[str] = (), asked: Collection[int] = ()) -> list[Passage]:
    """Return the passages worth stating, in reading order: the best one, those within `margin` of it,
    and those a little further behind that name a focus stem of the question, or state an asked answer type
    ("how often?"), that no chosen passage does yet."""
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
        if passage.score >= best - margin or fills_gap:
            seen.add(key)
            chosen.append(passage)
            covered |= stems
            answered |= passage.answers
    return sorted(chosen, key=lambda p: (p.chunk.article, p.sentence.start))


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
        statements.append(cite(passage.text, number))
    article = citations[0].article if citations else ""
    said = tuple(Statement(c.text, (c.number,)) for c in citations)  # the article's own words: support 1.0
    return Reply(answer=" ".join(statements), citations=tuple(citations), article=article, query=query,
                 statements=said)


def cite(sentence: str, number: int) -> str:
    """Return a sentence as a statement with its marker before the closing punctuation."""
    body = sentence.rstrip().rstrip(":;,")
    if body.endswith(CLOSING):
        return f"{body[:-1]} [{number}]{body[-1]}"
    return f"{body} [{number}]."
