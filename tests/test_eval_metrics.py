"""The eval's metric functions, case loader and gate on hand-made data, with exact expected values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Citation, Reply
from eval import metrics
from eval.cases import CaseFileError, load_cases, locate_gold
from eval.gate import Check, check, load_thresholds, reached, to_toml
from eval.metrics import Statement
from eval.score import TurnRecord, score_turn, summarize

ARTICLE = "Alpha is rare. Beta is given at 2 g/kg monthly. Gamma is not needed."
ARTICLES = {"demo": ARTICLE}


def cite(number: int, text: str, article: str = "demo", shift: int = 0) -> Citation:
    start = ARTICLE.index(text) + shift
    return Citation(number=number, article=article, section="S", text=text, start=start, end=start + len(text))


# -- retrieval ---------------------------------------------------------------------------------------------
def test_first_hit_is_the_rank_of_the_first_overlapping_span():
    gold = [("demo", 15, 48)]
    ranked = [("demo", 0, 14), ("other", 15, 48), ("demo", 40, 60), ("demo", 15, 48)]
    assert metrics.first_hit(ranked, gold) == 3  # overlap counts; another article with the same span does not
    assert metrics.first_hit(ranked[:2], gold) is None
    assert metrics.first_hit([("demo", 48, 60)], gold) is None  # touching is not overlapping


def test_hit_at_k_and_mrr():
    ranks = [1, 2, None, 5]
    assert metrics.hit_at_k(ranks, 1) == 0.25
    assert metrics.hit_at_k(ranks, 3) == 0.5
    assert metrics.hit_at_k(ranks, 5) == 0.75
    assert metrics.mrr(ranks) == pytest.approx((1 + 0.5 + 0 + 0.2) / 4)
    assert metrics.mrr([]) == 0.0 and metrics.hit_at_k([], 1) == 0.0


# -- citation validity -------------------------------------------------------------------------------------
def test_valid_citations_have_no_problems():
    answer = "Alpha is rare [1]. Beta is given at 2 g/kg monthly [2]."
    citations = [cite(1, "Alpha is rare."), cite(2, "Beta is given at 2 g/kg monthly.")]
    assert metrics.citation_problems(answer, citations, ARTICLES) == []


@pytest.mark.parametrize(("answer", "citations", "problem"), [
    ("Alpha is rare [2].", [cite(1, "Alpha is rare.")], "marker [2] has no citation"),
    ("Alpha is rare [1, 3].", [cite(1, "Alpha is rare.")], "marker [3] has no citation"),
    ("Alpha is rare [1].", [cite(1, "Alpha is rare.", shift=1)], "[1] span 1:15 does not slice the article back"),
    ("Alpha [1].", [Citation(1, "demo", "S", "x", 60, 99)], "[1] span 60:99 is outside the article"),
    ("Alpha [1].", [cite(1, "Alpha is rare.", article="gout")], "[1] cites unknown article 'gout'"),
    ("Alpha [1].", [cite(1, "Alpha is rare."), cite(1, "Alpha is rare.")], "citation number 1 is used twice"),
])
def test_invalid_citations_are_named(answer, citations, problem):
    problems = metrics.citation_problems(answer, citations, ARTICLES)
    assert len(problems) == 1 and problems[0].startswith(problem)


# -- statements and ALCE -----------------------------------------------------------------------------------
def test_statements_split_at_markers_and_sentence_ends():
    assert metrics.statements("A b [1]. C d [2][3]. E f. G [4]") == [
        Statement("A b.", (1,)), Statement("C d.", (2, 3)), Statement("E f.", ()), Statement("G", (4,))]
    assert metrics.statements("X, e.g. y [1, 2]! Z [3]?") == [Statement("X, e.g. y!", (1, 2)), Statement("Z?", (3,))]
    assert metrics.statements("") == []


def words_judge(claim: str, passages: list[str]) -> bool:
    """A stand-in judge: every word of the claim occurs in the passages."""
    said = set(" ".join(passages).lower().replace(".", "").split())
    return set(claim.lower().rstrip(".").split()) <= said


def test_alce_recall_and_precision():
    passages = {1: "alpha is rare", 2: "beta is common", 3: "gamma"}
    statements = [Statement("Alpha is rare.", (1,)),  # supported by its one citation: precise
                  Statement("Beta is common.", (2, 3)),  # [2] alone supports; [3] is not needed
                  Statement("Delta.", (1,)),  # unsupported: its citation is not precise
                  Statement("Uncited.", ())]
    scores = metrics.alce(statements, passages, words_judge)
    assert scores.recall == 0.5
    assert scores.precision == 0.5  # 2 precise of 4 citations
    assert [v.precise for v in scores.verdicts] == [(1,), (2,), (), ()]


def test_alce_counts_jointly_needed_citations_as_precise():
    passages = {1: "alpha is", 2: "rare"}
    scores = metrics.alce([Statement("Alpha is rare.", (1, 2))], passages, words_judge)
    assert (scores.recall, scores.precision) == (1.0, 1.0)


def test_alce_marker_without_passage_is_unsupported():
    scores = metrics.alce([Statement("Alpha is rare.", (1, 9))], {1: "alpha is rare"}, words_judge)
    assert (scores.recall, scores.precision) == (0.0, 0.0)


# -- facts, rates, latency ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("answer", "fact", "stated"), [
    ("IgG-lambda type [1].", "IgG lambda", True),
    ("at 2 g/kg [1].", "2 g/kg", True),
    ("at 12 g/kg [1].", "2 g/kg", False),
    ("several doses", "dose", False),
    ("intravenous immunoglobulin [1]", "IVIG|intravenous immunoglobulin", True),
    ("nothing relevant", "IVIG|intravenous immunoglobulin", False),
])
def test_fact_stated_matches_whole_words_and_alternatives(answer, fact, stated):
    assert metrics.fact_stated(answer, fact) is stated


def test_percentile_nearest_rank():
    values = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    assert metrics.percentile(values, 50) == 50.0
    assert metrics.percentile(values, 95) == 100.0
    assert metrics.percentile([7.0], 95) == 7.0 and metrics.percentile([], 50) == 0.0


# -- turn scores and the summary ---------------------------------------------------------------------------
def record(question: str, reply: Reply, answerable: bool = True, facts: tuple[str, ...] = (),
           gold: tuple[tuple[str, int, int], ...] = (), turn: int = 1, ranked: tuple = (), latency: float = 0.01,
           case_id: str = "c") -> TurnRecord:
    return TurnRecord(case_id=case_id, turn=turn, split="test", category="x", article="demo", question=question,
                      answerable=answerable, facts=facts, gold=gold, reply=reply, latency=latency,
                      retrieved_alone=ranked, retrieved_history=ranked)


def test_summary_of_hand_made_turns():
    beta = "Beta is given at 2 g/kg monthly."
    good = Reply("Beta is given at 2 g/kg monthly [1].", (cite(1, beta),))
    span = ("demo", ARTICLE.index(beta), ARTICLE.index(beta) + len(beta))
    refusal = Reply("The article does not cover that.", abstained=True)
    turns = [
        record("Beta dose?", good, facts=("2 g/kg", "weekly"), gold=(span,), ranked=(("demo", 0, 14), span),
               latency=0.010, case_id="a"),
        record("Alpha?", refusal, facts=("rare",), gold=(("demo", 0, 14),), ranked=(("demo", 0, 14),),
               latency=0.030, case_id="b"),
        record("Omega?", refusal, answerable=False, latency=0.020, case_id="c"),
        record("Zeta?", good, answerable=False, latency=0.040, case_id="d"),
    ]
    scores = [score_turn(t, ARTICLES) for t in turns]
    summary = summarize(scores)
    assert summary["retrieval_hit1_alone"] == 0.5 and summary["retrieval_hit3_history"] == 1.0
    assert summary["retrieval_mrr_history"] == 0.75
    assert summary["citation_validity"] == 1.0
    assert summary["citation_recall"] == 1.0 and summary["citation_precision"] == 1.0
    assert summary["fact_recall"] == 0.25  # (1/2 + 0/1) / 2
    assert summary["abstention_accuracy"] == 0.5 and summary["false_refusal_rate"] == 0.5
    assert summary["latency_p50_ms"] == pytest.approx(20.0) and summary["latency_p95_ms"] == pytest.approx(40.0)
    assert "followup_hit1_history" not in summary  # no second turns: not measured, not zero
    assert [s.failures for s in scores] == [
        ("fact not stated: weekly",), ("refused an answerable question",), (),
        ("answered an unanswerable question",)]


# -- the gate ----------------------------------------------------------------------------------------------
def test_gate_checks_minimums_and_maximums(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[min]\nfact_recall = 0.8\ncitation_validity = 1.0\n[max]\nfalse_refusal_rate = 0.1\n")
    bounds = load_thresholds(path)
    checks = check({"fact_recall": 0.8, "citation_validity": 0.99, "false_refusal_rate": 0.1}, bounds)
    assert [(c.metric, c.passed) for c in checks] == [
        ("fact_recall", True), ("citation_validity", False), ("false_refusal_rate", True)]
    assert not Check("false_refusal_rate", 0.1001, "max", 0.1).passed
    assert Check("abstention_accuracy", None, "min", 0.9).passed  # nothing measured it


@pytest.mark.parametrize(("text", "message"), [
    ("[min]\nfact_recal = 0.8\n", "unknown metric 'fact_recal'"),
    ("[min]\nfact_recall = 'high'\n", "fact_recall must be a number"),
    ("[minimum]\n", "unknown table(s) minimum"),
    ("[min\n", "not a readable TOML file"),
])
def test_bad_thresholds_files_are_named(tmp_path, text, message):
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(CaseFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_thresholds(path)


def test_bounds_from_a_run_floor_ceil_and_keep_validity_at_100_percent(tmp_path):
    summary = {"fact_recall": 0.86666666, "citation_validity": 0.99, "false_refusal_rate": 0.05555555,
               "abstention_accuracy": 0.9, "latency_p95_ms": 31.0}
    bounds = reached(summary)
    assert bounds == {"min": {"citation_validity": 1.0, "fact_recall": 0.8666, "abstention_accuracy": 0.9},
                      "max": {"false_refusal_rate": 0.0556}}
    path = tmp_path / "t.toml"
    path.write_text(to_toml(bounds, "set by a test"))
    assert load_thresholds(path) == bounds and path.read_text().startswith("# set by a test\n")
    assert [c.passed for c in check(summary, bounds)] == [False, True, True, True]


def test_repo_thresholds_gate_citation_validity_at_100_percent():
    assert load_thresholds()["min"]["citation_validity"] == 1.0


# -- case files --------------------------------------------------------------------------------------------
GOOD = {"id": "a", "split": "test", "category": "single", "article": "demo",
        "turns": [{"question": "Beta dose?", "answerable": True, "gold": ["2 g/kg monthly"], "facts": ["2 g/kg"]}]}


def write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_a_valid_case_file_loads_and_gold_is_located(tmp_path):
    path = write(tmp_path, {"format": "citechat-cases", "version": 1}, GOOD,
                 {**GOOD, "id": "b", "split": "dev", "turns": [{"question": "Weather?", "answerable": False}]})
    cases = load_cases(path)
    assert [c.id for c in cases.select("test")] == ["a"] and len(cases.select("all")) == 2
    located = locate_gold(cases.select("test"), ARTICLES)
    start = ARTICLE.index("2 g/kg monthly")
    assert located[0].turns[0].spans[0].start == start and located[0].turns[0].spans[0].end == start + 14


@pytest.mark.parametrize(("lines", "message"), [
    (["{not json"], "line 1: not valid JSON"),
    ([GOOD, GOOD], "line 2: duplicate id 'a' (first on line 1)"),
    ([{**GOOD, "split": "train"}], "split must be one of dev, test, not 'train'"),
    ([{**GOOD, "colour": "red"}], "unknown field(s) colour"),
    ([{k: v for k, v in GOOD.items() if k != "article"}], "'article' must be a non-empty string"),
    ([{**GOOD, "turns": []}], "'turns' must be a non-empty list"),
    ([{**GOOD, "turns": [{"question": "Q?", "answerable": "yes"}]}], "'answerable' must be true or false"),
    ([{**GOOD, "turns": [{"question": "Q?", "answerable": True, "gold": ["x"]}]}], "needs its gold quotes and"),
    ([{**GOOD, "turns": [{"question": "Q?", "answerable": False, "facts": ["x"]}]}], "has no gold quotes or facts"),
    ([{**GOOD, "turns": [{**GOOD["turns"][0], "facts": ["a|"]}]}], "a fact has an empty alternative"),
    ([{"format": "citechat-cases", "version": 2}, GOOD], "version 2 is not supported"),
    ([GOOD, {"format": "citechat-cases", "version": 1}], "may only be the first line"),
    ([{"format": "citechat-support-pairs", "version": 1}], "expected 'citechat-cases'"),
    ([{"format": "citechat-cases", "version": 1}], "no cases in the file"),
    (["[1, 2]"], "expected a JSON object, got list"),
])
def test_bad_case_files_are_named(tmp_path, lines, message):
    path = write(tmp_path, *lines)
    with pytest.raises(CaseFileError) as error:
        load_cases(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_gold_quote_not_in_the_article_is_named(tmp_path):
    path = write(tmp_path, {**GOOD, "turns": [{**GOOD["turns"][0], "gold": ["2 g/kg weekly"]}]})
    with pytest.raises(CaseFileError, match="case 'a' \\(line 1\\) turn 1: gold quote not found .*'2 g/kg weekly'"):
        locate_gold(load_cases(path).select("test"), ARTICLES)
    with pytest.raises(CaseFileError, match="article 'demo' is not ingested \\(available: gout\\)"):
        locate_gold(load_cases(path).select("test"), {"gout": ARTICLE})


def test_missing_file_and_empty_split(tmp_path):
    with pytest.raises(CaseFileError, match="no such file"):
        load_cases(tmp_path / "none.jsonl")
    with pytest.raises(CaseFileError, match="no cases in split 'dev' \\(splits present: test\\)"):
        load_cases(write(tmp_path, GOOD)).select("dev")
