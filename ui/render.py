"""Pure functions turning replies and articles into HTML that is safe to show.

Every piece of article, question or answer text goes through `inert()`, which turns the characters that
HTML or Markdown would act on into character references: the chat renders Markdown, and a question like
`![x](https://evil.example/pixel)` or `<img src=x onerror=...>` must show as typed, never fetch or run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ingest.types import Citation, Reply, Sentence
from ui import messages

MARKER = re.compile(r"\s?\[(\d+)\]")
SEPARATOR = " > "
# Characters with a meaning in HTML or Markdown (links, images, emphasis, code, tables, LaTeX, autolinks).
_ACTIVE = "&<>\"'`\\*_[]()!#|~$:{}=+-"
_SPACES = re.compile(r"\s+")
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in _ACTIVE})


def inert(text: str) -> str:
    """Return text with every HTML/Markdown-active character as a character reference, whitespace runs as one
    space (a blank line would end an HTML block in Markdown)."""
    return _SPACES.sub(" ", str(text)).translate(_INERT)


def section_path(section: str) -> str:
    """Return a section path for display: 'Treatment Approach › First-Line Therapy'."""
    return " › ".join(section.split(SEPARATOR))


def user_html(question: str) -> str:
    """Return the user's question as inert HTML for the chat."""
    return f'<span class="cc-question">{inert(question.strip())}</span>'


def answer_text_html(answer: str) -> str:
    """Return an answer (or the part streamed so far) with its [n] markers as superscripts."""
    parts: list[str] = []
    last = 0
    for match in MARKER.finditer(answer):
        parts.append(inert(answer[last:match.start()]))
        parts.append(f'<sup class="cc-cite">[{int(match.group(1))}]</sup>')
        last = match.end()
    parts.append(inert(answer[last:]))
    return "".join(parts)


def reply_html(reply: Reply, titles: Mapping[str, str] | None = None) -> str:
    """Return a finished reply: the answer with its markers, then its sources (or a note when abstaining)."""
    if reply.abstained:
        return (f'<div class="cc-answer cc-abstained">{inert(reply.answer)}</div>'
                f'<div class="cc-note">{inert(messages.NO_ANSWER_NOTE)}</div>')
    body = f'<div class="cc-answer">{answer_text_html(reply.answer)}</div>'
    notice = f'<div class="cc-note">{inert(reply.notice)}</div>' if reply.notice else ""
    return body + sources_html(reply.citations, titles) + notice


def sources_html(citations: Sequence[Citation], titles: Mapping[str, str] | None = None) -> str:
    """Return the sources list: marker, section path, article refs and the quoted passage of each."""
    if not citations:
        return ""
    several = len({c.article for c in citations}) > 1
    items = []
    for c in citations:
        where = section_path(c.section)
        if several and titles:
            where = f"{titles.get(c.article, c.article)} › {where}"
        refs = (f' <span class="cc-refs">({inert(messages.ARTICLE_REFS.format(refs=", ".join(map(str, c.refs))))})'
                "</span>") if c.refs else ""
        items.append(f'<li class="cc-source"><span class="cc-num">[{c.number}]</span> '
                     f'<span class="cc-section">{inert(where)}</span>{refs}'
                     f'<div class="cc-quote">{inert(c.text)}</div></li>')
    return (f'<div class="cc-sources"><div class="cc-sources-title">{inert(messages.SOURCES_TITLE)}</div>'
            f'<ul class="cc-source-list">{"".join(items)}</ul></div>')


def source_label(citation: Citation) -> str:
    """Return the label of a source in the source picker: '[1] First-Line Therapy (refs 1, 3)'."""
    refs = f" (refs {', '.join(map(str, citation.refs))})" if citation.refs else ""
    return f"[{citation.number}] {citation.section.rpartition(SEPARATOR)[2]}{refs}"


def disclaimer_html(disclaimer: str) -> str:
    """Return the article's disclaimer folded away behind a small summary line."""
    if not disclaimer.strip():
        return ""
    return (f'<details class="cc-disclaimer"><summary>{inert(messages.DISCLAIMER_SUMMARY)}</summary>'
            f'<p>{inert(disclaimer)}</p></details>')


@dataclass(frozen=True)
class Highlight:
    """A span of the article to mark, with the citation number shown beside it."""

    start: int
    end: int
    number: int
    focus: bool = False


def highlights(citations: Iterable[Citation], article: str, focus: int | None) -> list[Highlight]:
    """Return the highlights of the citations into one article, the chosen one marked as focus."""
    return [Highlight(c.start, c.end, c.number, c.number == focus) for c in citations if c.article == article]


def article_html(title: str, text: str, sections: Sequence[str], sentences: Sequence[Sentence],
                 marks: Sequence[Highlight] = ()) -> str:
    """Return the article as headings, paragraphs and bullets, every sentence followed by its article
    references, the highlighted spans wrapped in <mark>."""
    headings = [(p.rpartition(SEPARATOR)[2], p.count(SEPARATOR)) for p in sections]
    spans = sorted(sentences, key=lambda s: s.start)
    out: list[str] = [f'<div class="cc-article"><h2 class="cc-article-title">{inert(title)}</h2>']
    in_list = False
    offset = 0
    for block in text.split("\n\n"):
        start = text.index(block, offset) if block else offset
        offset = start + len(block)
        stripped = block.strip()
        if not stripped:
            continue
        is_bullet = stripped.startswith("- ")
        if in_list and not is_bullet:
            out.append("</ul>")
            in_list = False
        if headings and stripped == headings[0][0]:
            level = min(3 + headings.pop(0)[1], 5)
            if not (level == 3 and stripped == title):
                out.append(f"<h{level}>{inert(stripped)}</h{level}>")
            continue
        body = _spans_html(text, start + (block.index("- ") + 2 if is_bullet else 0), offset, spans, marks)
        if is_bullet:
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{body}</li>")
        else:
            out.append(f"<p>{body}</p>")
    if in_list:
        out.append("</ul>")
    out.append("</div>")
    return "".join(out)


def _spans_html(text: str, start: int, end: int, sentences: Sequence[Sentence], marks: Sequence[Highlight]) -> str:
    """Return text[start:end] with each sentence's refs after it and highlighted sentences marked."""
    parts: list[str] = []
    at = start
    for sentence in sentences:
        if sentence.end <= start or sentence.start >= end:
            continue
        s, e = max(sentence.start, start), min(sentence.end, end)
        parts.append(inert(text[at:s]))
        chunk = inert(text[s:e])
        mark = next((m for m in marks if m.start < e and m.end > s), None)
        if mark is not None:
            css = "cc-hl cc-focus" if mark.focus else "cc-hl"
            chunk = (f'<mark class="{css}" data-cite="{mark.number}"><span class="cc-hl-num">[{mark.number}]</span> '
                     f"{chunk}</mark>")
        refs = f'<sup class="cc-ref">{", ".join(map(str, sentence.refs))}</sup>' if sentence.refs else ""
        parts.append(chunk + refs)
        at = e
    parts.append(inert(text[at:end]))
    return "".join(parts).strip()
