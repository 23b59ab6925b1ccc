"""The offline support check (assistant/support.py): each critical-token rule, and its agreement with the
hand-labelled claim/passage pairs at the calibrated threshold."""

from __future__ import annotations

import pytest

from assistant.scope_words import general_zipf
from assistant.support import COVERAGE_THRESHOLD, support
from eval.calibrate import agreement, calibrate, judge, load_pairs, support_check

KNOWN = ["What is Scleromyxedema?"]
IVIG = ("High-dose intravenous immunoglobulin (IVIG) at 2 g/kg is the most effective treatment for scleromyxedema "
        "with systemic involvement, often combined with systemic corticosteroids.")
MONTHLY = ("IVIG therapy administered monthly can produce dramatic improvement in cutaneous symptoms, dyspnea, and "
           "systemic manifestations within three courses")
GAMMOPATHY = ("Monoclonal gammopathy (paraproteinemia), predominantly IgG-lambda type, is present in the majority "
              "of patients")
BIOPSY = "Skin biopsy demonstrates these characteristic features and is essential for diagnosis"
EPIDEMIOLOGY = "No gender or racial predilection"
PITFALL = ("Inadequate treatment with conventional immunosuppressives: Corticosteroids and methotrexate alone are "
           "often insufficient for progressive disease with systemic involvement")


@pytest.mark.parametrize(("claim", "passage"), [
    ("IVIG is given at 2 g/kg.", IVIG),
    ("Scleromyxedema is treated with IVIG.", IVIG),
    ("Monthly IVIG improves dyspnea within three courses.", MONTHLY),
    ("Most patients have an IgG-lambda paraprotein.", GAMMOPATHY),
    ("A skin biopsy is essential for diagnosis.", BIOPSY),
    ("Scleromyxedema shows no gender predilection.", EPIDEMIOLOGY),
    ("Patients may be short of breath on exertion.", "Pulmonary: Dyspnea on exertion"),  # lay words, lexicon
])
def test_faithful_claims_are_supported(claim, passage):
    verdict = support(claim, [passage], known=KNOWN)
    assert verdict.supported, verdict.reason
    assert verdict.mismatches == () and verdict.score == verdict.coverage >= COVERAGE_THRESHOLD


@pytest.mark.parametrize(("claim", "passage", "mismatch"), [
    ("IVIG is given at 1 g/kg.", IVIG, "1 g/kg not in the passages"),
    ("IVIG is given at 2 mg/kg.", IVIG, "2 mg/kg not in the passages (they say 2 g/kg)"),
    ("IVIG needs five courses.", MONTHLY, "five not in the passages"),
    ("IVIG is the second-line treatment.", IVIG, "second not in the passages"),
    ("IVIG is given weekly.", MONTHLY, "weekly not in the passages"),
    ("The paraprotein is mostly IgG-kappa.", GAMMOPATHY, "kappa not in the passages"),
    ("The paraprotein is typically IgM.", GAMMOPATHY, "igm not in the passages"),
    ("A minority of patients have a gammopathy.", GAMMOPATHY, "minority not in the passages"),
    ("Children have a monoclonal gammopathy.", GAMMOPATHY, "children not in the passages"),
    ("IVIG is often combined with rituximab.", IVIG, "rituximab not in the passages"),
    ("A skin biopsy is not essential for diagnosis.", BIOPSY,
     "essential is negated in the claim but affirmed in the passages"),
    ("There is a racial predilection.", EPIDEMIOLOGY, "racial is affirmed in the claim but negated in the passages"),
    ("Corticosteroids and methotrexate alone are often sufficient.", PITFALL,
     "sufficient contradicts 'insufficient' of the passages"),
])
def test_a_disagreeing_critical_token_is_unsupported_whatever_the_coverage(claim, passage, mismatch):
    verdict = support(claim, [passage], known=KNOWN)
    assert not verdict.supported and verdict.score == 0.0
    assert mismatch in verdict.mismatches, verdict.reason
    assert mismatch in verdict.reason


def test_passages_are_judged_together():
    claim = "IVIG at 2 g/kg is given monthly."
    assert not support(claim, [IVIG], known=KNOWN).supported
    assert not support(claim, [MONTHLY], known=KNOWN).supported
    assert support(claim, [IVIG, MONTHLY], known=KNOWN).supported


def test_known_subject_words_count_as_stated():
    claim = "Scleromyxedema causes proximal muscle weakness."
    passage = "Musculoskeletal: Proximal muscle weakness"
    assert "scleromyxedema not in the passages" in support(claim, [passage]).mismatches
    assert support(claim, [passage], known=KNOWN).mismatches == ()


def test_low_coverage_is_unsupported_and_no_passage_supports_nothing():
    verdict = support("Histology shows dermal amyloid deposition.", ["Dermal mucin deposition with fibrosis"])
    assert not verdict.supported and verdict.missing == ("histology", "shows", "amyloid")
    weight = {w: max(1.0, 7.0 - general_zipf(w)) for w in ("histology", "shows", "dermal", "amyloid", "deposition")}
    assert verdict.coverage == round((weight["dermal"] + weight["deposition"]) / sum(weight.values()), 4)
    assert not support("IVIG is effective.", []).supported


def test_negation_scope_ends_at_the_clause():
    passage = ("Failure to recognize systemic involvement: Unlike localized morphea or systemic sclerosis, "
               "scleromyxedema requires screening for the characteristic monoclonal gammopathy")
    assert support("Scleromyxedema requires screening for monoclonal gammopathy.", [passage], known=KNOWN).supported
    assert "screening is negated in the claim but affirmed in the passages" in support(
        "Scleromyxedema does not require screening for monoclonal gammopathy.", [passage], known=KNOWN).mismatches


# -- the labelled pairs ----------------------------------------------------------------------------------
def test_the_pairs_are_enough_and_split_by_label():
    pairs, known = load_pairs()
    assert len(pairs) >= 40 and known == ("scleromyxedema",)
    for split in ("dev", "test"):
        part = [p for p in pairs if p.split == split]
        assert sum(p.supported for p in part) == sum(not p.supported for p in part) == 14


def test_threshold_is_the_one_fitted_on_the_dev_pairs():
    pairs, known = load_pairs()
    assert calibrate([p for p in pairs if p.split == "dev"], known) == COVERAGE_THRESHOLD


def test_agreement_with_the_hand_labels_is_at_least_the_reported_figure():
    # README, "How support is judged": held-out 25/28 (89.3%), all 52/56 (92.9%), no false positives.
    pairs, known = load_pairs()
    judged = judge(pairs, COVERAGE_THRESHOLD, known)
    held_out = agreement([(p, v) for p, v in judged if p.split == "test"])
    overall = agreement(judged)
    assert held_out.true_positive + held_out.true_negative >= 25 and held_out.total == 28
    assert overall.true_positive + overall.true_negative >= 52 and overall.false_positive == 0
    report = support_check()
    assert report["test"]["agreement"] == round(held_out.rate, 4) and report["threshold"] == COVERAGE_THRESHOLD


IVIG_SENTENCE = ("High-dose intravenous immunoglobulin (IVIG) at 2 g/kg is the most effective treatment for "
                 "scleromyxedema with systemic involvement, often combined with systemic corticosteroids.")


@pytest.mark.parametrize(("claim", "critical"), [
    ("IVIG is often combined with 2 corticosteroids.", "2 not in the passages"),  # a bare number is no dose
    ("IVIG is the least effective treatment.", "least contradicts 'most'"),
    ("Low-dose IVIG is the most effective treatment.", "low contradicts 'high'"),
    ("IVIG at 2 g/kg per day is the most effective treatment.", "daily not in the passages"),
])
def test_opposites_bare_numbers_and_schedules_are_critical(claim, critical):
    verdict = support(claim, [IVIG_SENTENCE], known=["scleromyxedema"])
    assert not verdict.supported
    assert any(critical in m for m in verdict.mismatches)
    assert support("IVIG at 2 g/kg is the most effective treatment.", [IVIG_SENTENCE]).supported
