"""Reports of an evaluation: the JSON document, a plain-text table and a self-contained HTML page."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from eval.gate import LOWER_IS_BETTER, Check
from eval.score import TurnScore

REPORT_FORMAT = "citechat-eval"
REPORT_VERSION = 1
LABELS = {
    "retrieval_hit1_alone": "retrieval hit@1, last turn alone",
    "retrieval_hit3_alone": "retrieval hit@3, last turn alone",
    "retrieval_hit5_alone": "retrieval hit@5, last turn alone",
    "retrieval_mrr_alone": "retrieval MRR@10, last turn alone",
    "retrieval_hit1_history": "retrieval hit@1, with history",
    "retrieval_hit3_history": "retrieval hit@3, with history",
    "retrieval_hit5_history": "retrieval hit@5, with history",
    "retrieval_mrr_history": "retrieval MRR@10, with history",
    "followup_hit1_alone": "follow-up turns: hit@1, last turn alone",
    "followup_mrr_alone": "follow-up turns: MRR@10, last turn alone",
    "followup_hit1_history": "follow-up turns: hit@1, with history",
    "followup_mrr_history": "follow-up turns: MRR@10, with history",
    "citation_validity": "citation validity",
    "citation_recall": "citation recall (ALCE)",
    "citation_precision": "citation precision (ALCE)",
    "fact_recall": "required-fact recall",
    "abstention_accuracy": "abstention accuracy (unanswerable)",
    "false_refusal_rate": "false-refusal rate (answerable)",
    "support_agreement": "support check agreement (held-out pairs)",
    "latency_p50_ms": "latency p50, ms per question",
    "latency_p95_ms": "latency p95, ms per question",
}


def build(*, cases_file: str, split: str, thresholds_file: str, scores: Sequence[TurnScore],
          summary: Mapping[str, float], counts: Mapping[str, int], categories: Mapping[str, Mapping[str, float]],
          checks: Sequence[Check], support_check: Mapping[str, Any]) -> dict[str, Any]:
    """Return the JSON document of an evaluation: metrics, gate, support check, and every case (failing first)."""
    return {
        "format": REPORT_FORMAT, "version": REPORT_VERSION, "cases_file": cases_file, "split": split,
        "thresholds_file": thresholds_file, "passed": all(c.passed for c in checks), "counts": dict(counts),
        "metrics": {name: round(value, 4) for name, value in summary.items()},
        "gate": [c.to_dict() for c in checks], "support_check": dict(support_check),
        "categories": {k: {m: round(v, 4) for m, v in row.items()} for k, row in categories.items()},
        "cases": _cases(scores),
    }


def _cases(scores: Sequence[TurnScore]) -> list[dict[str, Any]]:
    grouped: dict[str, list[TurnScore]] = {}
    for score in scores:
        grouped.setdefault(score.record.case_id, []).append(score)
    cases = []
    for case_id, turns in grouped.items():
        first = turns[0].record
        cases.append({
            "id": case_id, "split": first.split, "category": first.category, "article": first.article,
            "passed": all(t.passed for t in turns), "turns": [_turn(t) for t in turns],
        })
    return sorted(cases, key=lambda c: c["passed"])  # stable: failing cases first, each group in file order


def _turn(score: TurnScore) -> dict[str, Any]:
    record, reply = score.record, score.record.reply
    statements = []
    if score.citations is not None:
        for verdict, reason in zip(score.citations.verdicts, score.reasons, strict=True):
            statements.append({"text": verdict.statement.text, "citations": list(verdict.statement.numbers),
                               "supported": verdict.supported, "precise": list(verdict.precise), "reason": reason})
    return {
        "turn": record.turn, "question": record.question, "answerable": record.answerable,
        "abstained": reply.abstained, "answer": reply.answer, "citations": [c.to_dict() for c in reply.citations],
        "statements": statements,
        "facts": [{"fact": f, "stated": ok} for f, ok in zip(record.facts, score.facts_stated, strict=True)],
        "gold": [{"start": s, "end": e} for _, s, e in record.gold],
        "rank_alone": score.rank_alone, "rank_history": score.rank_history,
        "latency_ms": round(record.latency * 1000, 1), "citation_problems": list(score.citation_problems),
        "failures": list(score.failures),
    }


def _value(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if metric.endswith("_ms") else f"{value:.4f}"


def _bound(check: Check | None) -> tuple[str, str]:
    if check is None:
        return "(reported)", ""
    sign = ">=" if check.kind == "min" else "<="
    status = "n/a" if check.value is None else ("ok" if check.passed else "FAIL")
    return f"{sign} {_value(check.metric, check.bound)}", status


def table(report: Mapping[str, Any], failing_listed: int = 15) -> str:
    """Return the evaluation as a plain-text table, the failing cases, and the verdict."""
    counts = report["counts"]
    checks = {c["metric"]: Check(c["metric"], c["value"], c["kind"], c["bound"]) for c in report["gate"]}
    lines = [
        f"citechat eval: {report['cases_file']} (split {report['split']}): {counts['cases']} cases, "
        f"{counts['turns']} turns ({counts['answerable_turns']} answerable, {counts['unanswerable_turns']} "
        "unanswerable)", "",
        f"  {'metric':44} {'value':>9}   {'gate':12} {'':4}",
    ]
    for metric, label in LABELS.items():
        if metric not in report["metrics"] and metric not in checks:
            continue
        bound, status = _bound(checks.get(metric))
        lines.append(f"  {label:44} {_value(metric, report['metrics'].get(metric)):>9}   {bound:12} {status}")
    support = report["support_check"]
    if support:
        held = support["test"]
        lines.append(f"  support check: threshold {support['threshold']:.2f} fitted on {support['dev']['pairs']} dev "
                     f"pairs; held out: TP {held['true_positive']} FP {held['false_positive']} "
                     f"TN {held['true_negative']} FN {held['false_negative']}")
    lines += ["", f"  {'category':16} {'turns':>5} {'passing':>8} {'abstained':>9} {'fact recall':>11}"]
    for category, row in report["categories"].items():
        facts = f"{row['fact_recall']:.3f}" if "fact_recall" in row else "-"
        lines.append(f"  {category:16} {int(row['turns']):5} {row['passing']:8.3f} {row['abstained']:9.3f} "
                     f"{facts:>11}")
    failing = [c for c in report["cases"] if not c["passed"]]
    lines += ["", f"failing cases: {len(failing)} of {counts['cases']}"]
    for case in failing[:failing_listed]:
        turn = next(t for t in case["turns"] if t["failures"])
        lines.append(f"  {case['id']} turn {turn['turn']}: {turn['failures'][0]}")
    if len(failing) > failing_listed:
        lines.append(f"  ... and {len(failing) - failing_listed} more (see the JSON or HTML report)")
    missed = [c for c in checks.values() if not c.passed]
    lines.append("")
    if missed:
        lines.append("FAIL: " + "; ".join(f"{LABELS[c.metric]} {_value(c.metric, c.value)} "
                                          f"{'<' if c.kind == 'min' else '>'} {_value(c.metric, c.bound)}"
                                          for c in missed) + f" (bounds in {report['thresholds_file']})")
    else:
        lines.append(f"PASS: every metric within its bound in {report['thresholds_file']}")
    return "\n".join(line.rstrip() for line in lines)


CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0}
td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#176f2c}.bad{color:#b00020;font-weight:600}
details{border:1px solid #ddd;border-radius:6px;margin:.5rem 0;padding:.4rem .8rem}
details.fail{border-color:#b00020}summary{cursor:pointer;font-weight:600}
.turn{border-top:1px dashed #ccc;margin-top:.5rem;padding-top:.5rem}.q{font-weight:600}
.answer{background:#f6f6f8;padding:.4rem .6rem;border-radius:4px;white-space:pre-wrap}
.muted{color:#666;font-size:.9em}ol.cites li{margin:.2rem 0}ul{margin:.3rem 0}
"""


def page(report: Mapping[str, Any]) -> str:
    """Return a self-contained HTML page of the evaluation (no scripts, no outside assets; all text escaped)."""
    e = html.escape
    verdict = "PASS" if report["passed"] else "FAIL"
    checks = {c["metric"]: Check(c["metric"], c["value"], c["kind"], c["bound"]) for c in report["gate"]}
    rows = []
    for metric, label in LABELS.items():
        if metric not in report["metrics"] and metric not in checks:
            continue
        bound, status = _bound(checks.get(metric))
        css = "bad" if status == "FAIL" else "ok" if status == "ok" else "muted"
        direction = " (lower is better)" if metric in LOWER_IS_BETTER else ""
        rows.append(f"<tr><td>{e(label + direction)}</td><td class=num>"
                    f"{e(_value(metric, report['metrics'].get(metric)))}</td><td>{e(bound)}</td>"
                    f"<td class={css}>{e(status)}</td></tr>")
    categories = "".join(
        f"<tr><td>{e(name)}</td><td class=num>{int(row['turns'])}</td><td class=num>{row['passing']:.3f}</td>"
        f"<td class=num>{row['abstained']:.3f}</td><td class=num>"
        f"{e(format(row['fact_recall'], '.3f') if 'fact_recall' in row else '-')}</td></tr>"
        for name, row in report["categories"].items())
    counts = report["counts"]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>citechat eval: {e(verdict)}</title><style>{CSS}</style></head><body>",
        f"<h1>citechat eval: <span class={'ok' if report['passed'] else 'bad'}>{e(verdict)}</span></h1>",
        f"<p>{e(report['cases_file'])}, split {e(report['split'])}: {counts['cases']} cases, {counts['turns']} turns "
        f"({counts['answerable_turns']} answerable, {counts['unanswerable_turns']} unanswerable); "
        f"{counts['failing_cases']} failing cases. Bounds from {e(report['thresholds_file'])}.</p>",
        "<table><tr><th>metric</th><th>value</th><th>gate</th><th></th></tr>", *rows, "</table>",
        "<h2>By category</h2><table><tr><th>category</th><th>turns</th><th>passing</th><th>abstained</th>"
        "<th>fact recall</th></tr>", categories, "</table>",
        "<h2>Cases, failing first</h2>",
        *(_case_html(case) for case in report["cases"]),
        "</body></html>",
    ]
    return "\n".join(parts)


def _case_html(case: Mapping[str, Any]) -> str:
    e = html.escape
    status = "pass" if case["passed"] else "fail"
    head = (f"<summary><span class={'ok' if case['passed'] else 'bad'}>{status.upper()}</span> {e(case['id'])} "
            f"<span class=muted>{e(case['category'])}, {len(case['turns'])} turn(s)</span></summary>")
    return f"<details class={status}{'' if case['passed'] else ' open'}>{head}" + "".join(
        _turn_html(t) for t in case["turns"]) + "</details>"


def _turn_html(turn: Mapping[str, Any]) -> str:
    e = html.escape
    expected = "answerable" if turn["answerable"] else "unanswerable: should abstain"
    out = [f"<div class=turn><div class=q>{turn['turn']}. {e(turn['question'])} <span class=muted>({e(expected)}; "
           f"{turn['latency_ms']} ms)</span></div>",
           f"<div class=answer>{e(turn['answer'])}</div>"]
    if turn["citations"]:
        out.append("<ol class=cites>" + "".join(
            f"<li value={int(c['number'])}><span class=muted>{e(c['section'])} · {e(c['article'])} "
            f"{int(c['start'])}:{int(c['end'])}</span><br>{e(c['text'])}</li>" for c in turn["citations"]) + "</ol>")
    verdicts = [f"<li class={'ok' if s['supported'] else 'bad'}>{e(s['text'])} "
                f"<span class=muted>[{e(', '.join(map(str, s['citations'])) or 'no citation')}]: {e(s['reason'])}"
                "</span></li>" for s in turn["statements"]]
    verdicts += [f"<li class={'ok' if f['stated'] else 'bad'}>fact {'stated' if f['stated'] else 'missing'}: "
                 f"{e(f['fact'])}</li>" for f in turn["facts"]]
    if turn["answerable"]:
        verdicts.append(f"<li class=muted>gold evidence first retrieved at rank {_rank(turn['rank_history'])} with "
                        f"history, {_rank(turn['rank_alone'])} for the last turn alone</li>")
    verdicts += [f"<li class=bad>{e(f)}</li>" for f in turn["failures"]]
    out.append("<ul>" + "".join(verdicts) + "</ul></div>")
    return "".join(out)


def _rank(rank: int | None) -> str:
    return str(rank) if rank else "none (not in the top 10)"
