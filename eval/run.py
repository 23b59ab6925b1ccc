"""Run the assistant over cases the way a user would: each conversation in order, with its real history."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant import Assistant, CitechatError
from eval.cases import Case, CaseFileError, locate_gold
from eval.metrics import Located
from eval.score import RETRIEVE_DEPTH, TurnRecord, TurnScore, score_turn


@dataclass(frozen=True)
class Run:
    """The scored turns of an evaluation, with the article texts and titles they were judged against."""

    scores: tuple[TurnScore, ...]
    articles: dict[str, str]
    titles: dict[str, str]


def article_texts(bot: Assistant) -> tuple[dict[str, str], dict[str, str]]:
    """Return the cleaned text and the title of every ingested article, by slug."""
    records = bot.corpus().articles
    return {slug: r.text for slug, r in records.items()}, {slug: r.title for slug, r in records.items()}


def run_cases(bot: Assistant, cases: Sequence[Case], clock: Callable[[], float] = time.perf_counter,
              progress: Callable[[int, int], None] | None = None) -> Run:
    """Ask every turn of every case and score it; raises CaseFileError for a case the assistant cannot take.

    History is what a chat client sends: the earlier questions and the assistant's actual answers.
    """
    articles, titles = article_texts(bot)
    located = locate_gold(list(cases), articles)
    scores: list[TurnScore] = []
    for done, case in enumerate(located, start=1):
        history: list[dict[str, Any]] = []
        for index, turn in enumerate(case.turns, start=1):
            try:
                started = clock()
                reply = bot.ask(turn.question, history=history, article=case.article)
                latency = clock() - started
                alone = bot.top_passages(turn.question, None, case.article, k=RETRIEVE_DEPTH)
                with_history = bot.top_passages(turn.question, history, case.article, k=RETRIEVE_DEPTH)
            except CitechatError as exc:
                raise CaseFileError(f"case {case.id!r} (line {case.line}) turn {index}: {exc}") from None
            record = TurnRecord(
                case_id=case.id, turn=index, split=case.split, category=case.category, article=case.article,
                question=turn.question, answerable=turn.answerable, facts=turn.facts,
                gold=tuple((case.article, s.start, s.end) for s in turn.spans), reply=reply, latency=latency,
                retrieved_alone=_located(alone), retrieved_history=_located(with_history), lead=turn.lead,
            )
            scores.append(score_turn(record, articles, known=[titles[case.article]]))
            history += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": reply.answer}]
        if progress:
            progress(done, len(located))
    return Run(tuple(scores), articles, titles)


def _located(passages: Sequence[Any]) -> tuple[Located, ...]:
    return tuple((p.chunk.article, p.sentence.start, p.sentence.end) for p in passages)
