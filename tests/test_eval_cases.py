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
                               "instruction"}
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
