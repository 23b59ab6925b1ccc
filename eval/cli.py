"""`citechat eval`: run the grounding suite, print the table, write the reports, exit 1 when a metric misses its bound.

Exit status: 0 every metric within its bound, 1 a metric outside it, 2 unusable input (a bad case, pairs or
thresholds file, an article that is not ingested...), reported as a message, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from assistant import Assistant, CitechatError
from eval.cases import DEFAULT_CASES, CaseFileError, load_cases
from eval.gate import DEFAULT_THRESHOLDS, check, load_thresholds, reached, to_toml

EXIT_PASS, EXIT_BELOW_THRESHOLD, EXIT_BAD_INPUT = 0, 1, 2
THRESHOLDS_COMMENT = """The gate of `citechat eval` (and of `make test`): it exits 1 when a metric is outside its bound.
Written by `citechat eval {command}` from the figures
the assistant reached on {cases} (split {split}), floored (ceiled under [max]) to 4 decimals, which only
absorbs float rounding: the pipeline is deterministic. Citation validity stays at 1.0 whatever a run reaches.
Latency is reported, not gated: timings on a shared CI machine are not reproducible (add latency_p95_ms
under [max] to gate it on hardware you control). Raise bounds as the assistant improves; never loosen one."""


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of `citechat eval`."""
    p = argparse.ArgumentParser(
        prog="citechat eval", description="Evaluate answer grounding on a case file and gate on the thresholds.")
    p.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="JSON-lines case file (default: %(default)s)")
    p.add_argument("--split", default="test", choices=("dev", "test", "all"),
                   help="which cases to run (default: test; dev is for calibration)")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help="write the full JSON report to FILE, or print it instead of the table when no FILE is given")
    p.add_argument("--report", type=Path, metavar="FILE", help="write a self-contained HTML report")
    p.add_argument("--thresholds", type=Path, default=DEFAULT_THRESHOLDS,
                   help="TOML file of metric bounds (default: %(default)s)")
    p.add_argument("--articles", type=Path, metavar="PATH",
                   help="evaluate on a throwaway store holding only these article files or folders "
                        "(default: the configured store, CITECHAT_HOME)")
    p.add_argument("--write-thresholds", type=Path, metavar="FILE",
                   help="write bounds at the figures this run reaches to FILE (a TOML thresholds file) and gate "
                        "on them: how eval/thresholds.toml is set, and raised when the assistant improves")
    p.add_argument("--llm", action="store_true",
                   help="answer with the language model set by CITECHAT_LLM_BASE_URL and CITECHAT_LLM_MODEL, every "
                        "answer through the grounding guard (default: extractive answers, even when one is set)")
    p.add_argument("--suite", choices=("conversations", "covidqa"), default="conversations",
                   help="conversations: the bundled article's cases (default); covidqa: the multi-article suite of "
                        "eval/covidqa (49 research articles in one store, expert questions, BM25 baseline beside it)")
    p.add_argument("--pairs", type=Path, default=None, metavar="FILE",
                   help="hand-labelled claim/passage pairs for the support check's agreement "
                        "(default: eval/cases/support_pairs.jsonl)")
    return p


def main(argv: Sequence[str] | None = None, *, assistant: Assistant | None = None) -> int:
    """Run `citechat eval` with the given arguments; returns the exit status (0, 1 or 2)."""
    args = parser().parse_args(argv)
    args.command = " ".join(sys.argv[1:] if argv is None else argv)
    try:
        return _run(args, assistant)
    except CitechatError as exc:  # a bad case file, or anything else the user can fix
        print(f"citechat eval: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _run(args: argparse.Namespace, assistant: Assistant | None) -> int:
    if args.suite == "covidqa":
        return _run_covidqa(args, assistant)
    from eval import report as reporting
    from eval.calibrate import DEFAULT_PAIRS, support_check

    # Everything a user can get wrong is checked before the model loads.
    selected = load_cases(args.cases).select(args.split)
    thresholds = load_thresholds(args.thresholds)
    pairs_summary = support_check(args.pairs or DEFAULT_PAIRS)
    if args.articles is not None and not args.articles.exists():
        raise CaseFileError(f"{args.articles}: no such article file or folder.")
    with tempfile.TemporaryDirectory(prefix="citechat-eval-", ignore_cleanup_errors=True) as scratch:
        bot = assistant or _load(args.articles, Path(scratch), args.llm)
        from eval.run import run_cases
        from eval.score import by_category, counts, summarize

        run = run_cases(bot, selected)
    summary = summarize(run.scores)
    held_out = pairs_summary["test"]
    if held_out["pairs"]:
        summary["support_agreement"] = (held_out["true_positive"] + held_out["true_negative"]) / held_out["pairs"]
    if args.write_thresholds:
        thresholds = reached(summary)
        _write(args.write_thresholds, to_toml(thresholds, THRESHOLDS_COMMENT.format(
            split=args.split, command=args.command, cases=_shown(args.cases))))
        args.thresholds = args.write_thresholds
    checks = check(summary, thresholds)
    document = reporting.build(
        cases_file=_shown(args.cases), split=args.split, thresholds_file=_shown(args.thresholds), scores=run.scores,
        summary=summary, counts=counts(run.scores), categories=by_category(run.scores), checks=checks,
        support_check=pairs_summary)
    if args.json == "-":
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(reporting.table(document))
    if args.json and args.json != "-":
        _write(Path(args.json), json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    if args.report:
        _write(args.report, reporting.page(document))
    return EXIT_PASS if document["passed"] else EXIT_BELOW_THRESHOLD


COVIDQA_THRESHOLDS_COMMENT = """The gate of `citechat eval --suite covidqa` (and of `make test`). Written by
`citechat eval --suite covidqa --write-thresholds eval/thresholds-covidqa.toml` from the figures reached on the
COVID-QA development half (eval/covidqa: all articles in one store, each question asked of its own article),
floored (ceiled under [max]) to 4 decimals, which only absorbs float rounding. Other-article citations stay 0
whatever a run reaches. Raise bounds as the assistant improves; never loosen one."""


def _run_covidqa(args: argparse.Namespace, assistant: Assistant | None) -> int:
    from eval import covidqa

    questions = covidqa.default_questions()
    bounds = covidqa.load_bounds()
    with tempfile.TemporaryDirectory(prefix="citechat-eval-", ignore_cleanup_errors=True) as scratch:
        bot = assistant or _load(args.articles or covidqa.ARTICLES_DIR, Path(scratch), args.llm)
        outcomes = covidqa.run_suite(bot, questions)
    summary = covidqa.summarize(outcomes)
    if args.write_thresholds:
        bounds = covidqa.reached(summary)
        _write(args.write_thresholds, to_toml(bounds, COVIDQA_THRESHOLDS_COMMENT))
    text, passed = covidqa.table(summary, bounds)
    document = {"suite": "covidqa", "summary": summary, "passed": passed,
                "outcomes": [o.to_dict() for o in outcomes]}
    if args.json == "-":
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(text)
    if args.json and args.json != "-":
        _write(Path(args.json), json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    return EXIT_PASS if passed else EXIT_BELOW_THRESHOLD


def _load(articles: Path | None, scratch: Path, llm: bool = False) -> Assistant:
    from ingest.settings import Settings

    if articles is None:
        return Assistant.load(Settings(), use_llm=llm)  # an LLM asked for but not configured fails before loading
    return Assistant.load(Settings(home=scratch / "home", bundled_articles_dir=articles), use_llm=llm)


def _shown(path: Path) -> str:
    """Return a path relative to the working directory when it lies below it (reports read better)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot write the report ({exc.strerror}).") from None


if __name__ == "__main__":
    raise SystemExit(main())
