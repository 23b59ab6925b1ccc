"""The grounding guard: a generated answer keeps only the sentences its cited passages support.

A sentence is kept when it carries at least one [n] marker, every marker names one of the numbered passages
given to the model, and those passages, taken together, state it by the support check the eval suite uses
(critical tokens included: numbers and units, schedules, populations, isotypes, rare names, negation).
Everything else is dropped: an invented dose, a marker for a passage that does not exist, a true-sounding
sentence with no marker, a sentence citing a passage that says something else, a sentence that obeys an
instruction planted in the article. The kept sentences' markers are renumbered 1..k in order of use.

The guard works sentence by sentence on text as it streams: `Draft.feed` returns the sentences completed so
far, so each can be judged and shown before the model has finished.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.addressed import addressed_to_assistant
from assistant.lexicon import Lexicon
from assistant.prompts import NO_ANSWER
from assistant.rank import Passage
from assistant.support import support
from ingest.types import Citation, Statement

_LABEL = r"(?:(?:passages?|sources?|refs?|ids?)\.?\s*)?"  # "[Passage 2]": a model's variation on "[2]"
MARKER = re.compile(r"\[\s*" + _LABEL + r"(\d{1,3}(?:\s*(?:,|-|–|and)\s*" + _LABEL + r"\d{1,3})*)\s*\]",
                    re.IGNORECASE)
NUMBER_OR_RANGE = re.compile(r"(\d{1,3})(?:\s*[-–]\s*(\d{1,3}))?")
# A sentence ends at . ! or ? (then any markers written after it) followed by white space, or at a line end.
BOUNDARY = re.compile(r"(?<=[.!?])((?:[ \t]*\[[^\]\n]{0,20}\])*)[ \t]+|\n+")
ABBREVIATIONS = ("e.g.", "i.e.", "vs.", "approx.", "et al.", "fig.", "cf.")
LIST_PREFIX = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+|^\s*answer:\s*", re.IGNORECASE)
MARKDOWN = re.compile(r"\*\*|__|`")
LETTER = re.compile(r"[^\W\d_]")
CLOSING = ".!?"
MAX_RANGE = 20


@dataclass(frozen=True)
class Judged:
    """One sentence of the model's answer, without markers, with the passage ids it cited and the verdict."""

    text: str
    cited: tuple[int, ...]
    kept: bool
    support: float
    reason: str
    declined: bool = False  # the model's "not in the passages" sentence


def markers(text: str) -> list[int]:
    """Return the citation numbers of a text's [n] markers in order ("[1]", "[1, 2]", "[1-3]", "[1][2]")."""
    numbers: list[int] = []
    for group in MARKER.findall(text):
        for low, high in NUMBER_OR_RANGE.findall(group):
            first, last = int(low), int(high or low)
            numbers += list(range(first, last + 1)) if 0 <= last - first <= MAX_RANGE else [first, last]
    return list(dict.fromkeys(numbers))


def split(text: str) -> tuple[list[str], str]:
    """Return the complete sentences of a (possibly still growing) answer, and the unfinished rest.

    A sentence is complete once text of the next one has begun: markers written after its full stop
    ("... monthly. [2] Next ...") still belong to it. List numbers and stray punctuation are dropped.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for boundary in BOUNDARY.finditer(text):
        end = boundary.end(1) if boundary.group(1) is not None else boundary.start()
        if text[start:end].strip().lower().endswith(ABBREVIATIONS):
            continue
        spans.append((start, end))
        start = boundary.end()
    spans.append((start, len(text)))
    groups: list[list[tuple[int, int]]] = []
    for first, last in spans:
        piece = text[first:last]
        if _says(piece) or not groups:
            groups.append([(first, last)])
        elif MARKER.search(piece):  # markers on their own belong to the sentence before
            groups[-1].append((first, last))
    sentences = [" ".join(text[a:b] for a, b in group) for group in groups[:-1]]
    return [s for s in sentences if _says(s)], text[groups[-1][0][0]:]


def _says(text: str) -> bool:
    return bool(LETTER.search(MARKER.sub("", text)))


def judge(sentence: str, passages: Sequence[Passage], known: Sequence[str], lexicon: Lexicon) -> Judged:
    """Return the guard's verdict on one sentence of a generated answer, `passages` numbered from 1."""
    cited = tuple(markers(sentence))
    body = LIST_PREFIX.sub("", " ".join(MARKDOWN.sub("", MARKER.sub("", sentence)).split()))
    body = re.sub(r"\s+([.,;:!?])", r"\1", body).strip()
    if NO_ANSWER.lower() in body.lower():
        return Judged(body, cited, False, 0.0, "the model found no answer", declined=True)
    if not cited:
        return Judged(body, cited, False, 0.0, "no citation")
    unknown = [n for n in cited if not 1 <= n <= len(passages)]
    if unknown:
        listed = ", ".join(f"[{n}]" for n in unknown)
        return Judged(body, cited, False, 0.0, f"cites {listed}, not among the {len(passages)} passages")
    if addressed_to_assistant(body):
        return Judged(body, cited, False, 0.0, "reads as an instruction")
    verdict = support(body, [passages[n - 1].text for n in cited], known=known, lexicon=lexicon)
    return Judged(body, cited, verdict.supported, verdict.score, verdict.reason)


@dataclass
class Draft:
    """A generated answer being judged as it streams: feed it text, get back the sentences it kept, rendered.

    Kept sentences are numbered as they are accepted, so what was shown is exactly the start of `answer`.
    """

    passages: Sequence[Passage]
    known: Sequence[str]
    lexicon: Lexicon
    judged: list[Judged] = field(default_factory=list)
    numbers: dict[int, int] = field(default_factory=dict)  # passage id -> citation number shown
    rendered: list[str] = field(default_factory=list)
    _buffer: str = ""

    def feed(self, text: str, final: bool = False) -> list[str]:
        """Add generated text; return the newly kept sentences, rendered with renumbered markers, as pieces
        that add up to `answer` (every one after the first starts with a space)."""
        self._buffer += text
        complete, rest = split(self._buffer)
        if final:
            complete += [rest] if _says(rest) else []
            rest = ""
        self._buffer = rest
        shown = []
        for sentence in complete:
            verdict = judge(sentence, self.passages, self.known, self.lexicon)
            self.judged.append(verdict)
            if verdict.kept:
                for passage_id in verdict.cited:
                    self.numbers.setdefault(passage_id, len(self.numbers) + 1)
                rendered = render(verdict.text, sorted(self.numbers[n] for n in verdict.cited))
                shown.append(" " + rendered if self.rendered else rendered)
                self.rendered.append(rendered)
        return shown

    @property
    def kept(self) -> list[Judged]:
        """The sentences that passed the guard, in order."""
        return [j for j in self.judged if j.kept]

    @property
    def answer(self) -> str:
        """The kept sentences with their renumbered markers, joined."""
        return " ".join(self.rendered)

    def citations(self) -> tuple[Citation, ...]:
        """Return the cited passages as citations numbered as in `answer`; spans slice the article exactly."""
        cited = sorted(self.numbers.items(), key=lambda item: item[1])
        return tuple(citation(self.passages[passage_id - 1], number) for passage_id, number in cited)

    def statements(self) -> tuple[Statement, ...]:
        """Return the kept sentences with their citation numbers and support scores."""
        return tuple(Statement(j.text, tuple(sorted(self.numbers[n] for n in j.cited)), j.support, True)
                     for j in self.kept)


def render(text: str, numbers: Sequence[int]) -> str:
    """Return a sentence with its markers before the closing punctuation: "IVIG is given monthly [1][2]."."""
    tags = "".join(f"[{n}]" for n in numbers)
    body = text.rstrip().rstrip(":;,")
    if body.endswith(tuple(CLOSING)):
        return f"{body[:-1]} {tags}{body[-1]}"
    return f"{body} {tags}."


def citation(passage: Passage, number: int) -> Citation:
    """Return the citation of a passage sentence under a given number."""
    return Citation(number=number, article=passage.chunk.article, section=passage.chunk.section, text=passage.text,
                    start=passage.sentence.start, end=passage.sentence.end, refs=passage.sentence.refs,
                    chunk_id=passage.chunk.id)
