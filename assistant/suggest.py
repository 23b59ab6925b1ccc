"""Questions to offer the user: starters for an article and follow-ups after an answer, each one checked.

A suggestion is only worth offering if the assistant can answer it from the article, so every candidate is
asked for real and kept only when the reply cites the section it was written from (and, for a follow-up,
cites something the answer before it did not).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from assistant.text import all_stems
from ingest.store import ArticleRecord
from ingest.types import CitechatError, Reply

MAX_CHECKED = 8  # candidates asked at most per call: each costs one retrieval (~15 ms)
SEPARATOR = " > "


class Asker(Protocol):
    """What suggestions need of the Assistant."""

    def ask(self, question: str, history: Sequence[dict[str, Any]] | None = None,
            article: str | None = None) -> Reply: ...

    def articles(self) -> list[ArticleRecord]: ...

    def without_llm(self) -> Asker: ...


def section_question(title: str) -> str:
    """Return a question a clinician would ask about a section heading: 'Critical Pitfalls' -> 'What are the
    critical pitfalls?', 'First-Line Therapy' -> 'What is the first-line therapy?'; a heading that is a list
    or a single word asks what the article says: 'Diagnosis and Management' -> 'What does the article say
    about diagnosis and management?', 'Relapse' -> 'What does the article say about relapse?'. A heading with a
    colon asks about what follows it ('Giant Cell Arteritis: Diagnosis' -> '... about diagnosis?')."""
    title = " ".join(title.split()).rstrip(":")
    if title.endswith("?"):
        return title
    if ":" in title:
        title = title.rsplit(":", 1)[1].strip() or title.replace(":", "")
    words = [w if w.isupper() and len(w) > 1 else w.lower() for w in title.split()]
    phrase = " ".join(words)
    last = words[-1] if words else ""
    plural = last.endswith("s") and not last.endswith(("ss", "is", "us"))
    if plural and " and " not in f" {phrase} ":
        return f"What are the {phrase}?"
    if len(words) == 1 or " and " in f" {phrase} " or "," in phrase:
        return f"What does the article say about {phrase}?"
    return f"What is the {phrase}?"


def starter_questions(bot: Asker, article: str, limit: int = 3) -> list[str]:
    """Return up to `limit` opening questions about an article that the assistant answers from it."""
    record = _record(bot, article)
    if record is None:
        return []
    candidates = [(record.title, "")] if record.title.endswith("?") else []
    candidates += [(_question(p), p) for p in record.sections if SEPARATOR not in p]
    return _checked(bot, candidates, [], article, limit, already_cited=set())


def follow_ups(bot: Asker, question: str, reply: Reply, history: Sequence[dict[str, Any]] = (),
               article: str | None = None, limit: int = 3) -> list[str]:
    """Return up to `limit` follow-up questions, nearest sections to the answer first, each checked to be
    answered from its own section with at least one passage the reply did not cite."""
    slug = article or reply.article or (reply.citations[0].article if reply.citations else "")
    record = _record(bot, slug) if slug else None
    if record is None:
        return []
    cited = [c.section for c in reply.citations if c.article == record.slug]
    asked = {_normal(m.get("content", "")) for m in history if m.get("role") == "user"} | {_normal(question)}
    if reply.abstained:  # after a refusal: what the article does answer that is nearest to what was asked
        wanted = set(all_stems(question))
        sections = sorted((p for p in record.sections if p != record.title),
                          key=lambda p: -len(wanted & set(all_stems(p))))
    else:
        sections = _nearest(record.sections, cited)
    candidates = [(_question(p), p) for p in sections]
    candidates = [(q, p) for q, p in candidates if _normal(q) not in asked]
    turns = [*history, {"role": "user", "content": question}, {"role": "assistant", "content": reply.answer}]
    spans = {(c.article, c.start) for c in reply.citations}
    return _checked(bot, candidates, turns, record.slug, limit, already_cited=spans)


def _nearest(sections: Sequence[str], cited: Sequence[str]) -> list[str]:
    """Sections other than the cited ones and their ancestors: siblings first, then the same top-level
    section, then the rest, each group nearest in reading order first. Without citations: top-level ones."""
    if not cited:
        return [p for p in sections if SEPARATOR not in p]
    index = {p: i for i, p in enumerate(sections)}
    at = [index[p] for p in cited if p in index]
    ancestors = {SEPARATOR.join(p.split(SEPARATOR)[:n]) for p in cited for n in range(1, p.count(SEPARATOR) + 1)}
    parents = {p.rpartition(SEPARATOR)[0] for p in cited}
    tops = {p.split(SEPARATOR)[0] for p in cited}

    def key(path: str) -> tuple[int, int]:
        group = 0 if path.rpartition(SEPARATOR)[0] in parents else 1 if path.split(SEPARATOR)[0] in tops else 2
        distance = min((abs(index[path] - i) for i in at), default=0)
        return group, distance

    return sorted((p for p in sections if p not in cited and p not in ancestors), key=key)


def _checked(bot: Asker, candidates: Sequence[tuple[str, str]], history: Sequence[dict[str, Any]], article: str,
             limit: int, already_cited: set[tuple[str, int]]) -> list[str]:
    kept: list[str] = []
    seen: set[str] = set()
    checker = bot.without_llm()  # checking a suggestion must not cost a language-model call
    for question, section in candidates[:MAX_CHECKED]:
        if len(kept) >= limit:
            break
        if _normal(question) in seen:
            continue
        seen.add(_normal(question))
        try:
            reply = checker.ask(question, history=history, article=article)
        except CitechatError:
            continue
        if reply.abstained:
            continue
        own = [c for c in reply.citations
               if not section or c.section == section or c.section.startswith(section + SEPARATOR)]
        if own and any((c.article, c.start) not in already_cited for c in own):
            kept.append(question)
    return kept


def _question(path: str) -> str:
    return section_question(path.rpartition(SEPARATOR)[2])


def _record(bot: Asker, slug: str) -> ArticleRecord | None:
    return next((r for r in bot.articles() if r.slug == slug), None)


def _normal(text: Any) -> str:
    return " ".join(str(text).lower().split()).rstrip("?. ")
