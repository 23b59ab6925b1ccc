"""Split a block into sentences and lift the article's reference markers out of the text."""

from __future__ import annotations

import re

# A list of small integers closing a sentence: "... disease. 1, 2" or "... mortality 2:".
TRAILING_REFS = re.compile(r"(?<=[^\s\d,])\s+(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*(:?)\s*$")
# Bracketed markers anywhere in a sentence: "[12]", "[1, 2]", "[41–43]" (integers only: "[1.2, 3.4]" is data).
BRACKET_REFS = re.compile(r"\s*\[(\d{1,3}(?:\s*[,–-]\s*\d{1,3})*)\]")
SPACE_BEFORE_STOP = re.compile(r"\s+([.,;:!?])(?=\s|$)")
MAX_RANGE = 50  # "[1-300]" is no reference range worth expanding
LEADING_REFS = re.compile(r"^(\d{1,3}(?:\s*,\s*\d{1,3})*)(?:\s+|$)(?=[A-Z\"'(\[]|$)")
BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\[])")
ABBREVIATIONS = {"e.g.", "i.e.", "vs.", "dr.", "al.", "approx.", "fig.", "no.", "ca.", "cf.", "mr.", "mrs.",
                 "ms.", "st.", "etc.", "inc.", "resp.", "prof."}


def split_sentences(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """Return the block's sentences without reference markers, each with the markers it carried."""
    pieces = _pieces(text)
    sentences: list[tuple[str, tuple[int, ...]]] = []
    for piece in pieces:
        piece, bracketed = _lift_brackets(piece)
        if bracketed and not piece.strip(" .") and sentences:
            prev_text, prev_refs = sentences[-1]  # "... disease. [2]": the markers close the previous sentence
            sentences[-1] = (prev_text, prev_refs + bracketed)
            continue
        lead = LEADING_REFS.match(piece)
        if lead and sentences:
            # markers after the previous sentence's full stop belong to that sentence
            prev_text, prev_refs = sentences[-1]
            sentences[-1] = (prev_text, prev_refs + _numbers(lead.group(1)))
            piece = piece[lead.end():]
        if not piece.strip():
            continue
        body, refs = strip_trailing_refs(piece)
        if body:
            sentences.append((body, bracketed + refs))
    return sentences


def strip_trailing_refs(sentence: str) -> tuple[str, tuple[int, ...]]:
    """Return the sentence without its closing reference list, and the reference numbers."""
    match = TRAILING_REFS.search(sentence)
    if not match:
        return sentence.strip(), ()
    body = sentence[: match.start()].rstrip() + match.group(2)
    return body.strip(), _numbers(match.group(1))


def _lift_brackets(piece: str) -> tuple[str, tuple[int, ...]]:
    """Return the piece without bracketed reference markers (and the space they leave before a full stop),
    and the reference numbers, ranges expanded."""
    refs: list[int] = []
    for match in BRACKET_REFS.finditer(piece):
        refs += _expand(match.group(1))
    text = SPACE_BEFORE_STOP.sub(r"\1", BRACKET_REFS.sub("", piece) if refs else piece)
    return text.strip(), tuple(dict.fromkeys(refs))


def _expand(listing: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*,\s*", listing):
        low, _, high = part.replace("–", "-").partition("-")
        if high and low.strip().isdigit() and high.strip().isdigit() and 0 < int(high) - int(low) <= MAX_RANGE:
            numbers += range(int(low), int(high) + 1)
        else:
            numbers += [int(n) for n in re.findall(r"\d+", part)]
    return numbers


def _pieces(text: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in BOUNDARY.finditer(text):
        candidate = text[start: match.start()].rstrip()
        last_word = candidate.rsplit(" ", 1)[-1].lower()
        if last_word in ABBREVIATIONS or re.fullmatch(r"[a-z]\.", last_word):
            continue
        pieces.append(text[start: match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _numbers(listing: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", listing))
