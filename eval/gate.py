"""The gate: bounds on the metrics, read from a TOML file (eval/thresholds.toml by default)."""

from __future__ import annotations

import math
import textwrap
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from eval.cases import CaseFileError

DEFAULT_THRESHOLDS = Path(__file__).with_name("thresholds.toml")
METRICS = (
    "retrieval_hit1_alone", "retrieval_hit3_alone", "retrieval_hit5_alone", "retrieval_mrr_alone",
    "retrieval_hit1_history", "retrieval_hit3_history", "retrieval_hit5_history", "retrieval_mrr_history",
    "followup_hit1_alone", "followup_mrr_alone", "followup_hit1_history", "followup_mrr_history",
    "citation_validity", "citation_recall", "citation_precision", "fact_recall", "abstention_accuracy",
    "false_refusal_rate", "latency_p50_ms", "latency_p95_ms", "support_agreement",
)
LOWER_IS_BETTER = frozenset({"false_refusal_rate", "latency_p50_ms", "latency_p95_ms"})
EPSILON = 1e-9  # the figures are exact ratios; this only absorbs float rounding


@dataclass(frozen=True)
class Check:
    """One metric against its bound."""

    metric: str
    value: float | None  # None when no evaluated turn measures the metric
    kind: str  # "min" or "max"
    bound: float

    @property
    def passed(self) -> bool:
        """Return True when the value is within the bound, or when nothing measured the metric."""
        if self.value is None:
            return True
        if self.kind == "min":
            return self.value >= self.bound - EPSILON
        return self.value <= self.bound + EPSILON

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form used in reports."""
        value = None if self.value is None else round(self.value, 4)
        return {"metric": self.metric, "value": value, "kind": self.kind, "bound": self.bound, "passed": self.passed}


def load_thresholds(path: Path | str = DEFAULT_THRESHOLDS) -> dict[str, dict[str, float]]:
    """Return {"min": {metric: bound}, "max": {...}} from a TOML file; raises CaseFileError when it is unusable."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseFileError(f"{path}: no such thresholds file.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CaseFileError(f"{path}: not a readable TOML file ({exc}).") from None
    unknown = sorted(set(data) - {"min", "max"})
    if unknown:
        raise CaseFileError(f"{path}: unknown table(s) {', '.join(unknown)}; use [min] and [max].")
    bounds: dict[str, dict[str, float]] = {"min": {}, "max": {}}
    for kind in ("min", "max"):
        table = data.get(kind, {})
        if not isinstance(table, dict):
            raise CaseFileError(f"{path}: [{kind}] must be a table of metric = number.")
        for metric, bound in table.items():
            if metric not in METRICS:
                raise CaseFileError(f"{path}: unknown metric {metric!r} in [{kind}]; known: {', '.join(METRICS)}.")
            if isinstance(bound, bool) or not isinstance(bound, int | float):
                raise CaseFileError(f"{path}: [{kind}] {metric} must be a number.")
            bounds[kind][metric] = float(bound)
    return bounds


def check(summary: Mapping[str, float], thresholds: Mapping[str, Mapping[str, float]]) -> list[Check]:
    """Return every bounded metric against its bound, in the order of the thresholds file."""
    checks = []
    for kind in ("min", "max"):
        for metric, bound in thresholds.get(kind, {}).items():
            checks.append(Check(metric, summary.get(metric), kind, bound))
    return checks


HARD_BOUNDS = {"citation_validity": 1.0}  # never set from a run: every marker must resolve, always
UNGATED = frozenset({"latency_p50_ms", "latency_p95_ms"})  # timings on shared machines are not reproducible


def reached(summary: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Return bounds at the figures a run reached: floored (ceiled for lower-is-better) to 4 decimals,
    which only absorbs float rounding; citation validity stays at 100% and latency is left out."""
    bounds: dict[str, dict[str, float]] = {"min": {}, "max": {}}
    for metric in METRICS:
        if metric in UNGATED or metric not in summary:
            continue
        value = summary[metric]
        if metric in LOWER_IS_BETTER:
            bounds["max"][metric] = math.ceil(value * 10_000 - 1e-6) / 10_000
        else:
            bounds["min"][metric] = HARD_BOUNDS.get(metric, math.floor(value * 10_000 + 1e-6) / 10_000)
    return bounds


def to_toml(bounds: Mapping[str, Mapping[str, float]], comment: str) -> str:
    """Return thresholds as a TOML document headed by a comment."""
    lines = [f"# {line}" for line in textwrap.wrap(" ".join(comment.split()), width=110,
                                                                break_on_hyphens=False, break_long_words=False)]
    for kind in ("min", "max"):
        lines += ["", f"[{kind}]"] + [f"{metric} = {bound}" for metric, bound in bounds[kind].items()]
    return "\n".join(lines) + "\n"
