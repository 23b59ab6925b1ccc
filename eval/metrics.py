"""Metric functions on plain data: retrieval ranks, citation checks, ALCE citation scores, facts, rates.

Everything here is pure and deterministic: no model, no store, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from assistant import Citation

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
MARKER_RUN = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+[.!?]?")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(])")
ABBREVIATIONS = ("e.g.", "i.e.", "vs.", "dr.", "al.", "approx.", "fig.", "no.", "cf.", "etc.")
TOKEN = re.compile(r"[a-z0-9]+")

Located = tuple[str, int, int]  # (article, start, end): a span of an article's cleaned text
Judge = Callable[[str, Sequence[str]], bool]  # does this list of passages support this claim?


# -- retrieval -------------------------------------------------------------------------------------------
def first_hit(ranked: Sequence[Located], gold: Sequence[Located]) -> int | None:
    """Return the 1-based rank of the first retrieved span overlapping a gold span, or None."""
    for rank, (article, start, end) in enumerate(ranked, start=1):
        if any(article == g_article and start < g_end and g_start < end for g_article, g_start, g_end in gold):
            return rank
    return None


def hit_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Return the share of queries whose first hit is at rank k or better (0.0 for no queries)."""
    return sum(r is not None and r <= k for r in ranks) / len(ranks) if ranks else 0.0


def mrr(ranks: Sequence[int | None]) -> float:
    """Return the mean reciprocal rank of the first hits; a miss counts 0 (0.0 for no queries)."""
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks) if ranks else 0.0


# -- citations ---------------------------------------------------------------------------------------------
def marker_numbers(text: str) -> list[int]:
    """Return the citation numbers of the inline markers of a text, in order ("[1]", "[2, 3]")."""
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"\s*,\s*", group)]


def citation_problems(answer: str, citations: Sequence[Citation], articles: Mapping[str, str]) -> list[str]:
    """Return why an answer's citations are not valid (empty when every marker resolves to a citation whose
    span slices its article back to exactly its text)."""
    problems = []
    by_number: dict[int, Citation] = {}
    for citation in citations:
        if citation.number in by_number:
            problems.append(f"citation number {citation.number} is used twice")
        by_number[citation.number] = citation
    for number in dict.fromkeys(marker_numbers(answer)):
        if number not in by_number:
            problems.append(f"marker [{number}] has no citation")
    for citation in citations:
        text = articles.get(citation.article)
        if text is None:
            problems.append(f"[{citation.number}] cites unknown article {citation.article!r}")
        elif not 0 <= citation.start <= citation.end <= len(text):
            problems.append(f"[{citation.number}] span {citation.start}:{citation.end} is outside the article")
        elif text[citation.start:citation.end] != citation.text:
            problems.append(f"[{citation.number}] span {citation.start}:{citation.end} does not slice the article "
                            "back to the cited text")
    return problems


@dataclass(frozen=True)
class Statement:
    """A sentence of an answer, without its markers, and the citation numbers it carries."""

    text: str
    numbers: tuple[int, ...]


def statements(answer: str) -> list[Statement]:
    """Return the sentences of an answer with their citation numbers.

    A run of markers ("[1]", "[1][2].", "[1, 2]") closes a sentence; text without markers is further split
    at sentence boundaries, so an uncited sentence stands alone (and counts as unsupported).
    """
    pieces: list[tuple[str, tuple[int, ...]]] = []
    position = 0
    for run in MARKER_RUN.finditer(answer):
        before = answer[position:run.start()]
        sentences = _sentences(before)
        numbers = tuple(marker_numbers(run.group(0)))
        if sentences:
            *uncited, last = sentences
            pieces += [(s, ()) for s in uncited]
            tail = run.group(0).strip()[-1]
            pieces.append((last + (tail if tail in ".!?" and not last.endswith(tail) else ""), numbers))
        elif pieces:  # markers with no text of their own belong to the sentence before
            text, earlier = pieces[-1]
            pieces[-1] = (text, earlier + numbers)
        position = run.end()
    pieces += [(s, ()) for s in _sentences(answer[position:])]
    return [Statement(text, numbers) for text, numbers in pieces]


def _sentences(text: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for boundary in SENTENCE_END.finditer(text):
        candidate = text[start:boundary.start()].strip()
        if candidate.lower().endswith(ABBREVIATIONS):
            continue
        parts.append(candidate)
        start = boundary.end()
    parts.append(text[start:].strip())
    return [p for p in parts if TOKEN.search(p.lower())]


@dataclass(frozen=True)
class StatementVerdict:
    """ALCE judgement of one statement: supported by its citations jointly, and which citations were needed."""

    statement: Statement
    supported: bool
    precise: tuple[int, ...]  # the statement's citations that count as precise


@dataclass(frozen=True)
class CitationScores:
    """ALCE citation recall and precision of one answer."""

    recall: float
    precision: float
    verdicts: tuple[StatementVerdict, ...]


def alce(answer_statements: Sequence[Statement], passages: Mapping[int, str], judge: Judge) -> CitationScores:
    """Return ALCE citation recall and precision (Gao et al., 2023) with `judge` deciding support.

    Recall: the share of statements that their citations, taken together, support. Precision: the share of
    all citations that are needed. A citation of a supported statement is precise unless it does not support
    the statement on its own and the statement's other citations still support it without it; the citations
    of an unsupported statement are not precise.
    """
    verdicts = []
    cited = 0
    for statement in answer_statements:
        numbers = tuple(dict.fromkeys(statement.numbers))
        texts = [passages[n] for n in numbers if n in passages]
        cited += len(numbers)
        supported = bool(texts) and len(texts) == len(numbers) and judge(statement.text, texts)
        precise: list[int] = []
        if supported and len(numbers) == 1:
            precise = list(numbers)
        elif supported:
            for number in numbers:
                others = [passages[n] for n in numbers if n != number]
                if judge(statement.text, [passages[number]]) or not judge(statement.text, others):
                    precise.append(number)
        verdicts.append(StatementVerdict(statement, supported, tuple(precise)))
    recall = sum(v.supported for v in verdicts) / len(verdicts) if verdicts else 0.0
    precision = sum(len(v.precise) for v in verdicts) / cited if cited else 0.0
    return CitationScores(recall, precision, tuple(verdicts))


# -- facts, rates, latency -------------------------------------------------------------------------------
def fact_stated(answer: str, fact: str) -> bool:
    """Return True when the answer states one of a fact's alternatives ('a|b'), as whole words."""
    said = " " + " ".join(TOKEN.findall(MARKER.sub(" ", answer).lower())) + " "
    wordings = [" ".join(TOKEN.findall(alt.lower())) for alt in fact.split("|")]
    return any(f" {w} " in said for w in wordings if w)


def rate(flags: Sequence[bool]) -> float:
    """Return the share of True flags (0.0 for none)."""
    return sum(flags) / len(flags) if flags else 0.0


def mean(values: Sequence[float]) -> float:
    """Return the arithmetic mean (0.0 for no values)."""
    return sum(values) / len(values) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile by the nearest-rank method (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
