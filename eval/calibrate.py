"""Calibrate and check the offline support check (assistant/support.py) on hand-labelled claim/passage pairs.

`python -m eval.calibrate [PAIRS]` fits the coverage threshold on the dev half of the pairs and prints the
agreement with the hand labels on the held-out test half and on all pairs, with the confusion counts.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.support import COVERAGE_THRESHOLD, SupportVerdict, support
from eval.cases import SPLITS, CaseFileError, read_jsonl

PAIRS_FORMAT = "citechat-support-pairs"
PAIRS_VERSION = 1
DEFAULT_PAIRS = Path(__file__).parent / "cases" / "support_pairs.jsonl"
CANDIDATES = tuple(i / 100 for i in range(101))


@dataclass(frozen=True)
class Pair:
    """A claim, a passage, and whether the passage supports the claim according to a person."""

    id: str
    split: str
    claim: str
    passage: str
    supported: bool
    why: str = ""


@dataclass(frozen=True)
class Agreement:
    """How often the check agrees with the hand labels, as confusion counts ('positive' = supported)."""

    true_positive: int
    false_positive: int
    true_negative: int
    false_negative: int

    @property
    def total(self) -> int:
        """Return the number of pairs judged."""
        return self.true_positive + self.false_positive + self.true_negative + self.false_negative

    @property
    def rate(self) -> float:
        """Return the share of pairs on which the check and the label agree (0.0 when there are none)."""
        return (self.true_positive + self.true_negative) / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, float | int]:
        """Return the JSON form used in reports."""
        return {"agreement": round(self.rate, 4), "pairs": self.total, "true_positive": self.true_positive,
                "false_positive": self.false_positive, "true_negative": self.true_negative,
                "false_negative": self.false_negative}


def load_pairs(path: Path | str = DEFAULT_PAIRS) -> tuple[list[Pair], tuple[str, ...]]:
    """Return the labelled pairs of a file and the subject words its header declares; raises CaseFileError."""
    header, records = read_jsonl(Path(path), PAIRS_FORMAT, PAIRS_VERSION)
    pairs = []
    for number, record in records:
        where = f"{path} line {number}"
        try:
            pair = Pair(id=str(record["id"]), split=str(record["split"]), claim=str(record["claim"]),
                        passage=str(record["passage"]), supported=record["supported"], why=str(record.get("why", "")))
        except KeyError as exc:
            raise CaseFileError(f"{where}: missing field {exc.args[0]!r} (a pair has id, split, claim, passage, "
                                "supported).") from None
        if pair.split not in SPLITS or not isinstance(pair.supported, bool):
            raise CaseFileError(f"{where}: split must be dev or test and supported true or false.")
        pairs.append(pair)
    subject = header.get("subject", "")
    return pairs, (subject,) if subject else ()


def judge(pairs: Sequence[Pair], threshold: float = COVERAGE_THRESHOLD,
          known: Sequence[str] = ()) -> list[tuple[Pair, SupportVerdict]]:
    """Return each pair with the support check's verdict at a threshold."""
    return [(p, support(p.claim, [p.passage], threshold=threshold, known=known)) for p in pairs]


def agreement(judged: Sequence[tuple[Pair, SupportVerdict]]) -> Agreement:
    """Return the confusion counts of verdicts against labels."""
    counts = {(True, True): 0, (False, True): 0, (False, False): 0, (True, False): 0}
    for pair, verdict in judged:
        counts[(verdict.supported, pair.supported)] += 1
    return Agreement(true_positive=counts[(True, True)], false_positive=counts[(True, False)],
                     true_negative=counts[(False, False)], false_negative=counts[(False, True)])


def calibrate(pairs: Sequence[Pair], known: Sequence[str] = ()) -> float:
    """Return the coverage threshold (a multiple of 0.01) with the best agreement on the given pairs.

    Ties go to the strictest (highest) threshold: for a grounding check, calling an unsupported sentence
    supported is the costlier mistake.
    """
    if not pairs:
        raise CaseFileError("No pairs to calibrate on.")
    verdicts = [(p, support(p.claim, [p.passage], threshold=0.0, known=known)) for p in pairs]
    rates = [sum((not v.mismatches and v.coverage >= t) == p.supported for p, v in verdicts) for t in CANDIDATES]
    best = max(rates)
    return max(t for t, rate in zip(CANDIDATES, rates, strict=True) if rate == best)


def support_check(path: Path | str = DEFAULT_PAIRS) -> dict[str, Any]:
    """Return the support check's agreement with the labelled pairs at its threshold: dev, held-out test, all."""
    pairs, known = load_pairs(path)
    judged = judge(pairs, COVERAGE_THRESHOLD, known)
    result: dict[str, Any] = {"pairs_file": str(path), "threshold": COVERAGE_THRESHOLD, "fitted_on": "dev"}
    for name in ("dev", "test", "all"):
        result[name] = agreement([(p, v) for p, v in judged if name in ("all", p.split)]).to_dict()
    result["disagreements"] = [{"id": p.id, "split": p.split, "labelled": p.supported, "claim": p.claim,
                                "reason": v.reason} for p, v in judged if v.supported != p.supported]
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Print the calibrated threshold and the agreement of the check with the labels."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        pairs, known = load_pairs(args[0] if args else DEFAULT_PAIRS)
    except CaseFileError as exc:
        print(f"calibrate: {exc}", file=sys.stderr)
        return 2
    dev = [p for p in pairs if p.split == "dev"]
    fitted = calibrate(dev, known)
    print(f"threshold fitted on the {len(dev)} dev pairs: {fitted:.2f} (assistant/support.py uses "
          f"{COVERAGE_THRESHOLD:.2f})")
    judged = judge(pairs, COVERAGE_THRESHOLD, known)
    for name, chosen in (("dev", "dev"), ("test (held out)", "test"), ("all", None)):
        part = [(p, v) for p, v in judged if chosen is None or p.split == chosen]
        a = agreement(part)
        print(f"{name:16} agreement {a.rate:6.1%} of {a.total:2}  TP {a.true_positive:2}  FP {a.false_positive:2}  "
              f"TN {a.true_negative:2}  FN {a.false_negative:2}")
    for pair, verdict in judged:
        if verdict.supported != pair.supported:
            print(f"  disagree {pair.id} ({pair.split}, labelled {'supported' if pair.supported else 'unsupported'}): "
                  f"{pair.claim!r}: {verdict.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
