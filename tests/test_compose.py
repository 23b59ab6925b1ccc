"""How an answer is composed: the lead first, whole thoughts, heading labels, doses in words, summaries.

Each rule's data file is checked both ways, and each rule end to end on the bundled article (and on a small
leaflet written for the test where the bundled article has no case).
"""

from __future__ import annotations

import tomllib

import pytest

from assistant.compose import leans
from assistant.labels import RULES_FILE as LABELS_FILE
from assistant.labels import load_label_rules, section_label
from assistant.rank import STATES_DOSE
from assistant.suggest import follow_ups, section_question
from assistant.summary import RULES_FILE as INTENTS_FILE
from assistant.summary import asks_for_summary, summary_topic
from tests.conftest import assistant_over

SLUG = "scleromyxedema"
LABELS = tomllib.loads(LABELS_FILE.read_text(encoding="utf-8"))
INTENTS = tomllib.loads(INTENTS_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("heading", "label"), [(h, r["label"]) for r in LABELS["rule"] for h in r["headings"]])
def test_each_label_rule_takes_its_headings(heading, label):
    assert load_label_rules().label(heading) == label


@pytest.mark.parametrize("heading", LABELS["ordinary"]["headings"])
def test_no_label_rule_takes_an_ordinary_heading(heading):
    assert load_label_rules().label(heading) is None


def test_only_the_nearest_heading_labels():
    assert section_label("Treatment Approach > Critical Pitfalls") == "Critical pitfall"
    assert section_label("Critical Pitfalls > Diagnosis") is None


@pytest.mark.parametrize("question", INTENTS["summary"]["asks"])
def test_summary_questions_are_recognised(question):
    assert asks_for_summary(question)


@pytest.mark.parametrize("question", INTENTS["summary"]["not"])
def test_fact_questions_are_not_summaries(question):
    assert not asks_for_summary(question)


def test_a_summary_topic_keeps_what_frames_a_question_elsewhere():
    assert summary_topic("Give me an overview of the treatment") == {"treatment"}
    assert summary_topic("Summarize the article") == frozenset()


@pytest.mark.parametrize(("text", "dose"), [
    ("IVIG at 2 g/kg monthly", True), ("prednisone at one milligram per kilogram", True),
    ("forty milligrams daily", True), ("0.5 grams twice a day", True), ("5,000 international units", True),
    ("a 10-mg tablet", True), ("in two groups of patients", False), ("IgG-lambda type", False),
    ("within three courses", False),
])
def test_doses_in_words_and_symbols(text, dose):
    assert bool(STATES_DOSE.search(text)) is dose


@pytest.mark.parametrize(("sentence", "leaning"), [
    ("Skin biopsy demonstrates these characteristic features and is essential for diagnosis", True),
    ("This is classified as monoclonal gammopathy of undetermined significance (MGUS)", True),
    ("They respond to IVIG.", True),
    ("Dermal mucin deposition with increased fibroblast proliferation and fibrosis", False),
    ("However, IVIG remains the first-line treatment.", False),
    ("Such as fever and coma.", True),
    ("Diseases such as lupus are excluded.", False),
])
def test_which_sentences_lean_on_the_one_before(sentence, leaning):
    assert leans(sentence) is leaning


def test_a_bullet_leaning_on_the_one_before_brings_it(bot):
    reply = bot.ask("What does a skin biopsy show?", article=SLUG)
    texts = [c.text for c in reply.citations]
    biopsy = next(i for i, t in enumerate(texts) if t.startswith("Skin biopsy demonstrates these"))
    assert biopsy > 0 and texts[biopsy - 1].startswith("Dermal mucin deposition")  # the features, cited


def test_the_answer_leads_with_the_sentence_stating_what_was_asked(bot):
    reply = bot.ask("How often is IVIG given?", article=SLUG)
    assert "monthly" in reply.citations[0].text


def test_a_pitfall_is_labelled_outside_the_quote(bot):
    reply = bot.ask("Can corticosteroids and methotrexate alone be used?", article=SLUG)
    pitfall = next(c for c in reply.citations if c.section.endswith("Critical Pitfalls"))
    assert f"Critical pitfall: {pitfall.text}" in reply.answer.replace(f" [{pitfall.number}]", "")
    article = bot.corpus().articles[SLUG].text
    assert article[pitfall.start:pitfall.end] == pitfall.text  # the quote is the article's own text


def test_the_stream_says_what_the_answer_says(bot):
    events = list(bot.stream("What are the critical pitfalls?", article=SLUG))
    *pieces, reply = events
    assert "".join(pieces) == reply.answer and reply.answer.startswith("Critical pitfall: ")


def test_summary_is_one_central_sentence_per_main_section_in_reading_order(bot):
    reply = bot.ask("Summarize the article", article=SLUG)
    assert not reply.abstained
    tops = [c.section.split(" > ")[0] for c in reply.citations]
    assert len(tops) == len(set(tops)) >= 3  # one per main section
    assert [c.start for c in reply.citations] == sorted(c.start for c in reply.citations)
    treatment = bot.ask("Give me an overview of the treatment", article=SLUG)
    assert treatment.citations and all(c.section.startswith("Treatment") for c in treatment.citations)
    assert len({c.section for c in treatment.citations}) == len(treatment.citations)


LEAFLET = """Giant cell arteritis

Treatment

Prednisone is started at forty milligrams a day and tapered over one to two years.

Tocilizumab is added when relapses occur.

Critical Pitfalls

  • Using CRP to monitor disease activity in patients treated with tocilizumab
  • Delaying steroids while waiting for a biopsy
"""


def test_a_dose_in_words_is_a_dose_and_a_pitfall_reads_as_one(tmp_path, embedder):
    bot = assistant_over(LEAFLET, tmp_path, embedder)
    dose = bot.ask("What is the starting dose of prednisone?")
    assert not dose.abstained and "forty milligrams" in dose.answer
    crp = bot.ask("Can I use CRP to monitor patients on tocilizumab?")
    assert crp.answer.startswith("Critical pitfall: Using CRP to monitor disease activity")


@pytest.mark.parametrize(("heading", "question"), [
    ("Critical Pitfalls", "What are the critical pitfalls?"),
    ("First-Line Therapy", "What is the first-line therapy?"),
    ("Relapse", "What does the article say about relapse?"),
    ("Giant Cell Arteritis: Diagnosis and Management", "What does the article say about diagnosis and management?"),
    ("Signs and Symptoms", "What does the article say about signs and symptoms?"),
    ("Laboratory Findings", "What are the laboratory findings?"),
    ("Prognosis", "What does the article say about prognosis?"),
    ("Is it contagious?", "Is it contagious?"),
])
def test_suggested_questions_are_grammatical(heading, question):
    assert section_question(heading) == question


LONG = "Long review\n\n" + "".join(f"Topic {n} heading\n\nTopic {n} is described in this paragraph at length.\n\n"
                                     for n in range(1, 31))


def test_a_refusal_is_short_and_its_suggestions_are_near_what_was_asked(tmp_path, embedder):
    bot = assistant_over(LONG, tmp_path, embedder)
    reply = bot.ask("What is the dose of rituximab?")
    assert reply.abstained
    assert reply.answer.count(",") <= 8 and "and 22 more sections" in reply.answer
    refused = bot.ask("What does topic 17 involve for rituximab?")
    assert refused.abstained
    nearest = follow_ups(bot, "What does topic 17 involve for rituximab?", refused)
    assert nearest and "topic 17" in nearest[0].lower()  # not the first sections of the article
