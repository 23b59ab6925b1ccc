"""Score what the assistant did on each turn, then sum the turns up into the suite's metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assistant import Reply
from assistant.compose import labelled
from assistant.summary import asks_for_summary
from assistant.support import support
from eval import metrics
from eval.metrics import CitationScores, Located

K_VALUES = (1, 3, 5)
RETRIEVE_DEPTH = 10  # passages fetched per query; MRR is computed over this depth


@dataclass(frozen=True)
class TurnRecord:
    """One asked turn: the case's expectations, the reply, the ranked passages and the time taken."""

    case_id: str
    turn: int  # 1-based position in the conversation
    split: str
    category: str
    article: str
    question: str
    answerable: bool
    facts: tuple[str, ...]
    gold: tuple[Located, ...]
    reply: Reply
    latency: float  # seconds for the ask
    retrieved_alone: tuple[Located, ...] = ()  # last question only, no history
    retrieved_history: tuple[Located, ...] = ()  # with the conversation so far
    lead: str = ""  # a fact the answer's first sentence must state


@dataclass(frozen=True)
class TurnScore:
    """The verdicts on one turn, and why it fails (empty `failures` when it passes)."""

    record: TurnRecord
    citation_problems: tuple[str, ...]
    citations: CitationScores | None  # None when the reply abstained
    facts_stated: tuple[bool, ...]
    rank_alone: int | None
    rank_history: int | None
    failures: tuple[str, ...] = field(default=())
    reasons: tuple[str, ...] = ()  # the support check's reason for each statement, in order

    @property
    def passed(self) -> bool:
        """Return True when nothing about the turn fails."""
        return not self.failures


def score_turn(record: TurnRecord, articles: Mapping[str, str], known: Sequence[str] = ()) -> TurnScore:
    """Return the verdicts on one turn; `articles` maps slugs to cleaned text, `known` is the subject's words."""
    reply = record.reply
    problems = tuple(metrics.citation_problems(reply.answer, reply.citations, articles))
    citation_scores = None
    reasons: list[str] = []
    if not reply.abstained:
        # A passage states its text, and what its heading's label says of it ("Critical pitfall: ...").
        passages = {c.number: labelled(c) for c in reply.citations}
        citation_scores = metrics.alce(metrics.statements(reply.answer), passages,
                                       lambda claim, texts: support(claim, texts, known=known).supported)
        for verdict in citation_scores.verdicts:
            cited = [passages[n] for n in dict.fromkeys(verdict.statement.numbers) if n in passages]
            reasons.append(support(verdict.statement.text, cited, known=known).reason if cited else "no citation")
    stated = tuple(not reply.abstained and metrics.fact_stated(reply.answer, f) for f in record.facts)
    failures = [f"invalid citation: {p}" for p in problems]
    if record.answerable and reply.abstained:
        failures.append("refused an answerable question")
    if not record.answerable and not reply.abstained:
        failures.append("answered an unanswerable question")
    if record.answerable and not reply.abstained:
        failures += [f"fact not stated: {f}" for f, ok in zip(record.facts, stated, strict=True) if not ok]
        first = metrics.statements(reply.answer)[:1]
        if record.lead and not (first and metrics.fact_stated(first[0].text, record.lead)):
            failures.append(f"does not lead with: {record.lead}")
    if citation_scores is not None:
        for verdict in citation_scores.verdicts:
            if not verdict.supported:
                failures.append(f"statement not supported by its citations: {verdict.statement.text[:90]}")
            elif len(verdict.precise) < len(set(verdict.statement.numbers)):
                failures.append(f"citation not needed: {verdict.statement.text[:90]}")
    ranked = record.answerable and bool(record.gold)
    return TurnScore(
        record=record, citation_problems=problems, citations=citation_scores, facts_stated=stated,
        rank_alone=metrics.first_hit(record.retrieved_alone, record.gold) if ranked else None,
        rank_history=metrics.first_hit(record.retrieved_history, record.gold) if ranked else None,
        failures=tuple(failures), reasons=tuple(reasons),
    )


def summarize(scores: Sequence[TurnScore]) -> dict[str, float]:
    """Return the suite's metrics over scored turns (rates in 0..1, latency in milliseconds); a metric no
    turn measures (retrieval without gold, abstention without unanswerable turns...) is left out."""
    answerable = [s for s in scores if s.record.answerable]
    unanswerable = [s for s in scores if not s.record.answerable]
    # A summary question is answered without ranking (one sentence per section): retrieval does not apply.
    with_gold = [s for s in answerable if s.record.gold and not asks_for_summary(s.record.question)]
    answered = [s.citations for s in scores if s.citations is not None]
    summary: dict[str, float] = {}
    followups = [s for s in with_gold if s.record.turn > 1]
    for mode in ("alone", "history"):
        if with_gold:
            ranks = [s.rank_alone if mode == "alone" else s.rank_history for s in with_gold]
            for k in K_VALUES:
                summary[f"retrieval_hit{k}_{mode}"] = metrics.hit_at_k(ranks, k)
            summary[f"retrieval_mrr_{mode}"] = metrics.mrr(ranks)
        if followups:  # where history matters: the second and later turns of conversations
            ranks = [s.rank_alone if mode == "alone" else s.rank_history for s in followups]
            summary[f"followup_hit1_{mode}"] = metrics.hit_at_k(ranks, 1)
            summary[f"followup_mrr_{mode}"] = metrics.mrr(ranks)
    if scores:
        summary["citation_validity"] = metrics.rate([not s.citation_problems for s in scores])
    if answered:
        summary["citation_recall"] = metrics.mean([c.recall for c in answered])
        summary["citation_precision"] = metrics.mean([c.precision for c in answered])
    if answerable:
        summary["fact_recall"] = metrics.mean([metrics.rate(s.facts_stated) for s in answerable])
        summary["false_refusal_rate"] = metrics.rate([s.record.reply.abstained for s in answerable])
    if unanswerable:
        summary["abstention_accuracy"] = metrics.rate([s.record.reply.abstained for s in unanswerable])
    if scores:
        latencies = [s.record.latency * 1000 for s in scores]
        summary["latency_p50_ms"] = metrics.percentile(latencies, 50)
        summary["latency_p95_ms"] = metrics.percentile(latencies, 95)
    return summary


def counts(scores: Sequence[TurnScore]) -> dict[str, int]:
    """Return how many cases and turns of each kind the metrics rest on."""
    return {
        "cases": len({s.record.case_id for s in scores}),
        "turns": len(scores),
        "answerable_turns": sum(s.record.answerable for s in scores),
        "unanswerable_turns": sum(not s.record.answerable for s in scores),
        "answered_turns": sum(s.citations is not None for s in scores),
        "failing_cases": len({s.record.case_id for s in scores if not s.passed}),
    }


def by_category(scores: Sequence[TurnScore]) -> dict[str, dict[str, float]]:
    """Return, per case category: turns, share passing, share abstained, fact recall (if any answerable)."""
    result: dict[str, dict[str, float]] = {}
    for category in sorted({s.record.category for s in scores}):
        part = [s for s in scores if s.record.category == category]
        answerable = [s for s in part if s.record.answerable]
        result[category] = {"turns": len(part), "passing": metrics.rate([s.passed for s in part]),
                            "abstained": metrics.rate([s.record.reply.abstained for s in part])}
        if answerable:
            result[category]["fact_recall"] = metrics.mean([metrics.rate(s.facts_stated) for s in answerable])
    return result
