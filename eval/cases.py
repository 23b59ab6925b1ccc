"""Case files: load and validate conversations to evaluate, in any JSON-lines file of the same format.

A case file holds one JSON object per line. The first line may be a header,
`{"format": "citechat-cases", "version": 1}`; a file without one is read as version 1. Every other line
is a conversation:

    {"id": "followup-001", "split": "dev" | "test", "category": "followup", "article": "scleromyxedema",
     "turns": [{"question": "...", "answerable": true, "gold": ["exact article quote", ...],
                "facts": ["2 g/kg", "IVIG|intravenous immunoglobulin", ...], "lead": "2 g/kg"}, ...]}

An answerable turn names its gold evidence (exact substrings of the cleaned article text, the text that
citation spans slice) and the facts a correct answer must state (`a|b`: either wording counts). An
unanswerable turn has `"answerable": false` and no gold or facts. `lead`, optional, is a fact the answer's first
sentence must state (the answer leads with it). `note` is an optional free-text field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant import CitechatError

CASES_FORMAT = "citechat-cases"
CASES_VERSION = 1
SPLITS = ("dev", "test")
DEFAULT_CASES = Path(__file__).parent / "cases" / "scleromyxedema.jsonl"

_CASE_KEYS = {"id", "split", "category", "article", "turns", "note"}
_TURN_KEYS = {"question", "answerable", "gold", "facts", "lead", "note"}


class CaseFileError(CitechatError):
    """A case file that cannot be used; the message names the file, the line and what to fix."""


@dataclass(frozen=True)
class Span:
    """Where a gold quote sits in the article text: `text[start:end]`."""

    start: int
    end: int


@dataclass(frozen=True)
class Turn:
    """One question of a conversation with what a correct answer must rest on and state."""

    question: str
    answerable: bool
    gold: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()  # every occurrence of every gold quote, filled in by `locate_gold`
    lead: str = ""  # a fact the answer's first sentence must state ("monthly" for "How often?")


@dataclass(frozen=True)
class Case:
    """A conversation of one or more turns about one article."""

    id: str
    split: str
    category: str
    article: str
    turns: tuple[Turn, ...]
    line: int = 0
    note: str = ""


@dataclass(frozen=True)
class CaseSet:
    """The cases of one file, in file order."""

    path: Path
    version: int
    cases: tuple[Case, ...]
    header: Mapping[str, Any] = field(default_factory=dict)

    def select(self, split: str) -> list[Case]:
        """Return the cases of one split ('all' for every case); raises CaseFileError when there are none."""
        chosen = [c for c in self.cases if split == "all" or c.split == split]
        if not chosen:
            present = ", ".join(sorted({c.split for c in self.cases}))
            raise CaseFileError(f"{self.path}: no cases in split {split!r} (splits present: {present}); "
                                "choose one with --split, or --split all.")
        return chosen


Records = list[tuple[int, dict[str, Any]]]


def read_jsonl(path: Path, expected_format: str, version: int) -> tuple[dict[str, Any], Records]:
    """Return a JSON-lines file's header (empty when it has none) and its (line number, object) records."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseFileError(f"{path}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError(f"{path}: cannot be read as UTF-8 text ({exc}).") from None
    header: dict[str, Any] = {}
    records: Records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CaseFileError(f"{path} line {number}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
        if not isinstance(record, dict):
            raise CaseFileError(f"{path} line {number}: expected a JSON object, got {type(record).__name__}.")
        if "format" not in record:
            records.append((number, record))
            continue
        if header or records:
            raise CaseFileError(f"{path} line {number}: a header (an object with 'format') may only be the first line.")
        if record["format"] != expected_format:
            raise CaseFileError(f"{path} line {number}: format {record['format']!r}, expected {expected_format!r}.")
        if record.get("version") != version:
            raise CaseFileError(f"{path} line {number}: version {record.get('version')!r} is not supported "
                                f"(this citechat reads version {version}).")
        header = record
    return header, records


def load_cases(path: Path | str = DEFAULT_CASES) -> CaseSet:
    """Return the validated cases of a file; raises CaseFileError naming the line and the problem."""
    path = Path(path)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    header, records = read_jsonl(path, CASES_FORMAT, CASES_VERSION)
    for number, record in records:
        case = _case(record, f"{path} line {number}", number)
        if case.id in seen:
            raise CaseFileError(f"{path} line {number}: duplicate id {case.id!r} (first on line {seen[case.id]}).")
        seen[case.id] = number
        cases.append(case)
    if not cases:
        raise CaseFileError(f"{path}: no cases in the file.")
    return CaseSet(path=path, version=CASES_VERSION, cases=tuple(cases), header=header)


def locate_gold(cases: list[Case], articles: Mapping[str, str]) -> list[Case]:
    """Return the cases with every gold quote located in its article's text; raises CaseFileError when an
    article is not ingested or a quote is not an exact substring of the cleaned article text."""
    located = []
    for case in cases:
        if case.article not in articles:
            available = ", ".join(sorted(articles)) or "none"
            raise CaseFileError(f"case {case.id!r} (line {case.line}): article {case.article!r} is not ingested "
                                f"(available: {available}).")
        text = articles[case.article]
        turns = []
        for index, turn in enumerate(case.turns, start=1):
            spans: list[Span] = []
            for quote in turn.gold:
                found = _occurrences(text, quote)
                if not found:
                    raise CaseFileError(
                        f"case {case.id!r} (line {case.line}) turn {index}: gold quote not found in the cleaned "
                        f"text of {case.article!r}: {quote[:80]!r}. Quote the article exactly, without its "
                        "reference numbers.")
                spans.extend(found)
            turns.append(Turn(turn.question, turn.answerable, turn.gold, turn.facts, tuple(spans), turn.lead))
        located.append(Case(case.id, case.split, case.category, case.article, tuple(turns), case.line, case.note))
    return located


def _occurrences(text: str, quote: str) -> list[Span]:
    spans = []
    start = text.find(quote)
    while start != -1:
        spans.append(Span(start, start + len(quote)))
        start = text.find(quote, start + 1)
    return spans


def _case(record: dict[str, Any], where: str, line: int) -> Case:
    unknown = sorted(set(record) - _CASE_KEYS)
    if unknown:
        raise CaseFileError(f"{where}: unknown field(s) {', '.join(unknown)} "
                            f"(a case has {', '.join(sorted(_CASE_KEYS))}).")
    case_id = _text(record, "id", where)
    where = f"{where} (case {case_id!r})"
    split = _text(record, "split", where)
    if split not in SPLITS:
        raise CaseFileError(f"{where}: split must be one of {', '.join(SPLITS)}, not {split!r}.")
    turns = record.get("turns")
    if not isinstance(turns, list) or not turns:
        raise CaseFileError(f"{where}: 'turns' must be a non-empty list of questions.")
    return Case(
        id=case_id, split=split, category=_text(record, "category", where), article=_text(record, "article", where),
        turns=tuple(_turn(t, f"{where} turn {i}") for i, t in enumerate(turns, start=1)), line=line,
        note=str(record.get("note", "")),
    )


def _turn(record: Any, where: str) -> Turn:
    if not isinstance(record, dict):
        raise CaseFileError(f"{where}: a turn must be an object with a question.")
    unknown = sorted(set(record) - _TURN_KEYS)
    if unknown:
        raise CaseFileError(f"{where}: unknown field(s) {', '.join(unknown)} "
                            f"(a turn has {', '.join(sorted(_TURN_KEYS))}).")
    question = _text(record, "question", where)
    answerable = record.get("answerable")
    if not isinstance(answerable, bool):
        raise CaseFileError(f"{where}: 'answerable' must be true or false.")
    gold = _strings(record, "gold", where)
    facts = _strings(record, "facts", where)
    if answerable and (not gold or not facts):
        raise CaseFileError(f"{where}: an answerable turn needs its gold quotes and the facts an answer must state.")
    if not answerable and (gold or facts):
        raise CaseFileError(f"{where}: an unanswerable turn has no gold quotes or facts.")
    if any(not alternative.strip() for fact in facts for alternative in fact.split("|")):
        raise CaseFileError(f"{where}: a fact has an empty alternative (write 'a|b', not 'a|').")
    lead = record.get("lead", "")
    if not isinstance(lead, str) or (lead and not answerable):
        raise CaseFileError(f"{where}: 'lead' is a fact (text) the first sentence of an answer must state.")
    return Turn(question=question, answerable=answerable, gold=gold, facts=facts, lead=lead)


def _text(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CaseFileError(f"{where}: {key!r} must be a non-empty string.")
    return value


def _strings(record: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CaseFileError(f"{where}: {key!r} must be a list of non-empty strings.")
    return tuple(value)
