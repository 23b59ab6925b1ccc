"""Proof that the metrics can fail: real replies, corrupted, are scored as failures by the right metric."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from assistant import Assistant, Reply
from eval.cases import load_cases
from eval.run import article_texts, run_cases
from eval.score import TurnRecord, TurnScore, score_turn, summarize

SLUG = "scleromyxedema"


def score(bot: Assistant, question: str, reply: Reply, answerable: bool = True,
          facts: tuple[str, ...] = ()) -> tuple[TurnScore, dict[str, float]]:
    articles, titles = article_texts(bot)
    record = TurnRecord(case_id="c", turn=1, split="test", category="x", article=SLUG, question=question,
                        answerable=answerable, facts=facts, gold=(), reply=reply, latency=0.0)
    scored = score_turn(record, articles, known=[titles[SLUG]])
    return scored, summarize([scored])


@pytest.fixture(scope="module")
def dose(bot: Assistant) -> Reply:
    reply = bot.ask("What dose of IVIG is used?", article=SLUG)
    assert "2 g/kg" in reply.answer and not reply.abstained
    return reply


def test_the_real_reply_passes(bot, dose):
    scored, summary = score(bot, "What dose of IVIG is used?", dose, facts=("2 g/kg",))
    assert scored.passed, scored.failures
    assert summary["citation_validity"] == summary["citation_recall"] == summary["citation_precision"] == 1.0
    assert summary["fact_recall"] == 1.0


def test_wrong_dose_fails_citation_recall_and_fact_recall(bot, dose):
    wrong = dataclasses.replace(dose, answer=dose.answer.replace("2 g/kg", "1 g/kg"))
    scored, summary = score(bot, "What dose of IVIG is used?", wrong, facts=("2 g/kg",))
    assert summary["citation_recall"] < 1.0 and summary["fact_recall"] == 0.0
    assert any("1 g/kg not in the passages" in r for r in scored.reasons)
    assert "fact not stated: 2 g/kg" in scored.failures
    assert summary["citation_validity"] == 1.0  # the citations themselves are still valid


def test_kappa_for_lambda_fails_citation_recall(bot):
    reply = bot.ask("Which paraprotein is found?", article=SLUG)
    assert "IgG-lambda" in reply.answer
    scored, summary = score(bot, "Which paraprotein is found?", dataclasses.replace(
        reply, answer=reply.answer.replace("IgG-lambda", "IgG-kappa")), facts=("IgG-lambda",))
    assert summary["citation_recall"] < 1.0 and summary["fact_recall"] == 0.0
    assert any("kappa not in the passages" in r for r in scored.reasons)


def test_invented_drug_sentence_fails_citation_recall(bot, dose):
    invented = dataclasses.replace(dose, answer=dose.answer + " Rituximab is an effective alternative [1].")
    scored, summary = score(bot, "What dose of IVIG is used?", invented)
    statements = len(scored.citations.verdicts)
    assert summary["citation_recall"] == pytest.approx((statements - 1) / statements)
    assert summary["citation_precision"] < 1.0  # the marker on the invented sentence is not a precise citation
    assert "rituximab not in the passages" in scored.reasons[-1]
    assert scored.failures == ("statement not supported by its citations: Rituximab is an effective alternative.",)


def test_flipped_negation_fails_citation_recall(bot):
    reply = bot.ask("Is a skin biopsy needed for diagnosis?", article=SLUG)
    assert "is essential for diagnosis" in reply.answer
    flipped = dataclasses.replace(reply, answer=reply.answer.replace("is essential", "is not essential"))
    scored, summary = score(bot, "Is a skin biopsy needed for diagnosis?", flipped)
    assert summary["citation_recall"] < 1.0
    assert any("essential is negated in the claim but affirmed in the passages" in r for r in scored.reasons)


def test_citation_moved_to_another_passage_fails_citation_recall(bot, dose):
    text = bot.corpus().articles[SLUG].text
    elsewhere = "Extremely rare disorder"
    start = text.index(elsewhere)
    moved = [dataclasses.replace(c, text=elsewhere, start=start, end=start + len(elsewhere))
             if c.number == 1 else c for c in dose.citations]
    scored, summary = score(bot, "What dose of IVIG is used?", dataclasses.replace(dose, citations=tuple(moved)))
    assert summary["citation_validity"] == 1.0  # a real span of the article...
    assert summary["citation_recall"] < 1.0  # ...that does not say what the sentence citing it says
    assert not scored.citations.verdicts[0].supported


def test_citation_span_that_does_not_slice_its_text_fails_validity(bot, dose):
    first = dose.citations[0]
    shifted = dataclasses.replace(first, start=first.start + 1, end=first.end + 1)
    scored, summary = score(bot, "What dose of IVIG is used?",
                            dataclasses.replace(dose, citations=(shifted, *dose.citations[1:])))
    assert summary["citation_validity"] == 0.0
    assert scored.failures[0].startswith("invalid citation: [1] span")


def test_marker_without_citation_fails_validity(bot, dose):
    extra = dataclasses.replace(dose, answer=dose.answer + " It works [9].")
    scored, summary = score(bot, "What dose of IVIG is used?", extra)
    assert summary["citation_validity"] == 0.0 and "invalid citation: marker [9] has no citation" in scored.failures


def test_dropped_marker_leaves_an_uncited_sentence(bot, dose):
    uncited = dataclasses.replace(dose, answer=dose.answer.replace(" [1]", ""))
    scored, summary = score(bot, "What dose of IVIG is used?", uncited)
    assert summary["citation_recall"] < 1.0 and scored.reasons[0] == "no citation"


def test_answering_an_unanswerable_question_fails_abstention(bot, dose):
    question = "Can rituximab be used to treat scleromyxedema?"
    refusal = bot.ask(question, article=SLUG)
    assert refusal.abstained
    assert score(bot, question, refusal, answerable=False)[1]["abstention_accuracy"] == 1.0
    scored, summary = score(bot, question, dose, answerable=False)
    assert summary["abstention_accuracy"] == 0.0
    assert scored.failures == ("answered an unanswerable question",)


def test_refusing_an_answerable_question_is_a_false_refusal(bot):
    refusal = bot.ask("Can rituximab be used to treat scleromyxedema?", article=SLUG)
    scored, summary = score(bot, "What dose of IVIG is used?", refusal, facts=("2 g/kg",))
    assert summary["false_refusal_rate"] == 1.0 and summary["fact_recall"] == 0.0
    assert "refused an answerable question" in scored.failures


class Spy:
    """The real assistant, recording the history each question was asked with."""

    def __init__(self, bot: Assistant) -> None:
        self.bot = bot
        self.histories: list[list[dict[str, str]]] = []

    def ask(self, question, history=None, article=None):
        self.histories.append([dict(m) for m in history or []])
        return self.bot.ask(question, history=history, article=article)

    def top_passages(self, *args, **kwargs):
        return self.bot.top_passages(*args, **kwargs)

    def corpus(self):
        return self.bot.corpus()


def test_run_feeds_the_real_previous_answers_and_times_each_ask(bot):
    case = next(c for c in load_cases().cases if c.id == "followup-001")
    spy = Spy(bot)
    ticks = itertools.count(step=0.004)  # each ask takes 4 ms on this clock
    run = run_cases(spy, [case], clock=lambda: next(ticks))
    first = run.scores[0].record.reply
    assert spy.histories[0] == []
    assert spy.histories[1] == [{"role": "user", "content": case.turns[0].question},
                                {"role": "assistant", "content": first.answer}]
    assert [s.record.latency for s in run.scores] == pytest.approx([0.004] * len(case.turns))
    assert [s.record.turn for s in run.scores] == list(range(1, len(case.turns) + 1))
