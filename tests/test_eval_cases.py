"""The repository's case set: what the issue asks of it, and every gold quote found in the bundled article."""

from __future__ import annotations

from collections import Counter

from eval.cases import load_cases, locate_gold
from eval.run import article_texts


def test_the_case_set_covers_what_it_must():
    cases = load_cases().cases
    assert len(cases) >= 100 and {c.split for c in cases} == {"dev", "test"}
    categories = Counter(c.category for c in cases)
    assert set(categories) == {"single", "lay", "shorthand", "followup", "unanswerable", "false_premise",
                               "instruction", "summary", "pitfall_label", "anaphora", "lead"}
    # How an answer is composed has its own cases, on both splits.
    for category in ("summary", "pitfall_label", "anaphora", "lead"):
        assert {c.split for c in cases if c.category == category} == {"dev", "test"}, category
    assert all(t.lead for c in cases if c.category == "lead" for t in c.turns)
    assert sum(1 for c in cases if c.category == "followup" and 2 <= len(c.turns) <= 4) >= 20
    assert sum(1 for c in cases if len(c.turns) == 1 and not c.turns[0].answerable
               and c.category == "unanswerable") >= 20
    for case in cases:
        for turn in case.turns:
            assert bool(turn.gold) == bool(turn.facts) == turn.answerable, case.id


def test_every_gold_quote_is_in_the_cleaned_article(bot):
    articles, _ = article_texts(bot)
    text = articles["scleromyxedema"]
    for case in locate_gold(list(load_cases().cases), articles):
        for turn in case.turns:
            sliced = {text[s.start:s.end] for s in turn.spans}
            assert sliced == set(turn.gold), case.id


def test_a_lead_fact_must_open_the_answer():
    from eval.score import TurnRecord, score_turn
    from ingest.types import Citation, Reply

    text = "IVIG is given at 2 g/kg. It is given monthly."
    citations = (Citation(1, "a", "", text[:24], 0, 24), Citation(2, "a", "", text[25:], 25, len(text)))

    def record(answer: str) -> TurnRecord:
        return TurnRecord(case_id="c", turn=1, split="test", category="lead", article="a", question="How often?",
                          answerable=True, facts=("monthly",), gold=(), latency=0.0, lead="monthly",
                          reply=Reply(answer=answer, citations=citations, article="a"))

    late = score_turn(record("IVIG is given at 2 g/kg [1]. It is given monthly [2]."), {"a": text})
    assert "does not lead with: monthly" in late.failures
    first = score_turn(record("It is given monthly [2]. IVIG is given at 2 g/kg [1]."), {"a": text})
    assert not any(f.startswith("does not lead") for f in first.failures)
